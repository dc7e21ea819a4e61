"""Interface of a content-visual fusion module (the slot VCFM fills in PerformSinger).

    content  (B, N, H)  phone-level content features CF (eq. 2)
    visual   (B, T_v, H_v) lip features VF (eq. 3)
        -> fused (B, N, H): content enriched with visual cues, fed to the duration predictor

A fusion module also returns its phone-by-frame attention (for plots and alignment losses) and a
dict of auxiliary losses (e.g. SMA's diagonal focus loss), which the model adds to eq. 7.
"""

from abc import ABC, abstractmethod
from dataclasses import dataclass, field
from typing import Dict, Optional

import torch


@dataclass
class FusionOutput:
    fused: torch.Tensor  # (B, N, H)
    attn: Optional[torch.Tensor] = None  # (B, N, T_v), averaged over heads, last block
    losses: Dict[str, torch.Tensor] = field(default_factory=dict)  # scalar aux losses
    # Optional timing read off the attention: phone lengths in video frames (B, N) and the logit of
    # how much the duration predictor should trust them (B, N); see PerformSinger.forward.
    duration_prior: Optional[torch.Tensor] = None
    duration_gate: Optional[torch.Tensor] = None
    # Optional frame-wise phone posteriors log p(n | t) (B, N, T_v) of a lip-to-phone aligner
    # (fusion/aligner.py): trained with L_V, read at inference with duration_source: aligner.
    frame_logp: Optional[torch.Tensor] = None


class AbsFusion(torch.nn.Module, ABC):
    """Fuses phone-level content features with frame-level visual features."""

    @abstractmethod
    def forward(
        self,
        content: torch.Tensor,  # (B, N, H)
        content_lengths: torch.Tensor,  # (B,)
        visual: torch.Tensor,  # (B, T_v, H_v)
        visual_lengths: torch.Tensor,  # (B,)
    ) -> FusionOutput:
        raise NotImplementedError
