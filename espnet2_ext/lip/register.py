"""Sub-pixel face registration: frame-to-reference translation of the upper face.

    first frame with a face: reference patch = eyes + nose band of the face box
      (rows 0.10-0.65, columns 0.10-0.90 of the box; the mouth is left out because it moves)
    every frame: same-size window at the last estimate --cv2.phaseCorrelate (Hann window)-->
      translation (dx, dy) of the face since the reference + peak response (reliability)

Haar boxes jitter by a few percent of the face width from frame to frame; registration follows
the head to a fraction of a pixel. ``fuse_with_prior`` anchors the registered motion on the
mouth prior: centre = translation + slowly varying offset (running median of prior - translation).
"""

from typing import Optional, Sequence, Tuple

import cv2
import numpy as np
from scipy.ndimage import median_filter

DEFAULT_REGISTER_CONF = dict(
    min_response=0.15,  # phase-correlation peak below this: the frame is not registered
    offset_window=51,  # frames (odd) of the running median of prior - translation
)


class FaceRegistrar:
    """Stateful per-video registrar; call ``update`` on every frame in order.

    Args:
        register_conf: options, defaults in ``DEFAULT_REGISTER_CONF``.
    """

    def __init__(self, register_conf: Optional[dict] = None):
        self.conf = dict(DEFAULT_REGISTER_CONF)
        self.conf.update(register_conf or {})
        self.ref: Optional[np.ndarray] = None  # (h, w) float32 reference patch
        self.origin = (0.0, 0.0)  # top-left of the reference patch in its frame
        self.shift = np.zeros(2)  # current estimate of the translation since the reference
        self.window: Optional[np.ndarray] = None

    def _patch(self, gray: np.ndarray, x: float, y: float) -> np.ndarray:
        h, w = self.ref.shape
        return cv2.getRectSubPix(gray, (w, h), (x + (w - 1) / 2, y + (h - 1) / 2)).astype(np.float32)

    def update(self, gray: np.ndarray, box: Optional[Sequence[float]]) -> Tuple[np.ndarray, bool]:
        """(H, W) uint8 frame + its face box (or None) -> (translation (2,), reliable)."""
        if self.ref is None:
            if box is None:
                return np.zeros(2), False
            x, y, w, h = (float(v) for v in box)
            pw, ph = max(8, int(0.8 * w)), max(8, int(0.55 * h))
            self.origin = (x + 0.1 * w, y + 0.1 * h)
            self.ref = np.zeros((ph, pw), np.float32)
            self.ref = self._patch(gray, *self.origin)
            self.window = cv2.createHanningWindow((pw, ph), cv2.CV_32F)
            return np.zeros(2), True
        cur = self._patch(gray, self.origin[0] + self.shift[0], self.origin[1] + self.shift[1])
        (dx, dy), resp = cv2.phaseCorrelate(self.ref, cur, self.window)
        if not np.isfinite(resp) or resp < self.conf["min_response"]:
            return self.shift.copy(), False
        # (dx, dy): how far the face moved inside the window since the reference
        self.shift = self.shift + (dx, dy)
        return self.shift.copy(), True


def fuse_with_prior(prior_xy: np.ndarray, prior_ok: np.ndarray, shift: np.ndarray, shift_ok: np.ndarray,
                    window: int) -> Tuple[np.ndarray, np.ndarray]:
    """Mouth prior (T, 2) + registered translation (T, 2) -> (fused centre (T, 2), fused (T,) bool).

    Frames where registration or the prior is missing keep NaN / False (filled by the caller).
    """
    both = prior_ok & shift_ok
    out = np.full_like(prior_xy, np.nan, dtype=np.float64)
    if both.sum() < 3:
        return out, np.zeros(len(prior_xy), bool)
    idx = np.flatnonzero(both)
    off = prior_xy[idx] - shift[idx]  # (N, 2) mouth position in reference coordinates
    w = min(window, len(idx) if len(idx) % 2 else len(idx) - 1)
    off = median_filter(off, size=(max(1, w), 1), mode="nearest")
    t = np.arange(len(prior_xy))
    full_off = np.stack([np.interp(t, idx, off[:, d]) for d in range(2)], 1)
    out[shift_ok] = shift[shift_ok] + full_off[shift_ok]
    return out, shift_ok.copy()
