"""Phone-to-video alignment helpers of the fusion module.

    GT durations d (B, N) in mel frames --phone spans in seconds--> overlap with video frames
        -> A* (B, N, T_v): fraction of video frame t covered by phone n
    fusion attention a (B, N, T_v) -> guided alignment loss  -log sum_t a[n, t] * [A*[n, t] > 0]

Why: in the demo corpus (and in singing generally) the timing of a phone is only visible in the
video, and a cross-attention that has to discover which frames show which phone from the
duration loss alone learns slowly. Since phone boundaries are annotated in training data
(VisualSinger's TextGrids), the attention of each phone is guided towards the video frames its
span overlaps, like the guided attention of text-to-speech aligners. Nothing here is used at
inference, where durations are predicted.

``attention_moments`` reads timing off an attention map: the centre (expected frame) and the
spread of each phone's attention; for attention spread evenly over k whole frames the variance
is (k^2 - 1) / 12, so sqrt(12 spread^2 + 1) is the phone's length in video frames.
"""

from typing import Tuple

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
