"""Speaker condition SF (PerformSinger eq. 3, Enc_S = GE2E d-vector computed offline).

    spembs (B, 256) unit-norm d-vector --Linear(256, H)--> (B, 1, H)   broadcast-added to content
"""

from typing import Optional

import torch


class SpeakerProjection(torch.nn.Module):
    """Projects a fixed speaker embedding into the model width."""

    def __init__(self, spk_embed_dim: int, hidden: int):
        """
        Args:
            spk_embed_dim: size of the d-vector (256 for resemblyzer's GE2E encoder).
            hidden: H, model width.
        """
        super().__init__()
        self.spk_embed_dim = spk_embed_dim
        self.proj = torch.nn.Linear(spk_embed_dim, hidden)

    def forward(self, spembs: Optional[torch.Tensor], batch_size: int) -> torch.Tensor:
        """spembs (B, D) or (D,) -> (B, 1, H)."""
        if spembs is None:
            raise ValueError("PerformSinger needs spembs (the reference d-vector): add spembs.scp to the data")
        if spembs.dim() == 1:
            spembs = spembs[None]
        if spembs.shape[-1] != self.spk_embed_dim:
            raise ValueError(f"spembs has {spembs.shape[-1]} dims, the model expects {self.spk_embed_dim}")
        if spembs.shape[0] != batch_size:
            raise ValueError(f"spembs batch {spembs.shape[0]} != phone batch {batch_size}")
        return self.proj(spembs)[:, None, :]
