"""Rectified flow, the few-step training objective of the mel decoder and the F0 predictor
(Liu et al. 2023, "Flow straight and fast"; the ``reflow`` of openvpi's DiffSinger).

    time t in [0, 1]: t = 0 noise z ~ N(0, I), t = 1 data x (the [-1, 1]-scaled mel / F0)
    x_t = t x + (1 - t) z                                    straight path between noise and data
    velocity v = dx_t / dt = x - z                           (the training target)
    training:  t ~ U(t_start, 1), z ~ N(0, I)   (eval mode: fixed t spread over the range and
               seeded z, as schedule.loss_draws, so that validation losses compare models)
               prediction "v":  loss = masked |v_theta(x_t, t, cond) - (x - z)|
               prediction "x0": loss = masked |x_theta(x_t, t, cond) - x|, v = (x_theta - x_t) / (1 - t)
    sampling:  x_{t_start} = t_start * aux + (1 - t_start) * z   (shallow start from the auxiliary
               decoder's output, openvpi's T_start; t_start = 0: pure noise)
               dx/dt = v_theta from t_start to 1 in ``steps`` equal intervals (flow_samplers.py)

The denoiser's step embedding sees t * time_scale (time_scale = the decoder's num_steps), the
same 0..N range as the integer steps of the Gaussian objective.
"""

from typing import Optional, Tuple

import torch

from espnet2_ext.svs.diffusion.schedule import VALID_SEED

FLOW_PREDICTIONS = ("v", "x0")


class RectifiedFlow:
    """The interpolation, training draws and velocity of a rectified flow (no parameters)."""

    def __init__(self, t_start: float = 0.0, time_scale: float = 100.0, prediction: str = "v"):
        """
        Args:
            t_start: where sampling starts and training draws begin, in [0, 1): 0 = from pure
                noise; > 0 = shallow flow from an auxiliary estimate (openvpi T_start, e.g. 0.4).
            time_scale: factor from t in [0, 1] to the denoiser's step embedding input.
            prediction: "v" (the network predicts the velocity x - z) or "x0" (it predicts the
                data x; the velocity is derived from it).
        """
        if not 0.0 <= t_start < 1.0:
            raise ValueError(f"reflow t_start must be in [0, 1), got {t_start}")
        if prediction not in FLOW_PREDICTIONS:
            raise ValueError(f"reflow prediction must be one of {FLOW_PREDICTIONS}, got {prediction!r}")
        self.t_start, self.time_scale, self.prediction = float(t_start), float(time_scale), prediction

    def loss_draws(self, x: torch.Tensor, training: bool) -> Tuple[torch.Tensor, torch.Tensor]:
        """t (B,) float in [t_start, 1) and noise z like x (B, ...): random in training, fixed otherwise."""
        b, span = x.shape[0], 1.0 - self.t_start
        if training:
            return self.t_start + span * torch.rand(b, device=x.device), torch.randn_like(x)
        t = self.t_start + span * (torch.arange(b, dtype=torch.float32) + 0.5) / b
        g = torch.Generator(device="cpu").manual_seed(VALID_SEED)
        z = torch.randn(x.shape, generator=g, dtype=torch.float32).to(device=x.device, dtype=x.dtype)
        return t.to(x.device), z

    @staticmethod
    def interpolate(x: torch.Tensor, z: torch.Tensor, t: torch.Tensor) -> torch.Tensor:
        """x_t = t x + (1 - t) z; x, z (B, ...), t (B,)."""
        tt = t.view(-1, *([1] * (x.dim() - 1))).to(x.dtype)
        return tt * x + (1.0 - tt) * z

    def target(self, x: torch.Tensor, z: torch.Tensor) -> torch.Tensor:
        """What the network learns to output: the velocity x - z, or the data x."""
        return x - z if self.prediction == "v" else x

    def velocity(self, out: torch.Tensor, xt: torch.Tensor, t: torch.Tensor,
                 clip: Optional[float] = 1.0) -> torch.Tensor:
        """The network output at (xt, t) as a velocity; an x0 prediction is clipped to [-clip, clip]
        first (it gives no velocity at t = 1, where (1 - t) is kept at 1e-3: check_sampler)."""
        if self.prediction == "v":
            return out
        if clip is not None:
            out = out.clamp(-clip, clip)
        tt = t.view(-1, *([1] * (xt.dim() - 1))).to(xt.dtype)
        return (out - xt) / (1.0 - tt).clamp(min=1e-3)

    def check_sampler(self, name: str) -> None:
        """rk4 evaluates the flow at t = 1, where an x0 prediction divides by 1 - t = 0."""
        if name == "rk4" and self.prediction == "x0":
            raise ValueError("sampler rk4 evaluates the flow at t = 1, where prediction x0 gives no velocity; "
                             "use euler or rk2 (which stop short of t = 1), or train with prediction v")

    def start(self, z: torch.Tensor, aux: Optional[torch.Tensor] = None) -> torch.Tensor:
        """x_{t_start}: t_start * aux + (1 - t_start) * z (aux in the data scale), or z alone."""
        if self.t_start > 0 and aux is None:
            raise ValueError(f"reflow t_start={self.t_start} starts from an auxiliary estimate: pass aux")
        if self.t_start == 0:
            return z
        return self.t_start * aux + (1.0 - self.t_start) * z
