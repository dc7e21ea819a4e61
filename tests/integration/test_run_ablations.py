"""local/run_ablations.sh against a fake run.sh: every system and seed trained, one scoring
afterwards, the reference settings decoded by seed 0 of each system, failures named, bad options
refused."""

import pytest

from tests.support.paths import RECIPE
from tests.support.shell import run, write


FAKE_RUN_SH = r"""#!/usr/bin/env bash
# records its arguments; stage 6 marks <expdir>/<name>/.done unless the config is listed in FAIL
echo "$*" >> calls.txt
conf="" tag="" stage="" expdir=exp
while [ $# -gt 0 ]; do
    case "$1" in
        --train_config) conf=$2; shift 2 ;;
        --expdir) expdir=$2; shift 2 ;;
        --tag) tag=$2; shift 2 ;;
        --stage) stage=$2; shift 2 ;;
        *) shift ;;
    esac
done
[ "${stage}" = 6 ] || exit 0
name=$(basename "${conf}" .yaml); name=svs_${name#train_}
[ -n "${tag}" ] && name=svs_${tag}
case " ${FAIL:-} " in *" ${conf} "*) exit 1 ;; esac
mkdir -p "${expdir}/${name}" && sleep 0.2 && touch "${expdir}/${name}/.done"
"""


def _ablation_dir(tmp_path):
    write(tmp_path / "run.sh", FAKE_RUN_SH)
    (tmp_path / "run.sh").chmod(0o755)
    for s in ("a", "b", "stylesinger"):  # stylesinger: the default --stage_one_system
        write(tmp_path / "conf" / f"train_{s}.yaml", "svs: performsinger\n")
    (tmp_path / "local").mkdir()
    script = tmp_path / "local" / "run_ablations.sh"
    script.write_text((RECIPE / "local" / "run_ablations.sh").read_text())
    script.chmod(0o755)
    return script


def test_run_ablations_trains_every_system_and_seed_then_scores_them_once(tmp_path):
    script = _ablation_dir(tmp_path)
    run([script, "--systems", "a b", "--seeds", "0 3", "--jobs", "2", "--ref_settings", ""], tmp_path, check=True)
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    train = [c for c in calls if "--stage 6" in c]
    assert len(train) == 4 and all("--train_nthreads 1" in c for c in train)
    assert sum("--tag a_seed3 --train_args --seed 3 --lip_reader_fit_args --seed 3" in c for c in train) == 1
    assert sum("--tag" not in c and "conf/train_b.yaml" in c for c in train) == 1  # seed 0: the default name
    score = [c for c in calls if "--stage 7" in c]
    assert len(score) == 1 and calls[-1] == score[0]
    assert "--decode_systems svs_a svs_a_seed3 svs_b svs_b_seed3" in score[0]
    assert "--ref_settings  " in score[0]  # the tables' decodes: setting 1 only


def test_run_ablations_decodes_the_reference_settings_with_seed_zero_of_each_system(tmp_path):
    """By default (settings 2-4): stage 4 makes the sets, each system's seed 0 decodes them as the
    system of --train_config (run.sh gives the extra sets to that one only), then one scoring."""
    script = _ablation_dir(tmp_path)
    run([script, "--systems", "a b", "--seeds", "0 1"], tmp_path, check=True)
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    tables = next(i for i, c in enumerate(calls) if "--stage 7 --stop_stage 8" in c)
    after = calls[tables + 1:]
    assert len(after) == 4
    assert "--stage 4 --stop_stage 4 --ref_settings 2 3 4" in after[0]
    assert "--stage 7 --stop_stage 7 --train_config conf/train_a.yaml --decode_systems svs_a --ref_settings 2 3 4" in after[1]
    assert "--stage 7 --stop_stage 7 --train_config conf/train_b.yaml --decode_systems svs_b --ref_settings 2 3 4" in after[2]
    assert "--stage 8 --stop_stage 8 --decode_systems svs_a svs_b --ref_settings 2 3 4" in after[3]
    assert all("--stage_one_config conf/train_stylesinger.yaml" in c for c in after)


def test_run_ablations_trains_the_stage_one_system_from_scratch_for_other_seeds(tmp_path):
    """The baseline over seeds: seed k of the stage-one system is stage 5's training with seed k, not
    a stage two started from stage 5's model; two-stage systems start every seed from that model."""
    script = _ablation_dir(tmp_path)
    run([script, "--systems", "a b", "--seeds", "0 1", "--stage_one_system", "a"], tmp_path, check=True)
    train = [c for c in (tmp_path / "calls.txt").read_text().splitlines() if "--stage 6" in c]
    scratch = [c for c in train if "--init_from_stage_one false" in c]
    assert len(scratch) == 1 and "--tag a_seed1" in scratch[0]
    assert all("--stage_one_config conf/train_a.yaml" in c for c in train)


def test_run_ablations_expdir_holds_every_training_and_the_scoring(tmp_path):
    script = _ablation_dir(tmp_path)
    run([script, "--systems", "a", "--seeds", "0 2", "--expdir", "exp_other"], tmp_path, check=True)
    assert (tmp_path / "exp_other" / "svs_a_seed2" / ".done").is_file() and not (tmp_path / "exp").exists()
    calls = (tmp_path / "calls.txt").read_text().splitlines()
    assert all("--expdir exp_other" in c for c in calls) and "--stage 8" in calls[-1]


def test_run_ablations_names_failed_trainings_and_does_not_score(tmp_path):
    script = _ablation_dir(tmp_path)
    p = run([script, "--systems", "a b", "--seeds", "0 1"], tmp_path, env={"FAIL": "conf/train_b.yaml"}, check=False)
    assert "stage 6 failed for svs_b svs_b_seed1" in p.stdout + p.stderr
    called = (tmp_path / "calls.txt").read_text()
    assert "--stage 7" not in called and "--stage 4" not in called


@pytest.mark.parametrize("args,msg", [(["--jobs", "0"], "--jobs"), (["--systems", "zz"], "conf/train_zz.yaml"),
                                      (["--systems", "a", "--seeds", "x"], "--seeds"), (["--bogus", "1"], "unknown option"),
                                      (["--systems", "a", "--stage_one_system", "zz"], "conf/train_zz.yaml"),
                                      (["--systems", "a", "--ref_settings", "1 2"], "--ref_settings")])
def test_run_ablations_rejects_bad_options(tmp_path, args, msg):
    script = _ablation_dir(tmp_path)
    p = run([script] + args, tmp_path, check=False)
    assert msg in p.stdout + p.stderr and not (tmp_path / "calls.txt").exists()


def test_run_ablations_help_lists_its_defaults(tmp_path):
    script = _ablation_dir(tmp_path)
    p = run([script, "--help"], tmp_path, check=True)
    assert '--seeds "0 1 2"' in p.stdout and "--jobs 2" in p.stdout and '--ref_settings "2 3 4"' in p.stdout
    assert not (tmp_path / "calls.txt").exists()
