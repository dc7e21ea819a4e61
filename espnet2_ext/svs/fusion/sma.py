"""SMA fusion: stepwise monotonic multi-head attention (the "+SMA" ablation, in place of VCFM).

    CF (B, N, H) --W_q--> q (B, h, N, d)
    VF (B, T_v, H_v) --Linear(H_v, H)--> VF' --W_k, W_v--> k, v (B, h, T_v, d)
    energy e = q k^T / sqrt(d)                                   (B, h, N, T_v)
    stay probability p[t, n] = sigmoid(e[n, t] + b_h + logit(1 - N/T_v))
    stepwise monotonic recurrence over video frames (each frame stays on its phone or moves
    one phone on; the expected, soft form is differentiable and batched over B, h and N):
        alpha_0 = onehot(0)
        alpha_t(n) = alpha_{t-1}(n) p[t-1, n] + alpha_{t-1}(n-1) (1 - p[t-1, n-1])
    phone attention A[n, t] = alpha_t(n) / sum_t' alpha_t'(n)    (B, h, N, T_v), monotonic
    context = A v -> concat heads -> W_o                          (B, N, H)
    fused = CF + dropout(context)                                 (B, N, H)
    diagonal focus loss: L_diag = sum_{n,t} A[n,t] (1 - exp(-(t/T_v - n/N)^2 / (2 sigma^2))) / sum_b N_b

The recurrence is the stepwise monotonic attention of robust seq2seq TTS with the video frames as
the steps and the phones as the memory (T_v >= N, so one step moves at most one phone). The
``logit(1 - N/T_v)`` offset makes the initial alignment spread the phones evenly over the clip,
i.e. start near the diagonal the focus loss asks for. The loss goes to
``FusionOutput.losses["diag"]`` (weighted by lambda_F in eq. 7).
"""

from typing import Optional

import torch

from espnet2_ext.svs.fusion.abs_fusion import AbsFusion, FusionOutput
from espnet2_ext.svs.masks import lengths_to_mask

SMA_DEFAULTS = dict(
    heads=2,  # attention heads h
    dropout=0.1,  # dropout on the context added to CF
    sigma=0.2,  # width of the diagonal band of the focus loss (fraction of the clip)
    prior_offset=True,  # add logit(1 - N/T_v) to the stay energies (start near the diagonal)
)


def stepwise_monotonic(stay: torch.Tensor, n_len: torch.Tensor) -> torch.Tensor:
    """Soft stepwise monotonic alignment.

    Args:
        stay: (B, h, T_v, N) probabilities of staying on phone n at frame t.
        n_len: (B,) number of valid phones.
    Returns:
        alpha: (B, h, T_v, N) occupancy, each frame a distribution over the valid phones.
    """
    b, h, t_v, n = stay.shape
    beyond = torch.arange(n, device=stay.device)[None, :] >= (n_len - 1)[:, None]
    # the last valid phone (and padding) never advances: mass stays inside the utterance
    stay = torch.where(beyond[:, None, None, :], torch.ones_like(stay), stay)
    alpha = stay.new_zeros(b, h, n)
    alpha[..., 0] = 1.0
    out = [alpha]
    for t in range(1, t_v):
        p = stay[:, :, t - 1]  # (B, h, N)
        move = alpha * (1.0 - p)  # mass leaving phone n towards n + 1
        alpha = alpha * p + torch.nn.functional.pad(move[..., :-1], (1, 0))
        out.append(alpha)
    return torch.stack(out, dim=2)  # (B, h, T_v, N)


def diagonal_weights(n_len: torch.Tensor, t_len: torch.Tensor, n_max: int, t_max: int, sigma: float) -> torch.Tensor:
    """(B, N, T_v) penalty 1 - exp(-(t/T_v - n/N)^2 / (2 sigma^2)), 0 on padding."""
    n = (torch.arange(n_max, device=n_len.device)[None, :, None] + 0.5) / n_len[:, None, None]
    t = (torch.arange(t_max, device=n_len.device)[None, None, :] + 0.5) / t_len[:, None, None]
    w = 1.0 - torch.exp(-((t - n) ** 2) / (2 * sigma**2))
    valid = lengths_to_mask(n_len, n_max)[:, :, None] & lengths_to_mask(t_len, t_max)[:, None, :]
    return w * valid


def diagonal_focus_loss(attn: torch.Tensor, n_len: torch.Tensor, t_len: torch.Tensor, sigma: float = 0.2) -> torch.Tensor:
    """attn (B, N, T_v), rows summing to 1 -> scalar mean off-diagonal mass per valid phone."""
    w = diagonal_weights(n_len, t_len, attn.shape[1], attn.shape[2], sigma)
    return (attn * w).sum() / n_len.sum().clamp(min=1)


class SMAFusion(AbsFusion):
    """Stepwise monotonic multi-head attention fusion (query = phones, key/value = lip frames).

    Args:
        hidden: H, size of the content features CF.
        visual_dim: H_v, size of the lip features VF.
        conf: fusion_conf, see ``SMA_DEFAULTS`` (heads, dropout, sigma, prior_offset).
    """

    def __init__(self, hidden: int, visual_dim: int, conf: Optional[dict] = None):
        super().__init__()
        conf = dict(conf or {})
        unknown = sorted(set(conf) - set(SMA_DEFAULTS))
        if unknown:
            raise ValueError(f"SMAFusion: unknown fusion_conf keys {unknown}; known: {sorted(SMA_DEFAULTS)}")
        self.conf = {**SMA_DEFAULTS, **conf}
        self.heads = int(self.conf["heads"])
        if hidden % self.heads:
            raise ValueError(f"SMAFusion: hidden {hidden} is not divisible by heads {self.heads}")
        self.d = hidden // self.heads
        self.visual_proj = torch.nn.Linear(visual_dim, hidden)
        self.w_q = torch.nn.Linear(hidden, hidden)
        self.w_k = torch.nn.Linear(hidden, hidden)
        self.w_v = torch.nn.Linear(hidden, hidden)
        self.w_o = torch.nn.Linear(hidden, hidden)
        self.head_bias = torch.nn.Parameter(torch.zeros(self.heads))
        self.dropout = torch.nn.Dropout(float(self.conf["dropout"]))

    def _split(self, x: torch.Tensor) -> torch.Tensor:  # (B, L, H) -> (B, h, L, d)
        return x.view(x.shape[0], x.shape[1], self.heads, self.d).transpose(1, 2)

    def forward(self, content, content_lengths, visual, visual_lengths) -> FusionOutput:
        b, n, hdim = content.shape
        t_v = visual.shape[1]
        n_len = content_lengths.to(content.device).long()
        t_len = visual_lengths.to(content.device).long()
        c_mask, v_mask = lengths_to_mask(n_len, n), lengths_to_mask(t_len, t_v)  # (B, N), (B, T_v)
        vf = self.visual_proj(visual)  # (B, T_v, H)
        q = self._split(self.w_q(content))  # (B, h, N, d)
        k = self._split(self.w_k(vf))  # (B, h, T_v, d)
        v = self._split(self.w_v(vf))  # (B, h, T_v, d)
        energy = torch.matmul(k, q.transpose(-1, -2)) / self.d**0.5  # (B, h, T_v, N)
        energy = energy + self.head_bias[None, :, None, None]
        if self.conf["prior_offset"]:
            frac = (n_len.float() / t_len.float().clamp(min=1)).clamp(1e-3, 1 - 1e-3)  # (B,)
            energy = energy + torch.log((1 - frac) / frac)[:, None, None, None]
        alpha = stepwise_monotonic(torch.sigmoid(energy), n_len)  # (B, h, T_v, N)
        occ = alpha.transpose(2, 3) * v_mask[:, None, None, :]  # (B, h, N, T_v)
        attn = occ / (occ.sum(-1, keepdim=True) + 1e-8)  # rows sum to 1 (phone -> frames)
        attn = attn * c_mask[:, None, :, None]
        ctx = torch.matmul(attn, v).transpose(1, 2).reshape(b, n, hdim)  # (B, N, H)
        fused = (content + self.dropout(self.w_o(ctx))) * c_mask[..., None]
        attn_mean = attn.mean(1)  # (B, N, T_v)
        loss = diagonal_focus_loss(attn_mean, n_len, t_len, float(self.conf["sigma"]))
        return FusionOutput(fused=fused, attn=attn_mean, losses={"diag": loss})
