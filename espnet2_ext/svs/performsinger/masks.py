"""Small helpers for padded batches: lengths -> boolean masks, trimming / padding along time."""

import torch


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """lengths (B,) -> (B, max_len) bool, True on valid positions."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def fit_length(x: torch.Tensor, length: int, dim: int = 1) -> torch.Tensor:
    """Trim or zero-pad ``x`` along ``dim`` to ``length`` (e.g. F0 with a frame more or less than the mel)."""
    cur = x.shape[dim]
    if cur >= length:
        return x.narrow(dim, 0, length)
    shape = list(x.shape)
    shape[dim] = length - cur
    return torch.cat([x, x.new_zeros(shape)], dim=dim)
