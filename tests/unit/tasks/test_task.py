"""VisualSVSTask: registration, CLI, and the lip stream reaching the model in training and inference."""

import subprocess
import sys
from typing import Dict

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2.svs.abs_svs import AbsSVS
from espnet2.tasks import svs as svs_task
from espnet2.torch_utils.device_funcs import force_gatherable

from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.tiny_dump import data_args, fbank_conf
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT


class LipProbeSVS(AbsSVS):
    """Minimal SVS model that records the lip tensors it is given (and fails without them)."""

    seen = {"forward": [], "inference": []}

    def __init__(self, idim: int, odim: int):
        super().__init__()
        self.proj = torch.nn.Linear(88 * 88, odim)

    def forward(self, text, text_lengths, feats, feats_lengths, lip=None, lip_lengths=None, **kwargs):
        if lip is None:
            raise AssertionError("lip did not reach the SVS model")
        LipProbeSVS.seen["forward"].append((tuple(lip.shape), lip_lengths.tolist()))
        pred = self.proj(lip.flatten(2)).mean(1, keepdim=True)  # (B, 1, odim)
        loss = ((pred - feats.mean(1, keepdim=True)) ** 2).mean()
        stats = dict(loss=loss.detach())
        return force_gatherable((loss, stats, torch.tensor(feats.size(0))), loss.device)

    def inference(self, text, lip=None, lip_lengths=None, **kwargs) -> Dict[str, torch.Tensor]:
        if lip is None:
            raise AssertionError("lip did not reach SVS inference")
        LipProbeSVS.seen["inference"].append(tuple(lip.shape))
        t = int(lip.size(1) * 3)
        return dict(feat_gen=self.proj(lip.flatten(2))[0].repeat_interleave(3, 0)[:t])


def test_import_registers_project_classes():
    assert "performsinger" in svs_task.svs_choices.classes
    assert "hpmdubbing" in svs_task.svs_choices.classes
    assert "visual_svs" in svs_task.model_type_choices.classes


def test_train_cli_help_lists_project_models():
    out = subprocess.run(
        [sys.executable, "-m", "espnet2_ext.bin.visual_svs_train", "--help"],
        capture_output=True, text=True, cwd=REPO, timeout=300,
    )
    assert out.returncode == 0, out.stderr[-2000:]
    assert "performsinger" in out.stdout and "hpmdubbing" in out.stdout
    assert "--stage_one_checkpoint" in out.stdout


def test_lip_reaches_model_in_training_and_inference(tmp_path, tiny_dump):
    torch.set_num_threads(1)
    svs_task.svs_choices.classes["lip_probe"] = LipProbeSVS
    LipProbeSVS.seen = {"forward": [], "inference": []}
    dump = tiny_dump
    fb = fbank_conf()
    exp = tmp_path / "exp"
    cmd = [
        "--output_dir", str(exp), "--ngpu", "0", "--num_workers", "0", "--max_epoch", "1",
        "--token_type", "phn", "--token_list", str(dump / "tokens.txt"), "--use_preprocessor", "true",
        "--svs", "lip_probe", "--normalize", "none", "--fs", str(fb["fs"]),
        "--feats_extract", "fbank", "--feats_extract_conf", str(fb),
        "--score_feats_extract", "syllable_score_feats",
        "--score_feats_extract_conf", str(dict(fs=fb["fs"], n_fft=1024, win_length=1024, hop_length=256)),
        "--pitch_extract", "dio",
        "--pitch_extract_conf", str(dict(fs=fb["fs"], n_fft=1024, hop_length=256, f0max=800, f0min=60)),
        "--batch_type", "unsorted", "--batch_size", "2",
        "--train_shape_file", str(dump / "text"), "--valid_shape_file", str(dump / "text"),
        "--use_tensorboard", "false", "--use_matplotlib", "false", "--optim", "adam",
    ] + data_args(dump, "train") + data_args(dump, "valid")
    VisualSVSTask.main(cmd=cmd)
    # training curves drawn once afterwards from the checkpoint (the recipe's plot step)
    from espnet2_ext.bin.plot_train_stats import plot_train_stats

    assert not (exp / "images").exists()
    assert plot_train_stats(str(exp)) >= 1 and (exp / "images" / "loss.png").exists()
    with pytest.raises(FileNotFoundError, match="checkpoint.pth"):
        plot_train_stats(str(tmp_path / "no_such_exp"))

    shapes = LipProbeSVS.seen["forward"]
    assert shapes, "the model was never called"
    for shape, lengths in shapes:
        assert shape[0] == len(lengths) and shape[2:] == (88, 88)
        assert max(lengths) == shape[1]
    assert (exp / "1epoch.pth").exists()

    from espnet2_ext.bin.visual_svs_inference import main as infer_main

    out = tmp_path / "decode"
    infer_main([
        "--model_file", str(exp / "1epoch.pth"), "--train_config", str(exp / "config.yaml"),
        "--output_dir", str(out), "--vocoder", "griffin_lim", "--progress", "false",
        "--data_path_and_name_and_type", f"{dump}/text,text,text",
        "--data_path_and_name_and_type", f"{dump}/label,label,duration",
        "--data_path_and_name_and_type", f"{dump}/score.scp,score,score",
        "--data_path_and_name_and_type", f"{dump}/spembs.scp,spembs,kaldi_ark",
        "--data_path_and_name_and_type", f"{dump}/lip.scp,lip,npy",
        "--ref_wav_scp", f"{dump}/ref_wav.scp",
    ])
    assert len(LipProbeSVS.seen["inference"]) == 4
    assert all(s[0] == 1 and s[2:] == (88, 88) for s in LipProbeSVS.seen["inference"])
    wavs = (out / "wav.scp").read_text().split("\n")
    assert len([w for w in wavs if w]) == 4


def test_strict_loading_rejects_mismatched_checkpoint(tmp_path):
    svs_task.svs_choices.classes["lip_probe"] = LipProbeSVS
    exp = tmp_path / "exp"
    exp.mkdir()
    import yaml

    cfg = dict(
        svs="lip_probe", svs_conf={}, token_list=["<blank>", "<unk>", "a", "<sos/eos>"],
        odim=None, feats_extract="fbank", feats_extract_conf=fbank_conf(), normalize=None,
        normalize_conf={}, model_type="visual_svs", model_conf={},
        score_feats_extract="syllable_score_feats",
        score_feats_extract_conf=dict(fs=22050, n_fft=1024, win_length=1024, hop_length=256),
    )
    (exp / "config.yaml").write_text(yaml.safe_dump(cfg))
    model, _ = VisualSVSTask.build_model_from_file(exp / "config.yaml", None)
    state = model.state_dict()
    state["svs.extra.weight"] = torch.zeros(1)
    torch.save(state, exp / "bad.pth")
    with pytest.raises(RuntimeError, match="bad.pth"):
        VisualSVSTask.build_model_from_file(exp / "config.yaml", exp / "bad.pth")
