"""Gaussian diffusion parts of PerformSinger: the mel decoder and the F0/UV predictor.

    schedule.py          beta schedule, q(x_t | x_0), the posterior q(x_{t-1} | x_t, x_0)
    wavenet_denoiser.py  eps_theta(x_t, t, cond): DiffSinger-style residual WaveNet
    samplers.py          DDPM (ancestral, every step), DDIM (deterministic, any number of steps),
                         DPM-Solver++(2M)
    flow.py              rectified flow (objective "reflow"): x_t = t x + (1 - t) z, velocity x - z,
                         shallow start t_start from an auxiliary estimate
    flow_samplers.py     Euler / RK2 / RK4 ODE steps of a flow
    mel_decoder.py       MelDiffusionDecoder    (content -> mel, optional shallow diffusion)
    f0_predictor.py      F0DiffusionPredictor   (content -> F0 + voicing, RMSSinger style)
"""

from espnet2_ext.svs.diffusion.f0_predictor import F0DiffusionPredictor
from espnet2_ext.svs.diffusion.mel_decoder import MelDiffusionDecoder
from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule, make_betas
from espnet2_ext.svs.diffusion.wavenet_denoiser import WaveNetDenoiser

__all__ = [
    "DiffusionSchedule",
    "F0DiffusionPredictor",
    "MelDiffusionDecoder",
    "WaveNetDenoiser",
    "make_betas",
]
