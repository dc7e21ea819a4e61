"""svs.sh's decisions in stages 6-8, checked through the tool calls it makes with a stand-in python.

The stand-in answers the questions the shell asks (system_needs, data_args, config keys) with the
real entry points and writes the files the next step reads for every other tool, so the stages run
in seconds: which systems start from stage one, which get a lip-reading head fitted, which decode
the extra duration-source configs, the fusion control, the ground truth and the scoring jobs.
"""

import os
import shutil
import subprocess
import sys

import pytest
from tests.support.paths import REPO_ROOT

RECIPE = REPO_ROOT / "egs2" / "visualsinger" / "svs1"
STAND_IN = f"""#!/usr/bin/env bash
echo "$*" >> calls.log
case "$2" in
  espnet2_ext.utils.model_file) mkdir -p "$3"; touch "$3/m.pth"; echo "$3/m.pth" ;;
  espnet2_ext.bin.system_needs|espnet2_ext.utils.config|espnet2_ext.bin.data_args)
    PYTHONPATH={REPO_ROOT} exec {sys.executable} "$@" ;;
  espnet2_ext.bin.fit_lip_reader) echo "x INFO done in 1 s" ;;
  espnet2_ext.bin.visual_svs_inference)
    while [ $# -gt 0 ]; do
      [ "$1" = --output_dir ] && mkdir -p "$2" && for f in wav.scp feats.scp f0.scp durations timing lip_confidence; do :> "$2/$f"; done
      shift
    done ;;
  espnet2_ext.bin.make_results_table) echo "| results |" > "$6" ;;
esac
"""


@pytest.fixture
def recipe(tmp_path):
    dst = tmp_path / "svs1"
    shutil.copytree(RECIPE, dst, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    (dst / "python").write_text(STAND_IN)
    (dst / "python").chmod(0o755)
    for dset in ("train", "dev", "test", "test_ood", "test_ref3", "test_lipshuffle"):
        (dst / "dump" / "raw" / dset).mkdir(parents=True)
        (dst / "dump" / "raw" / dset / "text").write_text("u1 a\nu2 b\n")
    return dst


def svs(recipe, *opts):
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO_ROOT))
    p = subprocess.run(["./svs.sh", "--python", "./python", "--test_sets", "test test_ood", "--ref_settings", "3",
                        "--lip_controls", "shuffle", *opts],
                       cwd=recipe, env=env, capture_output=True, text=True, timeout=600)
    assert p.returncode == 0, p.stdout[-3000:] + p.stderr[-3000:]
    calls = (recipe / "calls.log").read_text().splitlines()
    (recipe / "calls.log").unlink()
    return p.stdout, calls


def trainings(calls):
    return [c for c in calls if "espnet2_ext.bin.visual_svs_train" in c]


@pytest.mark.parametrize("config, two_stage, fit", [
    ("conf/train_performsinger.yaml", True, True),
    ("conf/train_performsinger_single_stage_ddpm.yaml", False, False),   # two_stage: false by its base config
    ("conf/train_hpmdubbing.yaml", False, False),
])
def test_stage_6_follows_what_the_system_declares(recipe, config, two_stage, fit):
    (recipe / "exp" / "lip_pretrain").mkdir(parents=True)
    (recipe / "exp" / "lip_pretrain" / "lip_encoder.pth").write_text("")
    out, calls = svs(recipe, "--stage", "6", "--stop_stage", "6", "--train_config", config)
    assert f"init_from_stage_one=auto -> {str(two_stage).lower()}" in out
    (train,) = trainings(calls)
    assert ("--stage_one_checkpoint exp/svs_stylesinger/m.pth" in train) is two_stage
    assert any("espnet2_ext.bin.fit_lip_reader" in c for c in calls) is fit
    assert ("lip_reader_conf.pretrained=" in train) is fit
    assert "dump/raw/train/lip.scp,lip,npy" in train and "dump/raw/dev/lip.scp,lip,npy" in train
    assert "lip_encoder_conf.pretrained=exp/lip_pretrain/lip_encoder.pth" in train  # the pretrained encoder


def test_stages_7_and_8_decode_what_each_system_chooses(recipe):
    exp = recipe / "exp"
    for system, conf in (("svs_stylesinger", "{use_visual: false}"),
                         ("svs_performsinger", "{use_visual: true, lip_reader_conf: {hidden: 8}}")):
        (exp / system).mkdir(parents=True)
        (exp / system / "config.yaml").write_text(f"svs: performsinger\nsvs_conf: {conf}\n")
    out, calls = svs(recipe, "--stage", "7", "--stop_stage", "8", "--vocoder", "griffin_lim")
    done = sorted(str(p.parent.relative_to(exp)) for p in exp.rglob(".done"))
    tag = "decode_fast_griffin_lim"
    assert done == sorted(
        [f"gt/{tag}/{s}" for s in ("test", "test_ood")]
        + [f"svs_performsinger/{tag}/{s}" for s in ("test", "test_ood", "test_ref3", "test_lipshuffle")]
        + [f"svs_performsinger/decode_predictor_griffin_lim/{s}" for s in ("test", "test_ood")]
        + [f"svs_stylesinger/{tag}/{s}" for s in ("test", "test_ood")]
        + [f"svs_stylesinger/{tag}_timing_of_svs_performsinger/{s}" for s in ("test", "test_ood")])
    control = [c for c in calls if "timing_of_svs_performsinger" in c and "visual_svs_inference" in c]
    assert control and f"--fixed_durations exp/svs_performsinger/{tag}/test/durations" in control[0]
    jobs = [line.split() for line in (exp / "score_jobs.txt").read_text().splitlines()]
    assert sorted(len(j) for j in jobs) == [6, 6]  # every decode dir scored once, 12 dirs of equal size in 2 jobs
    assert "Successfully finished" in out
