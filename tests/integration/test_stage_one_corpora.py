"""--stage_one_corpora through the recipe (stages 1-5, one epoch): audio-only songs of extra singers
in the Opencpop and M4Singer layouts join stage one's training set, and nothing else."""

import os
import shutil
import subprocess

import pytest
import yaml

from espnet2_ext.data.demo_corpus import make_audio_only_corpus
from tests.support.paths import REPO_ROOT, RECIPE

pytestmark = pytest.mark.slow


def _run(recipe, *args, check=True):
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO_ROOT), OMP_NUM_THREADS="1")
    proc = subprocess.run(["./run.sh", *args], cwd=recipe, env=env, capture_output=True, text=True, timeout=2400)
    if check and proc.returncode != 0:
        raise AssertionError(f"run.sh {' '.join(args)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc


def _keys(path):
    return [line.split()[0] for line in path.read_text().splitlines()]


def test_stage_one_trains_on_the_union_and_stage_two_data_stays_audio_visual(tmp_path):
    recipe = tmp_path / "svs1"
    shutil.copytree(RECIPE, recipe, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    cpop, m4 = tmp_path / "cpop", tmp_path / "m4"
    make_audio_only_corpus(cpop, "opencpop", utts_per_singer=2, fs=16000)
    make_audio_only_corpus(m4, "m4singer", singers=["singerI"], utts_per_singer=2, fs=24000)
    out = _run(recipe, "--stage", "1", "--stop_stage", "5", "--nj", "2",
               "--stage_one_corpora", f"opencpop:{cpop} m4singer:{m4}",
               "--local_data_opts", "--demo_utts_per_singer 3 --demo_ood_utts_per_singer 1 "
               "--demo_newlyrics_utts_per_singer 1 --demo_newlyrics_ood_utts 1",
               "--test_sets", "test test_ood", "--ref_settings", "", "--lip_controls", "",
               "--lip_pretrain", "false", "--train_args", "--max_epoch 1 --batch_size 4").stdout
    data, dump, exp = recipe / "data", recipe / "dump" / "raw", recipe / "exp"

    # stage 1: each corpus's training utterances, new speakers, no video; the union with train
    cpop_utts, m4_utts, av = _keys(data / "opencpop_train" / "text"), _keys(data / "m4singer_train" / "text"), \
        _keys(data / "train" / "text")
    assert len(cpop_utts) == 2 and len(m4_utts) == 2
    assert set(_keys(data / "opencpop_train" / "spk2utt")) == {"opencpop"}
    assert set(_keys(data / "m4singer_train" / "spk2utt")) == {"m4singer-singerI"}
    assert not (data / "opencpop_train" / "video.scp").exists()
    assert sorted(_keys(data / "train_stage_one" / "text")) == sorted(av + cpop_utts + m4_utts)
    # stage 2 processed the new sets (a d-vector each), stage 3 only the audio-visual ones
    for dset in ("opencpop_train", "m4singer_train"):
        assert _keys(dump / dset / "spembs.scp") == _keys(data / dset / "text"), dset
        assert not (dump / dset / "lip.scp").exists() and not (dump / dset / ".lip.done").exists(), dset
    assert (dump / "train" / "lip.scp").exists()
    assert sorted(_keys(dump / "train_stage_one" / "spembs.scp")) == sorted(av + cpop_utts + m4_utts)
    # stage 4: the token list has the phones of every corpus
    tokens = set((recipe / "dump" / "token_list_stage_one" / "phn" / "tokens.txt").read_text().split())
    union_phones = {p for line in (dump / "train_stage_one" / "text").read_text().splitlines() for p in line.split()[1:]}
    assert union_phones <= tokens
    assert not (recipe / "dump" / "token_list").exists()
    # stage 5: stage one trained on the union, validated on the audio-visual dev
    conf = yaml.safe_load((exp / "svs_stylesinger" / "config.yaml").read_text())
    train_dirs = {os.path.dirname(p) for p, *_ in conf["train_data_path_and_name_and_type"]}
    valid_dirs = {os.path.dirname(p) for p, *_ in conf["valid_data_path_and_name_and_type"]}
    assert train_dirs == {"dump/raw/train_stage_one"} and valid_dirs == {"dump/raw/dev"}
    assert conf["normalize_conf"]["stats_file"] == "exp/svs_stats_raw_phn_stage_one/train/feats_stats.npz"
    assert conf["token_list"][-1] == "<sos/eos>" and set(conf["token_list"]) == tokens
    assert (exp / "svs_stylesinger" / "valid.loss_synth.best.pth").exists()
    assert "on train_stage_one" in out
    # the audio-visual statistics (stage two's shapes) are still of train alone
    assert sorted(_keys(exp / "svs_stats_raw_phn" / "train" / "singing_shape")) == sorted(av)

    # the exp dir now belongs to these corpora: a run without them (or with others) stops
    proc = _run(recipe, "--stage", "5", "--stop_stage", "5", check=False)
    assert proc.returncode != 0 and "holds systems of --stage_one_corpora" in proc.stdout + proc.stderr
