"""Checkpoints from other people: every loader refuses a file that would run code, and every format
the project reads (its own files, espnet's, the public HiFi-GAN / SyncNet / LRW layouts) still loads."""

import argparse
import re
from pathlib import Path

import numpy as np
import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2_ext.utils.checkpoint_io import (ESPNET_TRAINER_CHECKPOINT, CheckpointReadError,
                                             CheckpointRefusedError, load_checkpoint)

from tests.support.tiny_dump import PHONES, fbank_conf

torch.set_num_threads(1)
TOKENS = ["<blank>", "<unk>", *PHONES, "<sos/eos>"]


class WritesMarker:
    """Unpickled, this calls ``open(marker, "w")``: the marker file appears iff a loader ran code."""

    def __init__(self, marker: Path):
        self.marker = str(marker)

    def __reduce__(self):
        return (open, (self.marker, "w"))


def hostile(path: Path, layout=lambda evil: {"state_dict": {"weight": evil}}) -> Path:
    """Write a checkpoint of ``layout`` holding the marker-writing object; returns the marker path."""
    marker = path.parent / (path.name + ".marker")
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(layout(WritesMarker(marker)), path)
    return marker


def assert_refused(call, path: Path, marker: Path) -> None:
    with pytest.raises(CheckpointRefusedError) as err:
        call()
    msg = str(err.value)
    assert str(path) in msg and re.search(r"holds \S*open\b", msg), msg
    assert "re-save" in msg
    assert not marker.exists(), "the loader ran code from the checkpoint"


def test_the_payload_does_run_code_when_unpickled_fully(tmp_path):
    path = tmp_path / "evil.pth"
    marker = hostile(path)
    torch.load(path, weights_only=False)["state_dict"]["weight"].close()
    assert marker.exists()  # so the refusals below are refusals of a real attack


@pytest.fixture(scope="module")
def tiny_exp(tmp_path_factory):
    """A stage-one PerformSinger (shrunk demo config) with the config.yaml espnet writes."""
    from tests.support.configs import shrunk_config

    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    exp = tmp_path_factory.mktemp("exp")
    cfg = yaml.safe_load(shrunk_config("train_stylesinger.yaml", exp).read_text())
    cfg.update(token_list=TOKENS, odim=None, model_type="visual_svs", model_conf={}, normalize=None,
               normalize_conf={}, pitch_normalize=None)
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg))
    model, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", None)
    return exp, model


# ---- every loader refuses the hostile file ------------------------------------------------------

def test_model_file_is_refused(tiny_exp):
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    exp, _ = tiny_exp
    path = exp / "evil.pth"
    marker = hostile(path, lambda evil: {"svs.x": evil})
    assert_refused(lambda: VisualSVSTask.build_model_from_file(exp / "config.yaml", path), path, marker)


def test_syncnet_is_refused(tmp_path):
    from espnet2_ext.metrics.syncnet import load_syncnet

    path = tmp_path / "syncnet_v2.model"
    marker = hostile(path)
    assert_refused(lambda: load_syncnet(str(path)), path, marker)


def test_hifigan_checkpoint_and_pretrained_are_refused(tmp_path, monkeypatch):
    from espnet2_ext.vocoder import hifigan

    path = tmp_path / "g_02500000"
    marker = hostile(path, lambda evil: {"generator": {"conv_pre.weight_v": evil}})
    assert_refused(lambda: hifigan.load_checkpoint(str(path), fbank_conf()), path, marker)
    monkeypatch.setattr(hifigan, "pretrained_weight_path", lambda model="universal": path)
    assert_refused(lambda: hifigan.load_pretrained(fbank_conf()), path, marker)


def test_vocoder_training_init_and_resume_are_refused(tmp_path, monkeypatch):
    from espnet2_ext.vocoder import train as vtrain

    init = tmp_path / "pretrained.pth"
    marker = hostile(init, lambda evil: {"generator": evil})
    monkeypatch.setattr(vtrain, "pretrained_weight_path", lambda model="universal": init)
    monkeypatch.setattr(vtrain, "matches_pretrained", lambda fb: True)
    run = dict(wav_scp=str(tmp_path / "wav.scp"), fbank_conf=fbank_conf(), max_steps=1)
    assert_refused(lambda: vtrain.train(out_dir=str(tmp_path / "a"), init="pretrained", **run), init, marker)
    resume = tmp_path / "b" / "checkpoint.pth"
    marker = hostile(resume, lambda evil: {"generator": {}, "opt_g": evil})
    assert_refused(lambda: vtrain.train(out_dir=str(resume.parent), init="none", resume=True, **run),
                   resume, marker)


def test_stage_one_init_is_refused(tmp_path):
    from espnet2_ext.svs.performsinger.stage_init import load_stage_one

    for layout in (lambda evil: {"svs.x": evil}, lambda evil: {"model": {}, "reporter": {"stats": evil}}):
        path = tmp_path / "valid.loss.best.pth"
        marker = hostile(path, layout)
        assert_refused(lambda path=path: load_stage_one(torch.nn.Linear(1, 1), path), path, marker)


def test_lip_pretraining_resume_is_refused(tmp_path):
    from espnet2_ext.lipread.trainer import train

    path = tmp_path / "lip_pretrain" / "checkpoint.pth"
    marker = hostile(path, lambda evil: {"phones": ["a"], "optimizer": evil})
    args = argparse.Namespace(config="lip_pretrain.yaml", out_dir=str(path.parent), resume=True,
                              train_lip_scp="-", train_label="-", valid_lip_scp="-", valid_label="-")
    assert_refused(lambda: train(args, {"num_threads": 1}), path, marker)


def test_plot_train_stats_is_refused(tmp_path):
    from espnet2_ext.bin.plot_train_stats import plot_train_stats

    path = tmp_path / "checkpoint.pth"
    marker = hostile(path, lambda evil: {"model": {}, "reporter": {"stats": {1: evil}, "epoch": 1}})
    assert_refused(lambda: plot_train_stats(str(tmp_path)), path, marker)


def test_lip_encoder_and_lip_reading_head_are_refused(tmp_path):
    from espnet2_ext.svs.lip_encoder import LipEncoder
    from espnet2_ext.svs.lip_reading_head import read_lip_reader

    path = tmp_path / "lrw_resnet18_mstcn.pth"
    marker = hostile(path, lambda evil: {"model_state_dict": {"module.frontend3D.0.weight": evil}})
    tiny = dict(output_dim=8, frontend_channels=4, trunk_channels=4)
    assert_refused(lambda: LipEncoder(dict(tiny, pretrained=str(path))), path, marker)
    head = tmp_path / "lip_reader.pth"
    marker = hostile(head, lambda evil: {"format": "espnet2_ext.lip_reader/2", "classes": evil})
    assert_refused(lambda: read_lip_reader(str(head)), head, marker)


# ---- the real formats still load -----------------------------------------------------------------

def test_own_model_file_loads_as_the_trainer_saves_it(tiny_exp):
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    exp, model = tiny_exp
    with torch.no_grad():
        for p in model.parameters():
            p.add_(0.5)
    torch.save(model.state_dict(), exp / "1epoch.pth")  # espnet's Trainer: <epoch>epoch.pth
    loaded, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", exp / "1epoch.pth")
    for k, v in model.state_dict().items():
        assert torch.equal(loaded.state_dict()[k], v), k


def _espnet_checkpoint(model: torch.nn.Module, path: Path) -> None:
    """checkpoint.pth as espnet's Trainer writes it (trainer.py: model, reporter, optimizers,
    schedulers, scaler), with reporter statistics of two epochs made by espnet's own Reporter."""
    from espnet2.schedulers.warmup_lr import WarmupLR
    from espnet2.train.reporter import Reporter

    opt = torch.optim.Adam(model.parameters(), lr=1e-3, betas=(0.9, 0.98), eps=1e-9)
    sched = WarmupLR(opt, warmup_steps=10)
    reporter = Reporter()
    for epoch in (1, 2):
        reporter.set_epoch(epoch)
        for key in ("train", "valid"):
            with reporter.observe(key) as sub:
                for step in range(2):
                    sub.register({"loss": torch.tensor(1.0 / (epoch + step)), "iter_time": 0.01 * (step + 1)})
                    sub.next()
        opt.step()
        sched.step()
    torch.save({"model": model.state_dict(), "reporter": reporter.state_dict(),
                "optimizers": [opt.state_dict()], "schedulers": [sched.state_dict()], "scaler": None}, path)


def test_espnet_trainer_checkpoint_loads_with_exactly_its_types(tiny_exp, tmp_path):
    from espnet2_ext.bin.plot_train_stats import plot_train_stats
    from espnet2_ext.svs.performsinger.stage_init import load_stage_one

    _, model = tiny_exp
    path = tmp_path / "checkpoint.pth"
    _espnet_checkpoint(model, path)
    with pytest.raises(CheckpointRefusedError, match="numpy|timedelta"):
        load_checkpoint(path)  # plain only: the reporter's statistics need the allowed types
    state = load_checkpoint(path, allow=ESPNET_TRAINER_CHECKPOINT)
    assert isinstance(state["reporter"]["stats"][2]["valid"]["iter_time"], np.float64)
    assert plot_train_stats(str(tmp_path)) >= 2 and (tmp_path / "images" / "loss.png").is_file()
    # the resume file's "model" part initialises a stage-two model
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    exp, _ = tiny_exp
    two, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", None)
    assert len(load_stage_one(two.svs, path)) == len(model.svs.state_dict())
    # the allowance holds for that one call: nothing is added process-wide
    with pytest.raises(CheckpointRefusedError):
        load_checkpoint(path)


def test_public_hifigan_layout_loads():
    from espnet2_ext.vocoder.hifigan import load_pretrained, pretrained_weight_path

    raw = load_checkpoint(pretrained_weight_path())  # the public release layout {"generator": state dict}
    assert list(raw) == ["generator"] and "conv_pre.weight_v" in raw["generator"]
    voc = load_pretrained(fbank_conf())
    assert voc(np.full((4, 80), -5.0, np.float32)).shape == (4 * 256,)


def test_syncnet_layout_with_the_public_prefix_loads(tmp_path):
    from espnet2_ext.metrics.syncnet import SyncNet, load_syncnet

    src = SyncNet().eval()
    torch.save({"__S__." + k: v for k, v in src.state_dict().items()}, tmp_path / "syncnet_v2.model")
    dst = load_syncnet(str(tmp_path / "syncnet_v2.model"))
    x = torch.randn(1, 1, 13, 20)
    assert torch.allclose(src.forward_aud(x), dst.forward_aud(x))


def test_lrw_training_checkpoint_and_lip_reading_head_load(tmp_path):
    from espnet2_ext.svs.lip_encoder import LipEncoder
    from espnet2_ext.svs.lip_reading_head import LipReadingHeads, read_lip_reader, save_lip_reader
    from tests.unit.svs.test_lip_encoder import TINY, batch, lrw_state

    conf = dict(TINY, output_dim=32)
    src = LipEncoder(conf).eval()
    opt = torch.optim.AdamW(src.parameters())
    lip, lens = batch()
    src(lip, lens).sum().backward()
    opt.step()
    # the public LRW training script's layout: weights, optimizer state and the epoch
    full = {"model_state_dict": lrw_state(src)["model_state_dict"], "optimizer_state_dict": opt.state_dict(),
            "epoch_idx": 79}
    torch.save(full, tmp_path / "lrw.pth")
    dst = LipEncoder(dict(conf, pretrained=str(tmp_path / "lrw.pth"))).eval()
    assert torch.allclose(src(lip, lens), dst(lip, lens))
    heads = LipReadingHeads(visual_dim=32, n_classes=len(TOKENS), hidden=8, heads=2)
    save_lip_reader(heads, str(tmp_path / "lip_reader.pth"), TOKENS)
    got = read_lip_reader(str(tmp_path / "lip_reader.pth"), TOKENS)
    assert len(got["state_dicts"]) == 2 and got["classes"] == TOKENS


def test_missing_and_unreadable_files_name_the_file(tmp_path):
    with pytest.raises(FileNotFoundError, match="nope.pth"):
        load_checkpoint(tmp_path / "nope.pth", what="SyncNet weights")
    (tmp_path / "text.pth").write_text("not a checkpoint")
    with pytest.raises(CheckpointReadError, match="text.pth"):
        load_checkpoint(tmp_path / "text.pth")
