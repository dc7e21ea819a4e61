"""MelDiffusionDecoder: loss, gradients, masking, inference shapes, shallow diffusion, options."""

import pytest
import torch

from espnet2_ext.svs.diffusion import MelDiffusionDecoder, WaveNetDenoiser

torch.set_num_threads(1)
TINY = dict(residual_layers=4, residual_channels=32, dilation_cycle=2, num_steps=20)


def _batch(B=2, T=16, odim=8, cond_dim=12):
    g = torch.Generator().manual_seed(0)
    mel = torch.randn(B, T, odim, generator=g)
    cond = torch.randn(B, T, cond_dim, generator=g)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 10:] = False
    return mel, cond, mask


def test_loss_finite_and_gradients_reach_every_parameter():
    torch.manual_seed(0)
    dec = MelDiffusionDecoder(8, 12, TINY)
    mel, cond, mask = _batch()
    out = dec(mel, cond, mask)
    assert set(out) == {"loss"}
    assert out["loss"].dim() == 0 and torch.isfinite(out["loss"])
    out["loss"].backward()
    for name, p in dec.named_parameters():
        assert p.grad is not None, name
        assert torch.isfinite(p.grad).all(), name
        assert p.grad.abs().sum() > 0, name


@pytest.mark.parametrize("loss", ["l1", "l2"])
def test_loss_ignores_padded_frames(loss):
    dec = MelDiffusionDecoder(8, 12, {**TINY, "loss": loss})
    mel, cond, mask = _batch()
    torch.manual_seed(5)
    a = dec(mel, cond, mask)["loss"]
    mel2, cond2 = mel.clone(), cond.clone()
    mel2[1, 10:] = 100.0
    cond2[1, 10:] = -50.0
    torch.manual_seed(5)
    b = dec(mel2, cond2, mask)["loss"]
    assert torch.equal(a, b)
    # while a change on a valid frame does change it
    mel2[1, 3] += 1.0
    torch.manual_seed(5)
    assert not torch.equal(a, dec(mel2, cond2, mask)["loss"])


def test_denoiser_output_on_valid_frames_independent_of_padding():
    den = WaveNetDenoiser(3, 5, 3, residual_layers=3, residual_channels=16, dilation_cycle=3).eval()
    x, c = torch.randn(1, 9, 3), torch.randn(1, 9, 5)
    t = torch.tensor([7])
    ref = den(x, t, c)
    xp = torch.cat([x, torch.randn(1, 6, 3)], 1)
    cp = torch.cat([c, torch.randn(1, 6, 5)], 1)
    mask = torch.arange(15)[None] < 9
    out = den(xp, t, cp, mask)
    torch.testing.assert_close(out[:, :9], ref, atol=1e-5, rtol=1e-5)
    assert torch.all(out[:, 9:] == 0)


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm_solver"])
def test_inference_shape_finite_padding_zero_deterministic(sampler):
    dec = MelDiffusionDecoder(8, 12, TINY).eval()
    _, cond, mask = _batch()
    a = dec.inference(cond, mask, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(1))
    b = dec.inference(cond, mask, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(1))
    assert a.shape == (2, 16, 8) and torch.isfinite(a).all()
    assert torch.equal(a, b)
    assert torch.all(a[1, 10:] == 0) and a[1, :10].abs().sum() > 0
    assert a.abs().max() <= dec.conf["spec_clip"] + 1e-5


def test_ddpm_runs_every_step_and_ddim_the_requested_number():
    dec = MelDiffusionDecoder(8, 12, TINY).eval()
    _, cond, mask = _batch()
    seen = []
    handle = dec.denoiser.register_forward_pre_hook(lambda m, args: seen.append(int(args[1][0])))
    dec.inference(cond, mask, sampler="ddpm")
    assert seen == list(range(19, -1, -1))
    seen.clear()
    dec.inference(cond, mask, sampler="ddim", steps=4)
    assert len(seen) == 4 and seen[0] == 19 and seen[-1] == 0
    handle.remove()


def test_shallow_diffusion():
    conf = {**TINY, "shallow_k": 6}
    dec = MelDiffusionDecoder(8, 12, conf).eval()
    mel, cond, mask = _batch()
    with pytest.raises(ValueError, match="aux_mel"):
        dec.inference(cond, mask)
    seen = []
    handle = dec.denoiser.register_forward_pre_hook(lambda m, args: seen.append(int(args[1].max())))
    out = dec.inference(cond, mask, sampler="ddpm", aux_mel=mel, generator=torch.Generator().manual_seed(0))
    handle.remove()
    assert seen == [5, 4, 3, 2, 1, 0]
    assert out.shape == mel.shape and torch.all(out[1, 10:] == 0)
    # training only visits steps below K
    steps = []
    handle = dec.denoiser.register_forward_pre_hook(lambda m, args: steps.extend(args[1].tolist()))
    for _ in range(20):
        dec(mel, cond, mask)
    handle.remove()
    assert max(steps) < 6
    plain = MelDiffusionDecoder(8, 12, TINY)
    with pytest.raises(ValueError, match="shallow_k=0"):
        plain.inference(cond, mask, aux_mel=mel)


def test_bad_options_raise():
    with pytest.raises(ValueError, match="residual_layer"):
        MelDiffusionDecoder(8, 12, {"residual_layer": 4})
    with pytest.raises(ValueError, match="loss"):
        MelDiffusionDecoder(8, 12, {**TINY, "loss": "huber"})
    dec = MelDiffusionDecoder(8, 12, TINY)
    _, cond, mask = _batch()
    with pytest.raises(ValueError, match="sampler"):
        dec.inference(cond, mask, sampler="plms")


def test_default_conf_is_paper_size():
    dec = MelDiffusionDecoder(80, 256)
    assert len(dec.denoiser.layers) == 20 and dec.denoiser.in_proj.out_channels == 256
    assert dec.schedule.num_steps == 100
    assert float(dec.schedule.betas[-1]) == pytest.approx(0.06)


def test_validation_loss_repeats_and_leaves_the_global_rng_alone():
    """eval mode: same draws at every call (epochs compare by the model); train mode: fresh draws."""
    dec = MelDiffusionDecoder(8, 12, TINY)
    mel, cond, mask = _batch(B=4)
    dec.eval()
    torch.manual_seed(7)
    state = torch.get_rng_state()
    with torch.no_grad():
        a, b = dec(mel, cond, mask)["loss"], dec(mel, cond, mask)["loss"]
    assert float(a) == float(b)
    assert torch.equal(torch.get_rng_state(), state)
    dec.train()
    with torch.no_grad():
        c, d = dec(mel, cond, mask)["loss"], dec(mel, cond, mask)["loss"]
    assert float(c) != float(d)


def test_validation_steps_cover_the_range():
    from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule

    s = DiffusionSchedule("linear", 100)
    t, eps = s.loss_draws(torch.zeros(4, 3, 2), training=False)
    assert t.tolist() == [12, 37, 62, 87] and eps.shape == (4, 3, 2)
    t, _ = s.loss_draws(torch.zeros(3, 1), training=False, high=10)
    assert t.tolist() == [1, 5, 8]
    t, _ = s.loss_draws(torch.zeros(1, 1), training=False)
    assert t.tolist() == [50]
