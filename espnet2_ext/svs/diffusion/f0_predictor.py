"""Diffusion F0 predictor with a voicing classifier (RMSSinger-style pitch, PerformSinger sec. 3.5
"Variational Prediction Network").

    f0 (B, T) Hz, 0 = unvoiced
      --log2, min-max [6, 10] -> [-1, 1], unvoiced gaps linearly interpolated--> x0 (B, T, 1)
    F0:  Gaussian diffusion on x0 with a WaveNet eps_theta(x_t, t, cond)
         f0_loss = L1(eps_theta, eps) on voiced, valid frames                 (DiffSinger eq. 6)
         (eval mode: fixed draws of t and eps, schedule.loss_draws)
    U/V: a convolutional classifier head on the condition (NOT multinomial diffusion):
         cond (B, T, cond_dim) -> [Conv1d k -> ReLU -> LayerNorm -> Dropout] x n -> Linear -> logit
         uv_loss = BCE(logit, f0 > 0) on valid frames
    objective "reflow" (flow.py): rectified flow on x0 instead, velocity target, from noise;
         sampled with euler / rk2 / rk4 (flow_samplers.py)
    inference: sampler -> x0 -> Hz, clipped to note * 2^(+-max_semitone_dev / 12);
               voiced = sigmoid(logit) >= uv_threshold and note > 0; f0 = 0 elsewhere

The voicing decision is deterministic given the condition: the stochastic part of singing pitch
(vibrato, transitions) lives in F0, while voicing is almost fully determined by the phone
content and the note, so a classifier is enough and keeps sampling cheap.
"""

from typing import Dict, Optional

import torch
from torch import nn

from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.diffusion.flow import RectifiedFlow
from espnet2_ext.svs.diffusion.flow_samplers import flow_sample
from espnet2_ext.svs.diffusion.mel_decoder import check_objective, masked_noise_loss, resolve_sampler
from espnet2_ext.svs.diffusion.samplers import run_sampler
from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule
from espnet2_ext.svs.diffusion.wavenet_denoiser import WaveNetDenoiser

F0_PREDICTOR_DEFAULTS = dict(
    residual_layers=10,
    residual_channels=192,
    dilation_cycle=4,
    num_steps=100,
    beta_schedule="linear",
    beta_min=1e-4,
    beta_max=0.06,
    loss="l1",
    objective="ddpm",
    prediction=None,
    log2_f0_min=6.0,
    log2_f0_max=10.0,
    max_semitone_dev=3.0,
    uv_threshold=0.5,
    uv_layers=2,
    uv_channels=256,
    uv_kernel_size=5,
    uv_dropout=0.1,
)


def f0_to_unit(f0: torch.Tensor, log2_min: float = 6.0, log2_max: float = 10.0) -> torch.Tensor:
    """Hz -> log2 min-max scaled to [-1, 1] (values outside [2^min, 2^max] are clamped; 0 Hz -> -1)."""
    lf0 = torch.log2(f0.clamp(min=2.0 ** log2_min))
    return ((lf0 - log2_min) / (log2_max - log2_min) * 2.0 - 1.0).clamp(-1.0, 1.0)


def unit_to_f0(x: torch.Tensor, log2_min: float = 6.0, log2_max: float = 10.0) -> torch.Tensor:
    """Inverse of ``f0_to_unit``: [-1, 1] -> Hz."""
    return torch.exp2((x + 1.0) / 2.0 * (log2_max - log2_min) + log2_min)


def midi_to_hz(midi: torch.Tensor) -> torch.Tensor:
    """MIDI note number -> Hz (A4 = 69 = 440 Hz)."""
    return 440.0 * torch.exp2((midi.float() - 69.0) / 12.0)


def interpolate_unvoiced(x: torch.Tensor, voiced: torch.Tensor) -> torch.Tensor:
    """Fill unvoiced frames of x (B, T) by linear interpolation between voiced neighbours
    (held constant before the first / after the last voiced frame; 0 for a row with no voiced frame)."""
    out = torch.zeros_like(x)
    pos = torch.arange(x.shape[1], device=x.device)
    for b in range(x.shape[0]):
        idx = voiced[b].nonzero().squeeze(1)
        if idx.numel() == 0:
            continue
        if idx.numel() == 1:
            out[b] = x[b, idx[0]]
            continue
        j = torch.searchsorted(idx, pos).clamp(1, idx.numel() - 1)
        left, right = idx[j - 1], idx[j]
        w = ((pos - left).float() / (right - left).float()).clamp(0.0, 1.0).to(x.dtype)
        out[b] = x[b, left] * (1.0 - w) + x[b, right] * w
    return out


class VoicingHead(nn.Module):
    """Frame-wise voicing logit from the condition: (B, T, cond_dim) -> (B, T)."""

    def __init__(self, cond_dim: int, channels: int, layers: int, kernel_size: int, dropout: float):
        """Args: cond_dim input size; channels conv width; layers number of conv blocks;
        kernel_size odd conv kernel; dropout after each block."""
        super().__init__()
        if kernel_size % 2 == 0:
            raise ValueError(f"uv_kernel_size must be odd, got {kernel_size}")
        self.convs = nn.ModuleList(
            [nn.Conv1d(cond_dim if i == 0 else channels, channels, kernel_size, padding=kernel_size // 2)
             for i in range(layers)])
        self.norms = nn.ModuleList([nn.LayerNorm(channels) for _ in range(layers)])
        self.dropout = nn.Dropout(dropout)
        self.out = nn.Linear(channels if layers > 0 else cond_dim, 1)

    def forward(self, cond: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
        m = mask[..., None].to(cond.dtype)  # (B, T, 1)
        h = cond * m
        for conv, norm in zip(self.convs, self.norms):
            h = torch.relu(conv(h.transpose(1, 2))).transpose(1, 2)  # (B, T, C)
            h = self.dropout(norm(h)) * m
        return self.out(h).squeeze(-1)  # (B, T)


class F0DiffusionPredictor(nn.Module):
    """Predicts frame-level F0 (Hz) and voicing from the frame-level content condition."""

    def __init__(self, cond_dim: int, conf: Optional[dict] = None):
        """
        Args:
            cond_dim: channels of the frame-level condition.
            conf: options, see F0_PREDICTOR_DEFAULTS:
                residual_layers, residual_channels, dilation_cycle: F0 denoiser size;
                num_steps, beta_schedule, beta_min, beta_max: schedule; loss: "l1" | "l2";
                objective: "ddpm" (Gaussian diffusion: samplers ddpm, ddim, dpm_solver) or "reflow"
                    (rectified flow from noise: euler, rk2, rk4); prediction: ddpm "eps" (default) |
                    "x0", reflow "v" (default) | "x0" (see MelDiffusionDecoder);
                log2_f0_min, log2_f0_max: the log2(Hz) range mapped to [-1, 1];
                max_semitone_dev: inference clip around the note; uv_threshold: voicing decision;
                uv_layers, uv_channels, uv_kernel_size, uv_dropout: the voicing classifier.
        """
        super().__init__()
        c = check_objective(merge_conf(F0_PREDICTOR_DEFAULTS, conf, "F0DiffusionPredictor conf"),
                            "F0DiffusionPredictor conf")
        if c["loss"] not in ("l1", "l2"):
            raise ValueError(f"F0DiffusionPredictor conf: loss must be 'l1' or 'l2', got {c['loss']!r}")
        if not c["log2_f0_min"] < c["log2_f0_max"]:
            raise ValueError("F0DiffusionPredictor conf: need log2_f0_min < log2_f0_max")
        self.conf = c
        self.schedule = DiffusionSchedule(c["beta_schedule"], c["num_steps"], c["beta_min"], c["beta_max"])
        self.denoiser = WaveNetDenoiser(1, cond_dim, 1, c["residual_layers"], c["residual_channels"],
                                        c["dilation_cycle"])
        self.flow = RectifiedFlow(0.0, c["num_steps"], c["prediction"]) if c["objective"] == "reflow" else None
        self.uv_head = VoicingHead(cond_dim, c["uv_channels"], c["uv_layers"], c["uv_kernel_size"], c["uv_dropout"])

    def encode_f0(self, f0: torch.Tensor) -> torch.Tensor:
        """(B, T) Hz, 0 = unvoiced -> (B, T) in [-1, 1] with unvoiced gaps interpolated."""
        x = f0_to_unit(f0, self.conf["log2_f0_min"], self.conf["log2_f0_max"])
        return interpolate_unvoiced(x, f0 > 0)

    def forward(self, f0: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """f0 (B, T) Hz (0 = unvoiced), cond (B, T, cond_dim), mask (B, T) bool -> {"f0_loss", "uv_loss"}."""
        voiced = (f0 > 0) & mask
        x0 = (self.encode_f0(f0) * mask.to(f0.dtype))[..., None]  # (B, T, 1)
        f0_loss = masked_noise_loss(*self._prediction_and_target(x0, cond, mask), voiced, self.conf["loss"])
        logit = self.uv_head(cond, mask)
        bce = nn.functional.binary_cross_entropy_with_logits(logit, voiced.to(logit.dtype), reduction="none")
        m = mask.to(bce.dtype)
        uv_loss = (bce * m).sum() / m.sum().clamp(min=1.0)
        return {"f0_loss": f0_loss, "uv_loss": uv_loss}

    def _prediction_and_target(self, x0, cond, mask):
        """Network output and its training target on x0 (B, T, 1), for the configured objective."""
        if self.flow is not None:
            t, z = self.flow.loss_draws(x0, self.training)  # (B,) in [0, 1), (B, T, 1)
            out = self.denoiser(self.flow.interpolate(x0, z, t), t * self.flow.time_scale, cond, mask)
            return out, self.flow.target(x0, z)
        t, noise = self.schedule.loss_draws(x0, self.training)  # (B,), (B, T, 1)
        out = self.denoiser(self.schedule.q_sample(x0, t, noise), t, cond, mask)
        return out, (x0 if self.conf["prediction"] == "x0" else noise)

    def _sample(self, x_start, mask, prepared, sampler, steps, generator):
        """x0 (B, T, 1) from the start noise with the named sampler of the objective."""
        if self.flow is not None:
            flow = self.flow
            flow.check_sampler(sampler)

            def v_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
                return flow.velocity(self.denoiser(x, t * flow.time_scale, conditioned=prepared), x, t)

            return flow_sample(sampler, v_fn, x_start, mask, 0.0, steps, 1.0)

        def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = self.denoiser(x, t, conditioned=prepared)
            if self.conf["prediction"] == "x0":
                return self.schedule.predict_eps(x, t, out.clamp(-1.0, 1.0))
            return out

        return run_sampler(sampler, eps_fn, self.schedule, x_start, mask, self.conf["num_steps"] - 1, steps, 1.0,
                           generator)

    @torch.no_grad()
    def inference(self, cond: torch.Tensor, mask: torch.Tensor, note_midi: torch.Tensor, sampler: str = "auto",
                  steps: int = 10, generator: Optional[torch.Generator] = None) -> Dict[str, torch.Tensor]:
        """cond (B, T, cond_dim), mask (B, T), note_midi (B, T) frame-level note (0 = rest) ->
        {"f0": (B, T) Hz, 0 where unvoiced / rest / padded; "uv_prob": (B, T) voicing probability,
        0 on rests and padded frames}."""
        sampler = resolve_sampler(sampler, self.conf["objective"], "F0DiffusionPredictor")
        if note_midi.shape != mask.shape:
            raise ValueError(f"note_midi {tuple(note_midi.shape)} and mask {tuple(mask.shape)} differ in shape")
        B, T = mask.shape
        x_start = torch.randn((B, T, 1), generator=generator, device=cond.device, dtype=cond.dtype)
        x0 = self._sample(x_start, mask, self.denoiser.condition(cond, mask), sampler, steps, generator)
        f0 = unit_to_f0(x0.squeeze(-1), self.conf["log2_f0_min"], self.conf["log2_f0_max"])
        note_hz = midi_to_hz(note_midi).to(f0.dtype)
        ratio = 2.0 ** (self.conf["max_semitone_dev"] / 12.0)
        f0 = torch.minimum(torch.maximum(f0, note_hz / ratio), note_hz * ratio)
        sounding = (note_midi > 0) & mask
        uv_prob = torch.sigmoid(self.uv_head(cond, mask)) * sounding.to(f0.dtype)
        voiced = sounding & (uv_prob >= self.conf["uv_threshold"])
        return {"f0": f0 * voiced.to(f0.dtype), "uv_prob": uv_prob}
