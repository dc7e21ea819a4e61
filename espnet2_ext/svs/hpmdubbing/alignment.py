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

from espnet2_ext.svs.alignment import monotonic_path


def durations_from_attention(attn: torch.Tensor, n_mel: int) -> torch.Tensor:
    """attn (N, T_v) -> (N,) long mel-frame durations along the monotonic argmax path."""
    a = attn.detach().float().cpu().numpy()
    n, t = a.shape
    path = monotonic_path(a)
    counts = np.bincount(path, minlength=n)  # video frames per phone
    bounds = np.round(np.cumsum(counts) * n_mel / t).astype(np.int64)  # end of each phone in mel frames
    dur = np.diff(np.concatenate([[0], bounds]))
    return torch.from_numpy(dur)
