"""ODE samplers of a rectified flow (flow.py): integrate dx/dt = v(x, t) from t_start to 1.

    v_fn(x (B, T, D), t (B,) float in [0, 1]) -> velocity (B, T, D)
    x_start (B, T, D) at t_start  ->  ``steps`` equal intervals  ->  x at t = 1 (B, T, D)
        euler : x += h v(x, t)                                    1 evaluation per interval
        rk2   : midpoint, x += h v(x + h/2 v(x, t), t + h/2)       2 evaluations per interval
        rk4   : classical Runge-Kutta                             4 evaluations per interval
    -> clipped to [-clip, clip] (the data range), zero on padded frames

No randomness: the start noise alone decides the sample, so a fixed x_start gives identical
outputs. With a model whose velocity points straight at the data ((x_data - x) / (1 - t)) every
sampler lands on the data after one interval.
"""

from typing import Callable, Optional

import torch

VFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]
FLOW_SAMPLERS = ("euler", "rk2", "rk4")
EVALS_PER_STEP = {"euler": 1, "rk2": 2, "rk4": 4}


def _mask(x: torch.Tensor, mask: Optional[torch.Tensor]) -> torch.Tensor:
    return x if mask is None else x * mask[..., None].to(x.dtype)


def _step(name: str, v_fn: VFn, x: torch.Tensor, t: float, h: float) -> torch.Tensor:
    """One interval [t, t + h] of the named method."""
    tb = lambda s: torch.full((x.shape[0],), s, dtype=torch.float32, device=x.device)  # noqa: E731
    k1 = v_fn(x, tb(t))
    if name == "euler":
        return x + h * k1
    if name == "rk2":
        return x + h * v_fn(x + 0.5 * h * k1, tb(t + 0.5 * h))
    k2 = v_fn(x + 0.5 * h * k1, tb(t + 0.5 * h))
    k3 = v_fn(x + 0.5 * h * k2, tb(t + 0.5 * h))
    k4 = v_fn(x + h * k3, tb(t + h))
    return x + h / 6.0 * (k1 + 2.0 * k2 + 2.0 * k3 + k4)


def flow_sample(name: str, v_fn: VFn, x_start: torch.Tensor, mask: Optional[torch.Tensor] = None,
                t_start: float = 0.0, steps: int = 4, clip: Optional[float] = 1.0) -> torch.Tensor:
    """Integrate the flow from t_start to 1 with ``steps`` intervals of the named method."""
    if name not in FLOW_SAMPLERS:
        raise ValueError(f"unknown flow sampler {name!r}; choose one of {FLOW_SAMPLERS}")
    if steps < 1:
        raise ValueError(f"number of sampling steps must be >= 1, got {steps}")
    if not 0.0 <= t_start < 1.0:
        raise ValueError(f"t_start must be in [0, 1), got {t_start}")
    h = (1.0 - t_start) / steps
    x = _mask(x_start, mask)
    for i in range(steps):
        x = _mask(_step(name, v_fn, x, t_start + i * h, h), mask)
    if clip is not None:
        x = x.clamp(-clip, clip)
    return x
