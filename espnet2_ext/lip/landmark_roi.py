"""Mouth crops aligned by facial landmarks (the LRW convention), and the SyncNet face track.

    GrayVideo --pass 1: FaceMeshLandmarker--> landmarks (T_v, K, 2), NaN where no face
      --summary (mouth x, y, cheek-to-cheek width) --reject_outliers (smoothing.py)--> accepted (T_v,)
      --fill_gaps over the frames not accepted, median + Savitzky-Golay per coordinate--> smoothed
    per frame: similarity onto the mean face (align.py) --> 96 x 96 gray crop around the mouth
      + mouth centre / corners / roll (for the report) + face track (T_v, 3) for SyncNet

The lip stream feeds the visual encoder of the paper's VCFM (sec. 3.4).
"""

import os
import time
from typing import Optional

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

from espnet2_ext.lip import align
from espnet2_ext.lip.landmarks import POINT, FaceMeshLandmarker
from espnet2_ext.lip.roi import LipTrack, NoFaceError
from espnet2_ext.lip.smoothing import DEFAULT_SMOOTH_CONF, _odd_at_most, fill_gaps, reject_outliers
from espnet2_ext.lip.video_io import GrayVideo

DEFAULT_LANDMARK_ROI_CONF = dict(
    out_size=96,  # side of the saved crops (reference-frame pixels, 256 x 256 mean face)
    min_face_fraction=0.2,  # fewer frames with an accepted face than this -> the video is excluded
    landmark_median_window=3,  # frames (odd) of the median filter on every landmark coordinate
    landmark_savgol_window=11,  # frames (odd) of the Savitzky-Golay smoothing (about 0.4 s)
    landmark_savgol_order=2,
)


def _summary(lm: np.ndarray) -> np.ndarray:
    """(T, K, 2) -> (T, 3): mouth centre x, y and cheek-to-cheek face width (NaN rows stay NaN)."""
    mc = align.mouth_centre(lm)
    width = np.hypot(*(lm[:, POINT["cheek_l"]] - lm[:, POINT["cheek_r"]]).T)
    return np.concatenate([mc, width[:, None]], axis=1)


class LandmarkRoiExtractor:
    """Video file -> LipTrack (crops aligned to the mean face; ``front_end`` = the face mesh).

    Args:
        roi_conf: ``out_size``, ``min_face_fraction``, ``landmark_median_window``,
            ``landmark_savgol_window``, ``landmark_savgol_order`` (defaults in
            ``DEFAULT_LANDMARK_ROI_CONF``), the nested ``landmark_conf`` (see ``FaceMeshLandmarker``)
            and ``smooth_conf`` (its outlier options, see ``smoothing.py``). Haar-only options
            (``crop_scale``, ``detect_conf``, ``refine``, ...) are ignored here.
    """

    front_end = FaceMeshLandmarker.name

    def __init__(self, roi_conf: Optional[dict] = None):
        conf = dict(DEFAULT_LANDMARK_ROI_CONF)
        conf.update({k: v for k, v in (roi_conf or {}).items() if k in DEFAULT_LANDMARK_ROI_CONF
                     or k in ("landmark_conf", "smooth_conf")})
        self.conf = conf
        self.landmarker = FaceMeshLandmarker(conf.get("landmark_conf"))
        self.smooth_conf = dict(DEFAULT_SMOOTH_CONF)
        self.smooth_conf.update(conf.get("smooth_conf") or {})

    def smooth(self, lm: np.ndarray, accepted: np.ndarray) -> np.ndarray:
        """(T, K, 2) + (T,) accepted -> (T, K, 2): gaps interpolated, median + Savitzky-Golay."""
        T, K, _ = lm.shape
        flat = fill_gaps(lm.reshape(T, K * 2), accepted)
        mw = _odd_at_most(self.conf["landmark_median_window"], T)
        if mw > 1:
            flat = median_filter(flat, size=(mw, 1), mode="nearest")
        sw = _odd_at_most(self.conf["landmark_savgol_window"], T)
        if sw > self.conf["landmark_savgol_order"] + 1:
            flat = savgol_filter(flat, sw, self.conf["landmark_savgol_order"], axis=0, mode="interp")
        return flat.reshape(T, K, 2)

    def track(self, video: GrayVideo) -> tuple:
        """Pass 1 alone -> (raw (T_v, 3) mouth x, y, face width, NaN rows where no face,), as the
        Haar extractor's ``track`` (api/video.py names the faceless frames with it)."""
        return (_summary(self.landmarker(video)),)

    def __call__(self, path) -> LipTrack:
        t0 = time.perf_counter()
        # a file, or any re-iterable of (H, W) uint8 frames with path / width / height / fps / backend
        video = GrayVideo(path) if isinstance(path, (str, os.PathLike)) else path
        lm = self.landmarker(video)  # (T, K, 2)
        T = len(lm)
        raw = _summary(lm)
        detected = np.isfinite(raw).all(axis=1)
        if not detected.any():
            raise NoFaceError(f"{video.path}: no face found by the face mesh in any of its {T} frames")
        accepted = reject_outliers(raw, detected, self.smooth_conf)
        if accepted.sum() < max(1.0, self.conf["min_face_fraction"] * T):
            raise NoFaceError(f"{video.path}: a consistent face in only {int(accepted.sum())} of {T} frames "
                              f"({int(detected.sum())} raw detections), fewer than min_face_fraction "
                              f"{self.conf['min_face_fraction']}")
        lm_s = self.smooth(lm, accepted)
        size = self.conf["out_size"]
        crops = np.empty((T, size, size), np.uint8)
        n = 0
        for i, gray in enumerate(video):
            if i >= T:
                break
            a = align.similarity_to_mean(lm_s[i])
            if a is None:
                raise NoFaceError(f"{video.path}: frame {i}: no similarity onto the mean face")
            mc = align.mouth_centre(lm_s[i])
            crops[i] = align.aligned_mouth_crop(gray, a, a[:, :2] @ mc + a[:, 2], size)
            n += 1
        if n != T:
            raise RuntimeError(f"{video.path}: decoded {T} frames, then {n} on the second pass")
        corners = np.concatenate([lm_s[:, POINT["mouth_r"]], lm_s[:, POINT["mouth_l"]]], axis=1)  # (T, 4)
        info = dict(width=video.width, height=video.height, fps=video.fps, backend=video.backend,
                    source_fps=getattr(video, "source_fps", video.fps))
        return LipTrack(crops, raw, detected, accepted, _summary(lm_s), time.perf_counter() - t0, info,
                        roll=align.roll_degrees(lm_s), corners=corners, face_track=align.face_track(lm_s),
                        front_end=self.front_end)
