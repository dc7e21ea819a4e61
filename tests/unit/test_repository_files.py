"""What a fresh clone holds: no run output of the recipe (data, dump, exp, downloads) is tracked,
as a file, a directory or a symlink; a tracked symlink there would send `make demo` on a new
machine into a path that does not exist."""

import shutil
import subprocess

import pytest
from tests.support.paths import REPO_ROOT

RUN_OUTPUTS = ("data", "dump", "exp", "downloads")


def _tracked(*paths):
    proc = subprocess.run(["git", "ls-files", "--", *paths], cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode != 0:
        pytest.skip(f"not a git checkout: {proc.stderr.strip()}")
    return proc.stdout.split()


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_no_recipe_run_output_is_tracked():
    recipes = sorted(p for p in (REPO_ROOT / "egs2").glob("*/svs1") if p.is_dir())
    assert recipes, "no egs2/*/svs1 recipe found"
    paths = [str((r / name).relative_to(REPO_ROOT)) for r in recipes for name in RUN_OUTPUTS]
    assert _tracked(*paths) == [], "run outputs are tracked: git rm --cached them (.gitignore lists them)"


@pytest.mark.skipif(shutil.which("git") is None, reason="git not installed")
def test_gitignore_covers_symlinked_run_outputs():
    proc = subprocess.run(["git", "check-ignore", "-q", "--no-index", "egs2/visualsinger/svs1/exp"],
                          cwd=REPO_ROOT, capture_output=True, text=True)
    if proc.returncode == 128:
        pytest.skip(f"not a git checkout: {proc.stderr.strip()}")
    assert proc.returncode == 0, ".gitignore must ignore egs2/*/svs1/exp itself (no trailing slash: a symlink too)"
