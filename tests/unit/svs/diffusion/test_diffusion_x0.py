"""x0-prediction option of the mel decoder: training target, samplers, quick fit."""

import pytest
import torch

from espnet2_ext.svs.diffusion.mel_decoder import MelDiffusionDecoder


def test_x0_prediction_fits_a_mel_and_samples_it():
    torch.manual_seed(0)
    torch.set_num_threads(1)
    T, D, C = 24, 8, 6
    target = torch.randn(1, T, D).clamp(-3, 3)
    cond = torch.randn(1, T, C)
    mask = torch.ones(1, T, dtype=torch.bool)
    dec = MelDiffusionDecoder(D, C, dict(residual_layers=3, residual_channels=32, num_steps=50, prediction="x0"))
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    for _ in range(250):
        loss = dec(target, cond, mask)["loss"]
        opt.zero_grad()
        loss.backward()
        opt.step()
    dec.eval()
    g = torch.Generator().manual_seed(0)
    for sampler, steps in (("ddim", 10), ("ddpm", 50), ("dpm_solver", 10)):
        out = dec.inference(cond, mask, sampler=sampler, steps=steps, generator=g)
        assert out.shape == target.shape and torch.isfinite(out).all()
        err = (out - target).pow(2).mean()
        assert err < 0.25 * target.pow(2).mean(), (sampler, float(err))


def test_unknown_prediction_is_rejected():
    with pytest.raises(ValueError, match="prediction"):
        MelDiffusionDecoder(8, 4, dict(prediction="v"))
