"""Temporal smoothing of the mouth track: outlier rejection, gap filling, Savitzky-Golay.

    per-frame detections (T_v, D) + valid (T_v,) bool
      --reject detections far from the running median of their valid neighbours-->
      --linear interpolation over the gaps, hold the first/last value at the ends-->
      --median filter (median_window) + Savitzky-Golay (savgol_window, savgol_order)--> (T_v, D)

D = 3 here: mouth x, mouth y (pixels) and face width (pixels). Outliers are judged relative to
the face width, so the same thresholds hold at any resolution.
"""

from typing import Optional, Tuple

import numpy as np
from scipy.ndimage import median_filter
from scipy.signal import savgol_filter

DEFAULT_SMOOTH_CONF = dict(
    outlier_window=9,  # frames (odd) of the running median used to reject detections
    outlier_center_frac=0.12,  # reject when the centre is this far (x face width) from that median
    outlier_width_frac=0.15,  # ... or the face width differs by this relative amount
    median_window=5,  # frames (odd), 1 disables
    savgol_window=9,  # frames (odd), 1 disables
    savgol_order=2,
)


def reject_outliers(track: np.ndarray, valid: np.ndarray, conf: dict) -> np.ndarray:
    """(T, 3) track (x, y, width) + (T,) valid -> (T,) valid with outlying detections removed."""
    idx = np.flatnonzero(valid)
    if len(idx) < 3:
        return valid.copy()
    pts = track[idx]  # (N, 3) valid detections only
    half = conf["outlier_window"] // 2
    keep = np.ones(len(idx), bool)
    for j in range(len(idx)):
        nb = np.r_[max(0, j - half):j, j + 1:min(len(idx), j + half + 1)]
        ref = np.median(pts[nb], axis=0)
        w = ref[2]
        far = np.hypot(*(pts[j, :2] - ref[:2])) > conf["outlier_center_frac"] * w
        wide = abs(pts[j, 2] - w) > conf["outlier_width_frac"] * w
        keep[j] = not (far or wide)
    out = np.zeros_like(valid)
    out[idx[keep]] = True
    return out


def fill_gaps(track: np.ndarray, valid: np.ndarray) -> np.ndarray:
    """Linear interpolation of every column over invalid frames; ends hold the nearest value."""
    t = np.arange(len(track))
    idx = np.flatnonzero(valid)
    if len(idx) == 0:
        raise ValueError("no valid frame to interpolate from")
    return np.stack([np.interp(t, idx, track[idx, d]) for d in range(track.shape[1])], axis=1)


def _odd_at_most(n: int, limit: int) -> int:
    n = min(n, limit if limit % 2 else limit - 1)
    return n if n % 2 else n - 1


def smooth_track(track: np.ndarray, valid: np.ndarray, smooth_conf: Optional[dict] = None
                 ) -> Tuple[np.ndarray, np.ndarray]:
    """(T, D) raw detections (NaN allowed where invalid) + (T,) valid -> (smoothed (T, D), accepted (T,)).

    ``accepted`` = valid minus the rejected outliers; the frames not accepted are interpolated.
    When no frame is accepted the smoothed track is all NaN.
    """
    conf = dict(DEFAULT_SMOOTH_CONF)
    conf.update(smooth_conf or {})
    valid = np.asarray(valid, bool)
    accepted = reject_outliers(track, valid, conf)
    if not accepted.any():
        return np.full(track.shape, np.nan), accepted
    out = fill_gaps(track, accepted)
    T = len(out)
    mw = _odd_at_most(conf["median_window"], T)
    if mw > 1:
        out = median_filter(out, size=(mw, 1), mode="nearest")
    sw = _odd_at_most(conf["savgol_window"], T)
    if sw > conf["savgol_order"] + 1:
        out = savgol_filter(out, sw, conf["savgol_order"], axis=0, mode="interp")
    return out, accepted
