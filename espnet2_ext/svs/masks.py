"""Padded batches: lengths -> boolean masks, trimming / padding along time (the one home of both).

    lengths (B,) --lengths_to_mask--> (B, L) bool, True on valid positions
    x (..., L', ...) --fit_length--> (..., L, ...) trimmed or zero-padded along one axis

Every model of ``espnet2_ext.svs`` takes its masks from here. espnet's
``nets_utils.make_pad_mask(lengths, maxlen=L)`` is the inverse mask with two differences that
matter here: a length of 0 gives an all-valid row (its rows are picked with ``lengths - 1``),
and it asserts ``maxlen >= max(lengths)``; padded batches in this package hold empty rows
(a phone-less or frame-less utterance) and lengths clamped to a shorter target.
"""

import torch


def lengths_to_mask(lengths: torch.Tensor, max_len: int) -> torch.Tensor:
    """lengths (B,) -> (B, max_len) bool, True on valid positions (a length 0 row is all False)."""
    return torch.arange(max_len, device=lengths.device)[None, :] < lengths[:, None]


def fit_length(x: torch.Tensor, length: int, dim: int = 1) -> torch.Tensor:
    """Trim or zero-pad ``x`` along ``dim`` to ``length`` (e.g. F0 with a frame more or less than the mel)."""
    cur = x.shape[dim]
    if cur >= length:
        return x.narrow(dim, 0, length)
    shape = list(x.shape)
    shape[dim] = length - cur
    return torch.cat([x, x.new_zeros(shape)], dim=dim)
