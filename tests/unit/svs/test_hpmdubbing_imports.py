"""The hpmdubbing package and its modules import one another without a cycle, counting an import
*from the package itself* (``from espnet2_ext.svs.hpmdubbing import x``) as depending on the
package's ``__init__``, which loads the model module; and each module imports first in a fresh
interpreter, with ``needs`` still torch-free."""

import ast
import os
import subprocess
import sys
from pathlib import Path
from typing import Dict, Set

import pytest
from tests.support.paths import REPO_ROOT

PACKAGE = "espnet2_ext.svs.hpmdubbing"
PACKAGE_DIR = REPO_ROOT / PACKAGE.replace(".", "/")


def _module(path: Path) -> str:
    return PACKAGE if path.stem == "__init__" else f"{PACKAGE}.{path.stem}"


def strict_graph() -> Dict[str, Set[str]]:
    """Module -> the package's modules it names in any import, at any depth of its body. ``from P
    import n`` depends on P (its ``__init__`` runs and may load more), and on ``P.n`` when that is a
    module."""
    modules = {_module(p): p for p in PACKAGE_DIR.glob("*.py")}
    graph = {}
    for name, path in modules.items():
        deps: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                deps.add(node.module)
                deps.update(f"{node.module}.{a.name}" for a in node.names)
        graph[name] = {d for d in deps if d in modules and d != name}
    return graph


def _reaches(graph: Dict[str, Set[str]], start: str, goal: str) -> bool:
    seen, todo = set(), [start]
    while todo:
        node = todo.pop()
        if node == goal:
            return True
        if node not in seen:
            seen.add(node)
            todo.extend(graph[node])
    return False


def test_the_package_loads_the_model_module_and_nothing_imports_back():
    graph = strict_graph()
    assert f"{PACKAGE}.hpmdubbing" in graph[PACKAGE]  # the lazy ``HPMDubbing`` attribute
    cyclic = sorted(m for m in graph for d in graph[m] if _reaches(graph, d, m))
    assert cyclic == [], f"import cycle through {cyclic}: {graph}"


@pytest.mark.parametrize("first", ["", ".hpmdubbing", ".needs", ".length"])
def test_each_module_imports_first_in_a_fresh_interpreter(first):
    code = (
        "import importlib, sys\n"
        f"importlib.import_module('{PACKAGE}{first}')\n"
        "torch_loaded = 'torch' in sys.modules\n"
        f"from {PACKAGE} import HPMDubbing\n"
        "needs = HPMDubbing.needs({})\n"
        "assert needs.reads_lips and not needs.two_stage, needs\n"
        "print(torch_loaded)\n"
    )
    env = dict(os.environ, OMP_NUM_THREADS="1")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO_ROOT, env=env, capture_output=True, text=True)
    assert out.returncode == 0, out.stderr[-2000:]
    if first in ("", ".needs"):  # what the recipe asks about a config imports without torch
        assert out.stdout.strip().splitlines()[-1] == "False"
