"""Duration prediction network + length regulator (PerformSinger sec. 3.5, L_D of eq. 7).

    fused CF (B, N, H) --espnet DurationPredictor (2 x [Conv1d k3 -> ReLU -> LN -> Dropout] -> Linear),
                         padded phones zeroed before every convolution--> log_d (B, N) = log(d + 1)
    training:  L_D = MSE(log_d, log(d_gt + 1)) over valid phones                       (phone level)
                   + w_s * MSE(log(sum_n d_hat + 1), log(sum_n d_gt + 1)) per utterance   (sentence level)
               where d_hat = exp(log_d) - 1 (differentiable), frames = LengthRegulator(CF, d_gt)
    inference: d = round(exp(log_d) - 1), clamped >= 0; phones with MIDI > 0 (everything except
               SP / AP, which carry MIDI 0) get >= 1 frame; frames = LengthRegulator(CF, d)
"""

from typing import Dict, Optional, Tuple

import torch
from espnet.nets.pytorch_backend.fastspeech.duration_predictor import DurationPredictor
from espnet.nets.pytorch_backend.fastspeech.length_regulator import LengthRegulator

from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.masks import fit_length

DURATION_DEFAULTS = dict(layers=2, channels=256, kernel_size=3, dropout=0.1, sentence_loss_weight=1.0,
                         max_frames_per_phone=1000)


class DurationModule(torch.nn.Module):
    """Masked FastSpeech2 duration predictor with its losses and the length regulator."""

    def __init__(self, hidden: int, conf: Optional[dict] = None):
        """
        Args:
            hidden: H, width of the phone features.
            conf: layers (int, 2), channels (int, 256), kernel_size (int, 3), dropout (float, 0.1):
                predictor size; sentence_loss_weight (float, 1.0): w_s of the sentence-level term;
                max_frames_per_phone (int, 1000): inference cap guarding against runaway predictions.
        """
        super().__init__()
        c = merge_conf(DURATION_DEFAULTS, conf, "DurationModule duration_conf")
        self.conf = c
        self.predictor = DurationPredictor(hidden, n_layers=c["layers"], n_chans=c["channels"],
                                           kernel_size=c["kernel_size"], dropout_rate=c["dropout"], offset=1.0)
        self.length_regulator = LengthRegulator()

    def log_durations(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        """x (B, N, H), mask (B, N) bool -> log(d + 1) (B, N), 0 on padded phones."""
        m = mask[:, None, :].to(x.dtype)  # (B, 1, N)
        h = x.transpose(1, 2)  # (B, H, N)
        for layer in self.predictor.conv:
            h = layer(h * m)
        out = self.predictor.linear((h * m).transpose(1, 2)).squeeze(-1)  # (B, N)
        return out.masked_fill(~mask, 0.0)

    def loss(self, log_d: torch.Tensor, d_gt: torch.Tensor, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """log_d (B, N) prediction, d_gt (B, N) frames, mask (B, N) -> {"dur_phone", "dur_sentence", "dur"}."""
        m = mask.to(log_d.dtype)
        target = torch.log(d_gt.to(log_d.dtype) + 1.0)
        phone = ((log_d - target) ** 2 * m).sum() / m.sum().clamp(min=1.0)
        d_hat = (log_d.exp() - 1.0).clamp(min=0.0) * m
        total_hat = torch.log(d_hat.sum(1) + 1.0)
        total_gt = torch.log((d_gt.to(log_d.dtype) * m).sum(1) + 1.0)
        sentence = ((total_hat - total_gt) ** 2).mean()
        return {"dur_phone": phone, "dur_sentence": sentence,
                "dur": phone + self.conf["sentence_loss_weight"] * sentence}

    def to_frames(self, log_d: torch.Tensor, mask: torch.Tensor, midi: torch.Tensor) -> torch.Tensor:
        """Inference durations (B, N) long: round(exp(x) - 1) >= 0, >= 1 where MIDI > 0, 0 on padding."""
        d = torch.round(log_d.exp() - 1.0).clamp(min=0, max=self.conf["max_frames_per_phone"]).long()
        d = torch.where((midi > 0) & mask, d.clamp(min=1), d)
        return d.masked_fill(~mask, 0)

    def regulate(self, x: torch.Tensor, d: torch.Tensor, max_len: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """x (B, N, C), d (B, N) frames -> (B, T, C) repeated features and frame lengths (B,).

        max_len pads (or trims) the output to exactly that many frames (the target mel length).
        """
        if int(d.sum()) == 0:
            raise ValueError("all predicted durations are 0: nothing to synthesise")
        out = self.length_regulator(x, d)  # (B, T', C)
        lengths = d.sum(1)
        if max_len is not None:
            out = fit_length(out, max_len, dim=1)
            lengths = lengths.clamp(max=max_len)
        return out, lengths
