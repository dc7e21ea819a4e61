"""Style extractor with an RVQ bottleneck and content-style alignment (PerformSinger sec. 3.5,
"Variational Prediction Network", after StyleSinger; L_C of eq. 7).

    reference mel (B, T_r, odim) (+ log-F0 (B, T_r), min-max scaled to [-1, 1], -1 = unvoiced)
      --Conv1d 1x1--> (B, H, T_r) --WaveNet stack (gated dilated convs, masked)--> --conv blocks-->
      --residual VQ on the valid frames only (espnet ResidualVectorQuantization: n_q codebooks,
        EMA updates, k-means init, dead-code restart)--> style S (B, T_r, H)
      L_C = mean over quantizers of ||x - sg(q)||^2 (commitment)
    frame content C (B, T, H)
      --2 x [C <- C + MHA(q = LN(C), kv = LN(S)), C <- C + FFN(LN(C))]--> content + style (B, T, H)

Reference at inference: the mel passed in ``feats`` (and its F0 if given). Without one, the
"mean reference" is used: one frame of normalised mel 0 (= the corpus mean log-mel under
global MVN), unvoiced. Training replaces the reference by this mean reference with probability
``ref_dropout`` so that the reference-free path is a trained condition, not an unseen input.
"""

from typing import Dict, Optional, Tuple

import torch
from espnet.nets.pytorch_backend.transformer.attention import MultiHeadedAttention
from espnet2.gan_codec.shared.quantizer.modules.core_vq import ResidualVectorQuantization

from espnet2_ext.svs.conf import merge_conf

STYLE_DEFAULTS = dict(
    use_f0=True,
    wavenet_layers=4,
    wavenet_kernel=3,
    conv_layers=2,
    conv_kernel=5,
    rvq_quantizers=4,
    rvq_codebook=128,
    rvq_decay=0.99,
    rvq_kmeans_init=True,
    rvq_kmeans_iters=10,
    rvq_dead_code=2,
    attn_layers=2,
    heads=2,
    dropout=0.1,
    ref_dropout=0.2,
    log2_f0_min=6.0,
    log2_f0_max=10.0,
)


class GatedResidualLayer(torch.nn.Module):
    """WaveNet layer: dilated conv -> tanh * sigmoid -> 1x1 conv -> (residual, skip)."""

    def __init__(self, channels: int, kernel: int, dilation: int, dropout: float):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, 2 * channels, kernel, dilation=dilation,
                                    padding=dilation * (kernel - 1) // 2)
        self.out = torch.nn.Conv1d(channels, 2 * channels, 1)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        a, b = self.conv(self.dropout(x) * m).chunk(2, dim=1)  # (B, C, T) each
        res, skip = self.out(torch.tanh(a) * torch.sigmoid(b)).chunk(2, dim=1)
        return (x + res) * m * (0.5 ** 0.5), skip * m


class ConvBlock(torch.nn.Module):
    """Conv1d -> ReLU -> LayerNorm -> Dropout, residual, masked."""

    def __init__(self, channels: int, kernel: int, dropout: float):
        super().__init__()
        self.conv = torch.nn.Conv1d(channels, channels, kernel, padding=kernel // 2)
        self.norm = torch.nn.LayerNorm(channels)
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, x: torch.Tensor, m: torch.Tensor) -> torch.Tensor:  # (B, C, T)
        h = torch.relu(self.conv(x * m))
        h = self.norm(h.transpose(1, 2)).transpose(1, 2)
        return (x + self.dropout(h)) * m


class StyleAlignLayer(torch.nn.Module):
    """Content queries attend to style frames; pre-norm residual attention + FFN."""

    def __init__(self, hidden: int, heads: int, dropout: float):
        super().__init__()
        self.norm_q = torch.nn.LayerNorm(hidden)
        self.norm_kv = torch.nn.LayerNorm(hidden)
        self.attn = MultiHeadedAttention(heads, hidden, dropout)
        self.norm_ff = torch.nn.LayerNorm(hidden)
        self.ff = torch.nn.Sequential(torch.nn.Linear(hidden, 2 * hidden), torch.nn.GELU(),
                                      torch.nn.Dropout(dropout), torch.nn.Linear(2 * hidden, hidden))
        self.dropout = torch.nn.Dropout(dropout)

    def forward(self, c: torch.Tensor, style: torch.Tensor, s_mask: torch.Tensor) -> torch.Tensor:
        kv = self.norm_kv(style)
        c = c + self.dropout(self.attn(self.norm_q(c), kv, kv, s_mask[:, None, :]))
        return c + self.dropout(self.ff(self.norm_ff(c)))


class StyleExtractor(torch.nn.Module):
    """Reference mel (+ F0) -> RVQ style tokens -> style aligned to frame-level content."""

    def __init__(self, odim: int, hidden: int, conf: Optional[dict] = None):
        """
        Args:
            odim: mel bins of the reference.
            hidden: H, width of the style and content features.
            conf: use_f0 (bool, True): append the scaled log-F0 of the reference;
                wavenet_layers (int, 4), wavenet_kernel (int, 3): gated dilated stack (dilation 2^i);
                conv_layers (int, 2), conv_kernel (int, 5): conv blocks after it;
                rvq_quantizers (int, 4), rvq_codebook (int, 128), rvq_decay (float, 0.99),
                rvq_kmeans_init (bool, True), rvq_kmeans_iters (int, 10), rvq_dead_code (int, 2):
                residual VQ (EMA codebooks; codes used < rvq_dead_code times are restarted);
                attn_layers (int, 2), heads (int, 2): content-style cross-attention layers;
                dropout (float, 0.1); ref_dropout (float, 0.2): probability, in training, of
                replacing an utterance's reference by the mean reference;
                log2_f0_min / log2_f0_max (float, 6 / 10): log2-F0 scaling range.
        """
        super().__init__()
        c = merge_conf(STYLE_DEFAULTS, conf, "StyleExtractor style_conf")
        if not 0.0 <= c["ref_dropout"] <= 1.0:
            raise ValueError(f"StyleExtractor style_conf: ref_dropout must be in [0, 1], got {c['ref_dropout']}")
        self.conf = c
        self.odim = odim
        self.pre = torch.nn.Conv1d(odim + (1 if c["use_f0"] else 0), hidden, 1)
        self.wavenet = torch.nn.ModuleList([
            GatedResidualLayer(hidden, c["wavenet_kernel"], 2 ** i, c["dropout"]) for i in range(c["wavenet_layers"])
        ])
        self.skip_proj = torch.nn.Conv1d(hidden, hidden, 1)
        self.convs = torch.nn.ModuleList([ConvBlock(hidden, c["conv_kernel"], c["dropout"])
                                          for _ in range(c["conv_layers"])])
        self.rvq = ResidualVectorQuantization(
            num_quantizers=c["rvq_quantizers"], dim=hidden, codebook_size=c["rvq_codebook"], codebook_dim=hidden,
            decay=c["rvq_decay"], kmeans_init=c["rvq_kmeans_init"], kmeans_iters=c["rvq_kmeans_iters"],
            threshold_ema_dead_code=c["rvq_dead_code"],
        )
        self.align = torch.nn.ModuleList([StyleAlignLayer(hidden, c["heads"], c["dropout"])
                                          for _ in range(c["attn_layers"])])

    def _scaled_log_f0(self, f0: torch.Tensor) -> torch.Tensor:
        lo, hi = self.conf["log2_f0_min"], self.conf["log2_f0_max"]
        lf0 = (torch.log2(f0.clamp(min=2.0 ** lo)) - lo) / (hi - lo) * 2.0 - 1.0
        return torch.where(f0 > 0, lf0.clamp(-1.0, 1.0), torch.full_like(f0, -1.0))

    @staticmethod
    def mean_reference(batch: int, odim: int, device, dtype=torch.float32):
        """One frame of normalised mel 0, unvoiced: ref (B, 1, odim), f0 (B, 1), mask (B, 1)."""
        return (torch.zeros(batch, 1, odim, device=device, dtype=dtype), torch.zeros(batch, 1, device=device, dtype=dtype),
                torch.ones(batch, 1, dtype=torch.bool, device=device))

    def drop_references(self, ref: torch.Tensor, f0: Optional[torch.Tensor], mask: torch.Tensor):
        """Training only: with probability ref_dropout, turn an utterance's reference into the mean one."""
        p = self.conf["ref_dropout"]
        if not self.training or p <= 0.0:
            return ref, f0, mask
        drop = torch.rand(ref.shape[0], device=ref.device) < p  # (B,)
        if not drop.any():
            return ref, f0, mask
        first = torch.zeros_like(mask)
        first[:, 0] = True
        mask = torch.where(drop[:, None], first, mask)
        ref = torch.where(drop[:, None, None], torch.zeros_like(ref), ref)
        if f0 is not None:
            f0 = torch.where(drop[:, None], torch.zeros_like(f0), f0)
        return ref, f0, mask

    def encode(self, ref: torch.Tensor, f0: Optional[torch.Tensor], mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """ref (B, T_r, odim), f0 (B, T_r) Hz or None, mask (B, T_r) -> {"style" (B, T_r, H), "commit", "codes"}.

        codes: (n_q, M) code indices of the M valid reference frames.
        """
        m = mask[:, None, :].to(ref.dtype)  # (B, 1, T_r)
        x = ref.transpose(1, 2)  # (B, odim, T_r)
        if self.conf["use_f0"]:
            if f0 is None:
                f0 = torch.zeros(ref.shape[:2], device=ref.device, dtype=ref.dtype)
            x = torch.cat([x, self._scaled_log_f0(f0)[:, None, :]], dim=1)
        h = self.pre(x) * m  # (B, H, T_r)
        skips = 0.0
        for layer in self.wavenet:
            h, s = layer(h, m)
            skips = skips + s
        h = self.skip_proj(skips / (len(self.wavenet) ** 0.5)) * m
        for block in self.convs:
            h = block(h, m)
        h = h.transpose(1, 2)  # (B, T_r, H)
        valid = h[mask]  # (M, H): padded frames never reach the codebooks
        q, codes, losses = self.rvq(valid.t()[None])  # (1, H, M), (n_q, 1, M), (n_q, 1)
        style = torch.zeros_like(h)
        style[mask] = q[0].t()
        return {"style": style, "commit": losses.mean(), "codes": codes[:, 0]}

    def forward(self, content: torch.Tensor, ref: torch.Tensor, ref_f0: Optional[torch.Tensor],
                ref_mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """content (B, T, H) frame-level; reference (B, T_r, odim) -> {"out": content + style (B, T, H), ...}."""
        ref, ref_f0, ref_mask = self.drop_references(ref, ref_f0, ref_mask)
        enc = self.encode(ref, ref_f0, ref_mask)
        out = content
        for layer in self.align:
            out = layer(out, enc["style"], ref_mask)
        return {"out": out, "commit": enc["commit"], "codes": enc["codes"],
                "attn": self.align[-1].attn.attn.mean(1)}  # attn (B, T, T_r)
