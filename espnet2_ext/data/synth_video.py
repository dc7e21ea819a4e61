"""Talking-face video synthesis for the embedded demo corpus.

    phone segments (phone, st, et) --visemes + coarticulation--> mouth tracks (open, spread, round,
    teeth, tongue) at 200 Hz --average over each 1/25 s frame--> per-frame mouth shape
    singer's face (synth_face.py: the astronaut photo with the singer's skin, width, lips, hair,
      glasses) --the photo's own lips warped to the shape, cavity, teeth, tongue (synth_mouth.py)-->
      --head pose per utterance (roll up to +/-15 degrees, scale +/-20 %, yaw-like squeeze,
        translation), lighting, blur, noise, a brief hand / microphone occlusion--> (T_v, S, S, 3)
      + ground truth (T_v, 10) float32 (GT_COLUMNS) --ffmpeg libx264 yuv420p, bit-exact--> <utt>.mp4
    difficulty "easy": the same faces and mouths with the head upright at its rest size (no roll,
      scale or squeeze), no blur, noise or occlusion (translation and lighting stay); it separates
      what the mouth's rendering does to a lip reader from what the head pose and degradations do

Visemes: bilabials b/p/m closed, open vowels (a) wide open, rounded u/o/v narrow and round, i/e
spread, f lower lip under the upper teeth, SP closed at rest, AP slightly open.
"""

from pathlib import Path
from typing import Dict, Sequence, Tuple

import cv2
import numpy as np

from espnet2_ext.data.synth_audio import FINAL_SHAPES, INITIAL_KINDS
from espnet2_ext.data.synth_face import FaceBase, FaceLook, build_face, singer_look  # noqa: F401 (re-export)
from espnet2_ext.data.synth_mouth import render_mouth
from espnet2_ext.utils.ffmpeg import ffmpeg_to

FPS = 25
CTRL_RATE = 200  # Hz of the mouth control tracks
# columns of the ground truth written beside each video (<utt>.mouth.npy)
GT_COLUMNS = ("mouth_x", "mouth_y", "corner_r_x", "corner_r_y", "corner_l_x", "corner_l_y", "roll_deg",
              "interocular_px", "face_width_px", "occluded")
_ALVEOLARS = ("d", "t", "n", "l")
VIDEO_DIFFICULTIES = ("hard", "easy")

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
    """Phone segments -> (N, 5) mouth tracks (open, spread, round, teeth, tongue) at CTRL_RATE Hz;
    tongue is 1 on the alveolars d t n l (the tongue tip at the upper teeth), else 0."""
    n = int(np.ceil(duration * CTRL_RATE)) + 1
    tr = np.tile(np.array(_REST + (0.0,)), (n, 1))
    for i, (ph, st, et) in enumerate(segments):
        a, b = int(round(st * CTRL_RATE)), min(n, int(round(et * CTRL_RATE)))
        if b <= a:
            continue
        if ph == "SP":
            tr[a:b, :4] = _REST
        elif ph == "AP":
            tr[a:b, :4] = _BREATH
        elif ph in INITIAL_KINDS:
            nxt = segments[i + 1][0] if i + 1 < len(segments) else "SP"
            vis = _VOWEL_VISEMES[FINAL_SHAPES[nxt][0][0]] if nxt in FINAL_SHAPES else _REST
            tr[a:b, :4] = _initial_viseme(ph, vis)
            tr[a:b, 4] = float(ph in _ALVEOLARS)
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
                tr[s:e, :4] = _VOWEL_VISEMES[v]
            if n_coda:
                o, s, r, _ = _VOWEL_VISEMES[vowels[-1]]
                tr[b - n_coda:b] = (0.25 if coda == "n" else 0.35, s, r, 0.0, float(coda == "n"))
    # coarticulation: gaussian smoothing (sigma 25 ms)
    sig = 0.025 * CTRL_RATE
    k = np.exp(-0.5 * (np.arange(-3 * sig, 3 * sig + 1) / sig) ** 2)
    k /= k.sum()
    pad = len(k) // 2
    tp = np.pad(tr, ((pad, pad), (0, 0)), mode="edge")
    return np.stack([np.convolve(tp[:, j], k, mode="valid") for j in range(tr.shape[1])], axis=1)


def frame_shapes(tracks: np.ndarray, n_frames: int) -> np.ndarray:
    """Average the control tracks (N, D) over each video frame's span -> (T_v, D)."""
    out = np.zeros((n_frames, tracks.shape[1]))
    per = CTRL_RATE / FPS
    for i in range(n_frames):
        a, b = int(round(i * per)), int(round((i + 1) * per))
        seg = tracks[a:max(b, a + 1)]
        out[i] = seg.mean(axis=0) if len(seg) else tracks[-1]
    return out


def head_motion(n: int, rng: np.random.Generator, size: int) -> Dict[str, np.ndarray]:
    """Per-utterance head pose and image degradations, per frame (T_v,) arrays: roll (degrees, up to
    +/-15), scale (+/-20 %), yaw-like horizontal squeeze, translation, lighting, blur, noise."""
    t = np.arange(n) / FPS
    ph = rng.uniform(0, 2 * np.pi, size=8)
    roll0, roll_amp = rng.uniform(-12.0, 12.0), rng.uniform(0.5, 3.0)
    scale0, yaw0 = rng.uniform(0.85, 1.15), rng.uniform(0.0, 0.10)
    u = size / 192.0
    return dict(
        dx=u * (3.0 * np.sin(2 * np.pi * t / 3.1 + ph[0]) + 1.0 * np.sin(2 * np.pi * t / 0.9 + ph[4])),
        dy=u * 2.0 * np.sin(2 * np.pi * t / 2.3 + ph[1]),
        roll=roll0 + roll_amp * np.sin(2 * np.pi * t / 2.7 + ph[2]),
        scale=scale0 * (1.0 + 0.04 * np.sin(2 * np.pi * t / 3.7 + ph[3])),
        squeeze=1.0 - yaw0 - 0.04 * (1 + np.sin(2 * np.pi * t / 4.9 + ph[6])),
        light=1.0 + 0.12 * np.sin(2 * np.pi * t / 4.3 + ph[5]),
        grad=0.08 * np.sin(2 * np.pi * t / 5.9 + ph[7]),
        blur=np.full(n, rng.uniform(0.0, 1.1) * u),
        noise=np.full(n, rng.uniform(0.0, 5.0)),
    )


def ease_motion(h: Dict[str, np.ndarray], occ: np.ndarray) -> Tuple[Dict[str, np.ndarray], np.ndarray]:
    """The "easy" video of head_motion's pose and _occlusion's flags: roll 0, scale and squeeze 1,
    no blur, noise or occlusion; translation and lighting as drawn."""
    n = len(occ)
    h = dict(h, roll=np.zeros(n), scale=np.ones(n), squeeze=np.ones(n), blur=np.zeros(n), noise=np.zeros(n))
    return h, np.zeros(n, bool)


def _occlusion(n: int, rng: np.random.Generator) -> Tuple[np.ndarray, tuple]:
    """(T_v,) occluded flags (one 3-8 frame occlusion in half of the utterances) and its look:
    (kind 0 hand / 1 microphone box, x offset, y offset, width, height) in face widths from the
    mouth centre."""
    occ = np.zeros(n, bool)
    params = (int(rng.integers(2)), rng.uniform(-0.5, 0.2), rng.uniform(-0.1, 0.4),
              rng.uniform(0.3, 0.5), rng.uniform(0.25, 0.45))
    if rng.random() < 0.5 and n > 10:
        a = int(rng.integers(0, n - 8))
        occ[a:a + int(rng.integers(3, 9))] = True
    return occ, params


def _pose_matrix(h: Dict[str, np.ndarray], i: int, size: int, cx: float) -> np.ndarray:
    """(2, 3) canonical face -> frame: squeeze about the face centre, roll + scale, translation.
    Roll is clockwise on screen for positive degrees (the eye-line angle of ``GT_COLUMNS``)."""
    sq = np.array([[h["squeeze"][i], 0.0, cx * (1 - h["squeeze"][i])], [0, 1, 0], [0, 0, 1]])
    m = np.vstack([cv2.getRotationMatrix2D((size / 2.0, size / 2.0), float(-h["roll"][i]), float(h["scale"][i])),
                   [0, 0, 1]])
    m[:2, 2] += (h["dx"][i], h["dy"][i])
    return (m @ sq)[:2]


def _ground_truth(m: np.ndarray, tg: dict, base: FaceBase, occluded: bool) -> np.ndarray:
    """Frame truth (GT_COLUMNS): mouth centre, corners, roll, inter-ocular distance, face width."""
    def tr(p):
        return m[:, :2] @ np.asarray(p, np.float64) + m[:, 2]

    o = tg["outer"]
    mc = tr((o[0] + o[10] + o[5] + o[15]) / 4)
    pts = base.points
    er, el = tr((pts["r_eye_out"] + pts["r_eye_in"]) / 2), tr((pts["l_eye_out"] + pts["l_eye_in"]) / 2)
    d = el - er
    fw = np.hypot(*(tr(pts["cheek_l"]) - tr(pts["cheek_r"])))
    return np.array([*mc, *tr(o[0]), *tr(o[10]), np.degrees(np.arctan2(d[1], d[0])), np.hypot(*d), fw,
                     float(occluded)], np.float32)


def render_frames(shapes: np.ndarray, rng: np.random.Generator, size: int = 192,
                  look: FaceLook = FaceLook(), difficulty: str = "hard") -> Tuple[np.ndarray, np.ndarray]:
    """Per-frame mouth shapes (T_v, 4 or 5) -> frames (T_v, size, size, 3) uint8 RGB and the ground
    truth (T_v, 10) float32 (columns GT_COLUMNS: mouth centre x, y, right / left corner x, y, roll
    in degrees, inter-ocular distance, face width in px, occluded 0/1). difficulty: "hard" (head
    pose and degradations, see head_motion) or "easy" (ease_motion; the same random draws)."""
    if difficulty not in VIDEO_DIFFICULTIES:
        raise ValueError(f"video difficulty must be one of {VIDEO_DIFFICULTIES}, got {difficulty!r}")
    base = build_face(look, size)
    n = len(shapes)
    h = head_motion(n, rng, size)
    occ, (kind, ox, oy, ow, oh) = _occlusion(n, rng)
    if difficulty == "easy":
        h, occ = ease_motion(h, occ)
    cx = float(base.points["nose"][0])
    ramp = np.linspace(-1.0, 1.0, size, dtype=np.float32)[None, :, None]
    frames = np.empty((n, size, size, 3), np.uint8)
    truth = np.empty((n, len(GT_COLUMNS)), np.float32)
    for i in range(n):
        img = base.image.copy()
        tg = render_mouth(img, base, shapes[i], look)
        m = _pose_matrix(h, i, size, cx)
        img = cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        truth[i] = _ground_truth(m, tg, base, occ[i])
        img = img.astype(np.float32)
        img *= h["light"][i] * (1.0 + h["grad"][i] * ramp)
        if h["blur"][i] > 0.3:
            cv2.GaussianBlur(img, (0, 0), float(h["blur"][i]), dst=img)
        if h["noise"][i] > 0:
            img += rng.standard_normal((size, size, 1), dtype=np.float32) * np.float32(h["noise"][i])  # sensor luma noise
        if occ[i]:
            fw, (mx, my) = truth[i, 8], truth[i, :2]
            p0 = (int(mx + ox * fw), int(my + oy * fw))
            p1 = (int(p0[0] + ow * fw), int(p0[1] + oh * fw))
            colour = (196.0, 150.0, 128.0) if kind == 0 else (38.0, 38.0, 44.0)
            cv2.rectangle(img, p0, p1, colour, -1)
        np.clip(img, 0, 255, out=img)
        frames[i] = img  # truncating cast, as astype(np.uint8)
    return frames, truth


def encode_mp4(frames: np.ndarray, path: Path, fps: int = FPS, crf: int = 20) -> None:
    """Encode RGB frames (T, H, W, 3) to an H.264 yuv420p mp4, bit-exact and single-threaded."""
    n, h, w, _ = frames.shape
    ffmpeg_to(path, ["-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(fps), "-i", "-",
                     "-c:v", "libx264", "-preset", "medium", "-crf", str(crf), "-pix_fmt", "yuv420p", "-threads", "1",
                     "-x264-params", "threads=1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-map_metadata",
                     "-1", "-movflags", "+faststart"], f"writing {path}", input=np.ascontiguousarray(frames).tobytes())
