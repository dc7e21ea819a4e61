"""svs.sh with --stage_one_corpora, stages 5-6 through the tool calls it makes with a stand-in python
(as tests/integration/test_recipe_stages.py): stage one trains on the union with its statistics,
stage two on the audio-visual set with the stage-one model's normalisation, and an exp dir is never
reused with other corpora. Seconds; the recipe itself runs in test_stage_one_corpora.py."""

import os
import shutil
import subprocess
import sys

import pytest
from tests.support.paths import RECIPE, REPO_ROOT

STAND_IN = f"""#!/usr/bin/env bash
echo "$*" >> calls.log
case "$2" in
  espnet2_ext.utils.model_file) mkdir -p "$3"; touch "$3/m.pth"; echo "$3/m.pth" ;;
  espnet2_ext.bin.system_needs|espnet2_ext.utils.config|espnet2_ext.bin.data_args|espnet2_ext.bin.prepare_stage_one_corpora)
    PYTHONPATH={REPO_ROOT} exec {sys.executable} "$@" ;;
  espnet2_ext.bin.fit_lip_reader) echo "x INFO done in 1 s" ;;
esac
"""
CORPORA = "opencpop:/corpora/Opencpop,m4singer:/corpora/m4singer"
RECORD = "opencpop=opencpop:/corpora/Opencpop m4singer=m4singer:/corpora/m4singer"


@pytest.fixture
def recipe(tmp_path):
    dst = tmp_path / "svs1"
    shutil.copytree(RECIPE, dst, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    (dst / "python").write_text(STAND_IN)
    (dst / "python").chmod(0o755)
    for dset in ("train", "dev", "train_stage_one"):
        (dst / "dump" / "raw" / dset).mkdir(parents=True)
        (dst / "dump" / "raw" / dset / "text").write_text("u1 a\nu2 b\n")
    (dst / "exp" / "lip_pretrain").mkdir(parents=True)
    (dst / "exp" / "lip_pretrain" / "lip_encoder.pth").write_text("")
    (dst / "exp" / "lip_pretrain" / ".done").write_text("")  # stage 5 leaves lip-reading pretraining out
    return dst


def svs(recipe, *opts, ok=True):
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO_ROOT))
    p = subprocess.run(["./svs.sh", "--python", "./python", "--test_sets", "test test_ood", *opts], cwd=recipe, env=env, capture_output=True, text=True, timeout=600)
    assert (p.returncode == 0) is ok, p.stdout[-3000:] + p.stderr[-3000:]
    calls = (recipe / "calls.log").read_text().splitlines() if (recipe / "calls.log").exists() else []
    (recipe / "calls.log").unlink(missing_ok=True)
    return p.stdout + p.stderr, calls


def test_stage_one_on_the_union_stage_two_on_train_with_stage_ones_normalisation(recipe):
    out, calls = svs(recipe, "--stage", "5", "--stop_stage", "6", "--stage_one_corpora", CORPORA)
    one, two = [c for c in calls if "espnet2_ext.bin.visual_svs_train" in c]
    assert "dump/raw/train_stage_one/text,text,text" in one and "dump/raw/train/" not in one
    assert "--train_shape_file exp/svs_stats_raw_phn_stage_one/train/singing_shape" in one
    assert "stats_file=exp/svs_stats_raw_phn_stage_one/train/feats_stats.npz" in one
    assert "--valid_data_path_and_name_and_type dump/raw/dev/text,text,text" in one
    assert "--token_list dump/token_list_stage_one/phn/tokens.txt" in one and "--token_list" in two
    assert "dump/raw/train/lip.scp,lip,npy" in two and "train_stage_one" not in two.split("--normalize_conf")[1]
    assert "--train_shape_file exp/svs_stats_raw_phn/train/singing_shape" in two
    # the stage-one statistics come last: they are the ones the trainer keeps
    assert two.rindex("stats_file=") == two.index("stats_file=exp/svs_stats_raw_phn_stage_one/train/feats_stats.npz")
    assert (recipe / "exp" / "stage_one_corpora").read_text().strip() == RECORD
    assert "on train_stage_one" in out


def test_a_system_that_does_not_start_from_stage_one_keeps_its_normalisation(recipe):
    _, calls = svs(recipe, "--stage", "6", "--stop_stage", "6", "--stage_one_corpora", CORPORA,
                   "--train_config", "conf/train_hpmdubbing.yaml")
    (two,) = [c for c in calls if "espnet2_ext.bin.visual_svs_train" in c]
    assert "svs_stats_raw_phn_stage_one" not in two and "stats_file=exp/svs_stats_raw_phn/train/feats_stats.npz" in two


def test_an_exp_dir_is_never_reused_with_other_corpora(recipe):
    svs(recipe, "--stage", "5", "--stop_stage", "5", "--stage_one_corpora", CORPORA)
    out, _ = svs(recipe, "--stage", "6", "--stop_stage", "6", ok=False)
    assert f"holds systems of --stage_one_corpora '{RECORD}', not ''" in out
    out, _ = svs(recipe, "--stage", "6", "--stop_stage", "6", "--stage_one_corpora", "opencpop:/corpora/Opencpop", ok=False)
    assert "pass another --expdir" in out
    svs(recipe, "--stage", "6", "--stop_stage", "6", "--stage_one_corpora", RECORD.replace(" ", ","))  # the same ones


def test_a_stage_one_trained_without_corpora_is_not_taken_for_one_with_them(recipe):
    svs(recipe, "--stage", "5", "--stop_stage", "5")
    assert (recipe / "exp" / "svs_stylesinger" / ".done").exists() and not (recipe / "exp" / "stage_one_corpora").exists()
    out, _ = svs(recipe, "--stage", "5", "--stop_stage", "5", "--stage_one_corpora", CORPORA, ok=False)
    assert "exp/svs_stylesinger was trained without --stage_one_corpora" in out


def test_bad_corpora_option_stops_before_any_stage(recipe):
    out, calls = svs(recipe, "--stage", "5", "--stop_stage", "5", "--stage_one_corpora", "popcs:/x", ok=False)
    assert "unknown layout 'popcs'" in out and not any("visual_svs_train" in c for c in calls)
