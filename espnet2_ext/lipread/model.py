"""Lip reader for pretraining: LipEncoder + lip-reading head, frame-level phone classification.

    lip (B, T_v, 88, 88) --LipEncoder (eq. 3)--> (B, T_v, D)
      --LipReadingHead: Conv1d(D, H, k=3) -> ReLU -> BiGRU(H) -> Linear(2H, n_classes)--> logits (B, T_v, C)
Only the LipEncoder is kept afterwards (``lip_encoder.pth``); PerformSinger trains its own head
over its token list on the frozen encoder (``duration_source: lipreader``).
"""

import torch

from espnet2_ext.svs.lip_encoder import LipEncoder
from espnet2_ext.svs.lip_reading_head import LipReadingHead


class LipReader(torch.nn.Module):
    """Args: encoder_conf (LipEncoder options), n_classes, head_hidden (H of the temporal head)."""

    def __init__(self, encoder_conf: dict, n_classes: int, head_hidden: int = 128):
        super().__init__()
        self.encoder = LipEncoder(encoder_conf)
        self.head = LipReadingHead(self.encoder.output_dim, n_classes, head_hidden)

    def forward(self, lip: torch.Tensor, lip_lengths: torch.Tensor) -> torch.Tensor:
        return self.head.logits(self.encoder(lip, lip_lengths), lip_lengths)  # (B, T_v, C)
