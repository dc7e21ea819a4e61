"""Lip-sync error (LSE-C / LSE-D) with a SyncNet.

    wav (N,) at fs --resample 16 kHz--> MFCC (13 x T_a, 100 frames/s, c0 = log frame energy)
    video + stage 3's face track (T_v, 3) --face_crops (lip/align.py, syncnet_python's crop)-->
      face crops (T_v, 224, 224, 3) uint8 BGR at 25 fps (0..255 as SyncNet; never mouth crops)
    video window i = frames i..i+4           -> SyncNet.forward_lip -> v_i (D,)
    audio window i = MFCC frames 4i..4i+19   -> SyncNet.forward_aud -> a_i (D,)
    dist(o)  = mean_i ||v_i - a_{i+o}||_2 over the windows where both exist, o = -15..+15
               (o > 0: the audio lags the video by o frames)
    LSE-D = min_o dist(o);  LSE-C = median_o dist(o) - min_o dist(o);  offset = argmin_o
"""

from typing import Dict, Optional

import numpy as np
import torch

MFCC_RATE = 100  # frames per second
VIDEO_FPS = 25


def mfcc(wav16k: np.ndarray, n_ceps: int = 13, n_filt: int = 26, n_fft: int = 512,
         win: int = 400, hop: int = 160, preemph: float = 0.97, lifter: int = 22) -> np.ndarray:
    """(N,) 16 kHz audio -> (n_ceps, T) MFCC, T = 1 + max(0, ceil((N - win) / hop)); c0 = log energy."""
    from scipy.fft import dct

    x = np.asarray(wav16k, dtype=np.float64)
    x = np.append(x[:1], x[1:] - preemph * x[:-1]) if len(x) else x
    n = 1 + max(0, int(np.ceil((len(x) - win) / hop)))
    x = np.pad(x, (0, max(0, (n - 1) * hop + win - len(x))))
    frames = np.lib.stride_tricks.sliding_window_view(x, win)[::hop][:n]
    power = np.abs(np.fft.rfft(frames, n_fft)) ** 2 / n_fft
    energy = np.maximum(power.sum(1), 1e-10)
    mel = lambda f: 2595 * np.log10(1 + f / 700.0)  # noqa: E731
    pts = 700 * (10 ** (np.linspace(mel(0), mel(8000), n_filt + 2) / 2595) - 1)
    bins = np.floor((n_fft + 1) * pts / 16000).astype(int)
    fb = np.zeros((n_filt, n_fft // 2 + 1))
    for m in range(1, n_filt + 1):
        lo, c, hi = bins[m - 1], bins[m], bins[m + 1]
        fb[m - 1, lo:c] = (np.arange(lo, c) - lo) / max(c - lo, 1)
        fb[m - 1, c:hi] = (hi - np.arange(c, hi)) / max(hi - c, 1)
    feat = np.log(np.maximum(power @ fb.T, 1e-10))
    ceps = dct(feat, type=2, axis=1, norm="ortho")[:, :n_ceps]
    ceps *= 1 + (lifter / 2.0) * np.sin(np.pi * np.arange(n_ceps) / lifter)
    ceps[:, 0] = np.log(energy)
    return ceps.T.astype(np.float32)


def offset_distances(video_emb: torch.Tensor, audio_emb: torch.Tensor, vshift: int = 15) -> np.ndarray:
    """(T1, D) video and (T2, D) audio window embeddings -> (2*vshift+1,) mean distance per offset
    (NaN where an offset has no overlapping windows)."""
    out = np.full(2 * vshift + 1, np.nan)
    for k, o in enumerate(range(-vshift, vshift + 1)):
        i0, i1 = max(0, -o), min(len(video_emb), len(audio_emb) - o)
        if i1 > i0:
            d = torch.linalg.vector_norm(video_emb[i0:i1] - audio_emb[i0 + o:i1 + o], dim=1)
            out[k] = float(d.mean())
    return out


def lse_from_distances(dists: np.ndarray, vshift: int = 15) -> Dict[str, float]:
    """LSE-D = min, LSE-C = median - min, offset = argmin - vshift."""
    k = int(np.nanargmin(dists))
    return {"lse_d": float(dists[k]), "lse_c": float(np.nanmedian(dists) - dists[k]), "offset": k - vshift}


def face_crops(video_path, track: np.ndarray) -> np.ndarray:
    """Video file + face track (T_v, 3: box centre x, y, half size; extract_lip_roi's
    --face_track_dir) -> (T, 224, 224, 3) uint8 BGR face crops, T = min(frames, track rows)."""
    import cv2

    from espnet2_ext.lip.align import syncnet_face_crop
    from espnet2_ext.lip.video_io import EXPECTED_FPS, resample_by_time

    track = np.asarray(track, np.float64)
    if track.ndim != 2 or track.shape[1] != 3:
        raise ValueError(f"face track of {video_path} must be (T_v, 3), got {track.shape}")
    cap = cv2.VideoCapture(str(video_path))
    fps = float(cap.get(cv2.CAP_PROP_FPS) or EXPECTED_FPS)

    def decoded():
        i = 0
        while True:
            ok, frame = cap.read()  # BGR, as syncnet_python feeds its network
            if not ok:
                return
            yield frame, i / fps
            i += 1

    out = []
    try:  # at 25 fps like the track (stage 3 resamples other rates by timestamp the same way)
        for frame in resample_by_time(decoded(), 1.0 / fps):
            if len(out) == len(track):
                break
            out.append(syncnet_face_crop(frame, track[len(out)]))
    finally:
        cap.release()
    if not out:
        raise ValueError(f"{video_path}: no decodable frame for the SyncNet face crops")
    return np.stack(out)


def video_tensor(frames: np.ndarray, channels: int, size: int = 224) -> torch.Tensor:
    """(T_v, size, size, C) face crops (or (T_v, size, size) when C = 1) -> (C, T_v, size, size)
    float32 in 0..255 (SyncNet's input scale). Other geometries are an error: SyncNet's video tower
    only reduces a 224 x 224 face to one embedding, and it was trained on face crops."""
    frames = np.asarray(frames)
    if frames.ndim == 3 and channels == 1:
        frames = frames[..., None]
    if frames.ndim != 4 or frames.shape[1:] != (size, size, channels):
        raise ValueError(f"SyncNet takes face crops (T_v, {size}, {size}, {channels}), got {frames.shape}: "
                         "pass face_crops(video, face_track) (stage 3's face_track.scp), not mouth crops")
    return torch.from_numpy(np.ascontiguousarray(frames, dtype=np.float32)).permute(3, 0, 1, 2)


def audio_windows(wav16k: np.ndarray) -> torch.Tensor:
    """(N,) 16 kHz -> (W_a, 1, 13, 20) MFCC windows, window i starting at MFCC frame 4 i."""
    cc = torch.from_numpy(mfcc(wav16k))  # (13, T_a)
    n_a = (cc.shape[1] - 20) // 4 + 1
    if n_a <= 0:
        return cc.new_zeros(0, 1, 13, 20)
    return torch.stack([cc[:, 4 * i:4 * i + 20] for i in range(n_a)])[:, None]


@torch.no_grad()
def lse(model, frames: np.ndarray, wav: np.ndarray, fs: int, vshift: int = 15, batch: int = 20,
        min_windows: Optional[int] = None) -> Dict[str, float]:
    """LSE-C / LSE-D of one clip: ``frames`` (T_v, 224, 224, C) face crops (``face_crops``),
    ``model`` has forward_lip / forward_aud and ``video_channels`` (see syncnet.py).

    Raises ValueError when the clip is shorter than ``min_windows`` (default vshift + 1) windows.
    """
    from espnet2_ext.features.format_wav import resample

    wav16k = resample(np.asarray(wav, dtype=np.float32), fs, 16000) if fs != 16000 else np.asarray(wav, np.float32)
    vid = video_tensor(frames, getattr(model, "video_channels", 3))  # (C, T_v, 224, 224)
    a_win = audio_windows(wav16k)
    n_v = vid.shape[1] - 4
    need = vshift + 1 if min_windows is None else min_windows
    if min(n_v, len(a_win)) < need:
        raise ValueError(f"clip too short for LSE: {max(n_v, 0)} video / {len(a_win)} audio windows < {need}")
    v_emb = torch.cat([model.forward_lip(torch.stack([vid[:, i:i + 5] for i in range(s, min(s + batch, n_v))]))
                       for s in range(0, n_v, batch)])
    a_emb = torch.cat([model.forward_aud(a_win[s:s + batch]) for s in range(0, len(a_win), batch)])
    dists = offset_distances(v_emb, a_emb, vshift)
    return lse_from_distances(dists, vshift)
