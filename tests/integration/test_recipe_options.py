"""The recipe's option parsing (utils/parse_options.sh), job backends (cmd.sh) and every
helper's --help, run as subprocesses from temporary directories."""

import os
import shutil

import pytest

from tests.support.paths import RECIPE, REPO_ROOT
from tests.support.shell import UTILS, run, write


# ------------------------------------------------------------------ parse_options.sh
CALLER = """#!/usr/bin/env bash
set -euo pipefail
foo_bar=default
flag=false
help_message="usage: caller.sh [options] <arg>"
. "{utils}/parse_options.sh"
echo "foo_bar=${{foo_bar}} flag=${{flag}} rest=$*"
"""


@pytest.fixture
def caller(tmp_path):
    script = tmp_path / "caller.sh"
    write(script, CALLER.format(utils=UTILS))
    script.chmod(0o755)
    return script


def test_parse_options_sets_variables(caller, tmp_path):
    p = run([caller, "--foo-bar", "x y", "--flag", "true", "pos1", "--not-an-option"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=x y flag=true rest=pos1 --not-an-option"
    p = run([caller, "--foo_bar=7", "--", "--x"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=7 flag=false rest=--x"


def test_parse_options_rejects_unknown_and_bad_bool(caller, tmp_path):
    p = run([caller, "--no-such", "1"], tmp_path, check=False)
    assert "--no-such" in p.stderr and "no_such" in p.stderr
    assert p.stdout == ""
    p = run([caller, "--flag", "maybe"], tmp_path, check=False)
    assert "true or false" in p.stderr
    p = run([caller, "--foo-bar"], tmp_path, check=False)
    assert "missing value" in p.stderr


def test_parse_options_config_and_help(caller, tmp_path):
    write(tmp_path / "c.conf", "# comment\nfoo_bar=from_conf\nflag=true\n")
    p = run([caller, "--config", "c.conf", "a"], tmp_path, check=True)
    assert p.stdout.strip() == "foo_bar=from_conf flag=true rest=a"
    # the command line wins over the config, wherever --config appears
    p = run([caller, "--foo-bar", "cli", "--config", "c.conf"], tmp_path, check=True)
    assert p.stdout.strip().startswith("foo_bar=cli flag=true")
    write(tmp_path / "bad.conf", "foo_bar=1\nunknown_var=2\n")
    p = run([caller, "--config", "bad.conf"], tmp_path, check=False)
    assert "bad.conf:2" in p.stderr and "unknown_var" in p.stderr
    p = run([caller, "--help"], tmp_path, check=True)
    assert "usage: caller.sh" in p.stderr and p.stdout == ""


# ------------------------------------------------------------------ cmd.sh
@pytest.mark.parametrize("backend,runner", [("local", "run.pl"), ("stdout", "stdout.pl"), ("slurm", "slurm.pl")])
def test_cmd_sh_backends(backend, runner):
    p = run(["bash", "-c", f'cmd_backend={backend}; . ./cmd.sh; echo "$train_cmd|$cuda_cmd|$decode_cmd"; '
             "command -v run.pl"], RECIPE, check=True)
    cmds = p.stdout.splitlines()[0].split("|")
    assert all(c.split()[0] == runner for c in cmds)
    assert p.stdout.splitlines()[1] == str(UTILS / "run.pl")
    p = run(["bash", "-c", "cmd_backend=nope; . ./cmd.sh"], RECIPE, check=False)
    assert "nope" in p.stderr


def test_all_utils_have_help():
    for name in ["run.pl", "slurm.pl", "stdout.pl", "split_scp.pl", "utt2spk_to_spk2utt.pl",
                 "spk2utt_to_utt2spk.pl", "filter_scp.pl", "shuffle_list.pl", "validate_data_dir.sh",
                 "fix_data_dir.sh", "combine_data.sh", "copy_data_dir.sh", "subset_data_dir.sh",
                 "parse_options.sh"]:
        f = UTILS / name
        assert os.access(f, os.X_OK), name
        p = run([f, "--help"], RECIPE)
        assert p.returncode == 0 and len(p.stdout + p.stderr) > 40, name


# ------------------------------------------------------------------ svs.sh: diagnostics and --test_sets
@pytest.fixture
def recipe_copy(tmp_path):
    dst = tmp_path / "svs1"
    shutil.copytree(RECIPE, dst, ignore=shutil.ignore_patterns("data", "dump", "exp", "downloads"))
    return dst


def _files(d):
    return sorted(str(p.relative_to(d)) for p in d.rglob("*"))


def _options_only(recipe, *opts):
    """./run.sh with no stage to run (--stage 10 --stop_stage 0): the option checks alone."""
    before = _files(recipe)
    p = run(["./run.sh", "--stage", "10", "--stop_stage", "0", *opts], recipe,
            env={"ESPNET2_EXT_ROOT": str(REPO_ROOT)})
    assert _files(recipe) == before  # nothing written
    return p


def test_default_diagnostics_follow_the_test_sets(recipe_copy):
    p = _options_only(recipe_copy, "--test_sets", "mine")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "Error" not in p.stdout + p.stderr
    for line in ("--extra_decode_sets: default test test_ood dropped", "--ref_settings: default 2 3 4 dropped",
                 "--lip_controls: default shuffle swap dropped"):
        assert f"{line}: needs a set not in --test_sets (mine)" in p.stdout
    # with test but not test_ood, what needs test_ood alone is dropped (setting 4 draws voices from it)
    p = _options_only(recipe_copy, "--test_sets", "test mine")
    assert p.returncode == 0, p.stdout + p.stderr
    assert "--extra_decode_sets: default test_ood dropped" in p.stdout
    assert "--ref_settings: default 4 dropped" in p.stdout and "--lip_controls" not in p.stdout
    p = _options_only(recipe_copy)  # run.sh's own test sets: nothing dropped
    assert p.returncode == 0 and "dropped" not in p.stdout, p.stdout + p.stderr


@pytest.mark.parametrize("opts, error", [
    (["--extra_decode_sets", "test"], "--extra_decode_sets: test is not in --test_sets (mine)"),
    (["--ref_settings", "2"], "--ref_settings: 2 needs test in --test_sets (mine)"),
    (["--lip_controls", "swap"], "--lip_controls: swap needs test in --test_sets (mine)"),
])
def test_diagnostics_the_user_asked_for_need_their_sets(recipe_copy, opts, error):
    p = _options_only(recipe_copy, "--test_sets", "mine", *opts)
    assert p.returncode != 0
    errors = [ln for ln in (p.stdout + p.stderr).splitlines() if "Error" in ln]
    assert len(errors) == 1 and errors[0].endswith(f"Error: {error}"), p.stdout + p.stderr


def test_diagnostics_from_a_config_file_are_the_users_too(recipe_copy):
    write(recipe_copy / "my.conf", 'ref_settings="2 4"\n')
    p = _options_only(recipe_copy, "--config", "my.conf", "--test_sets", "test mine")
    assert p.returncode != 0
    assert "Error: --ref_settings: 4 needs test_ood in --test_sets (test mine)" in p.stdout
    p = _options_only(recipe_copy, "--config", "my.conf", "--test_sets", "test test_ood")
    assert p.returncode == 0 and "dropped" not in p.stdout, p.stdout + p.stderr
