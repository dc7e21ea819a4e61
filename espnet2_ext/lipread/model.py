"""Lip reader for pretraining: LipEncoder + small temporal head, frame-level phone classification.

    lip (B, T_v, 88, 88) --LipEncoder (eq. 3)--> (B, T_v, D)
      --Conv1d(D, H, k=3) -> ReLU--> --BiGRU(H)--> --Linear(2H, n_classes)--> logits (B, T_v, C)
Only the LipEncoder is kept afterwards (``lip_encoder.pth``).
"""

import torch

from espnet2_ext.svs.lip_encoder import LipEncoder


class LipReader(torch.nn.Module):
    """Args: encoder_conf (LipEncoder options), n_classes, head_hidden (H of the temporal head)."""

    def __init__(self, encoder_conf: dict, n_classes: int, head_hidden: int = 128):
        super().__init__()
        self.encoder = LipEncoder(encoder_conf)
        self.conv = torch.nn.Conv1d(self.encoder.output_dim, head_hidden, 3, padding=1)
        self.gru = torch.nn.GRU(head_hidden, head_hidden, batch_first=True, bidirectional=True)
        self.out = torch.nn.Linear(2 * head_hidden, n_classes)

    def forward(self, lip: torch.Tensor, lip_lengths: torch.Tensor) -> torch.Tensor:
        h = self.encoder(lip, lip_lengths)  # (B, T_v, D)
        h = torch.relu(self.conv(h.transpose(1, 2))).transpose(1, 2)  # (B, T_v, H)
        packed = torch.nn.utils.rnn.pack_padded_sequence(h, lip_lengths.cpu(), batch_first=True, enforce_sorted=False)
        h, _ = self.gru(packed)
        h, _ = torch.nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=lip.shape[1])
        return self.out(h)  # (B, T_v, C)
