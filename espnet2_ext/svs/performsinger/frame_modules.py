"""Frame-level pieces of PerformSinger's decoder input (sec. 3.5).

    F0 (B, T) Hz --F0Embedding--> (B, T, H)      added to the condition before the mel decoder
    cond (B, T, H) --AuxMelDecoder--> (B, T, odim)  the auxiliary mel a shallow diffusion starts from
"""

import torch

from espnet2_ext.svs.diffusion.f0_predictor import f0_to_unit


class F0Embedding(torch.nn.Module):
    """F0 (B, T) Hz -> (B, T, H): log2-F0 in [-1, 1] quantised to bins 1..n-1, bin 0 = unvoiced."""

    def __init__(self, hidden: int, bins: int = 256, log2_min: float = 6.0, log2_max: float = 10.0):
        super().__init__()
        self.bins, self.log2_min, self.log2_max = bins, log2_min, log2_max
        self.embed = torch.nn.Embedding(bins, hidden, padding_idx=0)

    def forward(self, f0: torch.Tensor) -> torch.Tensor:
        x = f0_to_unit(f0, self.log2_min, self.log2_max)  # (B, T) in [-1, 1]
        idx = 1 + torch.round((x + 1.0) / 2.0 * (self.bins - 2)).long()
        return self.embed(torch.where(f0 > 0, idx, torch.zeros_like(idx)))


class AuxMelDecoder(torch.nn.Module):
    """Small conv decoder giving the auxiliary mel that shallow diffusion starts from."""

    def __init__(self, hidden: int, odim: int, layers: int, kernel: int = 5):
        super().__init__()
        self.convs = torch.nn.ModuleList([torch.nn.Conv1d(hidden, hidden, kernel, padding=kernel // 2)
                                          for _ in range(layers)])
        self.out = torch.nn.Linear(hidden, odim)

    def forward(self, cond: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, T, H) -> (B, T, odim)
        m = mask[:, None, :].to(cond.dtype)
        h = cond.transpose(1, 2) * m
        for conv in self.convs:
            h = (h + torch.relu(conv(h))) * m
        return self.out(h.transpose(1, 2)) * mask[..., None].to(cond.dtype)
