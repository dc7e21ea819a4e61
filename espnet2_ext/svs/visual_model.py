"""ESPnet's SVS model wrapper, extended with the ``lip`` stream.

    batch from the data loader (text, singing, label, score, pitch, spembs, lip, ...)
        -> svs_inputs(batch without lip): espnet's ESPnetSVSModel.forward, up to the SVS call
           (feature extraction, normalisation, phone/frame-level score features) -> dict
        -> self.svs(**inputs, lip=lip (B, T_v, H, W), lip_lengths=lip_lengths (B,))

espnet's ``ESPnetSVSModel.forward`` builds the argument dict of the SVS module itself, ends with
``return self.svs(**batch)`` and silently drops every key it does not know, so a lip video would
never reach the model. ``svs_inputs`` runs that very method (no copy of its 200 lines) on a
per-call view of this model whose ``svs`` only returns the arguments it is called with; ``forward``
then calls the real SVS module with those arguments plus ``lip`` and ``lip_lengths``. Everything
lives in the call's own local variables, so ``DataParallel`` replicas (which share a module's hook
dicts), DDP ranks and tracing all see one explicit call. ``inference`` already forwards extra
keyword arguments to ``svs.inference``, so it needs no change.
"""

from typing import Any, Dict, Optional, Tuple

import torch
from espnet2.svs.espnet_model import ESPnetSVSModel


class _ReturnArguments:
    """Stands in for the SVS module inside espnet's forward: returns the keyword arguments."""

    def __init__(self, svs: torch.nn.Module):
        self.require_raw_singing = svs.require_raw_singing

    def __call__(self, **kwargs) -> Dict[str, Any]:
        return kwargs


class _InputsView:
    """Attribute view of a model whose ``svs`` is a ``_ReturnArguments`` (one per call)."""

    def __init__(self, model: ESPnetSVSModel):
        self._model = model
        self.svs = _ReturnArguments(model.svs)

    def __getattr__(self, name: str):
        return getattr(self._model, name)


class VisualESPnetSVSModel(ESPnetSVSModel):
    """``ESPnetSVSModel`` that passes ``lip`` (B, T_v, H, W) and ``lip_lengths`` (B,) to the SVS module."""

    def svs_inputs(self, **batch) -> Dict[str, Any]:
        """The keyword arguments espnet's ``ESPnetSVSModel.forward`` gives the SVS module for ``batch``."""
        return ESPnetSVSModel.forward(_InputsView(self), **batch)

    def forward(
        self,
        lip: Optional[torch.Tensor] = None,
        lip_lengths: Optional[torch.Tensor] = None,
        **batch,
    ) -> Tuple[torch.Tensor, Dict[str, torch.Tensor], torch.Tensor]:
        inputs = self.svs_inputs(**batch)
        if lip is not None:
            inputs.update(lip=lip, lip_lengths=lip_lengths)
        return self.svs(**inputs)

    def collect_feats(self, lip=None, lip_lengths=None, **batch) -> Dict[str, torch.Tensor]:
        return super().collect_feats(**batch)
