"""Scoring a lip encoder + lip-reading heads on a set without the SVS model (lipread/evaluate.py,
bin/eval_lip_reader.py)."""

import json

import numpy as np
import pytest
import torch

from espnet2_ext.bin.eval_lip_reader import main as eval_main
from espnet2_ext.lipread.evaluate import lip_durations, utterance_scores
from espnet2_ext.lipread.head_fit import fit_lip_reader, soft_frame_targets, token_vocab
from espnet2_ext.svs.lip_checkpoint import save_lip_encoder
from espnet2_ext.svs.lip_encoder import LipEncoder
from tests.unit.lipread.test_lip_pretrain import write_set
from tests.unit.lipread.test_lip_reader_fit import ENC, TOKENS

torch.set_num_threads(1)
FS, HOP = 1600, 16  # 100 mel frames per second: a 40 ms video frame is 4 mel frames
SEGS = [(0.0, 0.12, "a"), (0.12, 0.2, "o"), (0.2, 0.32, "a"), (0.32, 0.6, "o")]  # 15 video frames


def _head_logp(segments, n_frames, vocab):
    """A head that reads the frames' phones: log of the label's frame fractions (floored)."""
    y = soft_frame_targets(segments, n_frames, vocab)
    return torch.log(torch.from_numpy(y).clamp(min=1e-6))  # (T_v, C)


def test_an_exact_head_gives_zero_duration_error_and_every_boundary():
    vocab = token_vocab(TOKENS)
    s = utterance_scores(_head_logp(SEGS, 15, vocab), SEGS, vocab, FS, HOP, 25.0, "u")
    assert s["dur_mae_frames"] == 0.0 and s["boundary_hit_40ms"] == 1.0 and s["num_boundaries"] == 3


def test_a_head_late_by_two_video_frames_misses_the_boundaries():
    vocab = token_vocab(TOKENS)
    late = [(st + 0.08 * (k > 0), et + 0.08 * (k < 3), ph) for k, (st, et, ph) in enumerate(SEGS)]
    s = utterance_scores(_head_logp(late, 15, vocab), SEGS, vocab, FS, HOP, 25.0, "u")
    assert s["dur_mae_frames"] == pytest.approx(4.0)  # 8 mel frames moved from the last phone to the first
    assert s["boundary_hit_40ms"] == 0.0


def test_every_phone_keeps_a_mel_frame_and_unknown_phones_name_the_utterance():
    vocab = token_vocab(TOKENS)
    flat = torch.full((10, len(TOKENS)), -np.log(len(TOKENS)))
    d = lip_durations(flat, torch.tensor([vocab["a"], vocab["o"], vocab["a"]]), 100.0, 25.0)
    assert (d >= 1).all() and d.sum() >= 40 - 2
    with pytest.raises(ValueError, match=r"lab: u7.*\['zz'\]"):
        utterance_scores(flat, [(0.0, 0.4, "zz")], vocab, FS, HOP, 25.0, "lab: u7")


def test_cli_frame_accuracy_is_the_fit_s_own_valid_accuracy(tmp_path, capsys):
    """Fitted heads scored on their own valid set: the tool's frame accuracy equals the one
    fit_lip_reader reports for the saved heads; the duration scores are written per utterance."""
    torch.manual_seed(0)
    tr, va = write_set(str(tmp_path), "train", 6, 0), write_set(str(tmp_path), "dev", 3, 1)
    enc_path = str(tmp_path / "lip_encoder.pth")
    save_lip_encoder(LipEncoder(ENC), enc_path, ENC)
    encoder = LipEncoder({**ENC, "pretrained": enc_path, "freeze": True})
    data = dict(train_lip_scp=f"{tr}/lip.scp", train_label=f"{tr}/label", valid_lip_scp=f"{va}/lip.scp",
                valid_label=f"{va}/label")
    fit_dir = tmp_path / "lip_reader"
    fit_dir.mkdir()
    log = fit_lip_reader(encoder, TOKENS, 8, data, str(fit_dir / "lip_reader.pth"), dict(epochs=2, batch_size=4),
                         heads=2)
    out = tmp_path / "eval" / "dev.json"
    eval_main(["--lip_scp", f"{va}/lip.scp", "--label", f"{va}/label", "--lip_encoder", enc_path,
               "--lip_reader", str(fit_dir), "--out", str(out), "--batch_size", "4"])
    res = json.loads(out.read_text())
    assert res["summary"]["frame_acc"] == pytest.approx(log["kept"]["valid_frame_acc"], abs=1e-9)
    assert json.loads(capsys.readouterr().out.strip().splitlines()[-1]) == res["summary"]
    assert sorted(res["utts"]) == [f"s1_dev_{u:03d}" for u in range(3)]
    s = res["summary"]
    assert s["dur_mae_mel_frames"] >= 0 and 0 <= s["boundary_hit_40ms"] <= 1
    assert s["dur_mae_video_frames"] == pytest.approx(s["dur_mae_mel_frames"] * 25 * 256 / 22050)
    assert s["duration_prior"].startswith("off")
