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
    objective "reflow" (flow.py): the same denoiser trained as a rectified flow, t ~ U(t_start, 1),
                target the velocity x0 - eps (or x0); sampled with euler / rk2 / rk4 (flow_samplers.py)
                from eps, or with t_start > 0 from t_start * aux_mel + (1 - t_start) * eps

Every sampler calls the denoiser with the condition prepared once (WaveNetDenoiser.condition).

Inputs are log-mels already normalised by the task's global MVN; ``spec_clip`` c (default 4)
clamps them and maps [-c, c] onto the [-1, 1] range that the linear 1e-4..0.06 schedule was
designed for (DiffSinger scales its mels to [-1, 1] too), so that x_{N-1} is close to pure noise.
"""

from typing import Dict, Optional

import torch

from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.diffusion.flow import RectifiedFlow
from espnet2_ext.svs.diffusion.flow_samplers import FLOW_SAMPLERS, flow_sample
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
    objective="ddpm",
    prediction=None,
    shallow_k=0,
    t_start=0.0,
    spec_clip=4.0,
)
OBJECTIVES = ("ddpm", "reflow")
PREDICTIONS = {"ddpm": ("eps", "x0"), "reflow": ("v", "x0")}
OBJECTIVE_SAMPLERS = {"ddpm": SAMPLERS, "reflow": FLOW_SAMPLERS}
# sampler "auto": the few-step sampler of each objective (conf/decode_fast.yaml, chosen on dev)
AUTO_SAMPLER = {"ddpm": "ddim", "reflow": "euler"}


def resolve_sampler(sampler: str, objective: str, owner: str) -> str:
    """``sampler`` itself, or for "auto" the objective's few-step sampler; an error names the ones
    the objective can use."""
    if sampler == "auto":
        return AUTO_SAMPLER[objective]
    if sampler not in OBJECTIVE_SAMPLERS[objective]:
        raise ValueError(f"{owner} (objective {objective}): unknown sampler {sampler!r}; choose one of "
                         f"{('auto', *OBJECTIVE_SAMPLERS[objective])}")
    return sampler


def check_objective(c: dict, owner: str) -> dict:
    """Validate objective / prediction / shallow options of a conf; fill in the default prediction
    ("eps" for ddpm, "v" for reflow)."""
    if c["objective"] not in OBJECTIVES:
        raise ValueError(f"{owner}: objective must be one of {OBJECTIVES}, got {c['objective']!r}")
    valid = PREDICTIONS[c["objective"]]
    c = dict(c, prediction=c["prediction"] or valid[0])
    if c["prediction"] not in valid:
        raise ValueError(f"{owner}: prediction {c['prediction']!r} does not go with objective "
                         f"{c['objective']!r}; choose one of {valid}")
    if c["objective"] == "reflow" and c.get("shallow_k", 0):
        raise ValueError(f"{owner}: shallow_k is the Gaussian objective's shallow start; with objective "
                         "reflow use t_start (e.g. 0.4) and shallow_k: 0")
    if c["objective"] == "ddpm" and c.get("t_start", 0.0):
        raise ValueError(f"{owner}: t_start is the reflow objective's shallow start; with objective ddpm "
                         "use shallow_k (e.g. 60) and t_start: 0")
    return c


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
                objective: "ddpm" (Gaussian diffusion; samplers ddpm, ddim, dpm_solver) or
                    "reflow" (rectified flow, flow.py; samplers euler, rk2, rk4: straight paths
                    that few ODE steps follow);
                prediction: ddpm: "eps" (default; the network predicts the noise, DiffSinger) or
                    "x0" (it predicts the clean mel; the samplers get the implied noise); reflow:
                    "v" (default, the velocity) or "x0". x0 learns a usable mel in far fewer
                    steps, which is what a CPU-sized training affords;
                shallow_k: ddpm only. 0 = plain diffusion, K > 0 = train on steps < K and start
                    sampling from the auxiliary mel noised to step K-1;
                t_start: reflow only. 0 = from noise, in (0, 1) = train on t > t_start and start
                    sampling from t_start * aux_mel + (1 - t_start) * noise;
                spec_clip: clamp range of the normalised mel, mapped to [-1, 1].
        """
        super().__init__()
        c = check_objective(merge_conf(MEL_DECODER_DEFAULTS, conf, "MelDiffusionDecoder conf"),
                            "MelDiffusionDecoder conf")
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
        self.flow = (RectifiedFlow(c["t_start"], c["num_steps"], c["prediction"])
                     if c["objective"] == "reflow" else None)

    @property
    def needs_aux(self) -> bool:
        """True when sampling starts from an auxiliary mel (shallow diffusion / shallow flow)."""
        return self.conf["shallow_k"] > 0 or self.conf["t_start"] > 0

    def _to_unit(self, mel: torch.Tensor) -> torch.Tensor:
        clip = self.conf["spec_clip"]
        return mel.clamp(-clip, clip) / clip

    def forward(self, mel: torch.Tensor, cond: torch.Tensor, mask: torch.Tensor) -> Dict[str, torch.Tensor]:
        """mel (B, T, odim) normalised target, cond (B, T, cond_dim), mask (B, T) bool -> {"loss"}."""
        m = mask[..., None].to(mel.dtype)
        x0 = self._to_unit(mel) * m  # (B, T, odim)
        if self.flow is not None:
            t, z = self.flow.loss_draws(x0, self.training)  # (B,) in [t_start, 1), (B, T, odim)
            out = self.denoiser(self.flow.interpolate(x0, z, t), t * self.flow.time_scale, cond, mask)
            return {"loss": masked_noise_loss(out, self.flow.target(x0, z), mask, self.conf["loss"])}
        k = self.conf["shallow_k"]
        t, noise = self.schedule.loss_draws(x0, self.training, high=k if k > 0 else None)  # (B,), (B, T, odim)
        xt = self.schedule.q_sample(x0, t, noise)
        out = self.denoiser(xt, t, cond, mask)
        target = x0 if self.conf["prediction"] == "x0" else noise
        return {"loss": masked_noise_loss(out, target, mask, self.conf["loss"])}

    @torch.no_grad()
    def inference(self, cond: torch.Tensor, mask: torch.Tensor, sampler: str = "auto", steps: int = 10,
                  aux_mel: Optional[torch.Tensor] = None,
                  generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """cond (B, T, cond_dim), mask (B, T) -> normalised mel (B, T, odim), zero on padded frames.

        sampler: "ddpm" (every step), "ddim" or "dpm_solver" (``steps`` network evaluations) for
            objective ddpm; "euler", "rk2" or "rk4" (``steps`` intervals) for objective reflow;
            "auto": ddim or euler, whichever the objective takes.
        aux_mel: (B, T, odim) normalised auxiliary mel; required iff ``needs_aux``.
        generator: source of every random draw (start noise, DDPM noise).
        """
        sampler = resolve_sampler(sampler, self.conf["objective"], "MelDiffusionDecoder")
        if self.needs_aux and aux_mel is None:
            raise ValueError("MelDiffusionDecoder: a shallow start (shallow_k / t_start > 0) needs aux_mel at inference")
        if not self.needs_aux and aux_mel is not None:
            raise ValueError("MelDiffusionDecoder: aux_mel given but shallow_k=0 and t_start=0 (sampling from noise "
                             "ignores it); set shallow_k (ddpm) / t_start (reflow) > 0 or drop aux_mel")
        B, T = mask.shape
        noise = torch.randn((B, T, self.odim), generator=generator, device=cond.device, dtype=cond.dtype)
        prepared = self.denoiser.condition(cond, mask)  # once per utterance, reused at every step
        if self.flow is not None:
            return self._flow_inference(prepared, mask, sampler, steps, aux_mel, noise)
        k = self.conf["shallow_k"]
        if k > 0:
            t_start = k - 1
            tb = torch.full((B,), t_start, dtype=torch.long, device=cond.device)
            x_start = self.schedule.q_sample(self._to_unit(aux_mel), tb, noise)
        else:
            t_start = self.conf["num_steps"] - 1
            x_start = noise

        def eps_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            out = self.denoiser(x, t, conditioned=prepared)
            if self.conf["prediction"] == "x0":
                return self.schedule.predict_eps(x, t, out.clamp(-1.0, 1.0))
            return out

        x0 = run_sampler(sampler, eps_fn, self.schedule, x_start, mask, t_start, steps, 1.0, generator)
        return x0 * self.conf["spec_clip"] * mask[..., None].to(x0.dtype)

    def _flow_inference(self, prepared, mask, sampler, steps, aux_mel, noise) -> torch.Tensor:
        """Rectified-flow sampling from noise (or the shallow start) to the normalised mel."""
        flow = self.flow
        flow.check_sampler(sampler)
        x_start = flow.start(noise, self._to_unit(aux_mel) if aux_mel is not None else None)

        def v_fn(x: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
            return flow.velocity(self.denoiser(x, t * flow.time_scale, conditioned=prepared), x, t)

        x0 = flow_sample(sampler, v_fn, x_start, mask, flow.t_start, steps, 1.0)
        return x0 * self.conf["spec_clip"] * mask[..., None].to(x0.dtype)
