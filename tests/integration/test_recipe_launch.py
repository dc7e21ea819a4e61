"""How svs.sh launches training on GPUs and clusters, checked through the commands it prints.

* ``--num_nodes 2 --ngpu 4`` with ``cmd_backend=slurm``: one sbatch job of 2 nodes x 4 GPUs, one
  task per node, whose script runs ``srun`` of the training with espnet's multi-node options
  (``--multiprocessing_distributed true --dist_launcher slurm``, a ``file://`` rendezvous in the
  exp dir); ``--ngpu 4`` on one node: the training itself spawns the 4 DDP ranks;
* ``--num_nodes 2`` without Slurm, and ``--ngpu 1`` (on a machine without CUDA) are errors before
  any work: nothing lands in the exp dir; every entry point makes the same check.

slurm.pl runs with ``SLURM_PL_PRINT_ONLY=1``: it prints the sbatch command (stdout) and the job
script (stderr) and submits nothing.
"""

import os
import shlex
import subprocess

import pytest
import torch
from tests.support.paths import REPO_ROOT

REPO = REPO_ROOT
RECIPE = REPO / "egs2" / "visualsinger" / "svs1"
NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the error of a machine without CUDA")


def _svs(tmp_path, *opts, backend="slurm"):
    env = dict(os.environ, cmd_backend=backend, SLURM_PL_PRINT_ONLY="1",
               PYTHONPATH=str(REPO) + os.pathsep + os.environ.get("PYTHONPATH", ""))
    cmd = ["./svs.sh", "--stage", "5", "--stop_stage", "5", "--lip_pretrain", "false",
           "--expdir", str(tmp_path / "exp"), "--dumpdir", str(tmp_path / "dump"), *opts]
    return subprocess.run(cmd, cwd=RECIPE, env=env, capture_output=True, text=True, timeout=300)


def _sbatch(stdout: str):
    lines = [ln for ln in stdout.splitlines() if ln.startswith("sbatch")]
    assert len(lines) == 1, stdout
    return shlex.split(lines[0])


def _train_line(script: str) -> str:
    """The job script's line that runs the training."""
    lines = [ln.strip() for ln in script.splitlines() if "espnet2_ext.bin.visual_svs_train" in ln]
    assert lines, script
    return lines[-1]


def _opts(line: str) -> dict:
    words = shlex.split(line)
    return dict(zip(words, words[1:]))


def test_two_nodes_of_four_gpus_through_slurm_and_srun(tmp_path):
    p = _svs(tmp_path, "--ngpu", "4", "--num_nodes", "2")
    exp = tmp_path / "exp" / "svs_stylesinger"
    w = _sbatch(p.stdout)
    assert "--nodes=2" in w and "--ntasks-per-node=1" in w and "--gres=gpu:4" in w, w
    assert f"--output={exp}/train.log" in w
    line = _train_line(p.stderr)
    run = shlex.split(line)
    assert run[:2] == ["srun", "--export=ALL"], line
    opts = _opts(line)
    assert opts["--ngpu"] == "4" and opts["--multiprocessing_distributed"] == "true"
    assert opts["--dist_launcher"] == "slurm" and opts["--unused_parameters"] == "true"
    assert opts["--dist_init_method"].startswith(f"file://{exp}/.dist_init_")
    assert opts["--resume"] == "true" and opts["--output_dir"] == str(exp)
    assert "--dist_backend" not in opts  # nccl, espnet's default for GPUs
    assert not (exp / "checkpoint.pth").exists()  # printed, not run


def test_four_gpus_on_one_node_spawn_ddp_ranks(tmp_path):
    p = _svs(tmp_path, "--ngpu", "4")
    w = _sbatch(p.stdout)
    assert "--gres=gpu:4" in w and not any(x.startswith("--nodes") for x in w)
    line = _train_line(p.stderr)
    opts = _opts(line)
    assert opts["--ngpu"] == "4" and opts["--multiprocessing_distributed"] == "True"
    assert "--dist_launcher" not in opts and not line.startswith("srun")


def test_cpu_training_is_one_process(tmp_path):
    p = _svs(tmp_path)
    w = _sbatch(p.stdout)
    assert not any("gres" in x or x.startswith("--nodes") for x in w)
    opts = _opts(_train_line(p.stderr))
    assert opts["--ngpu"] == "0" and "--unused_parameters" not in opts


def test_several_nodes_need_slurm(tmp_path):
    p = _svs(tmp_path, "--num_nodes", "2", backend="local")
    assert p.returncode != 0 and "--num_nodes 2 needs cmd_backend=slurm" in p.stdout + p.stderr
    assert not (tmp_path / "exp").exists()


@NO_CUDA
def test_ngpu_without_cuda_fails_before_stage_5(tmp_path):
    p = _svs(tmp_path, "--ngpu", "1", backend="local")
    assert p.returncode != 0 and "--ngpu 1" in p.stderr and "CUDA is not available" in p.stderr
    assert "Stage 5" not in p.stdout + p.stderr and not (tmp_path / "exp").exists()
    p = _svs(tmp_path, "--gpu_inference", "true", "--stop_stage", "7", backend="local")
    assert p.returncode != 0 and "--ngpu 1" in p.stderr and not (tmp_path / "exp").exists()


@NO_CUDA
def test_every_entry_point_refuses_ngpu_without_cuda(tmp_path):
    from espnet2_ext.bin import fit_lip_reader, pretrain_lip_encoder, train_vocoder, visual_svs_inference
    from espnet2_ext.tasks.visual_svs import VisualSVSTask

    out = tmp_path / "out"
    calls = {
        "training": lambda: VisualSVSTask.main(cmd=["--ngpu", "1", "--output_dir", str(out)]),
        "lip-reading pretraining": lambda: pretrain_lip_encoder.main(
            ["--ngpu", "1", "--train_lip_scp", "x", "--train_label", "x", "--valid_lip_scp", "x",
             "--valid_label", "x", "--config", "x", "--out_dir", str(out)]),
        "head fit": lambda: fit_lip_reader.main(
            ["--ngpu", "1", "--train_config", "x", "--token_list", "x", "--train_lip_scp", "x", "--train_label", "x",
             "--valid_lip_scp", "x", "--valid_label", "x", "--out_dir", str(out)]),
        "HiFi-GAN training": lambda: train_vocoder.main(
            ["--ngpu", "1", "--wav_scp", "x", "--fbank_conf", "x", "--out_dir", str(out), "--max_steps", "1"]),
        "decoding": lambda: visual_svs_inference.main(["--ngpu", "1", "--model_file", "x", "--output_dir", str(out)]),
    }
    for what, call in calls.items():
        with pytest.raises(RuntimeError, match=r"--ngpu 1 .*CUDA is not available.*--ngpu 0"):
            call()
        assert not out.exists(), what
