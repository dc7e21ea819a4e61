"""Reverse-process samplers over a ``DiffusionSchedule``, all driven by a noise estimator.

    eps_fn(x_t (B, T, D), t (B,) long) -> eps (B, T, D)
    x_start (B, T, D) at step t_start  (pure noise, or q_sample(aux_mel, K-1) for shallow diffusion)
        ddpm  : ancestral sampling through every step t_start .. 0     (DDPM eq. 11, Ho et al. 2020)
        ddim  : eta = 0, ``steps`` evaluations on a grid even in t      (DDIM eq. 12, Song et al. 2021)
        dpm_solver : DPM-Solver++(2M), data prediction, ``steps`` evals on a grid even in log-SNR
                                                                        (Lu et al. 2022, alg. 2)
    -> x_0 (B, T, D), zero on padded frames

Every x_0 prediction can be clipped to [-clip, clip] (the data range); DDIM and DPM-Solver then
re-derive eps from the clipped x_0. The last grid point always jumps straight to the clean
sample (abar = 1). Randomness only comes from ``generator`` (DDPM), so a fixed generator and a
fixed x_start give identical samples.
"""

from typing import Callable, List, Optional, Tuple

import torch

from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule

EpsFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
SAMPLERS = ("ddpm", "ddim", "dpm_solver")


def timestep_grid(t_start: int, steps: int) -> List[int]:
    """``steps`` distinct step indices evenly spread from t_start down to 0 (fewer if t_start + 1 < steps)."""
    if steps < 1:
        raise ValueError(f"number of sampling steps must be >= 1, got {steps}")
    steps = min(steps, t_start + 1)
    if steps == 1:
        return [t_start]
    grid = torch.linspace(t_start, 0, steps, dtype=torch.float64).round().long().tolist()
    return sorted(set(grid), reverse=True)


def logsnr_grid(sched: DiffusionSchedule, t_start: int, steps: int) -> List[int]:
    """Up to ``steps`` distinct step indices, t_start .. 0, evenly spaced in log-SNR lambda (nearest step).

    DPM-Solver's recommended spacing: with a linear beta schedule an even grid in t puts most of
    the log-SNR range into the very last interval, which high-order solvers handle badly.
    """
    if steps < 1:
        raise ValueError(f"number of sampling steps must be >= 1, got {steps}")
    abar = sched.alphas_cumprod[: t_start + 1].double()
    lam = 0.5 * torch.log(abar / (1.0 - abar))  # decreasing in t
    if steps == 1:
        return [t_start]
    targets = torch.linspace(float(lam[t_start]), float(lam[0]), steps, dtype=torch.float64)
    idx = (lam[None, :] - targets[:, None]).abs().argmin(dim=1)
    return sorted(set(idx.tolist()), reverse=True)


def _x0_eps(eps_fn: EpsFn, sched: DiffusionSchedule, x: torch.Tensor, t: int,
            clip: Optional[float]) -> Tuple[torch.Tensor, torch.Tensor]:
    """Model x_0 and eps estimates at step t, x_0 clipped and eps made consistent with it."""
    tb = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
    eps = eps_fn(x, tb)
    x0 = sched.predict_x0(x, tb, eps)
    if clip is not None:
        x0 = x0.clamp(-clip, clip)
        eps = sched.predict_eps(x, tb, x0)
    return x0, eps


def _mask(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    return x if mask is None else x * mask[..., None].to(x.dtype)


def ddpm_sample(eps_fn: EpsFn, sched: DiffusionSchedule, x_start: torch.Tensor, mask: Optional[torch.Tensor] = None,
                t_start: Optional[int] = None, clip: Optional[float] = None,
                generator: Optional[torch.Generator] = None) -> torch.Tensor:
    """Ancestral sampling: x_{t-1} ~ q(x_{t-1} | x_t, x0_theta) for t = t_start .. 0."""
    t_start = sched.num_steps - 1 if t_start is None else t_start
    x = _mask(x_start, mask)
    for t in range(t_start, -1, -1):
        x0, _ = _x0_eps(eps_fn, sched, x, t, clip)
        tb = torch.full((x.shape[0],), t, dtype=torch.long, device=x.device)
        mean, log_var = sched.q_posterior(x0, x, tb)
        if t > 0:
            z = torch.randn(x.shape, generator=generator, device=x.device, dtype=x.dtype)
            x = mean + (0.5 * log_var).exp() * z
        else:
            x = mean  # posterior at t = 0 is exactly x0
        x = _mask(x, mask)
    return x


def ddim_sample(eps_fn: EpsFn, sched: DiffusionSchedule, x_start: torch.Tensor, mask: Optional[torch.Tensor] = None,
                t_start: Optional[int] = None, steps: int = 10, clip: Optional[float] = None) -> torch.Tensor:
    """Deterministic DDIM (eta = 0): x_s = sqrt(abar_s) x0 + sqrt(1 - abar_s) eps."""
    t_start = sched.num_steps - 1 if t_start is None else t_start
    grid = timestep_grid(t_start, steps)
    x = _mask(x_start, mask)
    for i, t in enumerate(grid):
        x0, eps = _x0_eps(eps_fn, sched, x, t, clip)
        if i + 1 == len(grid):
            x = x0
        else:
            abar_s = sched.alphas_cumprod[grid[i + 1]]
            x = abar_s.sqrt() * x0 + (1.0 - abar_s).sqrt() * eps
        x = _mask(x, mask)
    return x


def dpm_solver_sample(eps_fn: EpsFn, sched: DiffusionSchedule, x_start: torch.Tensor,
                      mask: Optional[torch.Tensor] = None, t_start: Optional[int] = None, steps: int = 10,
                      clip: Optional[float] = None) -> torch.Tensor:
    """DPM-Solver++(2M) in log-SNR time lambda = log(alpha / sigma).

    The first step is first order (no history yet); with fewer than 15 steps the step into the
    last grid point is first order too ("lower order final"): on an even grid of steps the last
    log-SNR interval is several times longer than the previous one and the second-order
    extrapolation would amplify the model error.
    """
    t_start = sched.num_steps - 1 if t_start is None else t_start
    grid = logsnr_grid(sched, t_start, steps)
    abar = sched.alphas_cumprod
    alpha, sigma = abar.sqrt(), (1.0 - abar).sqrt()
    lam = torch.log(alpha) - torch.log(sigma)
    x = _mask(x_start, mask)
    x0_prev, h_prev = None, None
    for i, t in enumerate(grid):
        x0, _ = _x0_eps(eps_fn, sched, x, t, clip)
        if i + 1 == len(grid):
            x = x0  # sigma -> 0: the update reduces to the data prediction
        else:
            s = grid[i + 1]
            h = lam[s] - lam[t]
            if x0_prev is None or (i + 2 == len(grid) and len(grid) < 15):
                d = x0  # first order on the first step, and on the last one for short grids
            else:
                r = h_prev / h
                d = (1.0 + 0.5 / r) * x0 - (0.5 / r) * x0_prev
            x = (sigma[s] / sigma[t]) * x - alpha[s] * torch.expm1(-h) * d
            x0_prev, h_prev = x0, h
        x = _mask(x, mask)
    return x


def run_sampler(name: str, eps_fn: EpsFn, sched: DiffusionSchedule, x_start: torch.Tensor,
                mask: Optional[torch.Tensor], t_start: int, steps: int, clip: Optional[float],
                generator: Optional[torch.Generator]) -> torch.Tensor:
    """Dispatch by name; ``steps`` is ignored by "ddpm" (it always runs t_start + 1 steps)."""
    if name == "ddpm":
        return ddpm_sample(eps_fn, sched, x_start, mask, t_start, clip, generator)
    if name == "ddim":
        return ddim_sample(eps_fn, sched, x_start, mask, t_start, steps, clip)
    if name == "dpm_solver":
        return dpm_solver_sample(eps_fn, sched, x_start, mask, t_start, steps, clip)
    raise ValueError(f"unknown sampler {name!r}; choose one of {SAMPLERS}")
