"""Fitting the lip-reading head on a frozen lip encoder (lipread/head_fit.py, bin/fit_lip_reader.py)
and loading it into PerformSinger (lip_reader_conf: {pretrained, freeze})."""

import json
import os
import subprocess
import sys

import numpy as np
import pytest
import torch
import yaml

from espnet2_ext.lipread.head_fit import fit_lip_reader, soft_cross_entropy, soft_frame_targets
from espnet2_ext.svs.lip_checkpoint import save_lip_encoder
from espnet2_ext.svs.lip_encoder import LipEncoder
from espnet2_ext.svs.lip_reading_head import LipReadingHeads, load_lip_reader, mean_logp, save_lip_reader
from tests.unit.lipread.test_lip_pretrain import PHONES, write_set
from tests.unit.svs.test_performsinger_model import tiny_batch, tiny_model

torch.set_num_threads(1)
ENC = dict(output_dim=16, frontend_channels=4, trunk_channels=4, input_size=32)
TOKENS = ["<blank>", "<unk>", *PHONES, "<sos/eos>"]


def test_soft_targets_are_the_covered_fraction_of_each_video_frame():
    vocab = {"a": 0, "o": 1}
    y = soft_frame_targets([(0.0, 0.05, "a"), (0.05, 0.12, "o"), (0.12, 0.2, "zz")], 6, vocab, fps=25.0)
    assert y.shape == (6, 2)
    np.testing.assert_allclose(y[0], [1.0, 0.0], atol=1e-6)  # [0, 0.04) inside "a"
    np.testing.assert_allclose(y[1], [0.25, 0.75], atol=1e-6)  # [0.04, 0.08): 0.01 "a", 0.03 "o"
    np.testing.assert_allclose(y[2], [0.0, 1.0], atol=1e-6)
    np.testing.assert_allclose(y[3], [0.0, 0.0], atol=1e-6)  # [0.12, 0.16): unknown phone only
    assert y[5].sum() == 0  # past the label


def test_soft_cross_entropy_ignores_unlabelled_frames():
    logits = torch.randn(1, 4, 3)
    tg = torch.zeros(1, 4, 3)
    tg[0, 0, 1] = 1.0
    want = -torch.log_softmax(logits[0, 0], -1)[1]
    assert torch.allclose(soft_cross_entropy(logits, tg), want)
    assert float(soft_cross_entropy(logits, torch.zeros_like(tg))) == 0.0


def test_head_checkpoint_round_trip_and_mismatch_errors(tmp_path):
    head = LipReadingHeads(16, len(TOKENS), hidden=8, heads=2)
    path = str(tmp_path / "lip_reader.pth")
    save_lip_reader(head, path, TOKENS)
    with pytest.raises(FileExistsError, match="lip_reader.pth"):
        save_lip_reader(head, path, TOKENS)  # nothing written is overwritten silently
    other = LipReadingHeads(16, len(TOKENS), hidden=8, heads=2)
    assert load_lip_reader(other, path, TOKENS) == TOKENS
    assert all(torch.equal(a, b) for a, b in zip(head.state_dict().values(), other.state_dict().values()))
    assert not torch.equal(head.heads[0].out.weight, head.heads[1].out.weight)  # two heads, each its own
    with pytest.raises(ValueError, match="hidden"):
        load_lip_reader(LipReadingHeads(16, len(TOKENS), hidden=4, heads=2), path)
    with pytest.raises(ValueError, match="heads"):
        load_lip_reader(LipReadingHeads(16, len(TOKENS), hidden=8, heads=1), path)
    # a single-head file of the first format still loads as one head
    torch.save(dict(format="espnet2_ext.lip_reader/1", classes=TOKENS, visual_dim=16, hidden=8,
                    state_dict=head.heads[1].state_dict()), tmp_path / "v1.pth")
    one = LipReadingHeads(16, len(TOKENS), hidden=8)
    load_lip_reader(one, str(tmp_path / "v1.pth"), TOKENS)
    assert torch.equal(one.heads[0].out.weight, head.heads[1].out.weight)
    with pytest.raises(ValueError, match="another token list"):
        load_lip_reader(other, path, TOKENS[::-1])
    torch.save({"w": torch.zeros(1)}, tmp_path / "bad.pth")
    with pytest.raises(ValueError, match="bad.pth.*fit_lip_reader"):
        load_lip_reader(other, str(tmp_path / "bad.pth"))


class BrightnessEncoder(torch.nn.Module):
    """Stand-in frozen encoder: (B, T_v, H, W) -> mean pixel per frame -> fixed Linear -> (B, T_v, 16)."""

    def __init__(self):
        super().__init__()
        self.proj = torch.nn.Linear(1, 16)

    def forward(self, lip, lengths):
        return torch.tanh(self.proj(lip.mean((2, 3))[..., None]))


def _data(tmp_path):
    tr, va = write_set(str(tmp_path), "train", 12, 0), write_set(str(tmp_path), "dev", 4, 1)
    return dict(train_lip_scp=f"{tr}/lip.scp", train_label=f"{tr}/label", valid_lip_scp=f"{va}/lip.scp",
                valid_label=f"{va}/label")


def test_fit_learns_the_classes_from_frozen_features_and_keeps_the_best_epoch(tmp_path):
    """Crops encode the phone by brightness; a fixed encoder that keeps it (mean pixel -> 16 dims)
    lets the head get far above chance, and the file holds the best valid epoch."""
    torch.manual_seed(0)
    enc = BrightnessEncoder()
    before = {k: v.clone() for k, v in enc.state_dict().items()}
    out = str(tmp_path / "lip_reader.pth")
    log = fit_lip_reader(enc, TOKENS, 8, _data(tmp_path), out, dict(epochs=6, batch_size=4, lr=1e-2))
    (h_log,) = log["heads"]
    accs = [e["valid_frame_acc"] for e in h_log["epochs"]]
    best = min(h_log["epochs"], key=lambda e: e["valid_loss"])
    assert h_log["best_epoch"] == best["epoch"]
    assert best["valid_frame_acc"] > 0.8 and accs[0] < best["valid_frame_acc"] + 1e-9
    assert log["kept"]["valid_loss"] == pytest.approx(best["valid_loss"], rel=1e-5)  # the file is the best epoch
    assert all(torch.equal(before[k], v) for k, v in enc.state_dict().items())  # encoder untouched
    assert json.load(open(str(tmp_path / "lip_reader.log.json")))["heads"][0]["best_epoch"] == h_log["best_epoch"]
    head = LipReadingHeads(16, len(TOKENS), 8)
    load_lip_reader(head, out, TOKENS)
    with pytest.raises(ValueError, match="unknown options"):
        fit_lip_reader(enc, TOKENS, 8, _data(tmp_path / "x"), out, dict(epoch=3))


def test_heads_fit_in_parallel_each_with_its_own_seed(tmp_path):
    """heads: 2 with num_jobs: 2 fits head j with seed 2 * seed + j in a worker process: head 1 is the
    single-head fit of seed 2, head 2 differs, and the file reads as their mean posterior."""
    torch.manual_seed(0)
    enc, data = BrightnessEncoder(), _data(tmp_path)
    conf = dict(epochs=3, batch_size=4, lr=1e-2, seed=1)
    two = fit_lip_reader(enc, TOKENS, 8, data, str(tmp_path / "two.pth"), dict(conf, num_jobs=2), heads=2)
    one = fit_lip_reader(enc, TOKENS, 8, data, str(tmp_path / "one.pth"), dict(conf, seed=2))
    assert [h["seed"] for h in two["heads"]] == [2, 3]
    assert two["heads"][0]["epochs"] == one["heads"][0]["epochs"]  # same seed, same fit, in a worker or not
    assert two["heads"][1]["epochs"] != one["heads"][0]["epochs"]
    heads = LipReadingHeads(16, len(TOKENS), 8, heads=2)
    load_lip_reader(heads, str(tmp_path / "two.pth"), TOKENS)
    vf, lens = torch.randn(2, 5, 16), torch.tensor([5, 3])
    with torch.no_grad():
        per = heads.per_head(vf, lens)  # (K, B, T_v, C)
        assert per.shape == (2, 2, 5, len(TOKENS))
        assert torch.allclose(heads(vf, lens).exp(), per.exp().mean(0), atol=1e-6)
    assert torch.equal(mean_logp(per[:1]), per[0])  # one head reads as itself


def test_performsinger_loads_and_freezes_a_fitted_head(tmp_path):
    torch.manual_seed(0)
    ref = tiny_model(lip_reader_conf=dict(hidden=8, heads=2))
    path = str(tmp_path / "lip_reader.pth")
    save_lip_reader(ref.lip_reader, path, [f"t{i}" for i in range(ref.idim)])
    torch.manual_seed(1)
    model = tiny_model(lip_reader_conf=dict(hidden=8, heads=2, pretrained=path, freeze=True))
    assert all(torch.equal(a.out.weight, b.out.weight) for a, b in zip(model.lip_reader.heads, ref.lip_reader.heads))
    loss, stats, _ = model(**tiny_batch())
    loss.backward()
    assert "loss_L" not in stats  # no gradient to give: training steps skip the frozen heads
    model.eval()
    assert "loss_L" in model(**tiny_batch())[1]  # validation still logs it
    model.train()
    assert all(p.grad is None and not p.requires_grad for p in model.lip_reader.parameters())
    assert model.decoder.parameters().__next__().grad is not None  # the rest still trains
    with pytest.raises(ValueError, match="hidden"):
        tiny_model(lip_reader_conf=dict(hidden=4, heads=2, pretrained=path))
    with pytest.raises(ValueError, match="heads"):
        tiny_model(lip_reader_conf=dict(hidden=8, pretrained=path))


def test_cli_fits_from_the_svs_config_and_refuses_to_overwrite(tmp_path):
    data = _data(tmp_path)
    enc_path = str(tmp_path / "lip_encoder.pth")
    save_lip_encoder(LipEncoder(ENC), enc_path, ENC)
    conf = tmp_path / "train.yaml"
    conf.write_text(yaml.safe_dump(dict(svs_conf=dict(use_visual=True, lip_encoder_conf=ENC,
                                                      lip_reader_conf=dict(hidden=8, heads=2, freeze=True)))))
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(TOKENS) + "\n")
    fit = tmp_path / "fit.yaml"
    fit.write_text("epochs: 2\nbatch_size: 4\nnum_jobs: 2\n")
    out = tmp_path / "exp"
    cmd = [sys.executable, "-m", "espnet2_ext.bin.fit_lip_reader", "--train_config", str(conf), "--lip_encoder", enc_path,
           "--token_list", str(tokens), "--config", str(fit), "--out_dir", str(out), "--seed", "3", "--num_threads", "2",
           *[a for k, v in data.items() for a in (f"--{k}", v)]]
    env = dict(os.environ, OMP_NUM_THREADS="1")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert p.returncode == 0, p.stderr[-2000:]
    assert "done in" in (out / "fit.log").read_text()
    fit_log = json.load(open(out / "lip_reader.log.json"))
    assert fit_log["conf"]["seed"] == 3 and fit_log["conf"]["num_threads"] == 2
    assert [h["seed"] for h in fit_log["heads"]] == [6, 7]  # heads: 2 of the SVS config
    head = LipReadingHeads(16, len(TOKENS), 8, heads=2)
    load_lip_reader(head, str(out / "lip_reader.pth"), TOKENS)
    mtime = os.path.getmtime(out / "lip_reader.pth")
    p = subprocess.run(cmd, capture_output=True, text=True, env=env)
    assert p.returncode != 0 and "--overwrite" in p.stderr
    assert os.path.getmtime(out / "lip_reader.pth") == mtime
    no_head = tmp_path / "audio.yaml"
    no_head.write_text(yaml.safe_dump(dict(svs_conf=dict(use_visual=False))))
    p = subprocess.run([*cmd[:4], str(no_head), *cmd[5:]], capture_output=True, text=True, env=env)
    assert p.returncode != 0 and "audio.yaml" in p.stderr and "lip-reading head" in p.stderr


def test_fit_names_the_scp_and_utterance_of_a_missing_or_bad_crop_file(tmp_path):
    data = _data(tmp_path)
    scp = data["train_lip_scp"]
    lines = open(scp).read().splitlines()
    utt, path = lines[0].split()
    os.remove(path)
    with pytest.raises(FileNotFoundError, match=f"{scp}: {utt}: lip file .*not found"):
        fit_lip_reader(BrightnessEncoder(), TOKENS, 8, data, str(tmp_path / "h.pth"), dict(epochs=1))
    np.save(path, np.zeros((5, 96), dtype=np.uint8))  # 2-D: not (T_v, H, W) crops
    with pytest.raises(ValueError, match="expected \\(T_v, H, W\\) mouth crops"):
        fit_lip_reader(BrightnessEncoder(), TOKENS, 8, data, str(tmp_path / "h.pth"), dict(epochs=1))
    assert not (tmp_path / "h.pth").exists()  # nothing written before the data is read


def test_cli_cache_reuses_a_fit_of_the_same_inputs_only(tmp_path):
    """--cache_dir: a second system with the same lip side and seed copies the first fit; another seed,
    or one crop changed, fits anew."""
    data = _data(tmp_path)
    enc_path = str(tmp_path / "lip_encoder.pth")
    save_lip_encoder(LipEncoder(ENC), enc_path, ENC)
    confs = []
    for name, fusion in (("vcfm.yaml", "vcfm"), ("sma.yaml", "sma")):  # other systems, one lip side
        confs.append(tmp_path / name)
        confs[-1].write_text(yaml.safe_dump(dict(svs_conf=dict(
            use_visual=True, fusion=fusion, lip_encoder_conf=ENC, lip_reader_conf=dict(hidden=8, heads=1, freeze=True)))))
    tokens = tmp_path / "tokens.txt"
    tokens.write_text("\n".join(TOKENS) + "\n")
    fit = tmp_path / "fit.yaml"
    fit.write_text("epochs: 1\nbatch_size: 4\nnum_jobs: 1\nnum_threads: 1\n")
    cache = tmp_path / "fits"
    env = dict(os.environ, OMP_NUM_THREADS="1")

    def run_fit(conf, out, seed):
        cmd = [sys.executable, "-m", "espnet2_ext.bin.fit_lip_reader", "--train_config", str(conf), "--lip_encoder",
               enc_path, "--token_list", str(tokens), "--config", str(fit), "--out_dir", str(out), "--seed", str(seed),
               "--cache_dir", str(cache), *[a for k, v in data.items() for a in (f"--{k}", v)]]
        p = subprocess.run(cmd, capture_output=True, text=True, env=env)
        assert p.returncode == 0, p.stderr[-2000:]
        return (out / "fit.log").read_text()

    first = run_fit(confs[0], tmp_path / "a", 0)
    assert "reused" not in first and len(list(cache.iterdir())) == 1
    second = run_fit(confs[1], tmp_path / "b", 0)
    assert "reused the fit" in second
    assert (tmp_path / "a" / "lip_reader.pth").read_bytes() == (tmp_path / "b" / "lip_reader.pth").read_bytes()
    assert "reused" not in run_fit(confs[1], tmp_path / "c", 1)  # another seed
    crop = open(data["train_lip_scp"]).readline().split()[1]
    np.save(crop, np.load(crop)[::-1].copy())  # one crop of the training set changed
    assert "reused" not in run_fit(confs[1], tmp_path / "d", 0)
    assert len(list(cache.iterdir())) == 3
