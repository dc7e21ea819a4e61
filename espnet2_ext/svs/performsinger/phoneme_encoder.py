"""Phoneme encoder Enc_T and pitch encoder Enc_P (PerformSinger eq. 1-2).

    phone ids (B, N) --Embedding(idim, H)--> (B, N, H)
        --espnet Transformer Encoder (FFT blocks: self-attention + conv1d FFN)--> TF (B, N, H)   eq. 1
    MIDI (B, N), 0 = rest --Embedding(128, H)--> PF (B, N, H)
    CF = TF + PF  (B, N, H), zero on padded phones                                             eq. 2

The FFT blocks are espnet's ``transformer.encoder.Encoder`` with its ``conv1d`` position-wise
layers replaced by a masked variant: the convolutions zero padded phones before and after each
convolution, so valid outputs do not depend on what (or how much) padding follows a sequence.
"""

from typing import Optional, Tuple

import torch
from espnet.nets.pytorch_backend.nets_utils import make_non_pad_mask
from espnet.nets.pytorch_backend.transformer.encoder import Encoder
from espnet.nets.pytorch_backend.transformer.multi_layer_conv import MultiLayeredConv1d

from espnet2_ext.svs.conf import merge_conf

PHONEME_ENCODER_DEFAULTS = dict(
    layers=4,
    heads=2,
    ffn_units=1024,
    ffn_kernel=9,
    dropout=0.1,
    attn_dropout=0.1,
    midi_vocab=128,
)


class MaskedConv1dFFN(MultiLayeredConv1d):
    """espnet's conv1d FFN whose convolutions never read padded positions.

    The encoder sets ``mask`` (B, N) bool (True = valid) before each forward pass.
    """

    mask: Optional[torch.Tensor] = None

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, N, C) -> (B, N, C)
        if self.mask is None:
            return super().forward(x)
        m = self.mask[:, None, :].to(x.dtype)  # (B, 1, N)
        h = torch.relu(self.w_1(x.transpose(-1, 1) * m)) * m
        return (self.w_2(self.dropout(h)) * m).transpose(-1, 1)


class PhonemeEncoder(torch.nn.Module):
    """FastSpeech2-style phoneme encoder plus the MIDI pitch embedding."""

    def __init__(self, idim: int, hidden: int, conf: Optional[dict] = None):
        """
        Args:
            idim: phone vocabulary size (token 0 = padding / <blank>).
            hidden: H, model width.
            conf: layers (int, 4): FFT blocks; heads (int, 2); ffn_units (int, 1024) and
                ffn_kernel (int, 9): conv1d FFN width and kernel; dropout (float, 0.1);
                attn_dropout (float, 0.1); midi_vocab (int, 128): MIDI note ids 0..127, 0 = rest.
        """
        super().__init__()
        c = merge_conf(PHONEME_ENCODER_DEFAULTS, conf, "PhonemeEncoder encoder_conf")
        self.conf = c
        self.midi_vocab = c["midi_vocab"]
        self.phone_embed = torch.nn.Embedding(idim, hidden, padding_idx=0)
        self.encoder = Encoder(
            idim=0,
            attention_dim=hidden,
            attention_heads=c["heads"],
            linear_units=c["ffn_units"],
            num_blocks=c["layers"],
            dropout_rate=c["dropout"],
            positional_dropout_rate=c["dropout"],
            attention_dropout_rate=c["attn_dropout"],
            input_layer=None,
            normalize_before=True,
            positionwise_layer_type="conv1d",
            positionwise_conv_kernel_size=c["ffn_kernel"],
        )
        self.ffns = []
        for layer in self.encoder.encoders:
            layer.feed_forward = MaskedConv1dFFN(hidden, c["ffn_units"], c["ffn_kernel"], c["dropout"])
            self.ffns.append(layer.feed_forward)
        self.pitch_embed = torch.nn.Embedding(c["midi_vocab"], hidden, padding_idx=0)

    def forward(
        self, text: torch.Tensor, text_lengths: torch.Tensor, midi: torch.Tensor
    ) -> Tuple[torch.Tensor, torch.Tensor]:
        """text (B, N) long, text_lengths (B,), midi (B, N) long -> CF (B, N, H), mask (B, N) bool."""
        if midi.shape != text.shape:
            raise ValueError(f"PhonemeEncoder: MIDI shape {tuple(midi.shape)} != phone shape {tuple(text.shape)}")
        if (midi < 0).any() or (midi >= self.midi_vocab).any():
            raise ValueError(f"PhonemeEncoder: MIDI values must lie in [0, {self.midi_vocab}), "
                             f"got [{int(midi.min())}, {int(midi.max())}]")
        mask = make_non_pad_mask(text_lengths, text, 1).to(text.device)  # (B, N)
        text = text.masked_fill(~mask, 0)
        midi = midi.masked_fill(~mask, 0)
        for ffn in self.ffns:
            ffn.mask = mask
        try:
            x = self.phone_embed(text)  # (B, N, H)
            tf, _ = self.encoder(x, mask[:, None, :])  # TF (B, N, H), eq. 1
        finally:
            for ffn in self.ffns:
                ffn.mask = None
        cf = tf + self.pitch_embed(midi)  # CF = TF + PF, eq. 2
        return cf * mask[..., None].to(cf.dtype), mask
