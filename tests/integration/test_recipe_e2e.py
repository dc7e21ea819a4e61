"""The recipe end to end (stages 1-8) on a tiny demo corpus with one-epoch trainings.

This checks the plumbing between stages (file formats, markers, job splitting, model loading,
decoding, scoring), not the quality of the models.
"""

import json
import os
import re
import shutil
import subprocess
from pathlib import Path

import pytest
from tests.support.fusion_plugin import write_fusion_plugin
from tests.support.paths import REPO_ROOT

pytestmark = pytest.mark.slow

REPO = REPO_ROOT
RECIPE = REPO / "egs2" / "visualsinger" / "svs1"


@pytest.fixture(scope="module")
def recipe_copy(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    dst = root / "svs1"
    shutil.copytree(RECIPE, dst, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    lip_conf, n = re.subn(r"(?m)^epochs: \d+", "epochs: 1", (dst / "conf" / "lip_pretrain.yaml").read_text())
    assert n == 1, "conf/lip_pretrain.yaml has no 'epochs:' line"
    (dst / "conf" / "lip_pretrain_test.yaml").write_text(lip_conf)
    fit_conf, n = re.subn(r"(?m)^epochs: \d+", "epochs: 1", (dst / "conf" / "lip_reader_fit.yaml").read_text())
    assert n == 1, "conf/lip_reader_fit.yaml has no 'epochs:' line"
    (dst / "conf" / "lip_reader_fit_test.yaml").write_text(fit_conf)
    return dst


def _run(recipe, *args, timeout=2400, pythonpath=None):
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO), OMP_NUM_THREADS="1")
    if pythonpath is not None:
        env["PYTHONPATH"] = os.pathsep.join(p for p in (str(pythonpath), os.environ.get("PYTHONPATH")) if p)
    cmd = ["./run.sh", *args]
    proc = subprocess.run(cmd, cwd=recipe, env=env, capture_output=True, text=True, timeout=timeout)
    if proc.returncode != 0:
        raise AssertionError(f"{' '.join(cmd)} failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}")
    return proc.stdout


def test_all_stages_on_a_tiny_corpus(recipe_copy):
    out = _run(
        recipe_copy, "--stage", "1", "--stop_stage", "8", "--nj", "2",
        "--local_data_opts", "--demo_utts_per_singer 4 --demo_ood_utts_per_singer 2 "
        "--demo_newlyrics_utts_per_singer 1 --demo_newlyrics_ood_utts 2",
        "--train_args", "--max_epoch 1 --batch_size 4",
        "--lip_pretrain_config", "conf/lip_pretrain_test.yaml",
        "--lip_reader_fit_config", "conf/lip_reader_fit_test.yaml",
        "--ref_settings", "3", "--lip_controls", "shuffle", "--num_plots", "1",
    )
    exp = recipe_copy / "exp"
    for system in ("svs_stylesinger", "svs_performsinger"):
        assert (exp / system / "valid.loss_synth.best.pth").exists(), system
        assert (exp / system / "images" / "loss.png").exists(), f"{system}: training curves not plotted"
    assert (exp / "svs_performsinger" / "lip_reader" / "lip_reader.pth").exists(), "head not fitted before stage two"
    assert "Stage two initialised from" in (exp / "svs_performsinger" / "train.log").read_text()
    lip_log = (exp / "lip_pretrain" / "train.log").read_text()
    assert lip_log.count("epoch 1:") == 1, "lip pretraining log lines written twice"
    assert (exp / "score_cache").is_dir() and list((exp / "score_cache").glob("*.npz"))
    test_dir = exp / "svs_performsinger" / "decode_fast_griffin_lim" / "test"  # conf/decode_fast.yaml, run.sh's vocoder
    assert test_dir.is_dir(), "no decode dir for svs_performsinger"
    wavs = [l for l in (test_dir / "wav.scp").read_text().splitlines() if l]
    assert wavs and all(Path(l.split()[1]).exists() for l in wavs)
    assert list((test_dir / "video").glob("*.mp4")), "no dubbed video"
    scores = json.loads((test_dir / "scores.json").read_text())
    for key in ("mcd", "mcd_no_c0", "ffe", "cos", "lse_c", "lse_d", "dur_mae_frames", "boundary_hit_40ms",
                "boundary_hit_40ms_all"):
        assert key in scores
    assert scores["dur_mae_frames"] is not None and scores["mcd"] is not None
    assert scores["mcd_no_c0"] is not None and scores["boundary_hit_40ms_all"] is not None
    assert scores["timing"] == "lipreader"
    _check_references(recipe_copy / "dump" / "raw")
    # stages 2-3: job j of a tool is one process over split j of all six sets
    batches = recipe_copy / "dump" / "raw" / "logs"
    for tool in ("audio/extract_dvector", "lip/extract_lip_roi"):
        assert len((batches / f"{tool}.1.args").read_text().splitlines()) == 6, tool
        assert "6 invocation(s)" in (batches / f"{tool}.1.log").read_text(), tool
    _check_extra_rows(exp, test_dir)
    assert scores["lse_c"] is None and "SyncNet" in scores["lse_c_reason"]
    # stage 7: the performsinger sets, up to 4 in one process (test, test_ood, test_newlyrics,
    # test_newlyrics_ood, then test_ref3, test_lipshuffle)
    decode_log = (test_dir / "logs" / "decode.1.log").read_text()
    # --inference_model auto: the trainer's average of the best checkpoints
    assert "--model_file exp/svs_performsinger/valid.loss_synth.ave.pth" in decode_log
    for first, dsets in (("test", ("test_ood", "test_newlyrics", "test_newlyrics_ood")),
                         ("test_ref3", ("test_lipshuffle",))):
        log = (test_dir.parent / first / "logs" / "decode.1.log").read_text()
        for dset in dsets:
            assert f"dump/raw/{dset}/text" in log, f"{dset} not decoded by {first}'s process"
            assert (test_dir.parent / dset / ".done").exists()
            assert not (test_dir.parent / dset / "logs" / "decode.1.log").exists()
    # stage 8: one scoring process per --nj job, each dir's lines in its own logs/score.log
    assert len((exp / "score_jobs.txt").read_text().splitlines()) == 2
    assert "wrote " in (test_dir / "logs" / "score.log").read_text()
    assert "test_ood" not in (test_dir / "logs" / "score.log").read_text()
    results = (exp / "RESULTS.md").read_text()
    assert "svs_performsinger" in results and "svs_stylesinger" in results
    assert "Successfully finished" in out

    # stage 9: the stage-two system packed; perform loads it from outside the recipe dir
    _run(recipe_copy, "--stage", "9", "--stop_stage", "9")
    pack = exp / "svs_performsinger" / "packed" / "performsinger.zip"
    outside = recipe_copy.parent / "outside"
    outside.mkdir()
    # the first utterance whose phones the tiny corpus's token list has (held-out ones first)
    tokens = set((recipe_copy / "dump" / "token_list" / "phn" / "tokens.txt").read_text().split())
    data, utt = next((recipe_copy / "data" / dset, ln.split()[0]) for dset in ("test_ood", "test", "train")
                     for ln in (recipe_copy / "data" / dset / "text").read_text().splitlines()
                     if set(ln.split()[1:]) <= tokens)
    video = dict(ln.split(maxsplit=1) for ln in (data / "video.scp").read_text().splitlines())[utt]
    wav = dict(ln.split(maxsplit=1) for ln in (data / "wav.scp").read_text().splitlines())[utt]
    score = json.loads((data / "score" / f"{utt}.json").read_text())["note"]
    lyrics = " ".join(n[2] for n in score[1:-1])
    notes = " ".join(str(n[3]) for n in score if n[3] > 0)
    proc = subprocess.run([str(REPO / ".venv" / "bin" / "python"), "-m", "espnet2_ext.bin.perform", "--model", str(pack),
                           "--video", video, "--reference", wav, "--lyrics", lyrics, "--notes", notes, "--out", "."],
                          cwd=outside, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert f"sung video: {outside / utt}.mp4" in proc.stdout and (outside / f"{utt}.TextGrid").is_file()

    # re-entering a finished stage skips it through its .done marker
    again = _run(recipe_copy, "--stage", "5", "--stop_stage", "6")
    assert "exists: skipping" in again


def test_a_fusion_ablation_is_a_module_an_entry_point_and_a_config(recipe_copy, tmp_path):
    """A fusion defined outside the package (tests/support/fusion_plugin.py: one module, one entry
    point line) and a config stating only ``fusion: tiny`` train and decode through stages 6-8 of
    the corpus the test above prepared."""
    plugin = write_fusion_plugin(tmp_path / "plugin")
    conf = recipe_copy / "conf" / "train_tiny_fusion.yaml"
    conf.write_text("base_config: train_performsinger.yaml\nsvs_conf:\n    fusion: tiny\n")
    out = _run(
        recipe_copy, "--stage", "6", "--stop_stage", "8", "--nj", "2", "--train_config", "conf/train_tiny_fusion.yaml",
        "--train_args", "--max_epoch 1 --batch_size 4",
        "--lip_pretrain_config", "conf/lip_pretrain_test.yaml",
        "--lip_reader_fit_config", "conf/lip_reader_fit_test.yaml",
        "--ref_settings", "3", "--lip_controls", "shuffle",  # the decode sets stage 4 prepared above
        pythonpath=plugin,
    )
    exp = recipe_copy / "exp" / "svs_tiny_fusion"
    assert (exp / "valid.loss_synth.best.pth").exists()
    assert "fusion: tiny" in (exp / "config.yaml").read_text()
    assert "TinyFusion(" in (exp / "train.log").read_text(), "the plugin's module was not the model's fusion"
    test_dir = exp / "decode_fast_griffin_lim" / "test"
    wavs = [l for l in (test_dir / "wav.scp").read_text().splitlines() if l]
    assert wavs and all(Path(l.split()[1]).exists() for l in wavs)
    scores = json.loads((test_dir / "scores.json").read_text())
    assert scores["mcd"] is not None and scores["timing"] == "lipreader"
    assert "| svs_tiny_fusion |" in (recipe_copy / "exp" / "RESULTS.md").read_text()
    assert "Successfully finished" in out


def _check_references(dump):
    """Every decode set names its reference recording per utterance (setting 1: its own)."""
    for dset in ("test", "test_ood", "test_newlyrics", "test_newlyrics_ood", "test_lipshuffle"):
        refs = dict(line.split() for line in (dump / dset / "ref_utt").read_text().splitlines())
        assert refs and all(u == r for u, r in refs.items()), dset
        assert (dump / dset / "ref_wav.scp").read_text() == (dump / dset / "wav.scp").read_text(), dset
    refs = dict(line.split() for line in (dump / "test_ref3" / "ref_utt").read_text().splitlines())
    wavs = dict(line.split() for line in (dump / "test" / "wav.scp").read_text().splitlines())
    ref_wavs = dict(line.split() for line in (dump / "test_ref3" / "ref_wav.scp").read_text().splitlines())
    assert all(r.split("_")[0] != u.split("_")[0] and ref_wavs[u] == wavs[r] for u, r in refs.items())
    train = {line.split()[0] for line in (dump / "train" / "text").read_text().splitlines()}
    new = {line.split()[0] for line in (dump / "test_newlyrics" / "text").read_text().splitlines()}
    assert new and all("_nl" in u for u in new) and not new & train
    ood = {line.split()[0].split("_")[0] for line in (dump / "test_newlyrics_ood" / "text").read_text().splitlines()}
    assert ood == {"singerG"}


def _check_extra_rows(exp, test_dir):
    """The paper's duration-predictor rows, the fusion control and the new-lyrics sets in RESULTS.md."""
    tag = test_dir.parent.name
    pred_dir = exp / "svs_performsinger" / "decode_predictor_griffin_lim"
    control_dir = exp / "svs_stylesinger" / f"{tag}_timing_of_svs_performsinger"
    assert sorted(p.name for p in pred_dir.iterdir() if p.is_dir()) == ["test", "test_ood"]  # --extra_decode_sets
    for dset in ("test", "test_ood"):
        assert json.loads((pred_dir / dset / "scores.json").read_text())["timing"] == "predictor", dset
        # the stage-one model sang with the stage-two system's durations
        durations = (control_dir / dset / "durations").read_text()
        assert durations == (test_dir.parent / dset / "durations").read_text(), dset
        assert json.loads((control_dir / dset / "scores.json").read_text())["timing"].startswith("fixed:")
    for dset in ("test", "test_ood", "test_newlyrics", "test_newlyrics_ood"):
        for system in ("svs_performsinger", "svs_stylesinger", "gt"):
            assert (exp / system / tag / dset / "scores.json").exists(), (system, dset)
    assert not (exp / "svs_stylesinger" / "decode_predictor_griffin_lim").exists()  # no video: one path
    results = (exp / "RESULTS.md").read_text()
    assert "| svs_performsinger | decode_predictor_griffin_lim | duration predictor | test |" in results
    assert f"| svs_performsinger | {tag} | lip-reading heads | test_newlyrics |" in results
    assert f"| svs_stylesinger | {tag}_timing_of_svs_performsinger | fixed: svs_performsinger/{tag} | test |" in results


@pytest.mark.parametrize("opt", ["--decode_sets_per_job", "--decode_nj", "--nj"])
def test_recipe_rejects_non_positive_job_counts(recipe_copy, opt):
    env = dict(os.environ, ESPNET2_EXT_ROOT=str(REPO))
    proc = subprocess.run(["./run.sh", "--stage", "7", "--stop_stage", "7", opt, "0"], cwd=recipe_copy, env=env,
                          capture_output=True, text=True, timeout=120)
    assert proc.returncode != 0
    assert f"{opt} must be a positive integer, got '0'" in proc.stdout + proc.stderr
