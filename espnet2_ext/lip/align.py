"""Landmark alignment to a mean face (the LRW / LRS3 convention) and the SyncNet face track.

    landmarks (K, 2) of one frame (face mesh points, order ``landmarks.KEEP_POINTS``)
      --stable points (4 eye corners, nose tip, 2 mouth corners) --cv2.estimateAffinePartial2D
        (LMEDS) onto MEAN_FACE--> similarity A (2, 3): frame -> 256 x 256 reference frame
      --mouth centre (mean of the mouth corners and the outer lip midpoints) mapped by A-->
      --one warp: frame -> the 96 x 96 window centred on that point of the reference frame-->
      (96, 96) uint8 grayscale crop (a user's LRW-trained encoder then takes the centre 88 x 88)

Mean face: our own, not LRW's (whose 68-point mean face does not ship in any package here). It is
the frontal projection (x, y) of MediaPipe's canonical face model
(``mediapipe/modules/face_geometry/data/canonical_face_model.obj``, centimetres, y up), drawn at
10 px / cm with the nose tip at (128, 128) of a 256 x 256 frame: eye centres 63 px apart, mouth
49 px wide, so the mouth fills about half of the 96 px crop, as in LRW's crops.

SyncNet face track (syncnet_python's ``run_pipeline.py`` convention, S3FD box replaced by the
landmark box): box = cheek to cheek x forehead to chin, half size s = max(w, h) / 2 and centre,
each median-filtered over 13 frames; crop rows cy - s .. cy + 1.8 s, columns cx - 1.4 s ..
cx + 1.4 s (crop_scale 0.4), grey 110 outside the frame, resized to 224 x 224 colour.
"""

from typing import Optional, Tuple

import cv2
import numpy as np
from scipy.signal import medfilt

from espnet2_ext.lip.landmarks import KEEP_POINTS, POINT

# canonical face model (x, y) in cm, y up, for the kept points (subject's right = negative x)
_CANONICAL_CM = {
    "r_eye_out": (-4.445859, 2.663991), "r_eye_in": (-1.856432, 2.585245),
    "l_eye_in": (1.856432, 2.585245), "l_eye_out": (4.445859, 2.663991), "nose": (0.0, -1.126865),
    "mouth_r": (-2.456206, -4.342621), "mouth_l": (2.456206, -4.342621),
    "lip_top": (0.0, -3.406404), "lip_bottom": (0.0, -5.365123),
    "lip_in_top": (0.0, -3.994436), "lip_in_bottom": (0.0, -4.542400),
    "cheek_r": (-7.664182, 0.673132), "cheek_l": (7.664182, 0.673132),
    "forehead": (0.0, 8.261778), "chin": (0.0, -9.403378),
}
REF_SIZE = 256
PX_PER_CM = 10.0
MEAN_FACE = np.array([(REF_SIZE / 2 + PX_PER_CM * x, REF_SIZE / 2 - PX_PER_CM * (y - _CANONICAL_CM["nose"][1]))
                      for x, y in (_CANONICAL_CM[k] for k in KEEP_POINTS)])  # (K, 2) reference pixels
STABLE_POINTS = ("r_eye_out", "r_eye_in", "l_eye_in", "l_eye_out", "nose", "mouth_r", "mouth_l")
MOUTH_POINTS = ("mouth_r", "mouth_l", "lip_top", "lip_bottom")
_STABLE = [POINT[k] for k in STABLE_POINTS]
_MOUTH = [POINT[k] for k in MOUTH_POINTS]

SYNCNET_SIZE = 224
SYNCNET_CROP_SCALE = 0.4
SYNCNET_PAD_VALUE = 110
SYNCNET_MEDFILT = 13


def mouth_centre(lm: np.ndarray) -> np.ndarray:
    """(..., K, 2) landmarks -> (..., 2) mouth centre (corners and outer lip midpoints)."""
    return lm[..., _MOUTH, :].mean(axis=-2)


def eye_centres(lm: np.ndarray) -> Tuple[np.ndarray, np.ndarray]:
    """(..., K, 2) -> subject's right and left eye centres, each (..., 2)."""
    r = (lm[..., POINT["r_eye_out"], :] + lm[..., POINT["r_eye_in"], :]) / 2
    left = (lm[..., POINT["l_eye_out"], :] + lm[..., POINT["l_eye_in"], :]) / 2
    return r, left


def roll_degrees(lm: np.ndarray) -> np.ndarray:
    """(..., K, 2) -> (...) head roll: angle of the right-eye -> left-eye line in image coordinates
    (y down), degrees; positive when the subject's left eye (image right) is lower."""
    r, left = eye_centres(lm)
    d = left - r
    return np.degrees(np.arctan2(d[..., 1], d[..., 0]))


def similarity_to_mean(lm: np.ndarray) -> Optional[np.ndarray]:
    """(K, 2) landmarks -> (2, 3) similarity (rotation, uniform scale, shift) onto MEAN_FACE, or None."""
    src = lm[_STABLE].astype(np.float32)
    if not np.isfinite(src).all():
        return None
    a, _ = cv2.estimateAffinePartial2D(src, MEAN_FACE[_STABLE].astype(np.float32), method=cv2.LMEDS)
    return a


def aligned_mouth_crop(gray: np.ndarray, a: np.ndarray, centre_ref: np.ndarray, out_size: int = 96) -> np.ndarray:
    """(H, W) uint8 + similarity ``a`` (frame -> reference) + mouth centre in the reference frame
    -> (out_size, out_size) uint8: the reference-frame window centred on the mouth, one warp."""
    m = a.astype(np.float64).copy()
    m[:, 2] += (out_size - 1) / 2 - np.asarray(centre_ref, np.float64)
    scale = float(np.hypot(m[0, 0], m[1, 0]))
    if scale < 0.75:  # shrinking: low-pass first so the bilinear warp does not alias
        gray = cv2.GaussianBlur(gray, (0, 0), 0.45 / scale)
    return cv2.warpAffine(gray, m, (out_size, out_size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)


def face_track(lm: np.ndarray) -> np.ndarray:
    """(T, K, 2) smoothed landmarks -> (T, 3) SyncNet face track: box centre x, y and half size s,
    each median-filtered over SYNCNET_MEDFILT frames (fewer for short clips)."""
    x0 = lm[:, POINT["cheek_r"], 0]
    x1 = lm[:, POINT["cheek_l"], 0]
    y0 = lm[:, POINT["forehead"], 1]
    y1 = lm[:, POINT["chin"], 1]
    w, h = np.abs(x1 - x0), np.abs(y1 - y0)
    track = np.stack([(x0 + x1) / 2, (y0 + y1) / 2, np.maximum(w, h) / 2], axis=1)
    k = min(SYNCNET_MEDFILT, len(track) if len(track) % 2 else len(track) - 1)
    if k >= 3:
        track = np.stack([medfilt(track[:, j], k) for j in range(3)], axis=1)
    return track


def syncnet_face_crop(frame: np.ndarray, box: np.ndarray, size: int = SYNCNET_SIZE) -> np.ndarray:
    """(H, W, 3) uint8 frame + face track row (cx, cy, s) -> (size, size, 3) uint8 face crop:
    rows cy - s .. cy + (1 + 2 cs) s, columns cx - (1 + cs) s .. cx + (1 + cs) s, cs = 0.4."""
    cx, cy, s = (float(v) for v in box)
    cs = SYNCNET_CROP_SCALE
    side = s * (2 + 2 * cs)
    k = size / side
    x0, y0 = cx - (1 + cs) * s, cy - s
    m = np.array([[k, 0.0, -k * x0], [0.0, k, -k * y0]])
    if k < 0.75:
        frame = cv2.GaussianBlur(frame, (0, 0), 0.45 / k)
    return cv2.warpAffine(frame, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT,
                          borderValue=(SYNCNET_PAD_VALUE,) * 3)
