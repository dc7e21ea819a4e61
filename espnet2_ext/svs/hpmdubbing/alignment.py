"""Phone durations read off HPMDubbing's lip->text attention (it has no duration predictor).

    attn (N, T_v) phone x video-frame weights
      --monotonic argmax path (Viterbi over log attn: each frame takes one phone, the phone
        index never decreases and moves by at most 1 per frame, path from phone 0 at frame 0
        to phone N-1 at frame T_v-1)--> frames per phone (N,) in video frames
      --video-frame boundaries mapped to mel time: round(b * T_mel / T_v)--> durations (N,) mel frames

When T_v < N no such path exists; then every frame takes its argmax phone (durations may be 0).
Durations always sum to T_mel.
"""

import numpy as np
import torch


def monotonic_path(attn: np.ndarray) -> np.ndarray:
    """attn (N, T_v) -> phone index per frame (T_v,), non-decreasing, steps of 0 or 1."""
    n, t = attn.shape
    logp = np.log(np.clip(attn, 1e-8, None))
    if t < n:
        return np.maximum.accumulate(attn.argmax(0))
    score = np.full((n, t), -np.inf)
    back = np.zeros((n, t), dtype=np.int8)  # 1 = came from phone n-1
    score[0, 0] = logp[0, 0]
    for j in range(1, t):
        stay = score[:, j - 1]
        move = np.concatenate([[-np.inf], score[:-1, j - 1]])
        back[:, j] = move > stay
        score[:, j] = np.maximum(stay, move) + logp[:, j]
    path = np.zeros(t, dtype=np.int64)
    k = n - 1
    for j in range(t - 1, -1, -1):
        path[j] = k
        if j > 0 and back[k, j]:
            k -= 1
    return path


def durations_from_attention(attn: torch.Tensor, n_mel: int) -> torch.Tensor:
    """attn (N, T_v) -> (N,) long mel-frame durations along the monotonic argmax path."""
    a = attn.detach().float().cpu().numpy()
    n, t = a.shape
    path = monotonic_path(a)
    counts = np.bincount(path, minlength=n)  # video frames per phone
    bounds = np.round(np.cumsum(counts) * n_mel / t).astype(np.int64)  # end of each phone in mel frames
    dur = np.diff(np.concatenate([[0], bounds]))
    return torch.from_numpy(dur)
