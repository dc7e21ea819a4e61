"""Video-rate -> mel-rate length mapping of HPMDubbing (no duration predictor).

    h (B, T_v, H) lip-rate features --per utterance, linear interpolation--> (B, T, H)
    T = target mel length in training; round(T_v * fs / hop / fps) at inference.
"""

from typing import List

import torch


def mel_length_from_video(n_video_frames: int, fs: int, hop_length: int, video_fps: float) -> int:
    """Number of mel frames covering ``n_video_frames`` video frames (at least 1)."""
    return max(1, int(round(n_video_frames * fs / hop_length / video_fps)))


def interpolate_to_lengths(h: torch.Tensor, h_lengths: torch.Tensor, out_lengths: List[int]) -> torch.Tensor:
    """h (B, T_v, H), h_lengths (B,), out_lengths B ints -> (B, max(out_lengths), H), zero-padded."""
    b, _, dim = h.shape
    out = h.new_zeros(b, max(out_lengths), dim)
    for i in range(b):
        src = h[i, : int(h_lengths[i])].t()[None]  # (1, H, T_v_i)
        out[i, : out_lengths[i]] = torch.nn.functional.interpolate(
            src, size=int(out_lengths[i]), mode="linear", align_corners=False
        )[0].t()
    return out
