"""DiffSinger-style non-causal WaveNet noise estimator eps_theta(x_t, t, c).

    x_t (B, T, in_dim) --1x1 conv, ReLU--> h (B, C, T)
    t (B,) --sinusoidal(C)--> MLP(C -> 4C, Mish, 4C -> C) --> e (B, C)
    c (B, T, cond_dim)
    for each of L residual layers (dilation 2^(l mod cycle)):
        y      = dilated_conv3(h + Linear(e)) + conv1x1(c)            (B, 2C, T)
        z      = tanh(y_filter) * sigmoid(y_gate)                     (B, C, T)
        r, s   = split(conv1x1(z))                                    (B, C, T) each
        h      = (h + r) / sqrt(2);    skip += s
    skip / sqrt(L) --1x1 conv, ReLU, 1x1 conv--> eps (B, T, out_dim)

This is the denoiser of DiffSinger (mel) and RMSSinger (F0). Padding mask: padded frames of
the hidden state are zeroed before every convolution, so the output on valid frames is exactly
the output for the unpadded sequence (conv zero-padding == zero frames) and padded content can
never leak into valid frames.

Sampling calls the denoiser many times with the same condition: ``condition(cond, mask)`` computes
the condition projections of every residual layer once (one (B, 2C, T) tensor per layer) and
``forward(..., conditioned=that)`` reuses them, which saves a fifth of each residual layer's work
per step (the 1x1 projection of cond_dim channels next to the k=3 conv and the output projection).
"""

import math
from typing import List, NamedTuple, Optional

import torch
from torch import nn


class Conditioned(NamedTuple):
    """A condition prepared once per utterance: the float mask (B, 1, T) and, per residual layer,
    its projection conv1x1(c) (B, 2C, T)."""

    m: torch.Tensor
    proj: List[torch.Tensor]


class StepEmbedding(nn.Module):
    """Sinusoidal embedding of the integer diffusion step followed by an MLP: (B,) -> (B, C)."""

    def __init__(self, channels: int):
        """Args: channels: embedding size C (even)."""
        super().__init__()
        if channels % 2:
            raise ValueError(f"residual_channels must be even for the step embedding, got {channels}")
        half = channels // 2
        freqs = torch.exp(-math.log(10000.0) * torch.arange(half, dtype=torch.float32) / max(half - 1, 1))
        self.register_buffer("freqs", freqs, persistent=False)
        self.mlp = nn.Sequential(nn.Linear(channels, 4 * channels), nn.Mish(), nn.Linear(4 * channels, channels))

    def forward(self, t: torch.Tensor) -> torch.Tensor:
        """t (B,) integer step, or float (continuous-time flows pass t * num_steps)."""
        arg = t.float()[:, None] * self.freqs[None]  # (B, C/2)
        return self.mlp(torch.cat([arg.sin(), arg.cos()], dim=-1))  # (B, C)


class ResidualLayer(nn.Module):
    """One gated, dilated residual layer with a skip output."""

    def __init__(self, channels: int, cond_dim: int, dilation: int):
        """Args: channels: C; cond_dim: condition size; dilation: dilation of the k=3 conv."""
        super().__init__()
        self.step_proj = nn.Linear(channels, channels)
        self.dilated_conv = nn.Conv1d(channels, 2 * channels, 3, padding=dilation, dilation=dilation)
        self.cond_proj = nn.Conv1d(cond_dim, 2 * channels, 1)
        self.out_proj = nn.Conv1d(channels, 2 * channels, 1)

    def forward(self, h: torch.Tensor, cond_proj: torch.Tensor, emb: torch.Tensor, m: torch.Tensor):
        """h (B, C, T), cond_proj = self.cond_proj(c) (B, 2C, T), emb (B, C), m (B, 1, T) float
        -> (h', skip) (B, C, T)."""
        y = (h + self.step_proj(emb)[:, :, None]) * m
        y = self.dilated_conv(y) + cond_proj  # (B, 2C, T)
        filt, gate = y.chunk(2, dim=1)
        y = self.out_proj(torch.tanh(filt) * torch.sigmoid(gate))
        res, skip = y.chunk(2, dim=1)
        return (h + res) * (m / math.sqrt(2.0)), skip


class WaveNetDenoiser(nn.Module):
    """eps_theta(x_t, t, cond) on (B, T, D) tensors."""

    def __init__(self, in_dim: int, cond_dim: int, out_dim: Optional[int] = None, residual_layers: int = 20,
                 residual_channels: int = 256, dilation_cycle: int = 4):
        """
        Args:
            in_dim: channels of x_t (80 for mel, 1 for F0).
            cond_dim: channels of the frame-level condition.
            out_dim: channels of the estimate (default in_dim).
            residual_layers: number of residual layers L.
            residual_channels: width C.
            dilation_cycle: dilations are 1, 2, ..., 2^(cycle-1), repeated.
        """
        super().__init__()
        if residual_layers < 1 or dilation_cycle < 1:
            raise ValueError(f"residual_layers and dilation_cycle must be >= 1, got {residual_layers}, {dilation_cycle}")
        out_dim = in_dim if out_dim is None else out_dim
        c = residual_channels
        self.in_proj = nn.Conv1d(in_dim, c, 1)
        self.step_embedding = StepEmbedding(c)
        self.layers = nn.ModuleList(
            [ResidualLayer(c, cond_dim, 2 ** (i % dilation_cycle)) for i in range(residual_layers)])
        self.skip_proj = nn.Conv1d(c, c, 1)
        self.out_proj = nn.Conv1d(c, out_dim, 1)

    def condition(self, cond: torch.Tensor, mask: Optional[torch.Tensor] = None) -> Conditioned:
        """cond (B, T, cond_dim), mask (B, T) bool -> the per-layer projections, computed once."""
        if mask is None:
            mask = torch.ones(cond.shape[:2], dtype=torch.bool, device=cond.device)
        m = mask[:, None, :].to(cond.dtype)  # (B, 1, T)
        c = cond.transpose(1, 2) * m  # (B, cond_dim, T)
        return Conditioned(m, [layer.cond_proj(c) for layer in self.layers])

    def forward(self, xt: torch.Tensor, t: torch.Tensor, cond: Optional[torch.Tensor] = None,
                mask: Optional[torch.Tensor] = None, conditioned: Optional[Conditioned] = None) -> torch.Tensor:
        """xt (B, T, in_dim), t (B,) step, cond (B, T, cond_dim), mask (B, T) bool -> (B, T, out_dim).

        Pass ``conditioned=self.condition(cond, mask)`` instead of cond / mask to reuse the
        condition projections across the steps of a sampler (same result)."""
        if conditioned is None:
            if cond is None:
                raise ValueError("WaveNetDenoiser: pass cond (B, T, cond_dim) or conditioned=denoiser.condition(...)")
            conditioned = self.condition(cond, mask)
        m = conditioned.m.to(xt.dtype)  # (B, 1, T)
        h = torch.relu(self.in_proj(xt.transpose(1, 2) * m)) * m  # (B, C, T)
        emb = self.step_embedding(t)  # (B, C)
        skip = torch.zeros_like(h)
        for layer, cp in zip(self.layers, conditioned.proj):
            h, s = layer(h, cp, emb, m)
            skip = skip + s
        y = torch.relu(self.skip_proj(skip * (m / math.sqrt(len(self.layers)))))
        return (self.out_proj(y) * m).transpose(1, 2)
