"""Rectified-flow objective and its ODE samplers: exact recovery, shape, determinism, masking,
the condition prepared once, and a tiny overfit that few Euler steps sample back."""

import pytest
import torch

from espnet2_ext.svs.diffusion import F0DiffusionPredictor, MelDiffusionDecoder
from espnet2_ext.svs.diffusion.flow import RectifiedFlow
from espnet2_ext.svs.diffusion.flow_samplers import FLOW_SAMPLERS, flow_sample
from espnet2_ext.svs.diffusion.wavenet_denoiser import WaveNetDenoiser

torch.set_num_threads(1)
TINY = dict(residual_layers=2, residual_channels=16, dilation_cycle=2, num_steps=20, objective="reflow")


def _batch(B=2, T=14, D=8, C=12, seed=0):
    g = torch.Generator().manual_seed(seed)
    mel = torch.randn(B, T, D, generator=g)
    cond = torch.randn(B, T, C, generator=g)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 10:] = False
    return mel * mask[..., None], cond, mask


class DataDouble(torch.nn.Module):
    """A denoiser that knows the data: outputs it (prediction x0), or the constant velocity of the
    straight path from the sampler's start to it (prediction v), whatever x_t and t are."""

    def __init__(self, data: torch.Tensor, prediction: str, start=None):
        super().__init__()
        self.data, self.prediction, self.start = data, prediction, start
        self.calls = 0

    def condition(self, cond, mask=None):
        return None

    def forward(self, x, t, cond=None, mask=None, conditioned=None):
        self.calls += 1
        return self.data if self.prediction == "x0" else self.data - self.start


@pytest.mark.parametrize("name", FLOW_SAMPLERS)
@pytest.mark.parametrize("t_start", [0.0, 0.4])
def test_one_step_with_an_exact_velocity_returns_the_data(name, t_start):
    data = torch.rand(2, 9, 3) * 2 - 1
    x_start = torch.randn(2, 9, 3, generator=torch.Generator().manual_seed(0))
    v = (data - x_start) / (1.0 - t_start)  # the straight path's velocity
    out = flow_sample(name, lambda x, t: v, x_start, None, t_start, steps=1)
    torch.testing.assert_close(out, data, atol=1e-5, rtol=0)
    if name != "rk4":  # the field pointing at the data from anywhere, (data - x) / (1 - t), is singular at t = 1
        out = flow_sample(name, lambda x, t: (data - x) / (1.0 - t.view(-1, 1, 1)), x_start, None, t_start, 1)
        torch.testing.assert_close(out, data, atol=1e-5, rtol=0)


@pytest.mark.parametrize("prediction,sampler", [("x0", "euler"), ("x0", "rk2"), ("v", "euler"), ("v", "rk2"),
                                                ("v", "rk4")])
def test_decoder_with_a_data_double_returns_the_data_in_one_step(prediction, sampler):
    mel, cond, mask = _batch()
    dec = MelDiffusionDecoder(8, 12, dict(TINY, prediction=prediction)).eval()
    unit = (dec._to_unit(mel) * mask[..., None])  # the data in the sampler's [-1, 1] scale
    start = torch.randn(mel.shape, generator=torch.Generator().manual_seed(3)) * mask[..., None]  # the draw it starts from
    dec.denoiser = DataDouble(unit, prediction, start)
    out = dec.inference(cond, mask, sampler=sampler, steps=1, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, mel.clamp(-4, 4) * mask[..., None], atol=1e-4, rtol=0)
    assert dec.denoiser.calls == {"euler": 1, "rk2": 2, "rk4": 4}[sampler]


def test_ddim_with_an_x0_double_returns_the_data_in_one_step():
    """The Gaussian objective's samplers pass the same check (prediction x0, DDIM-1)."""
    mel, cond, mask = _batch()
    dec = MelDiffusionDecoder(8, 12, dict(TINY, objective="ddpm", prediction="x0")).eval()
    dec.denoiser = DataDouble(dec._to_unit(mel) * mask[..., None], "x0")
    out = dec.inference(cond, mask, sampler="ddim", steps=1, generator=torch.Generator().manual_seed(3))
    torch.testing.assert_close(out, mel.clamp(-4, 4) * mask[..., None], atol=1e-4, rtol=0)


@pytest.mark.parametrize("sampler", FLOW_SAMPLERS)
def test_shape_determinism_and_masking(sampler):
    mel, cond, mask = _batch()
    dec = MelDiffusionDecoder(8, 12, dict(TINY, t_start=0.4)).eval()

    def go(seed):
        return dec.inference(cond, mask, sampler=sampler, steps=3, aux_mel=mel,
                             generator=torch.Generator().manual_seed(seed))

    a, b, c = go(0), go(0), go(1)
    assert a.shape == mel.shape and torch.isfinite(a).all()
    assert torch.equal(a, b) and not torch.equal(a, c)
    assert torch.all(a[1, 10:] == 0) and a[0].abs().sum() > 0


def test_sampling_visits_t_start_to_one_and_never_t_one_with_euler():
    mel, cond, mask = _batch()
    dec = MelDiffusionDecoder(8, 12, dict(TINY, t_start=0.4)).eval()
    seen = []
    handle = dec.denoiser.register_forward_pre_hook(lambda m, args: seen.append(float(args[1][0])))
    dec.inference(cond, mask, sampler="euler", steps=3, aux_mel=mel)
    handle.remove()
    assert seen == pytest.approx([0.4 * 20, 0.6 * 20, 0.8 * 20])  # t * time_scale (num_steps)


def test_training_draws_stay_above_t_start_and_validation_is_fixed():
    flow = RectifiedFlow(0.4, 20.0, "v")
    x = torch.zeros(64, 5, 2)
    t, _ = flow.loss_draws(x, training=True)
    assert t.min() >= 0.4 and t.max() < 1.0
    (t1, z1), (t2, z2) = flow.loss_draws(x, False), flow.loss_draws(x, False)
    assert torch.equal(t1, t2) and torch.equal(z1, z2)


def test_the_prepared_condition_gives_the_same_output():
    den = WaveNetDenoiser(3, 5, 3, residual_layers=3, residual_channels=16, dilation_cycle=2).eval()
    x, cond = torch.randn(2, 11, 3), torch.randn(2, 11, 5)
    mask = torch.ones(2, 11, dtype=torch.bool)
    mask[0, 8:] = False
    t = torch.tensor([3, 7])
    prepared = den.condition(cond, mask)
    torch.testing.assert_close(den(x, t, conditioned=prepared), den(x, t, cond, mask))


def test_bad_objective_options_raise():
    with pytest.raises(ValueError, match="objective"):
        MelDiffusionDecoder(8, 12, dict(TINY, objective="vp"))
    with pytest.raises(ValueError, match="t_start"):
        MelDiffusionDecoder(8, 12, dict(TINY, shallow_k=5))
    with pytest.raises(ValueError, match="shallow_k"):
        MelDiffusionDecoder(8, 12, dict(TINY, objective="ddpm", t_start=0.4))
    with pytest.raises(ValueError, match="prediction"):
        MelDiffusionDecoder(8, 12, dict(TINY, prediction="eps"))
    with pytest.raises(ValueError, match="t_start"):
        MelDiffusionDecoder(8, 12, dict(TINY, t_start=1.0))
    dec = MelDiffusionDecoder(8, 12, TINY).eval()
    _, cond, mask = _batch()
    with pytest.raises(ValueError, match="euler"):
        dec.inference(cond, mask, sampler="ddim")
    with pytest.raises(ValueError, match="aux_mel"):
        MelDiffusionDecoder(8, 12, dict(TINY, t_start=0.4)).eval().inference(cond, mask, sampler="euler")
    with pytest.raises(ValueError, match="rk4"):
        MelDiffusionDecoder(8, 12, dict(TINY, prediction="x0")).eval().inference(cond, mask, sampler="rk4")


@pytest.mark.parametrize("objective,fast", [("ddpm", "ddim"), ("reflow", "euler")])
def test_auto_is_the_objectives_few_step_sampler(objective, fast):
    mel, cond, mask = _batch()
    dec = MelDiffusionDecoder(8, 12, dict(TINY, objective=objective, prediction="x0")).eval()
    pred = F0DiffusionPredictor(12, dict(residual_layers=2, residual_channels=16, num_steps=20, uv_channels=16,
                                         uv_layers=1, objective=objective)).eval()
    midi = torch.full(mask.shape, 57.0) * mask
    out = [dec.inference(cond, mask, sampler=s, steps=2, generator=torch.Generator().manual_seed(0))
           for s in ("auto", fast)]
    f0 = [pred.inference(cond, mask, midi, sampler=s, steps=2, generator=torch.Generator().manual_seed(0))["f0"]
          for s in ("auto", fast)]
    assert torch.equal(out[0], out[1]) and torch.equal(f0[0], f0[1])
    with pytest.raises(ValueError, match="auto"):  # the error lists auto among the choices
        dec.inference(cond, mask, sampler="heun")


def test_f0_predictor_with_reflow_trains_and_samples():
    torch.manual_seed(0)
    pred = F0DiffusionPredictor(12, dict(residual_layers=2, residual_channels=16, num_steps=20, uv_channels=16,
                                         uv_layers=1, objective="reflow"))
    _, cond, mask = _batch()
    f0 = torch.full(mask.shape, 220.0) * mask
    out = pred(f0, cond, mask)
    (out["f0_loss"] + out["uv_loss"]).backward()
    assert torch.isfinite(out["f0_loss"])
    pred.eval()
    midi = torch.full(mask.shape, 57.0) * mask
    a = pred.inference(cond, mask, midi, sampler="euler", steps=2, generator=torch.Generator().manual_seed(0))
    b = pred.inference(cond, mask, midi, sampler="euler", steps=2, generator=torch.Generator().manual_seed(0))
    assert a["f0"].shape == mask.shape and torch.equal(a["f0"], b["f0"])
    with pytest.raises(ValueError, match="euler"):
        pred.inference(cond, mask, midi, sampler="ddim")


def test_tiny_reflow_decoder_overfits_one_mel_and_few_euler_steps_sample_it():
    """As test_diffusion_overfit, with objective reflow: the loss falls, and 1- and 4-step Euler
    samples land near the memorised mel, far from the start noise."""
    torch.manual_seed(0)
    T, D, C = 48, 16, 16
    tt = torch.arange(T, dtype=torch.float32)[:, None]
    ff = torch.arange(D, dtype=torch.float32)[None]
    target = (2.0 * torch.sin(tt / 5.0 + ff / 3.0))[None]  # (1, T, D)
    cond = torch.randn(1, T, C)
    mask = torch.ones(1, T, dtype=torch.bool)
    dec = MelDiffusionDecoder(D, C, dict(residual_layers=4, residual_channels=64, num_steps=100, objective="reflow",
                                         prediction="x0"))
    opt = torch.optim.Adam(dec.parameters(), lr=3e-3)
    B, losses = 8, []
    for _ in range(300):
        loss = dec(target.expand(B, -1, -1), cond.expand(B, -1, -1), mask.expand(B, -1))["loss"]
        losses.append(float(loss.detach()))
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert sum(losses[-20:]) / 20 < 0.3 * sum(losses[:5]) / 5
    dec.eval()
    noise = torch.randn(1, T, D, generator=torch.Generator().manual_seed(1))
    for steps in (1, 4):
        x = dec.inference(cond, mask, sampler="euler", steps=steps, generator=torch.Generator().manual_seed(1))
        err = float(((x - target) ** 2).mean())
        assert err < 0.1 * float(((noise - target) ** 2).mean()), (steps, err)
