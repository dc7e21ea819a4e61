"""A tiny decoder memorises one mel: DDIM-10, DDPM-100 and DPM-Solver-10 samples land on it."""

import torch

from espnet2_ext.svs.diffusion import MelDiffusionDecoder

torch.set_num_threads(1)


STEPS = 600  # ~10 s on one core; errors land ~30x below the noise level for seeds 0-3
SEED = 0


def test_tiny_decoder_overfits_one_mel():
    torch.manual_seed(SEED)
    T, D, C = 48, 16, 16
    tt = torch.arange(T, dtype=torch.float32)[:, None]
    ff = torch.arange(D, dtype=torch.float32)[None]
    target = (2.0 * torch.sin(tt / 5.0 + ff / 3.0))[None]  # (1, T, D), normalised-mel range
    cond = torch.randn(1, T, C)  # arbitrary condition: the decoder has to memorise the mapping
    mask = torch.ones(1, T, dtype=torch.bool)
    dec = MelDiffusionDecoder(D, C, dict(residual_layers=4, residual_channels=64, num_steps=100))
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=STEPS, pct_start=0.1)
    B = 8
    first = None
    for _ in range(STEPS):
        loss = dec(target.expand(B, -1, -1), cond.expand(B, -1, -1), mask.expand(B, -1))["loss"]
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
    assert float(loss.detach()) < 0.5 * first
    dec.eval()
    # the same draw the sampler starts from (same generator seed, first draw)
    noise = torch.randn(1, T, D, generator=torch.Generator().manual_seed(1))
    noise_err = float(((noise - target) ** 2).mean())  # ~ 1 + var(target) = 3
    for sampler, steps in (("ddim", 10), ("ddpm", 100), ("dpm_solver", 10)):
        x = dec.inference(cond, mask, sampler=sampler, steps=steps, generator=torch.Generator().manual_seed(1))
        err = float(((x - target) ** 2).mean())
        to_noise = float(((x - noise) ** 2).mean())
        assert err < 0.1 * noise_err, (sampler, err, noise_err)
        assert err < 0.1 * to_noise, (sampler, err, to_noise)
