"""LipEncoder (eq. 3): shapes, padding, freezing, checkpoint loading in both layouts, and the
folded inference path against the module path."""

import logging

import pytest
import torch

torch.set_num_threads(1)

from espnet2_ext.svs.lip_checkpoint import LipCheckpointError, save_lip_encoder  # noqa: E402
from espnet2_ext.svs.lip_encoder import LipEncoder  # noqa: E402

TINY = dict(frontend_channels=4, trunk_channels=4, output_dim=16)


def batch(b=2, t=7):
    torch.manual_seed(0)
    return torch.randn(b, t, 88, 88), torch.tensor([t, t - 3])


def test_shapes_and_padded_frames_are_zero_and_do_not_leak():
    enc = LipEncoder(TINY).eval()
    lip, lens = batch()
    out = enc(lip, lens)
    assert out.shape == (2, 7, 16) and enc.output_dim == 16
    assert out[1, 4:].abs().sum() == 0 and out[1, :4].abs().sum() > 0
    # garbage in the padded frames must not change the valid frames
    lip2 = lip.clone()
    lip2[1, 4:] = 100.0
    assert torch.allclose(enc(lip2, lens), out, atol=1e-5)
    # same utterance alone gives the same features
    assert torch.allclose(enc(lip[1:, :4], lens[1:]), out[1:, :4], atol=1e-5)


def _random_statistics(enc):
    g = torch.Generator().manual_seed(1)
    for m in enc.modules():
        if isinstance(m, (torch.nn.BatchNorm2d, torch.nn.BatchNorm3d)):  # non-trivial folds
            n = m.num_features
            m.running_mean.copy_(torch.randn(n, generator=g) * 0.5)
            m.running_var.copy_(torch.rand(n, generator=g) + 0.5)
            m.weight.data.copy_(torch.rand(n, generator=g) + 0.5)
            m.bias.data.copy_(torch.randn(n, generator=g) * 0.2)
        if isinstance(m, torch.nn.PReLU):
            m.weight.data.copy_(torch.rand(m.num_parameters, generator=g))


@pytest.mark.parametrize("conf", [TINY, dict(TINY, act="relu", input_size=44), dict(TINY, frontend_channels=8)])
def test_folded_inference_equals_the_module_path(conf):
    """Without gradients in eval mode the encoder runs the 2D-window front end with BatchNorm folded
    in; with gradients (or in train mode) the modules. Both give the same features."""
    enc = LipEncoder(conf).eval()
    _random_statistics(enc)
    lip, lens = batch(t=9)
    with torch.no_grad():
        folded = enc(lip, lens)
    modules = enc(lip, lens).detach()  # grad enabled, encoder not frozen: the module path
    assert folded.shape == modules.shape == (2, 9, 16)
    torch.testing.assert_close(folded, modules, atol=1e-4, rtol=1e-4)
    assert folded[1, 6:].abs().sum() == 0
    with torch.inference_mode():
        torch.testing.assert_close(enc(lip[1:, :6], lens[1:]), modules[1:, :6], atol=1e-4, rtol=1e-4)


def test_a_frozen_encoder_takes_the_folded_path_even_while_the_model_trains(monkeypatch):
    enc = LipEncoder(dict(TINY, freeze=True))
    enc.train()
    calls = []
    monkeypatch.setattr(enc, "_forward_folded", lambda x, valid: calls.append(1) or torch.zeros(int(valid.sum()), 32))
    enc(*batch())
    assert calls == [1]


def test_no_projection_at_trunk_width():
    assert LipEncoder(dict(TINY, output_dim=32)).proj is None
    assert LipEncoder(TINY).proj is not None


def test_frozen_gets_no_gradient_and_stays_in_eval():
    lip, lens = batch()
    frozen = LipEncoder(dict(TINY, freeze=True))
    frozen.train()
    assert not frozen.training and not frozen.frontend3D[1].training
    head = torch.nn.Linear(16, 1)
    rm = frozen.frontend3D[1].running_mean.clone()
    head(frozen(lip, lens)).sum().backward()
    assert all(p.grad is None and not p.requires_grad for p in frozen.parameters())
    assert torch.equal(rm, frozen.frontend3D[1].running_mean)  # BN statistics untouched

    free = LipEncoder(TINY)
    free.train()
    assert free.training
    free(lip, lens).sum().backward()
    assert free.frontend3D[0].weight.grad is not None and free.frontend3D[0].weight.grad.abs().sum() > 0


def test_project_layout_round_trip(tmp_path):
    src = LipEncoder(TINY).eval()
    path = str(tmp_path / "lip_encoder.pth")
    save_lip_encoder(src, path, src.conf)
    with pytest.raises(FileExistsError):
        save_lip_encoder(src, path, src.conf)
    dst = LipEncoder(dict(TINY, pretrained=path)).eval()
    lip, lens = batch()
    assert torch.allclose(src(lip, lens), dst(lip, lens))


def lrw_state(enc: LipEncoder, wrap: str = "model_state_dict", prefix: str = "module."):
    sd = {k: v.clone() for k, v in enc.state_dict().items() if not k.startswith("proj.")}
    sd = {k: v for k, v in sd.items() if not k.endswith("num_batches_tracked")}  # older checkpoints
    sd["tcn.tcn_trunk.0.weight"] = torch.zeros(3)
    sd["tcn.tcn_output.weight"] = torch.zeros(5, 3)
    sd = {prefix + k: v for k, v in sd.items()}
    return {wrap: sd} if wrap else sd


@pytest.mark.parametrize("wrap,prefix", [("model_state_dict", "module."), ("state_dict", ""), (None, "")])
def test_lrw_layout_loads_and_ignores_backend(tmp_path, caplog, wrap, prefix):
    conf = dict(TINY, output_dim=32)  # = trunk width: no projection, like the public 512-d models
    src = LipEncoder(conf).eval()
    with torch.no_grad():
        for p in src.parameters():
            p.add_(0.01)
    path = str(tmp_path / "lrw.pth")
    torch.save(lrw_state(src, wrap, prefix), path)
    with caplog.at_level(logging.INFO):
        dst = LipEncoder(dict(conf, pretrained=path)).eval()
    assert "tcn" in caplog.text
    lip, lens = batch()
    assert torch.allclose(src(lip, lens), dst(lip, lens))


def test_lrw_frozen_with_random_projection_is_refused(tmp_path):
    src = LipEncoder(dict(TINY, output_dim=32))
    path = str(tmp_path / "lrw.pth")
    torch.save(lrw_state(src), path)
    LipEncoder(dict(TINY, pretrained=path))  # unfrozen: projection trains
    with pytest.raises(ValueError, match="random projection"):
        LipEncoder(dict(TINY, pretrained=path, freeze=True))


def test_missing_unexpected_and_mismatched_keys_are_errors(tmp_path):
    conf = dict(TINY, output_dim=32)
    sd = lrw_state(LipEncoder(conf), wrap=None, prefix="")
    missing = dict(sd)
    del missing["trunk.layer1.0.conv1.weight"]
    unexpected = dict(sd, **{"trunk.fc.weight": torch.zeros(2, 2)})
    mismatched = dict(sd, **{"frontend3D.0.weight": torch.zeros(8, 1, 5, 7, 7)})
    for name, state, msg in [
        ("missing", missing, "missing keys: trunk.layer1.0.conv1.weight"),
        ("unexpected", unexpected, "unexpected keys: trunk.fc.weight"),
        ("mismatched", mismatched, "frontend3D.0.weight: checkpoint (8, 1, 5, 7, 7)"),
    ]:
        path = str(tmp_path / f"{name}.pth")
        torch.save(state, path)
        with pytest.raises(LipCheckpointError, match=name + r"\.pth") as e:
            LipEncoder(dict(conf, pretrained=path))
        assert msg in str(e.value)
    # a checkpoint of another width is a shape error, not a silent partial load
    path = str(tmp_path / "wide.pth")
    wide = LipEncoder(dict(frontend_channels=4, trunk_channels=8, output_dim=16))
    save_lip_encoder(wide, path, wide.conf)
    with pytest.raises(LipCheckpointError, match="shape mismatches"):
        LipEncoder(dict(TINY, pretrained=path))
    with pytest.raises(FileNotFoundError):
        LipEncoder(dict(TINY, pretrained=str(tmp_path / "nope.pth")))
    with pytest.raises(ValueError, match="unknown lip_encoder_conf"):
        LipEncoder(dict(TINY, widht=3))


def test_input_size_resizes_first_and_checkpoints_keep_it(tmp_path):
    small = LipEncoder(dict(TINY, input_size=44)).eval()
    lip, lens = batch()
    out = small(lip, lens)
    assert out.shape == (2, 7, 16) and out[1, 4:].abs().sum() == 0
    # the same weights on crops resized beforehand (2x2 means) give the same features
    plain = LipEncoder(TINY).eval()
    plain.load_state_dict(small.state_dict())
    pooled = torch.nn.functional.avg_pool2d(lip, 2)  # (B, T_v, 44, 44)
    assert torch.allclose(plain(pooled, lens), out, atol=1e-5)
    # and differ from running the full-resolution crops through the same weights
    assert not torch.allclose(plain(lip, lens), out, atol=1e-3)
    with pytest.raises(ValueError, match="input_size"):
        LipEncoder(dict(TINY, input_size=4))
    # weights trained at 44 refuse an encoder at the default resolution, naming the option
    path = str(tmp_path / "lip44.pth")
    save_lip_encoder(small, path, small.conf)
    assert torch.allclose(LipEncoder(dict(TINY, input_size=44, pretrained=path)).eval()(lip, lens), out)
    with pytest.raises(LipCheckpointError, match="input_size: 44"):
        LipEncoder(dict(TINY, pretrained=path))
