"""The recipe's option parsing (utils/parse_options.sh), job backends (cmd.sh) and every
helper's --help, run as subprocesses from temporary directories."""

import os

import pytest

from tests.support.paths import RECIPE
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
