"""Per-frame face detection with OpenCV's Haar cascades, and the face box -> mouth prior.

    (H, W) uint8 gray --downscale to <= detect_max_side, equalizeHist--> cascades in order
      (near the previous face first, then the whole frame; first cascade that fires wins;
       the box nearest the previous face, else the largest)
      --> face box (x, y, w, h) in full-frame pixels
      --geometric prior--> mouth centre (x + fx * w, y + fy * h), face width s * w

Each cascade draws its box with a different margin, so the prior (fx, fy, s) is per cascade,
calibrated on the real mouth of skimage's astronaut photo at 160-192 px (mouth at 0.50 / 0.81 of
an alt2 box, 0.50 / 0.83 of a default box, whose boxes are 3 % narrower). Face widths are reported
in alt2-box units whatever cascade fired.
"""

from typing import Dict, List, Optional, Sequence, Tuple

import cv2
import numpy as np

# cascade file -> (fx, fy, width scale to alt2 units)
MOUTH_PRIOR: Dict[str, Tuple[float, float, float]] = {
    "haarcascade_frontalface_alt2.xml": (0.50, 0.81, 1.00),
    "haarcascade_frontalface_alt.xml": (0.50, 0.81, 1.00),
    "haarcascade_frontalface_default.xml": (0.50, 0.83, 1.03),
}

DEFAULT_DETECT_CONF = dict(
    cascades=["haarcascade_frontalface_alt2.xml", "haarcascade_frontalface_default.xml"],
    scale_factor=1.1,  # image pyramid step of detectMultiScale
    min_neighbors=3,  # overlapping raw hits needed to accept a box
    min_face_frac=0.1,  # smallest face side, as a fraction of the frame's shorter side
    detect_max_side=480,  # frames are downscaled to this longer side before detection
    equalize=True,  # histogram equalisation before detection (lighting changes)
)


class FaceDetector:
    """Haar-cascade face detector returning one face box per frame (or None).

    Args:
        detect_conf: options, defaults in ``DEFAULT_DETECT_CONF``:
            cascades (list of file names in ``cv2.data.haarcascades`` or paths; tried in order,
            each needs an entry in ``MOUTH_PRIOR`` unless it is a path with ``mouth_prior`` given),
            scale_factor, min_neighbors, min_face_frac, detect_max_side, equalize,
            mouth_prior (optional dict cascade -> (fx, fy, s) overriding ``MOUTH_PRIOR``).
    """

    def __init__(self, detect_conf: Optional[dict] = None):
        conf = dict(DEFAULT_DETECT_CONF)
        conf.update(detect_conf or {})
        self.conf = conf
        prior = dict(MOUTH_PRIOR)
        prior.update({k: tuple(v) for k, v in (conf.get("mouth_prior") or {}).items()})
        self.cascades: List[Tuple[str, cv2.CascadeClassifier]] = []
        self.prior: List[Tuple[float, float, float]] = []
        for name in conf["cascades"]:
            path = name if "/" in name else cv2.data.haarcascades + name
            clf = cv2.CascadeClassifier(path)
            if clf.empty():
                raise ValueError(f"cannot load Haar cascade {path}")
            key = name.rsplit("/", 1)[-1]
            if key not in prior and name not in prior:
                raise ValueError(f"no mouth prior (fx, fy, s) for cascade {name}: give detect_conf['mouth_prior']")
            self.cascades.append((key, clf))
            self.prior.append(prior.get(name, prior.get(key)))

    def _search(self, img: np.ndarray, min_side: int, max_side: int) -> Optional[Tuple[np.ndarray, int]]:
        """Cascades in order on ``img`` -> (boxes (N, 4) float64 in ``img`` pixels, cascade index)."""
        for idx, (_, clf) in enumerate(self.cascades):
            boxes = clf.detectMultiScale(img, scaleFactor=self.conf["scale_factor"],
                                         minNeighbors=self.conf["min_neighbors"],
                                         minSize=(min_side, min_side), maxSize=(max_side, max_side))
            if len(boxes):
                return np.asarray(boxes, np.float64), idx
        return None

    def detect(self, gray: np.ndarray, previous: Optional[Sequence[float]] = None
               ) -> Optional[Tuple[np.ndarray, int]]:
        """(H, W) uint8 -> (box (4,) float x, y, w, h in frame pixels, cascade index) or None.

        ``previous``: the last accepted box. The search first looks near it, at 0.7-1.4 times its
        size (fast), and falls back to the whole frame; among several faces the one nearest to
        ``previous`` is kept, else the largest.
        """
        h, w = gray.shape[:2]
        k = min(1.0, self.conf["detect_max_side"] / max(h, w))
        small = cv2.resize(gray, (round(w * k), round(h * k)), interpolation=cv2.INTER_AREA) if k < 1 else gray
        if self.conf["equalize"]:
            small = cv2.equalizeHist(small)
        found = None
        if previous is not None:
            px, py, pw, ph = (float(v) * k for v in previous)
            x0, y0 = max(0, int(px - 0.5 * pw)), max(0, int(py - 0.5 * ph))
            x1, y1 = min(small.shape[1], int(px + 1.5 * pw) + 1), min(small.shape[0], int(py + 1.5 * ph) + 1)
            if x1 - x0 >= 0.7 * pw and y1 - y0 >= 0.7 * ph:
                found = self._search(small[y0:y1, x0:x1], max(8, int(0.7 * pw)), int(1.4 * pw) + 1)
                if found is not None:
                    found[0][:, :2] += (x0, y0)
        if found is None:
            side = max(8, int(self.conf["min_face_frac"] * min(small.shape[:2])))
            found = self._search(small, side, max(small.shape[:2]))
        if found is None:
            return None
        boxes, idx = found[0] / k, found[1]  # (N, 4) in frame pixels
        if previous is not None and len(boxes) > 1:
            prev = np.asarray(previous, np.float64)
            d = np.hypot(*(boxes[:, :2] + boxes[:, 2:] / 2 - prev[:2] - prev[2:] / 2).T)
            best = int(np.argmin(d))
        else:
            best = int(np.argmax(boxes[:, 2] * boxes[:, 3]))
        return boxes[best], idx

    def mouth_prior(self, box: Sequence[float], idx: int) -> Tuple[float, float, float]:
        """Face box of cascade ``idx`` -> (mouth x, mouth y, face width in alt2-box units)."""
        fx, fy, s = self.prior[idx]
        x, y, w, h = box
        return x + fx * w, y + fy * h, s * w
