"""The quality-against-steps sweep on a tiny trained system: the rectified-flow baseline config
trains through espnet's trainer, the sweep decodes and scores it per (sampler, steps), writes the
table, JSON and PNG, and resumes without decoding again."""

from pathlib import Path

import pytest
import torch

import espnet2_ext  # noqa: F401
from espnet2_ext.bin.sampler_sweep import main as sweep_main
from espnet2_ext.bin.sampler_sweep import sweep_specs
from espnet2_ext.tasks.visual_svs import VisualSVSTask
from tests.support.tiny_dump import data_args, write_tiny_dump
from espnet2_ext.utils.config import load_config
from tests.support.configs import shrunk_config

pytestmark = pytest.mark.slow

torch.set_num_threads(1)


def test_specs_follow_the_objective():
    ddpm = {"decoder_conf": {"num_steps": 100, "prediction": "x0"}}
    assert sweep_specs(ddpm, [1, 4], ["auto"]) == [("ddim", 1), ("ddim", 4), ("dpm_solver", 1), ("dpm_solver", 4),
                                                    ("ddpm", 100)]
    flow = {"decoder_conf": {"num_steps": 50, "objective": "reflow", "prediction": "x0"}}
    assert sweep_specs(flow, [1, 2], ["auto"]) == [("euler", 1), ("euler", 2), ("rk2", 1), ("rk2", 2), ("euler", 50)]
    flow_v = {"decoder_conf": {"num_steps": 50, "objective": "reflow"}}
    assert ("rk4", 2) in sweep_specs(flow_v, [2], ["auto"])
    assert sweep_specs(ddpm, [2], ["ddim", "ddpm"]) == [("ddim", 2), ("ddpm", 100)]


def _tiny_reflow_config(out: Path) -> Path:
    path = shrunk_config("train_stylesinger.yaml", out)
    svs = load_config(path)["svs_conf"]
    assert svs["decoder_conf"]["objective"] == "reflow" and svs["f0_conf"]["objective"] == "reflow"
    return path


def test_sweep_on_a_tiny_trained_reflow_system(tmp_path):
    pytest.importorskip("espnet2_ext.vocoder.build")
    dump = write_tiny_dump(tmp_path / "dump" / "dev")
    exp = tmp_path / "exp" / "svs_stylesinger"
    VisualSVSTask.main(cmd=[
        "--config", str(_tiny_reflow_config(tmp_path)), "--output_dir", str(exp), "--ngpu", "0",
        "--token_type", "phn", "--token_list", str(dump / "tokens.txt"), "--use_preprocessor", "true",
        "--fs", "22050", "--train_shape_file", str(dump / "text"), "--valid_shape_file", str(dump / "text"),
        "--use_tensorboard", "false",
    ] + data_args(dump, "train") + data_args(dump, "valid"))
    out = tmp_path / "sweep"
    args = ["--exp_dir", str(exp), "--dump_dir", str(tmp_path / "dump"), "--sets", "dev", "--fs", "22050",
            "--hop_length", "256", "--steps", "1", "2", "--samplers", "euler", "--out_dir", str(out)]
    sweep_main(args)
    rows = (out / "sweep.md").read_text().splitlines()
    assert len(rows) == 2 + 2  # header, rule, euler:1, euler:2
    assert "| svs_stylesinger | dev | euler | 1 | 1 |" in rows[2]
    assert (out / "sweep.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    scores = out / "svs_stylesinger" / "euler_2" / "dev" / "scores.json"
    assert scores.is_file() and len((scores.parent / "durations").read_text().splitlines()) == 4
    stamp = scores.stat().st_mtime_ns
    sweep_main(args)  # resumes: nothing decoded or scored again
    assert scores.stat().st_mtime_ns == stamp
    with pytest.raises(FileNotFoundError, match="config.yaml"):
        sweep_main(["--exp_dir", str(tmp_path / "nothing")] + args[2:])
