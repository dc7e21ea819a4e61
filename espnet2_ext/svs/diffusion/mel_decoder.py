"""Diffusion mel-spectrogram decoder (DiffSinger, used by PerformSinger sec. 3.5 "Mel-Spectrogram Decoder").

    training:   mel (B, T, odim) --clamp [-c, c], / c--> x0 in [-1, 1]
                t ~ U[0, N) (shallow: U[0, K)), eps ~ N(0, I)
                (validation, eval mode: fixed t spread over the range and seeded eps, so that
                 epochs compare by the model, not the draw: schedule.loss_draws)
                x_t = sqrt(abar_t) x0 + sqrt(1 - abar_t) eps                 (DDPM eq. 4)
                loss = masked |eps_theta(x_t, t, cond) - eps|  (L1, or L2)   (DiffSinger eq. 6)
                       or, with prediction "x0", masked |x0_theta(x_t, t, cond) - x0|
    inference:  x_start = eps                          (plain, start at step N-1)
                x_start = q_sample(aux_mel, K-1, eps)  (shallow diffusion, start at step K-1)
                --ddpm / ddim / dpm_solver sampler, x0 clipped to [-1, 1]--> x0 * c = mel (B, T, odim)

Inputs are log-mels already normalised by the task's global MVN; ``spec_clip`` c (default 4)
clamps them and maps [-c, c] onto the [-1, 1] range that the linear 1e-4..0.06 schedule was
designed for (DiffSinger scales its mels to [-1, 1] too), so that x_{N-1} is close to pure noise.
"""

from typing import Dict, Optional

import torch

from espnet2_ext.svs.diffusion.conf import merge_conf
from espnet2_ext.svs.diffusion.samplers import SAMPLERS, run_sampler
from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule
from espnet2_ext.svs.diffusion.wavenet_denoiser import WaveNetDenoiser

MEL_DECODER_DEFAULTS = dict(
    residual_layers=20,
    residual_channels=256,
    dilation_cycle=4,
    num_steps=100,
    beta_schedule="linear",
    beta_min=1e-4,
    beta_max=0.06,
    loss="l1",
    prediction="eps",
    shallow_k=0,
    spec_clip=4.0,
)


def masked_noise_loss(pred: torch.Tensor, target: torch.Tensor, mask: torch.Tensor, kind: str) -> torch.Tensor:
    """Mean L1 / L2 error over valid frames and all channels; pred, target (B, T, D), mask (B, T)."""
    diff = pred - target
    err = diff.abs() if kind == "l1" else diff.pow(2)
    m = mask[..., None].to(err.dtype)
    return (err * m).sum() / (m.sum() * err.shape[-1]).clamp(min=1.0)


class MelDiffusionDecoder(torch.nn.Module):
    """Content-conditioned diffusion decoder producing normalised mels."""

    def __init__(self, odim: int, cond_dim: int, conf: Optional[dict] = None):
        """
        Args:
            odim: number of mel bins.
            cond_dim: channels of the frame-level condition (decoder input).
            conf: options, see MEL_DECODER_DEFAULTS:
                residual_layers, residual_channels, dilation_cycle: denoiser size;
                num_steps, beta_schedule ("linear" | "cosine"), beta_min, beta_max: schedule;
                loss: "l1" | "l2" on the network's prediction;
                prediction: "eps" (the network predicts the noise, DiffSinger) or "x0" (it
                    predicts the clean mel; the samplers get the implied noise). x0 learns a usable
                    mel in far fewer steps, which is what a CPU-sized training affords;
                shallow_k: 0 = plain diffusion, K > 0 = train on steps < K and start sampling
                    from the auxiliary mel noised to step K-1;
                spec_clip: clamp range of the normalised mel, mapped to [-1, 1].
        """
        super().__init__()
        c = merge_conf(MEL_DECODER_DEFAULTS, conf, "MelDiffusionDecoder conf")
        if c["prediction"] not in ("eps", "x0"):
            raise ValueError(f"MelDiffusionDecoder conf: prediction must be 'eps' or 'x0', got {c['prediction']!r}")
        if c["loss"] not in ("l1", "l2"):
            raise ValueError(f"MelDiffusionDecoder conf: loss must be 'l1' or 'l2', got {c['loss']!r}")
        if not 0 <= c["shallow_k"] <= c["num_steps"]:
            raise ValueError(f"MelDiffusionDecoder conf: need 0 <= shallow_k <= num_steps, got {c['shallow_k']}")
        if c["spec_clip"] <= 0:
            raise ValueError(f"MelDiffusionDecoder conf: spec_clip must be > 0, got {c['spec_clip']}")
        self.conf = c
        self.odim = odim
        self.schedule = DiffusionSchedule(c["beta_schedule"], c["num_steps"], c["beta_min"], c["beta_max"])
        self.denoiser = WaveNetDenoiser(odim, cond_dim, odim, c["residual_layers"], c["residual_channels"],
                                        c["dilation_cycle"])

    def _to_unit(self, mel: torch.Tensor) -> torch.Tensor:
        clip = self.conf["spec_clip"]
        return mel.clamp(-clip, clip) / clip

    def forward(self, mel: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """mel (B, T, odim) normalised target, cond (B, T, cond_dim), mask (B, T) bool -> {"loss"}."""
        m = mask[..., None].to(mel.dtype)
        x0 = self._to_unit(mel) * m  # (B, T, odim)
        k = self.conf["shallow_k"]
        t, noise = self.schedule.loss_draws(x0, self.training, high=k if k > 0 else None)  # (B,), (B, T, odim)
        xt = self.schedule.q_sample(x0, t, noise)
        out = self.denoiser(xt, t, cond, mask)
        target = x0 if self.conf["prediction"] == "x0" else noise
        return {"loss": masked_noise_loss(out, target, mask, self.conf["loss"])}

    @torch.no_grad()
    def inference(self, cond: torch.Tensor, mask: torch.Tensor, sampler: str = "ddim", steps: int = 10,
                  aux_mel: Optional[torch.Tensor] = None,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """cond (B, T, cond_dim), mask (B, T) -> normalised mel (B, T, odim), zero on padded frames.

        sampler: "ddpm" (every step), "ddim" or "dpm_solver" (``steps`` network evaluations).
        aux_mel: (B, T, odim) normalised auxiliary mel; required iff shallow_k > 0.
        generator: source of every random draw (start noise, DDPM noise).
        """
        if sampler not in SAMPLERS:
            raise ValueError(f"unknown sampler {sampler!r}; choose one of {SAMPLERS}")
        k = self.conf["shallow_k"]
        if k > 0 and aux_mel is None:
            raise ValueError(f"MelDiffusionDecoder: shallow_k={k} needs aux_mel at inference")
        if k == 0 and aux_mel is not None:
            raise ValueError("MelDiffusionDecoder: aux_mel given but shallow_k=0 (plain diffusion ignores it); "
                             "set shallow_k > 0 or drop aux_mel")
        B, T = mask.shape
        noise = torch.randn((B, T, self.odim), generator=generator, device=cond.device, dtype=cond.dtype)
        if k > 0:
            t_start = k - 1
            tb = torch.full((B,), t_start, dtype=torch.long, device=cond.device)
            x_start = self.schedule.q_sample(self._to_unit(aux_mel), tb, noise)
        else:
            t_start = self.conf["num_steps"] - 1
            x_start = noise

        def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = self.denoiser(x, t, cond, mask)
            if self.conf["prediction"] == "x0":
                return self.schedule.predict_eps(x, t, out.clamp(-1.0, 1.0))
            return out

        x0 = run_sampler(sampler, eps_fn, self.schedule, x_start, mask, t_start, steps, 1.0, generator)
        return x0 * self.conf["spec_clip"] * mask[..., None].to(x0.dtype)
