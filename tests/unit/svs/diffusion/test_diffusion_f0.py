"""F0DiffusionPredictor: scaling round trip, losses, masking, inference constraints, voicing head."""

import pytest
import torch

from espnet2_ext.svs.diffusion import F0DiffusionPredictor
from espnet2_ext.svs.diffusion.f0_predictor import f0_to_unit, interpolate_unvoiced, midi_to_hz, unit_to_f0

torch.set_num_threads(1)
TINY = dict(residual_layers=3, residual_channels=16, num_steps=20, uv_channels=16, uv_layers=1)


def test_log2_minmax_scaling_round_trips():
    f0 = torch.tensor([64.0, 100.0, 220.0, 440.0, 1000.0, 1024.0])
    x = f0_to_unit(f0)
    assert float(x[0]) == pytest.approx(-1.0) and float(x[-1]) == pytest.approx(1.0)
    assert float(f0_to_unit(torch.tensor(256.0))) == pytest.approx(0.0)  # log2 = 8: the middle
    torch.testing.assert_close(unit_to_f0(x), f0, rtol=1e-5, atol=1e-4)
    u = torch.linspace(-1, 1, 11)
    torch.testing.assert_close(f0_to_unit(unit_to_f0(u)), u, rtol=0, atol=1e-6)
    # out-of-range and unvoiced values are clamped into [-1, 1]
    assert f0_to_unit(torch.tensor([0.0, 5000.0])).tolist() == [-1.0, 1.0]


def test_midi_to_hz():
    torch.testing.assert_close(midi_to_hz(torch.tensor([69.0, 57.0, 81.0])), torch.tensor([440.0, 220.0, 880.0]))


def test_interpolate_unvoiced():
    x = torch.tensor([[0.0, 1.0, 0.0, 0.0, 4.0, 0.0], [5.0, 5.0, 5.0, 5.0, 5.0, 5.0], [0.0, 0.0, 0.0, 2.0, 0.0, 0.0]])
    v = x != 0
    v[1] = False
    out = interpolate_unvoiced(x, v)
    assert out[0].tolist() == [1.0, 1.0, 2.0, 3.0, 4.0, 4.0]
    assert out[1].tolist() == [0.0] * 6
    assert out[2].tolist() == [2.0] * 6


def _batch():
    g = torch.Generator().manual_seed(0)
    B, T = 2, 30
    f0 = 200.0 + 50.0 * torch.rand(B, T, generator=g)
    f0[:, 5:9] = 0.0
    cond = torch.randn(B, T, 10, generator=g)
    mask = torch.ones(B, T, dtype=torch.bool)
    mask[1, 20:] = False
    midi = torch.full((B, T), 57.0)
    midi[:, 12:16] = 0.0  # a rest
    midi[0, 22:] = 62.0
    return f0, cond, mask, midi


def test_losses_finite_gradients_and_masking():
    torch.manual_seed(0)
    pred = F0DiffusionPredictor(10, TINY)
    f0, cond, mask, _ = _batch()
    out = pred(f0, cond, mask)
    assert set(out) == {"f0_loss", "uv_loss"}
    assert all(torch.isfinite(v) and v.dim() == 0 for v in out.values())
    (out["f0_loss"] + out["uv_loss"]).backward()
    for name, p in pred.named_parameters():
        assert p.grad is not None and p.grad.abs().sum() > 0, name
    pred.eval()  # no dropout: identical draws -> identical losses
    torch.manual_seed(3)
    a = pred(f0, cond, mask)
    f0b, condb = f0.clone(), cond.clone()
    f0b[1, 20:] = 900.0
    condb[1, 20:] = 7.0
    torch.manual_seed(3)
    b = pred(f0b, condb, mask)
    assert torch.equal(a["f0_loss"], b["f0_loss"]) and torch.equal(a["uv_loss"], b["uv_loss"])
    f0b[0, 2] = 400.0
    torch.manual_seed(3)
    assert not torch.equal(a["f0_loss"], pred(f0b, condb, mask)["f0_loss"])


@pytest.mark.parametrize("sampler", ["ddpm", "ddim", "dpm_solver"])
def test_inference_respects_rests_notes_and_padding(sampler):
    # uv_threshold 0: every sounding frame is voiced, so the note clip is checked on all of them
    pred = F0DiffusionPredictor(10, {**TINY, "uv_threshold": 0.0}).eval()
    _, cond, mask, midi = _batch()
    out = pred.inference(cond, mask, midi, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(0))
    f0, uv = out["f0"], out["uv_prob"]
    assert f0.shape == uv.shape == (2, 30) and torch.isfinite(f0).all()
    rest = (midi == 0) | ~mask
    assert torch.all(f0[rest] == 0) and torch.all(uv[rest] == 0)
    voiced = ~rest
    assert torch.all(f0[voiced] > 0)
    semis = 12 * torch.log2(f0[voiced] / midi_to_hz(midi[voiced]))
    assert semis.abs().max() <= 3.0 + 1e-4
    assert ((uv >= 0) & (uv <= 1)).all()
    again = pred.inference(cond, mask, midi, sampler=sampler, steps=5, generator=torch.Generator().manual_seed(0))
    assert torch.equal(again["f0"], f0)


def test_max_semitone_dev_is_configurable():
    pred = F0DiffusionPredictor(10, {**TINY, "uv_threshold": 0.0, "max_semitone_dev": 0.5}).eval()
    _, cond, mask, midi = _batch()
    f0 = pred.inference(cond, mask, midi, generator=torch.Generator().manual_seed(0))["f0"]
    v = f0 > 0
    assert (12 * torch.log2(f0[v] / midi_to_hz(midi[v]))).abs().max() <= 0.5 + 1e-4


def test_voicing_head_learns_and_gates_f0():
    """A short training run teaches the classifier a voicing pattern carried by the condition."""
    torch.manual_seed(0)
    pred = F0DiffusionPredictor(10, TINY)
    f0, cond, mask, midi = _batch()
    cond = cond.clone()
    cond[..., 0] = torch.where(f0 > 0, 2.0, -2.0)
    opt = torch.optim.Adam(pred.parameters(), lr=1e-2)
    for _ in range(60):
        loss = pred(f0, cond, mask)
        opt.zero_grad()
        (loss["f0_loss"] + loss["uv_loss"]).backward()
        opt.step()
    assert float(loss["uv_loss"].detach()) < 0.2
    pred.eval()
    out = pred.inference(cond, mask, midi, generator=torch.Generator().manual_seed(0))
    expect_voiced = (f0 > 0) & (midi > 0) & mask
    assert torch.equal(out["f0"] > 0, expect_voiced)


def test_bad_arguments_raise():
    with pytest.raises(ValueError, match="uv_treshold"):
        F0DiffusionPredictor(10, {"uv_treshold": 0.3})
    pred = F0DiffusionPredictor(10, TINY)
    _, cond, mask, midi = _batch()
    with pytest.raises(ValueError, match="note_midi"):
        pred.inference(cond, mask, midi[:, :10])


def test_default_conf_is_paper_size():
    pred = F0DiffusionPredictor(256)
    assert len(pred.denoiser.layers) == 10 and pred.denoiser.in_proj.out_channels == 192
    assert pred.schedule.num_steps == 100 and float(pred.schedule.betas[-1]) == pytest.approx(0.06)


def test_tiny_predictor_learns_a_contour_off_the_note():
    """The sung line sits 1.5 semitones above the score with vibrato: samples must follow the
    learnt contour, not the note (the note alone is ~1.5 semitones off on average)."""
    torch.manual_seed(0)
    T = 60
    midi = torch.full((1, T), 57.0)
    midi[:, 30:] = 60.0
    midi[:, 25:28] = 0.0
    f0 = midi_to_hz(midi) * 2 ** ((1.5 + 0.8 * torch.sin(torch.arange(T) / 3.0)) / 12)
    f0[midi == 0] = 0.0
    f0[:, 10:12] = 0.0  # an unvoiced consonant inside a note
    cond = torch.randn(1, T, 16)
    mask = torch.ones(1, T, dtype=torch.bool)
    pred = F0DiffusionPredictor(16, dict(residual_layers=4, residual_channels=64, uv_channels=32, uv_layers=1))
    steps = 400
    opt = torch.optim.Adam(pred.parameters(), lr=3e-3)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=3e-3, total_steps=steps, pct_start=0.1)
    for _ in range(steps):
        out = pred(f0.expand(8, -1), cond.expand(8, -1, -1), mask.expand(8, -1))
        opt.zero_grad()
        (out["f0_loss"] + out["uv_loss"]).backward()
        opt.step()
        sched.step()
    pred.eval()
    v = f0 > 0
    note_err = (12 * torch.log2(midi_to_hz(midi[v]) / f0[v])).abs().mean()
    assert note_err > 1.4
    for sampler in ("ddim", "ddpm", "dpm_solver"):
        res = pred.inference(cond, mask, midi, sampler=sampler, steps=10, generator=torch.Generator().manual_seed(0))
        assert torch.equal(res["f0"] > 0, v), sampler
        err = (12 * torch.log2(res["f0"][v] / f0[v])).abs().mean()
        assert err < 0.7, (sampler, float(err))


def test_validation_losses_repeat():
    pred = F0DiffusionPredictor(10, TINY)
    f0, cond, mask, _ = _batch()
    pred.eval()
    with torch.no_grad():
        a, b = pred(f0, cond, mask), pred(f0, cond, mask)
    assert float(a["f0_loss"]) == float(b["f0_loss"]) and float(a["uv_loss"]) == float(b["uv_loss"])
