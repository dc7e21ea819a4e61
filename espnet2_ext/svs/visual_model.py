"""ESPnet's SVS model wrapper, extended with the ``lip`` stream.

    batch from the data loader (text, singing, label, score, pitch, spembs, lip, ...)
        -> ESPnetSVSModel.forward: feature extraction, normalisation, phone-level score features
        -> self.svs(**batch, lip=..., lip_lengths=...)   <- this class adds the last two

espnet's ``ESPnetSVSModel.forward`` builds the argument dict of the SVS module itself and silently
drops every key it does not know, so a lip video would never reach the model. Rather than copying
that 200-line method, the lip tensors are injected into the SVS module's call by a forward
pre-hook that lives only for the duration of one forward pass. ``inference`` already forwards
extra keyword arguments to ``svs.inference``, so it needs no change.
"""

from typing import Dict, Optional, Tuple

import torch
from espnet2.svs.espnet_model import ESPnetSVSModel


class VisualESPnetSVSModel(ESPnetSVSModel):
    """``ESPnetSVSModel`` that passes ``lip`` (B, T_v, H, W) and ``lip_lengths`` (B,) to the SVS module."""

    def forward(
        self,
        lip: Optional[torch.Tensor] = None,
        lip_lengths: Optional[torch.Tensor] = None,
        **batch,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        if lip is None:
            return super().forward(**batch)

        def inject(module, args, kwargs):
            kwargs["lip"] = lip
            kwargs["lip_lengths"] = lip_lengths
            return args, kwargs

        handle = self.svs.register_forward_pre_hook(inject, with_kwargs=True)
        try:
            return super().forward(**batch)
        finally:
            handle.remove()

    def collect_feats(self, lip=None, lip_lengths=None, **batch) -> Dict[str, torch.Tensor]:
        return super().collect_feats(**batch)
