"""Phone-to-video alignment helpers, shared by the fusion modules, the duration sources and HPMDubbing.

    GT durations d (B, N) in mel frames --phone spans in seconds--> overlap with video frames
        -> A* (B, N, T_v): fraction of video frame t covered by phone n             video_overlap
    fusion attention a (B, N, T_v) -> guided alignment loss  -log sum_t a[n, t] * [A*[n, t] > 0]
    mask (B, L) -> sinusoids of the relative position (i + 0.5) / L               relative_position_encoding
    scores (N, T_v) --Viterbi, phone index non-decreasing by steps of 0 or 1--> phone per frame
                                                                                  monotonic_path
    log p(n | t) (B, N, T_v) --monotonic path, sub-frame boundaries at phone changes-->
        mel-frame durations (B, N)                                                posterior_durations

Why the guided loss: in the demo corpus (and in singing generally) the timing of a phone is only
visible in the video, and a cross-attention that has to discover which frames show which phone
from the duration loss alone learns slowly. Since phone boundaries are annotated in training data
(VisualSinger's TextGrids), the attention of each phone is guided towards the video frames its
span overlaps, like the guided attention of text-to-speech aligners.

``attention_moments`` reads timing off an attention map: the centre (expected frame) and the
spread of each phone's attention; for attention spread evenly over k whole frames the variance
is (k^2 - 1) / 12, so sqrt(12 spread^2 + 1) is the phone's length in video frames.
"""

from typing import List, Optional, Tuple

import numpy as np
import torch


def video_overlap(d: torch.Tensor, pmask: torch.Tensor, t_v: int, frame_rate: float, video_fps: float) -> torch.Tensor:
    """Durations d (B, N) in mel frames -> (B, N, T_v) fraction of each video frame inside each phone."""
    ends = torch.cumsum(d.to(torch.float32) * pmask, dim=1) / frame_rate  # (B, N) seconds
    starts = ends - d.to(torch.float32) * pmask / frame_rate
    t0 = torch.arange(t_v, device=d.device, dtype=torch.float32) / video_fps  # (T_v,)
    t1 = t0 + 1.0 / video_fps
    inter = torch.minimum(ends[..., None], t1) - torch.maximum(starts[..., None], t0)  # (B, N, T_v)
    return (inter.clamp(min=0.0) * video_fps) * pmask[..., None]


def guided_alignment_loss(
    attn: torch.Tensor,  # (B, N, T_v) rows sum to 1 over valid frames
    d: torch.Tensor,  # (B, N) GT durations in mel frames
    pmask: torch.Tensor,  # (B, N) bool
    vmask: torch.Tensor,  # (B, T_v) bool
    frame_rate: float,
    video_fps: float,
    eps: float = 1e-6,
) -> torch.Tensor:
    """Mean over phones (with a non-zero duration) of -log(attention mass on overlapping frames)."""
    target = video_overlap(d, pmask.to(torch.float32), attn.shape[-1], frame_rate, video_fps)
    target = (target > 0).to(attn.dtype) * vmask[:, None, :].to(attn.dtype)  # (B, N, T_v)
    mass = (attn * target).sum(-1)  # (B, N)
    valid = pmask & (target.sum(-1) > 0)
    if not valid.any():
        return attn.new_zeros(())
    return -(torch.log(mass.clamp(min=eps))[valid]).mean()


def attention_moments(attn: torch.Tensor, vmask: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
    """attn (B, N, T_v) -> centre (B, N) and spread (B, N) of each phone's attention, in video frames."""
    a = attn * vmask[:, None, :].to(attn.dtype)
    a = a / a.sum(-1, keepdim=True).clamp(min=1e-6)
    pos = torch.arange(attn.shape[-1], device=attn.device, dtype=attn.dtype) + 0.5  # frame centres
    centre = (a * pos).sum(-1)
    spread = ((a * (pos - centre[..., None]) ** 2).sum(-1)).clamp(min=0.0).sqrt()
    return centre, spread


def relative_position_encoding(mask: torch.Tensor, dim: int, scale: float = 100.0) -> torch.Tensor:
    """mask (B, L) -> (B, L, dim): sinusoids of the relative position (i + 0.5) / length * scale.

    Phones and video frames share this encoding, so a query at relative position x matches keys
    near x before any viseme is recognised: a soft diagonal prior for the cross-attention.
    """
    length = mask.sum(-1, keepdim=True).clamp(min=1).to(torch.float32)  # (B, 1)
    pos = (torch.arange(mask.shape[1], device=mask.device, dtype=torch.float32)[None] + 0.5) / length * scale
    freq = torch.exp(-torch.arange(0, dim, 2, device=mask.device, dtype=torch.float32) * (4.0 / dim))
    ang = pos[..., None] * freq  # (B, L, dim / 2)
    pe = torch.stack([torch.sin(ang), torch.cos(ang)], dim=-1).flatten(2)[..., :dim]
    return pe * mask[..., None].to(pe.dtype)


def monotonic_path(attn: np.ndarray) -> np.ndarray:
    """attn (N, T_v) weights -> phone index per frame (T_v,), non-decreasing, steps of 0 or 1.

    Viterbi over log attn from phone 0 at frame 0 to phone N - 1 at the last frame (every phone
    gets >= 1 frame). When T_v < N no such path exists; then every frame takes its argmax phone.
    """
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


def monotonic_viterbi(logp: np.ndarray) -> np.ndarray:
    """logp (N, T) -> phone index per frame (T,): the monotonic path maximising sum log p."""
    return monotonic_path(np.exp(logp))


def soft_counts(logp: np.ndarray, path: np.ndarray) -> np.ndarray:
    """Phone lengths (N,) in video frames (fractional) from the path and the posteriors.

    A frame whose neighbours on the path show other phones (a phone change) splits its unit
    between the phones of itself and its two neighbours in proportion to p(n | t); other frames
    count 1 for their path phone. The lengths sum to T.
    """
    n, t = logp.shape
    counts = np.zeros(n)
    p = np.exp(logp - logp.max(0, keepdims=True))
    for j in range(t):
        cand = {int(path[j])}
        if j > 0:
            cand.add(int(path[j - 1]))
        if j + 1 < t:
            cand.add(int(path[j + 1]))
        if len(cand) == 1:
            counts[path[j]] += 1.0
            continue
        idx = np.array(sorted(cand))
        w = p[idx, j]
        w = w / w.sum() if w.sum() > 0 else np.full(len(idx), 1.0 / len(idx))
        counts[idx] += w
    return counts


def posterior_durations(logp: torch.Tensor, c_mask: torch.Tensor, v_mask: torch.Tensor, frame_rate: float,
                        video_fps: float, min_frames: Optional[torch.Tensor] = None) -> torch.Tensor:
    """log p(n | t) (B, N, T_v) -> mel-frame durations (B, N) long: Viterbi path, sub-frame boundaries,
    boundaries rounded to mel frames (so they do not drift), >= min_frames (B, N) where given."""
    out = torch.zeros(logp.shape[:2], dtype=torch.long, device=logp.device)
    lp = logp.detach().float().cpu().numpy()
    n_len: List[int] = c_mask.sum(-1).tolist()
    t_len: List[int] = v_mask.sum(-1).tolist()
    for b, (n, t) in enumerate(zip(n_len, t_len)):
        if n == 0 or t == 0:
            continue
        a = lp[b, :n, :t]
        counts = soft_counts(a, monotonic_viterbi(a))  # (n,) video frames
        bounds = np.round(np.cumsum(counts) * frame_rate / video_fps).astype(np.int64)
        d = np.diff(np.concatenate([[0], bounds]))
        out[b, :n] = torch.from_numpy(d).to(out.device)
    if min_frames is not None:
        out = torch.maximum(out, min_frames.to(out.dtype))
    return out.masked_fill(~c_mask, 0)
