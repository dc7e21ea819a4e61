"""Discrete-time Gaussian diffusion schedule (DDPM, Ho et al. 2020).

    betas (N,) --cumprod--> alphas_cumprod abar_t
    forward  q(x_t | x_0)            = N( sqrt(abar_t) x_0, (1 - abar_t) I )          (DDPM eq. 4)
    reverse  q(x_{t-1} | x_t, x_0)   = N( c0_t x_0 + ct_t x_t, beta~_t I )            (DDPM eq. 6-7)
             beta~_t = beta_t (1 - abar_{t-1}) / (1 - abar_t)
    x_0 from a noise estimate:  x_0 = (x_t - sqrt(1 - abar_t) eps) / sqrt(abar_t)

Step indices run 0 .. N-1 (index t is the (t+1)-th noising step), as in DiffSinger. Tables are
computed in float64 and stored as float32 buffers, so they follow the module's device.
"""

import math
from typing import Optional, Tuple

import torch

VALID_SEED = 1234  # seed of the noise of validation losses (loss_draws)


def make_betas(schedule: str, num_steps: int, beta_min: float = 1e-4, beta_max: float = 0.06) -> torch.Tensor:
    """Return the (num_steps,) float64 noise schedule.

    Args:
        schedule: "linear" (beta_min .. beta_max, DiffSinger/RMSSinger) or "cosine"
            (Nichol & Dhariwal 2021, betas clipped to 0.999; beta_min / beta_max unused).
        num_steps: number of diffusion steps N (>= 1).
        beta_min: first beta of the linear schedule.
        beta_max: last beta of the linear schedule / upper clip of the cosine one.
    """
    if num_steps < 1:
        raise ValueError(f"num_steps must be >= 1, got {num_steps}")
    if not 0.0 < beta_max < 1.0 or not 0.0 <= beta_min <= beta_max:
        raise ValueError(f"need 0 <= beta_min <= beta_max < 1, got beta_min={beta_min}, beta_max={beta_max}")
    if schedule == "linear":
        return torch.linspace(beta_min, beta_max, num_steps, dtype=torch.float64)
    if schedule == "cosine":
        s = 0.008
        x = torch.arange(num_steps + 1, dtype=torch.float64) / num_steps
        f = torch.cos((x + s) / (1 + s) * math.pi / 2) ** 2
        abar = f / f[0]
        return (1 - abar[1:] / abar[:-1]).clamp(min=1e-8, max=0.999)
    raise ValueError(f"unknown beta_schedule {schedule!r}; choose 'linear' or 'cosine'")


def _gather(table: torch.Tensor, t: torch.Tensor, ndim: int) -> torch.Tensor:
    """table[t] reshaped to (B, 1, ..., 1) so that it broadcasts over a tensor with ndim dims."""
    return table[t].view(-1, *([1] * (ndim - 1)))


class DiffusionSchedule(torch.nn.Module):
    """Holds the schedule tables and the closed-form forward / posterior distributions."""

    def __init__(self, schedule: str = "linear", num_steps: int = 100, beta_min: float = 1e-4, beta_max: float = 0.06):
        """See ``make_betas`` for the arguments."""
        super().__init__()
        betas = make_betas(schedule, num_steps, beta_min, beta_max)
        abar = torch.cumprod(1.0 - betas, dim=0)
        abar_prev = torch.cat([torch.ones(1, dtype=torch.float64), abar[:-1]])
        post_var = betas * (1.0 - abar_prev) / (1.0 - abar)
        tables = {
            "betas": betas,
            "alphas_cumprod": abar,
            "alphas_cumprod_prev": abar_prev,
            "sqrt_alphas_cumprod": abar.sqrt(),
            "sqrt_one_minus_alphas_cumprod": (1.0 - abar).sqrt(),
            "posterior_variance": post_var,
            # beta~_0 = 0: clip the log like DDPM so that log-variance stays finite
            "posterior_log_variance": torch.log(torch.cat([post_var[1:2], post_var[1:]])) if num_steps > 1
            else torch.log(betas),
            "posterior_coef_x0": betas * abar_prev.sqrt() / (1.0 - abar),
            "posterior_coef_xt": (1.0 - abar_prev) * (1.0 - betas).sqrt() / (1.0 - abar),
        }
        for name, value in tables.items():
            self.register_buffer(name, value.float(), persistent=False)
        self.num_steps = num_steps

    def q_sample(self, x0: torch.Tensor, t: torch.Tensor, noise: torch.Tensor) -> torch.Tensor:
        """x_t = sqrt(abar_t) x_0 + sqrt(1 - abar_t) noise; x0, noise (B, ...), t (B,) long."""
        return (_gather(self.sqrt_alphas_cumprod, t, x0.dim()) * x0
                + _gather(self.sqrt_one_minus_alphas_cumprod, t, x0.dim()) * noise)

    def predict_x0(self, xt: torch.Tensor, t: torch.Tensor, eps: torch.Tensor) -> torch.Tensor:
        """Invert q_sample given a noise estimate."""
        return ((xt - _gather(self.sqrt_one_minus_alphas_cumprod, t, xt.dim()) * eps)
                / _gather(self.sqrt_alphas_cumprod, t, xt.dim()))

    def predict_eps(self, xt: torch.Tensor, t: torch.Tensor, x0: torch.Tensor) -> torch.Tensor:
        """Noise that maps x0 to xt at step t."""
        return ((xt - _gather(self.sqrt_alphas_cumprod, t, xt.dim()) * x0)
                / _gather(self.sqrt_one_minus_alphas_cumprod, t, xt.dim()))

    def q_posterior(self, x0: torch.Tensor, xt: torch.Tensor, t: torch.Tensor) -> Tuple[torch.Tensor, torch.Tensor]:
        """Mean and log-variance of q(x_{t-1} | x_t, x_0)."""
        mean = (_gather(self.posterior_coef_x0, t, xt.dim()) * x0
                + _gather(self.posterior_coef_xt, t, xt.dim()) * xt)
        return mean, _gather(self.posterior_log_variance, t, xt.dim())

    def sample_steps(self, batch: int, device: torch.device, high: Optional[int] = None,
                     generator: Optional[torch.Generator] = None) -> torch.Tensor:
        """Uniform random training steps in [0, high) (default: all steps), (B,) long."""
        high = self.num_steps if high is None else high
        return torch.randint(0, high, (batch,), device=device, generator=generator)

    def loss_draws(self, x0: torch.Tensor, training: bool, high: Optional[int] = None) -> Tuple[torch.Tensor, torch.Tensor]:
        """Steps t (B,) and noise eps (like x0 (B, ...)) of a diffusion loss.

        training: t ~ U[0, high), eps ~ N(0, I) from the global RNG (DDPM training).
        otherwise (validation): the same draws at every call, so that the valid loss of two epochs
            differs by the model only, not by the luck of the draw (which picks the best model):
            t evenly spread over [0, high) across the batch, eps from a generator seeded with
            VALID_SEED; the global RNG is left untouched.
        """
        high = self.num_steps if high is None else high
        if training:
            return self.sample_steps(x0.shape[0], x0.device, high), torch.randn_like(x0)
        b = x0.shape[0]
        t = ((torch.arange(b, dtype=torch.float64) + 0.5) * high / b).long().clamp(max=high - 1).to(x0.device)
        g = torch.Generator(device="cpu").manual_seed(VALID_SEED)
        eps = torch.randn(x0.shape, generator=g, dtype=torch.float32).to(device=x0.device, dtype=x0.dtype)
        return t, eps
