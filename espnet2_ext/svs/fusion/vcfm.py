"""Visual Complementary Fusion Module, VCFM (PerformSinger sec. 3.4, eq. 4-6).

    VF (B, T_v, H_v) --Adapter_v: Linear(H_v, 2H) -> GELU -> Linear(2H, H)--> VF' (B, T_v, H)  eq. 4
    CF^(0) = CF (B, N, H)
    for i = 1..K (VF' is the same tensor in every block):
        Z^(i)  = LN(CA(q = SA(CF^(i-1)), kv = SA(VF')))              (B, N, H)          eq. 5
        CF^(i) = CF^(i-1) + Adapter_i(Z^(i)),  Adapter_i: H -> 2H -> GELU -> H              eq. 6
    fused = CF^(K) (B, N, H); attn = CA weights of block K averaged over heads (B, N, T_v)
    [time_readout] fused <- fused + Linear(timing(attn))   timing: centre and spread of each
                   phone's attention and the gaps to its neighbours, in video frames
    [aligner]      log p(phone n | video frame t) (B, N, T_v) from CF^(0) and VF (aligner.py)

Three additions to eq. 4-6, all switchable in ``fusion_conf`` (on by default): VF' gets a
sinusoidal positional encoding of the frame index (``pos_enc``), so that what a phone attends to
carries *when* it is seen, not only *what* is seen; a shared encoding of the relative position
(phone n / N, video frame t / T_v) on queries and keys gives the cross-attention a soft diagonal
prior from the first step (``rel_pos_enc``); and the time readout hands the duration
predictor the timing the attention found. Without either, the cross-attention output is an
average of lip features and the duration predictor cannot read phone timing from the video.

SA(x) = x + MHA(LN(x)) (pre-norm residual self-attention, masked); CA is espnet's
``MultiHeadedAttention`` with padded video frames masked out. With H_v = H the visual adapter is
exactly eq. 4's up-down projection; with the 512-d lip features its first layer also maps 512 -> 2H.
"""

from typing import Optional

import numpy as np
import torch
from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention
from espnet.nets.pytorch_backend.transformer.embedding import ScaledPositionalEncoding

from espnet2_ext.svs.alignment import attention_moments, monotonic_path, relative_position_encoding
from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.fusion.abs_fusion import AbsFusion, FusionOutput
from espnet2_ext.svs.fusion.aligner import LipPhoneAligner
from espnet2_ext.svs.masks import lengths_to_mask

VCFM_DEFAULTS = dict(blocks=2, heads=2, dropout=0.1, pos_enc=True, rel_pos_enc=True, time_readout=True,
                     path_readout=False, aligner=False, aligner_layers=2, aligner_kernel=5)


class Adapter(torch.nn.Module):
    """Up-projection -> GELU -> down-projection: Linear(in, 2H) -> GELU -> Linear(2H, H) (eq. 4)."""

    def __init__(self, in_dim: int, hidden: int, dropout: float = 0.0):
        super().__init__()
        self.up = torch.nn.Linear(in_dim, 2 * hidden)  # L_2
        self.down = torch.nn.Linear(2 * hidden, hidden)  # L_1
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, in) -> (B, L, H)
        return self.down(self.dropout(torch.nn.functional.gelu(self.up(x))))


class SelfAttention(torch.nn.Module):
    """SA(x) = x + MHA(LN(x), LN(x), LN(x)) with key padding mask."""

    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.norm = torch.nn.LayerNorm(hidden)
        self.attn = MultiHeadedAttention(heads, hidden, dropout)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:  # (B, L, H), (B, L)
        h = self.norm(x)
        return x + self.dropout(self.attn(h, h, h, mask[:, None, :]))


class FusionBlock(torch.nn.Module):
    """One residual fusion block (eq. 5-6)."""

    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.sa_content = SelfAttention(hidden, heads, dropout)
        self.sa_visual = SelfAttention(hidden, heads, dropout)
        self.cross = MultiHeadedAttention(heads, hidden, dropout)
        self.norm = torch.nn.LayerNorm(hidden)
        self.adapter = Adapter(hidden, hidden, dropout)

    def forward(self, cf: torch.Tensor, c_mask: torch.Tensor, vf: torch.Tensor, v_mask: torch.Tensor,
                rel_c: Optional[torch.Tensor] = None) -> torch.Tensor:
        q = self.sa_content(cf if rel_c is None else cf + rel_c, c_mask)  # SA(CF^(i-1)) (B, N, H)
        kv = self.sa_visual(vf, v_mask)  # SA(VF') (B, T_v, H)
        z = self.norm(self.cross(q, kv, kv, v_mask[:, None, :]))  # Z^(i), eq. 5
        return cf + self.adapter(z)  # CF^(i), eq. 6

    @property
    def last_attn(self) -> torch.Tensor:  # (B, heads, N, T_v)
        return self.cross.attn


class VCFM(AbsFusion):
    """Progressive content-visual fusion with K residual blocks sharing VF'."""

    def __init__(self, hidden: int, visual_dim: int, conf: Optional[dict] = None):
        """
        Args:
            hidden: H, width of the content features CF.
            visual_dim: H_v, width of the lip features VF (512 for the ResNet-18 lip encoder).
            conf: blocks (int, 2): K fusion blocks; heads (int, 2): attention heads;
                dropout (float, 0.1); pos_enc, rel_pos_enc, time_readout (bool, true) and
                path_readout (bool, false): see the module docstring; aligner (bool, false): add
                the lip-to-phone aligner (aligner.py) with aligner_layers (2) temporal convs of
                width aligner_kernel (5) video frames.
        """
        super().__init__()
        c = merge_conf(VCFM_DEFAULTS, conf, "VCFM fusion_conf")
        if c["blocks"] < 1:
            raise ValueError(f"VCFM fusion_conf: blocks must be >= 1, got {c['blocks']}")
        self.conf = c
        self.visual_adapter = Adapter(visual_dim, hidden, c["dropout"])
        self.blocks = torch.nn.ModuleList([FusionBlock(hidden, c["heads"], c["dropout"]) for _ in range(c["blocks"])])
        self.pos_enc = ScaledPositionalEncoding(hidden, c["dropout"]) if c["pos_enc"] else None
        n_timing = 6 if c["path_readout"] else 5
        self.readout = torch.nn.Linear(n_timing, hidden) if c["time_readout"] else None
        self.gate = torch.nn.Linear(hidden, 1) if c["path_readout"] else None
        self.rel_scale = torch.nn.Parameter(torch.tensor(1.0)) if c["rel_pos_enc"] else None
        self.aligner = None
        if c["aligner"]:
            self.aligner = LipPhoneAligner(hidden, visual_dim, c["aligner_layers"], c["aligner_kernel"], c["dropout"])

    @staticmethod
    def timing_features(attn: torch.Tensor, c_mask: torch.Tensor, v_mask: torch.Tensor) -> torch.Tensor:
        """attn (B, N, T_v) -> (B, N, 5): centre / T_v, log(1 + sqrt(12 spread^2 + 1)), log(1 + gap to the
        previous and next phone's centre), log(1 + half the sum of both gaps) (video frames)."""
        centre, spread = attention_moments(attn, v_mask)  # (B, N)
        t_v = v_mask.sum(-1, keepdim=True).clamp(min=1).to(attn.dtype)
        cm = c_mask.to(attn.dtype)
        prev = torch.cat([torch.zeros_like(centre[:, :1]), centre[:, :-1]], dim=1)
        nxt = torch.cat([centre[:, 1:], centre[:, -1:]], dim=1)
        last = c_mask & ~torch.cat([c_mask[:, 1:], torch.zeros_like(c_mask[:, :1])], dim=1)
        nxt = torch.where(last, t_v.expand_as(centre), nxt)  # the last phone runs to the end
        gap_prev = (centre - prev).clamp(min=0.0)
        gap_next = (nxt - centre).clamp(min=0.0)
        feats = torch.stack([
            centre / t_v,
            torch.log1p(torch.sqrt(12.0 * spread ** 2 + 1.0)),
            torch.log1p(gap_prev),
            torch.log1p(gap_next),
            torch.log1p(0.5 * (gap_prev + gap_next)),
        ], dim=-1)
        return feats * cm[..., None]

    @staticmethod
    def path_counts(attn: torch.Tensor, c_mask: torch.Tensor, v_mask: torch.Tensor) -> torch.Tensor:
        """attn (B, N, T_v) -> (B, N): video frames of each phone on the monotonic best path
        through the attention (no gradient: a reading of where the attention went)."""
        out = torch.zeros(attn.shape[:2], dtype=attn.dtype, device=attn.device)
        a = attn.detach().float().cpu().numpy()
        n_len, t_len = c_mask.sum(-1).tolist(), v_mask.sum(-1).tolist()
        for b, (n, t) in enumerate(zip(n_len, t_len)):
            if n == 0 or t == 0:
                continue
            counts = np.bincount(monotonic_path(a[b, :n, :t]), minlength=n)[:n]
            out[b, :n] = torch.from_numpy(counts).to(attn)
        return out

    def forward(self, content, content_lengths, visual, visual_lengths) -> FusionOutput:
        """content (B, N, H), visual (B, T_v, H_v) -> FusionOutput(fused (B, N, H), attn (B, N, T_v))."""
        c_mask = lengths_to_mask(content_lengths, content.shape[1])  # (B, N)
        v_mask = lengths_to_mask(visual_lengths, visual.shape[1])  # (B, T_v)
        vf = self.visual_adapter(visual)  # VF' (B, T_v, H), eq. 4
        if self.pos_enc is not None:
            vf = self.pos_enc(vf)
        rel_c = None
        if self.rel_scale is not None:
            rel_c = self.rel_scale * relative_position_encoding(c_mask, vf.shape[-1]).to(vf.dtype)
            vf = vf + self.rel_scale * relative_position_encoding(v_mask, vf.shape[-1]).to(vf.dtype)
        vf = vf * v_mask[..., None].to(visual.dtype)
        cf = content
        for block in self.blocks:
            cf = block(cf, c_mask, vf, v_mask, rel_c)
        attn = self.blocks[-1].last_attn.mean(1)  # (B, N, T_v)
        prior = gate = None
        if self.readout is not None:
            timing = self.timing_features(attn, c_mask, v_mask)
            if self.conf["path_readout"]:
                prior = self.path_counts(attn, c_mask, v_mask)  # (B, N) video frames
                timing = torch.cat([timing, torch.log1p(prior)[..., None]], dim=-1)
            cf = cf + self.readout(timing)
        frame_logp = None
        if self.aligner is not None:
            # the phone side is the content before fusion: which phone a frame shows is decided by
            # the frame against the phone sequence, not by content that already averaged frames
            frame_logp = self.aligner(content, c_mask, visual, v_mask)  # (B, N, T_v)
        fused = cf * c_mask[..., None].to(cf.dtype)
        if self.gate is not None:
            gate = self.gate(fused).squeeze(-1).masked_fill(~c_mask, 0.0)  # (B, N) logits
        return FusionOutput(fused=fused, attn=attn * c_mask[..., None].to(attn.dtype), losses={},
                            duration_prior=prior, duration_gate=gate, frame_logp=frame_logp)
