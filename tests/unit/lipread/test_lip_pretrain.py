"""Lip-reading pretraining: a tiny synthetic set whose crops encode the phone class by brightness."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

torch.set_num_threads(1)

from espnet2_ext.lipread.data import IGNORE, frame_targets, read_label  # noqa: E402

PHONES = ["a", "o", "sh"]


def write_set(root, name, n_utt, seed):
    rng = np.random.default_rng(seed)
    d = os.path.join(root, name)
    os.makedirs(d)
    scp, lab = [], []
    for u in range(n_utt):
        utt = f"s1_{name}_{u:03d}"
        n_seg = 5
        frames, segs, t = [], [], 0.0
        for _ in range(n_seg):
            k = int(rng.integers(0, 3))
            n = int(rng.integers(3, 6))
            img = np.full((n, 96, 96), 40 + 80 * k, dtype=np.float32) + rng.normal(0, 10, (n, 96, 96))
            frames.append(np.clip(img, 0, 255).astype(np.uint8))
            segs.append(f"{t:.2f} {t + n / 25:.2f} {PHONES[k]}")
            t += n / 25
        path = os.path.join(d, f"{utt}.npy")
        np.save(path, np.concatenate(frames))
        scp.append(f"{utt} {path}")
        lab.append(f"{utt} " + " ".join(segs))
    open(os.path.join(d, "lip.scp"), "w").write("\n".join(scp) + "\n")
    open(os.path.join(d, "label"), "w").write("\n".join(lab) + "\n")
    return d


def test_frame_targets_map_label_times_to_video_frames():
    vocab = {"a": 0, "o": 1}
    y = frame_targets([(0.0, 0.1, "a"), (0.1, 0.2, "o"), (0.2, 0.3, "zz")], 9, vocab)
    centres = (np.arange(9) + 0.5) / 25
    assert y.tolist()[:2] == [0, 0] and y[3] == 1 and y[6] == IGNORE and y[8] == IGNORE
    assert (y[(centres >= 0.1) & (centres < 0.2)] == 1).all()


def test_bad_label_line_names_file_and_line(tmp_path):
    p = tmp_path / "label"
    p.write_text("u1 0.0 0.1 a\nu2 0.0 0.1\n")
    with pytest.raises(ValueError, match=r"label:2"):
        read_label(str(p))


def test_pretraining_beats_chance_and_resumes(tmp_path):
    tr = write_set(str(tmp_path), "train", 12, 0)
    va = write_set(str(tmp_path), "dev", 4, 1)
    conf = dict(
        encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16),
        head_hidden=16, epochs=6, lr=5e-3, batch_size=4,
    )
    cfg = tmp_path / "lip_pretrain.yaml"
    cfg.write_text(yaml.safe_dump(conf))
    out = tmp_path / "exp"
    cmd = [sys.executable, "-m", "espnet2_ext.bin.pretrain_lip_encoder",
           "--train_lip_scp", f"{tr}/lip.scp", "--train_label", f"{tr}/label",
           "--valid_lip_scp", f"{va}/lip.scp", "--valid_label", f"{va}/label",
           "--config", str(cfg), "--out_dir", str(out)]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    subprocess.run(cmd, check=True, env=env, capture_output=True)
    log = json.load(open(out / "log.json"))
    accs = [e["valid_frame_acc"] for e in log["epochs"]]
    assert len(accs) == 6
    assert max(accs) > log["chance"] + 0.3, (accs, log["chance"])
    assert (out / "train.log").exists()

    # the saved encoder loads into the SVS-side LipEncoder
    from espnet2_ext.svs.lip_encoder import LipEncoder

    enc = LipEncoder(dict(conf["encoder_conf"], pretrained=str(out / "lip_encoder.pth")))
    assert enc.output_dim == 16

    # rerunning without --resume refuses to overwrite; --resume continues to more epochs
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    assert r.returncode != 0 and "--resume" in r.stderr
    conf["epochs"] = 7
    cfg.write_text(yaml.safe_dump(conf))
    subprocess.run(cmd + ["--resume"], check=True, env=env, capture_output=True)
    log2 = json.load(open(out / "log.json"))
    assert [e["epoch"] for e in log2["epochs"]] == [1, 2, 3, 4, 5, 6, 7]
    assert log2["epochs"][:6] == log["epochs"]


def test_cosine_schedule_warms_up_then_decays_to_zero():
    from espnet2_ext.lipread.trainer import CONFIG_DEFAULTS, lr_lambda

    conf = {**CONFIG_DEFAULTS, "epochs": 2, "lr_schedule": "cosine", "warmup_steps": 4}
    f = lr_lambda(conf, steps_per_epoch=10)  # 20 steps in all
    ramp = [f(s) for s in range(4)]
    assert ramp == sorted(ramp) and ramp[-1] == pytest.approx(1.0)
    decay = [f(s) for s in range(4, 21)]
    assert all(a >= b for a, b in zip(decay, decay[1:]))
    assert decay[0] == pytest.approx(1.0) and decay[-1] == pytest.approx(0.0, abs=1e-9)
    assert lr_lambda({**conf, "lr_schedule": "constant"}, 10)(13) == 1.0
    with pytest.raises(ValueError, match="lr_schedule"):
        lr_lambda({**conf, "lr_schedule": "step"}, 10)


def test_unknown_lr_schedule_names_the_config_and_writes_no_checkpoint(tmp_path):
    tr = write_set(str(tmp_path), "train", 2, 0)
    cfg = tmp_path / "bad_schedule.yaml"
    cfg.write_text(yaml.safe_dump(dict(encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16),
                                       head_hidden=16, epochs=1, lr_schedule="step")))
    out = tmp_path / "exp"
    cmd = [sys.executable, "-m", "espnet2_ext.bin.pretrain_lip_encoder",
           "--train_lip_scp", f"{tr}/lip.scp", "--train_label", f"{tr}/label",
           "--valid_lip_scp", f"{tr}/lip.scp", "--valid_label", f"{tr}/label",
           "--config", str(cfg), "--out_dir", str(out)]
    r = subprocess.run(cmd, env=dict(os.environ, OMP_NUM_THREADS="1"), capture_output=True, text=True)
    assert r.returncode != 0 and "bad_schedule.yaml" in r.stderr and "lr_schedule" in r.stderr
    assert not (out / "checkpoint.pth").exists() and not (out / "lip_encoder.pth").exists()
