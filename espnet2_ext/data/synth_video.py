"""Talking-face video synthesis for the embedded demo corpus.

    phone segments (phone, st, et) --visemes + coarticulation--> mouth tracks (open, spread, round,
    teeth) at 200 Hz --average over each 1/25 s frame--> per-frame mouth shape
    astronaut photo (face crop, real mouth in-painted) + rendered lips
      --head motion (translation, rotation, scale) + slow lighting--> (T_v, S, S, 3) uint8 frames
      + per-frame mouth centre (T_v, 2) float32 --ffmpeg libx264 yuv420p, bit-exact--> <utt>.mp4

Visemes: bilabials b/p/m closed, open vowels (a) wide open, rounded u/o/v narrow and round, i/e
spread, f lower lip under the upper teeth, SP closed at rest, AP slightly open.
"""

import os
import subprocess
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Sequence, Tuple

import cv2
import numpy as np

from espnet2_ext.data.synth_audio import FINAL_SHAPES, INITIAL_KINDS

FPS = 25
CTRL_RATE = 200  # Hz of the mouth control tracks
_CROP = (124, 30, 200)  # x0, y0, size of the face crop in skimage's astronaut photo
_MOUTH_FULL = (224.0, 146.0)  # centre of the real mouth in the photo

# viseme = (open, spread, round, teeth)
_VOWEL_VISEMES = {
    "a": (1.0, 0.55, 0.0, 0.0), "A": (0.95, 0.45, 0.1, 0.0), "o": (0.6, 0.1, 0.85, 0.0),
    "e": (0.45, 0.5, 0.0, 0.0), "E": (0.5, 0.75, 0.0, 0.0), "i": (0.18, 1.0, 0.0, 0.0),
    "u": (0.12, 0.0, 1.0, 0.0), "v": (0.14, 0.1, 0.9, 0.0), "er": (0.35, 0.35, 0.35, 0.0),
    "z": (0.15, 0.85, 0.0, 0.0), "zh": (0.2, 0.6, 0.35, 0.0),
}
_REST = (0.0, 0.35, 0.05, 0.0)
_BREATH = (0.3, 0.35, 0.05, 0.0)
_BILABIAL = (0.0, 0.3, 0.0, 0.0)
_LABIODENTAL = (0.08, 0.45, 0.0, 1.0)


@dataclass(frozen=True)
class FaceLook:
    """Per-singer appearance: lip colour and mouth size."""

    lip_rgb: Tuple[int, int, int] = (178, 72, 84)
    mouth_scale: float = 1.0


def _initial_viseme(ph: str, next_vis) -> Tuple[float, float, float, float]:
    if ph in ("b", "p", "m"):
        return _BILABIAL
    if ph == "f":
        return _LABIODENTAL
    kind = INITIAL_KINDS[ph][0]
    o, s, r, _ = next_vis
    if ph in ("zh", "ch", "sh", "r"):
        return (0.15, 0.4, 0.5, 0.0)
    if ph in ("z", "c", "s", "j", "q", "x"):
        return (0.12, 0.8 if r < 0.5 else 0.3, r * 0.8, 0.0)
    if kind in ("stop", "astop") and ph in ("d", "t"):
        return (0.2, 0.5, r * 0.5, 0.0)
    return (o * 0.6, s, r * 0.7, 0.0)  # g k h n l: anticipate the vowel


def mouth_tracks(segments: Sequence[Tuple[str, float, float]], duration: float) -> np.ndarray:
    """Phone segments -> (N, 4) mouth tracks (open, spread, round, teeth) at CTRL_RATE Hz."""
    n = int(np.ceil(duration * CTRL_RATE)) + 1
    tr = np.tile(np.array(_REST), (n, 1))
    for i, (ph, st, et) in enumerate(segments):
        a, b = int(round(st * CTRL_RATE)), min(n, int(round(et * CTRL_RATE)))
        if b <= a:
            continue
        if ph == "SP":
            tr[a:b] = _REST
        elif ph == "AP":
            tr[a:b] = _BREATH
        elif ph in INITIAL_KINDS:
            nxt = segments[i + 1][0] if i + 1 < len(segments) else "SP"
            vis = _VOWEL_VISEMES[FINAL_SHAPES[nxt][0][0]] if nxt in FINAL_SHAPES else _REST
            tr[a:b] = _initial_viseme(ph, vis)
        else:
            prev = segments[i - 1][0] if i > 0 else ""
            vowels, coda = FINAL_SHAPES[ph]
            if ph == "i" and prev in ("z", "c", "s"):
                vowels = ["z"]
            elif ph == "i" and prev in ("zh", "ch", "sh", "r"):
                vowels = ["zh"]
            m = b - a
            n_coda = min(m // 2, max(2, int(0.25 * m))) if coda else 0
            w = np.ones(len(vowels))
            if len(vowels) > 1 and vowels[0] in ("i", "u", "v"):
                w[0] = 0.35
            bounds = a + np.round(np.cumsum(np.r_[0, w / w.sum()]) * (m - n_coda)).astype(int)
            for v, s, e in zip(vowels, bounds[:-1], bounds[1:]):
                tr[s:e] = _VOWEL_VISEMES[v]
            if n_coda:
                o, s, r, _ = _VOWEL_VISEMES[vowels[-1]]
                tr[b - n_coda:b] = (0.25 if coda == "n" else 0.35, s, r, 0.0)
    # coarticulation: gaussian smoothing (sigma 25 ms)
    sig = 0.025 * CTRL_RATE
    k = np.exp(-0.5 * (np.arange(-3 * sig, 3 * sig + 1) / sig) ** 2)
    k /= k.sum()
    pad = len(k) // 2
    tp = np.pad(tr, ((pad, pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(tp[:, j], k, mode="valid") for j in range(4)], axis=1)


def frame_shapes(tracks: np.ndarray, n_frames: int) -> np.ndarray:
    """Average the control tracks over each video frame's span -> (T_v, 4)."""
    out = np.zeros((n_frames, 4))
    per = CTRL_RATE / FPS
    for i in range(n_frames):
        a, b = int(round(i * per)), int(round((i + 1) * per))
        seg = tracks[a:max(b, a + 1)]
        out[i] = seg.mean(axis=0) if len(seg) else tracks[-1]
    return out


@lru_cache(maxsize=4)
def base_face(size: int) -> Tuple[np.ndarray, Tuple[float, float]]:
    """Astronaut face crop with the real mouth in-painted -> (size, size, 3) RGB, mouth centre."""
    import skimage.data

    img = skimage.data.astronaut()
    mask = np.zeros(img.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(_MOUTH_FULL[0]), int(_MOUTH_FULL[1])), (28, 12), 0, 0, 360, 255, -1)
    img = cv2.inpaint(img, mask, 7, cv2.INPAINT_TELEA)
    x0, y0, s = _CROP
    crop = cv2.resize(img[y0:y0 + s, x0:x0 + s], (size, size), interpolation=cv2.INTER_AREA)
    k = size / s
    return crop, ((_MOUTH_FULL[0] - x0) * k, (_MOUTH_FULL[1] - y0) * k)


def _draw_mouth(img: np.ndarray, centre, shape, look: FaceLook, size: int) -> None:
    """Draw lips, mouth cavity and teeth on ``img`` (in place), canonical face coordinates."""
    o, s, r, t = [float(v) for v in shape]
    u = size / 192.0 * look.mouth_scale
    half_w = (17.0 + 7.0 * s - 8.0 * r) * u
    open_h = (1.0 + 24.0 * o) * u  # inner opening height
    up, lo = (5.0 + 1.5 * r) * u, (6.5 + 1.5 * r) * u
    cx, cy = centre
    sh = 16

    def ell(img, c, ax, color):
        cv2.ellipse(img, (int(round(c[0] * sh)), int(round(c[1] * sh))),
                    (max(1, int(round(ax[0] * sh))), max(1, int(round(ax[1] * sh)))),
                    0, 0, 360, color, -1, cv2.LINE_AA, 4)

    lip = tuple(int(v) for v in look.lip_rgb)
    # outer lip contour: a tall ellipse around the opening
    ell(img, (cx, cy + (lo - up) / 2), (half_w + 2 * u, open_h / 2 + (up + lo) / 2), lip)
    inner_w = half_w * (0.9 - 0.25 * r)
    if t > 0.3:  # labiodental: upper teeth resting on the lower lip
        ell(img, (cx, cy - 1.0 * u), (inner_w * 0.8, 3.0 * u), (232, 228, 215))
        return
    if open_h > 2.0 * u:
        ell(img, (cx, cy), (inner_w, open_h / 2), (45, 14, 22))
        if r < 0.6:  # upper teeth
            ty = cy - open_h / 2 + 1.6 * u
            ell(img, (cx, ty), (inner_w * 0.75, min(2.5 * u, open_h / 4)), (235, 230, 220))
    else:
        cv2.line(img, (int(round((cx - inner_w) * sh)), int(round(cy * sh))),
                 (int(round((cx + inner_w) * sh)), int(round(cy * sh))), (90, 30, 40), 1, cv2.LINE_AA, 4)


def render_frames(shapes: np.ndarray, rng: np.random.Generator, size: int = 192,
                  look: FaceLook = FaceLook()) -> Tuple[np.ndarray, np.ndarray]:
    """Per-frame mouth shapes (T_v, 4) -> frames (T_v, size, size, 3) uint8 RGB, mouth (T_v, 2)."""
    face, mouth = base_face(size)
    n = len(shapes)
    t = np.arange(n) / FPS
    ph = rng.uniform(0, 2 * np.pi, size=6)
    amp = rng.uniform(0.5, 1.0, size=4)
    dx = 3.0 * amp[0] * np.sin(2 * np.pi * t / 3.1 + ph[0]) + 1.0 * np.sin(2 * np.pi * t / 0.9 + ph[4])
    dy = 2.0 * amp[1] * np.sin(2 * np.pi * t / 2.3 + ph[1])
    rot = 1.5 * amp[2] * np.sin(2 * np.pi * t / 2.7 + ph[2])  # degrees
    scale = 1.0 + 0.02 * amp[3] * np.sin(2 * np.pi * t / 3.7 + ph[3])
    light = 1.0 + 0.12 * np.sin(2 * np.pi * t / 4.3 + ph[5])
    grad = 0.08 * np.sin(2 * np.pi * t / 5.9 + ph[4])
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)[None, :, None]
    frames = np.empty((n, size, size, 3), np.uint8)
    centres = np.empty((n, 2), np.float32)
    for i in range(n):
        img = face.copy()
        _draw_mouth(img, mouth, shapes[i], look, size)
        m = cv2.getRotationMatrix2D((size / 2.0, size / 2.0), float(rot[i]), float(scale[i]))
        m[:, 2] += (dx[i], dy[i])
        img = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        gain = light[i] * (1.0 + grad[i] * ramp)
        frames[i] = np.clip(img.astype(np.float32) * gain, 0, 255).astype(np.uint8)
        centres[i] = m @ np.array([mouth[0], mouth[1], 1.0])
    return frames, centres


def encode_mp4(frames: np.ndarray, path: Path, fps: int = FPS, crf: int = 20) -> None:
    """Encode RGB frames (T, H, W, 3) to an H.264 yuv420p mp4, bit-exact and single-threaded."""
    import imageio_ffmpeg

    path = Path(path)
    tmp = path.with_name(path.stem + ".tmp" + path.suffix)
    n, h, w, _ = frames.shape
    cmd = [imageio_ffmpeg.get_ffmpeg_exe(), "-y", "-loglevel", "error", "-f", "rawvideo", "-pix_fmt", "rgb24",
           "-s", f"{w}x{h}", "-r", str(fps), "-i", "-", "-c:v", "libx264", "-preset", "medium", "-crf", str(crf),
           "-pix_fmt", "yuv420p", "-threads", "1", "-x264-params", "threads=1", "-fflags", "+bitexact",
           "-flags:v", "+bitexact", "-map_metadata", "-1", "-movflags", "+faststart", str(tmp)]
    proc = subprocess.run(cmd, input=np.ascontiguousarray(frames).tobytes(), capture_output=True)
    if proc.returncode != 0:
        tmp.unlink(missing_ok=True)
        raise RuntimeError(f"ffmpeg failed writing {path}: {proc.stderr.decode(errors='replace')[-500:]}")
    os.replace(tmp, path)
