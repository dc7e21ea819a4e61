"""A training SIGKILLed in the middle of an epoch and started again by the same command resumes.

For each of the three resumable trainings (the SVS model through espnet's trainer with
``--resume true``, lip-reading pretraining with ``--resume``, the lip-reading head fit with
``--resume``): the first run is killed in its second epoch, after the first was saved;
re-running the same command continues after epoch 1 (the finished epochs' files are not
rewritten), and the result equals that of an uninterrupted run bit for bit (one thread, fixed seeds).
"""

import pytest
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import torch
import yaml

from tests.unit.lipread.test_lip_pretrain import write_set
from tests.support.configs import shrunk_config
from tests.support.tiny_dump import data_args, write_tiny_dump
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

REPO = REPO_ROOT
ENV = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))


def _run_and_kill(cmd, started_second, saved_second, log: Path, timeout: float = 600) -> None:
    """Start ``cmd``; SIGKILL it as soon as ``started_second()`` says the second epoch is under way
    (it must not have been saved: ``saved_second()``)."""
    with open(log, "w") as err:  # a file, not a pipe: a full pipe would stall the logging trainer
        proc = subprocess.Popen(cmd, env=ENV, cwd=REPO, stdout=subprocess.DEVNULL, stderr=err)
        t0 = time.time()
        while not started_second():
            if proc.poll() is not None:
                raise AssertionError(f"{cmd[2]} ended before its first epoch was saved:\n{log.read_text()[-3000:]}")
            if time.time() - t0 > timeout:
                proc.kill()
                raise AssertionError(f"the second epoch never started:\n{log.read_text()[-3000:]}")
            time.sleep(0.02)
        proc.send_signal(signal.SIGKILL)
        proc.wait()
    assert proc.returncode == -signal.SIGKILL
    assert not saved_second(), "the kill came too late: the second epoch was already saved"


def _run(cmd) -> str:
    p = subprocess.run(cmd, env=ENV, cwd=REPO, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stderr[-3000:]
    return p.stderr


def _same_tensors(a: dict, b: dict) -> None:
    assert set(a) == set(b)
    for k in a:
        if torch.is_tensor(a[k]):
            assert torch.equal(a[k], b[k]), k
        elif isinstance(a[k], dict):
            _same_tensors(a[k], b[k])


def test_svs_training_resumes_after_sigkill(tmp_path):
    dump = write_tiny_dump(tmp_path / "dump")
    config = shrunk_config("train_stylesinger.yaml", tmp_path)
    conf = yaml.safe_load(config.read_text())
    conf.update(max_epoch=3, keep_nbest_models=3)  # every epoch file stays (espnet removes the others)
    config.write_text(yaml.safe_dump(conf))

    def cmd(exp):
        return [sys.executable, "-m", "espnet2_ext.bin.visual_svs_train", "--config", str(config),
                "--output_dir", str(exp), "--ngpu", "0", "--resume", "true", "--seed", "0",
                "--token_type", "phn", "--token_list", str(dump / "tokens.txt"), "--use_preprocessor", "true",
                "--fs", "22050", "--train_shape_file", str(dump / "text"), "--valid_shape_file", str(dump / "text"),
                "--use_tensorboard", "false"] + data_args(dump, "train") + data_args(dump, "valid")

    killed, straight = tmp_path / "killed", tmp_path / "straight"
    kill_log = tmp_path / "kill.log"
    # espnet writes <n>epoch.pth with a plain torch.save: kill once epoch 2 has started, not while
    # epoch 1's files are being written
    _run_and_kill(cmd(killed), lambda: "2/3epoch started" in kill_log.read_text(),
                  lambda: (killed / "2epoch.pth").exists(), kill_log)
    first = (killed / "1epoch.pth").read_bytes()
    mtime = (killed / "1epoch.pth").stat().st_mtime_ns
    log = _run(cmd(killed))
    assert "resumed" in log.lower() and "checkpoint.pth" in log
    assert (killed / "1epoch.pth").read_bytes() == first and (killed / "1epoch.pth").stat().st_mtime_ns == mtime
    _run(cmd(straight))
    for epoch in (1, 2, 3):
        _same_tensors(torch.load(killed / f"{epoch}epoch.pth", weights_only=True),
                      torch.load(straight / f"{epoch}epoch.pth", weights_only=True))


def test_lip_pretraining_resumes_after_sigkill(tmp_path):
    tr, va = write_set(str(tmp_path), "train", 12, 0), write_set(str(tmp_path), "dev", 4, 1)
    cfg = tmp_path / "lip_pretrain.yaml"
    cfg.write_text(yaml.safe_dump(dict(encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16),
                                       head_hidden=16, epochs=4, lr=5e-3, batch_size=4, lr_schedule="cosine",
                                       warmup_steps=2)))

    def cmd(out):
        return [sys.executable, "-m", "espnet2_ext.bin.pretrain_lip_encoder", "--resume",
                "--train_lip_scp", f"{tr}/lip.scp", "--train_label", f"{tr}/label",
                "--valid_lip_scp", f"{va}/lip.scp", "--valid_label", f"{va}/label",
                "--config", str(cfg), "--out_dir", str(out)]

    killed, straight = tmp_path / "killed", tmp_path / "straight"

    def epochs_done(out):
        import json

        p = out / "log.json"
        return len(json.loads(p.read_text())["epochs"]) if p.exists() else 0

    _run_and_kill(cmd(killed), lambda: (killed / "log.json").exists(), lambda: epochs_done(killed) > 1,
                  tmp_path / "kill.log")  # log.json is written atomically after the epoch's checkpoint
    log = _run(cmd(killed))
    assert "resumed from" in log and "after epoch 1" in log
    _run(cmd(straight))
    a = torch.load(killed / "checkpoint.pth", weights_only=False)
    b = torch.load(straight / "checkpoint.pth", weights_only=False)
    assert a["epoch"] == b["epoch"] == 4
    _same_tensors(a["model"], b["model"])
    assert [e["train_loss"] for e in a["log"]["epochs"]] == [e["train_loss"] for e in b["log"]["epochs"]]
    _same_tensors(torch.load(killed / "lip_encoder.pth", weights_only=False),
                  torch.load(straight / "lip_encoder.pth", weights_only=False))


def test_head_fit_resumes_after_sigkill(tmp_path):
    from espnet2_ext.svs.lip_checkpoint import save_lip_encoder
    from espnet2_ext.svs.lip_encoder import LipEncoder
    from tests.unit.lipread.test_lip_reader_fit import ENC, TOKENS, _data

    data = _data(tmp_path)
    enc_path = str(tmp_path / "lip_encoder.pth")
    torch.manual_seed(0)
    save_lip_encoder(LipEncoder(ENC), enc_path, ENC)
    train_config = tmp_path / "train.yaml"
    train_config.write_text(yaml.safe_dump(dict(svs_conf=dict(use_visual=True, lip_encoder_conf=ENC,
                                                              lip_reader_conf=dict(hidden=8, heads=2, freeze=True)))))
    fit_conf = tmp_path / "fit.yaml"
    fit_conf.write_text(yaml.safe_dump(dict(epochs=5, batch_size=2, lr=1e-2, num_jobs=1)))
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(TOKENS) + "\n")

    def cmd(out):
        return [sys.executable, "-m", "espnet2_ext.bin.fit_lip_reader", "--train_config", str(train_config),
                "--lip_encoder", enc_path, "--token_list", str(tokens),
                "--train_lip_scp", data["train_lip_scp"], "--train_label", data["train_label"],
                "--valid_lip_scp", data["valid_lip_scp"], "--valid_label", data["valid_label"],
                "--config", str(fit_conf), "--out_dir", str(out), "--overwrite", "--resume"]

    killed, straight = tmp_path / "killed", tmp_path / "straight"
    ckpt = killed / "heads" / "head0.pth"

    def epoch_of(p):
        return torch.load(p, weights_only=True)["epoch"] if p.exists() else 0

    _run_and_kill(cmd(killed), ckpt.exists, lambda: epoch_of(ckpt) > 1 or (killed / "lip_reader.pth").exists(),
                  tmp_path / "kill.log")
    assert epoch_of(ckpt) == 1
    log = _run(cmd(killed))
    assert "resumed from" in log and "after epoch 1" in log
    _run(cmd(straight))
    _same_tensors(torch.load(killed / "lip_reader.pth", weights_only=False),
                  torch.load(straight / "lip_reader.pth", weights_only=False))
    for j in range(2):
        a = torch.load(killed / "heads" / f"head{j}.pth", weights_only=True)
        b = torch.load(straight / "heads" / f"head{j}.pth", weights_only=True)
        assert a["epoch"] == b["epoch"] == 5 and a["log"] == b["log"]
