"""Mouth ROI extraction for one video: track the mouth, smooth the track, crop 96x96 patches.

    GrayVideo --pass 1: FaceDetector.detect per frame--> face boxes --mouth prior-->
      raw track (T_v, 3) = mouth x, mouth y, face width (NaN where no face)
      --smooth_track (outliers, gaps, median + Savitzky-Golay)--> smoothed track (T_v, 3)
    (refine="register") FaceRegistrar per frame --> sub-pixel head translation (T_v, 2)
      --fuse_with_prior--> mouth x, y replaced by translation + running-median offset
    GrayVideo --pass 2: square of side crop_scale * face width centred on the mouth,
      affine warp (bilinear, anti-aliased when shrinking)--> (T_v, 96, 96) uint8

The lip stream feeds the visual encoder of the paper's VCFM (sec. 3.4); the crops follow the
LRW convention (96x96 grayscale around the mouth, centre-cropped to 88 by the task).
"""

import os
import time
from dataclasses import dataclass, field
from typing import Optional, Tuple

import cv2
import numpy as np

from espnet2_ext.lip.face_detect import FaceDetector
from espnet2_ext.lip.register import FaceRegistrar, fuse_with_prior
from espnet2_ext.lip.smoothing import smooth_track
from espnet2_ext.lip.video_io import GrayVideo

DEFAULT_ROI_CONF = dict(
    out_size=96,  # side of the saved crops
    crop_scale=0.55,  # crop side / face width (alt2-box units)
    min_face_fraction=0.2,  # fewer frames with an accepted face than this -> the video is excluded
    refine="register",  # "register": sub-pixel face registration anchored on the prior; "none"
    max_register_dev=0.1,  # registered centre farther than this x face width from the detector track: ignored
)


class NoFaceError(RuntimeError):
    """No face in any frame of a video, or in too few frames (``min_face_fraction``) to track it."""


@dataclass
class LipTrack:
    """Result of one video: crops and the track that produced them."""

    crops: np.ndarray  # (T_v, S, S) uint8
    raw: np.ndarray  # (T_v, 3) float: mouth x, y, face width per frame, NaN where no detection
    detected: np.ndarray  # (T_v,) bool: a face box was found in this frame
    accepted: np.ndarray  # (T_v,) bool: detected and not rejected as an outlier
    smoothed: np.ndarray  # (T_v, 3) float: the track the crops were taken on
    seconds: float = 0.0
    info: dict = field(default_factory=dict)
    roll: Optional[np.ndarray] = None  # (T_v,) head roll in degrees (landmark front end only)
    corners: Optional[np.ndarray] = None  # (T_v, 4) mouth corners: right x, y, left x, y
    face_track: Optional[np.ndarray] = None  # (T_v, 3) SyncNet face box centre x, y, half size
    front_end: str = "haar_cascade"

    @property
    def num_frames(self) -> int:
        return len(self.crops)


def crop_square(gray: np.ndarray, cx: float, cy: float, side: float, out_size: int) -> np.ndarray:
    """(H, W) uint8 -> (out_size, out_size) uint8: the square of ``side`` px centred at (cx, cy).

    Pixel centres are at integer coordinates; outside the frame the border is replicated.
    """
    k = out_size / side
    if k < 0.75:  # shrinking: low-pass first so the bilinear warp does not alias
        gray = cv2.GaussianBlur(gray, (0, 0), 0.45 / k)
    m = np.array([[k, 0.0, (out_size - 1) / 2 - k * cx],
                  [0.0, k, (out_size - 1) / 2 - k * cy]])
    return cv2.warpAffine(gray, m, (out_size, out_size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REPLICATE)


class LipRoiExtractor:
    """Video file -> LipTrack (Haar-cascade front end).

    Args:
        roi_conf: ``out_size``, ``crop_scale``, ``min_face_fraction``, ``refine``,
            ``max_register_dev`` (defaults in ``DEFAULT_ROI_CONF``), the nested ``register_conf``
            (see ``FaceRegistrar``), the
            nested ``detect_conf`` (see ``FaceDetector``) and ``smooth_conf`` (see ``smooth_track``).
    """

    front_end = "haar_cascade"

    def __init__(self, roi_conf: Optional[dict] = None):
        conf = dict(DEFAULT_ROI_CONF)
        conf.update(roi_conf or {})
        conf.pop("front_end", None)
        if not 0.1 <= conf["crop_scale"] <= 3.0:
            raise ValueError(f"crop_scale {conf['crop_scale']} outside [0.1, 3]")
        self.conf = conf
        self.detector = FaceDetector(conf.get("detect_conf"))

    def track(self, video: GrayVideo) -> Tuple[np.ndarray, np.ndarray, np.ndarray]:
        """Pass 1 -> raw (T_v, 3) track (NaN rows where no face), registration (T_v, 2), its (T_v,) flags."""
        rows, shifts, ok, prev = [], [], [], None
        reg = FaceRegistrar(self.conf.get("register_conf")) if self.conf["refine"] == "register" else None
        for gray in video:
            hit = self.detector.detect(gray, prev)
            if reg is not None:
                sh, good = reg.update(gray, None if hit is None else hit[0])
                shifts.append(sh)
                ok.append(good)
            if hit is None:
                rows.append((np.nan, np.nan, np.nan))
                continue
            prev = hit[0]
            rows.append(self.detector.mouth_prior(*hit))
        raw = np.asarray(rows, np.float64).reshape(-1, 3)
        if reg is None:
            return raw, np.zeros((len(raw), 2)), np.zeros(len(raw), bool)
        return raw, np.asarray(shifts, np.float64).reshape(-1, 2), np.asarray(ok, bool)

    def __call__(self, path) -> LipTrack:
        t0 = time.perf_counter()
        # a file, or any re-iterable of (H, W) uint8 frames with path / width / height / fps / backend
        video = GrayVideo(path) if isinstance(path, (str, os.PathLike)) else path
        raw, shift, shift_ok = self.track(video)
        detected = ~np.isnan(raw[:, 0])
        if not detected.any():
            raise NoFaceError(f"{video.path}: no face detected in any of its {len(raw)} frames")
        smoothed, accepted = smooth_track(raw, detected, self.conf.get("smooth_conf"))
        if accepted.sum() < max(1.0, self.conf["min_face_fraction"] * len(raw)):
            raise NoFaceError(f"{video.path}: a consistent face in only {int(accepted.sum())} of {len(raw)} frames "
                              f"({int(detected.sum())} raw detections), fewer than min_face_fraction "
                              f"{self.conf['min_face_fraction']}")
        if shift_ok.any():
            win = (self.conf.get("register_conf") or {}).get("offset_window", 51)
            fused, fused_ok = fuse_with_prior(raw[:, :2], accepted, shift, shift_ok, win)
            # a registration that lost the face disagrees with the detector track: keep the latter there
            fused_ok &= np.hypot(*(fused - smoothed[:, :2]).T) <= self.conf["max_register_dev"] * smoothed[:, 2]
            smoothed[fused_ok, :2] = fused[fused_ok]
        size = self.conf["out_size"]
        crops = np.empty((len(raw), size, size), np.uint8)
        n = 0
        for i, gray in enumerate(video):
            if i >= len(raw):  # a decoder that yields more frames on the second pass
                break
            cx, cy, w = smoothed[i]
            crops[i] = crop_square(gray, cx, cy, self.conf["crop_scale"] * w, size)
            n += 1
        if n != len(raw):
            raise RuntimeError(f"{video.path}: decoded {len(raw)} frames, then {n} on the second pass")
        info = dict(width=video.width, height=video.height, fps=video.fps, backend=video.backend,
                    source_fps=getattr(video, "source_fps", video.fps))
        return LipTrack(crops, raw, detected, accepted, smoothed, time.perf_counter() - t0, info)
