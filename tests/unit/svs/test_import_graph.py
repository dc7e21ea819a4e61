"""No import cycle inside espnet2_ext/svs, counting the imports inside functions too (a cycle
hidden behind a function-level import is still a cycle; aligner.py and vcfm.py once had one)."""

import ast
from pathlib import Path
from typing import Dict, List, Set

from tests.support.paths import REPO_ROOT

PACKAGE = "espnet2_ext.svs"


def _module_name(path: Path, root: Path) -> str:
    parts = list(path.relative_to(root).with_suffix("").parts)
    if parts[-1] == "__init__":
        parts = parts[:-1]
    return ".".join(parts)


def import_graph(root: Path) -> Dict[str, Set[str]]:
    """Module -> the modules of PACKAGE it imports anywhere in its body (parent packages that an
    import of a submodule runs implicitly are left out: they are how packages work, not a cycle)."""
    files = {_module_name(p, root): p for p in (root / PACKAGE.replace(".", "/")).rglob("*.py")}
    graph: Dict[str, Set[str]] = {}
    for name, path in files.items():
        deps: Set[str] = set()
        for node in ast.walk(ast.parse(path.read_text(), str(path))):
            if isinstance(node, ast.Import):
                deps.update(a.name for a in node.names)
            elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
                subs = {f"{node.module}.{a.name}" for a in node.names} & set(files)
                deps.update(subs or {node.module})
        graph[name] = {d for d in deps if d in files and d != name}
    return graph


def cycles(graph: Dict[str, Set[str]]) -> List[List[str]]:
    """Every cycle found by a depth-first search, each as the list of modules on it."""
    found, state, stack = [], {}, []

    def visit(node: str) -> None:
        state[node] = "open"
        stack.append(node)
        for dep in sorted(graph[node]):
            if state.get(dep) == "open":
                found.append(stack[stack.index(dep):] + [dep])
            elif dep not in state:
                visit(dep)
        stack.pop()
        state[node] = "done"

    for node in sorted(graph):
        if node not in state:
            visit(node)
    return found


def test_the_cycle_finder_sees_a_cycle_through_a_function_level_import(tmp_path):
    pkg = tmp_path / PACKAGE.replace(".", "/")
    pkg.mkdir(parents=True)
    for part in (tmp_path / "espnet2_ext", pkg):
        (part / "__init__.py").write_text("")
    (pkg / "a.py").write_text("from espnet2_ext.svs.b import f\n")
    (pkg / "b.py").write_text("def f():\n    from espnet2_ext.svs import a\n    return a\n")
    assert cycles(import_graph(tmp_path)) == [["espnet2_ext.svs.a", "espnet2_ext.svs.b", "espnet2_ext.svs.a"]]


def test_no_import_cycle_in_the_svs_package():
    graph = import_graph(REPO_ROOT)
    assert "espnet2_ext.svs.fusion.vcfm" in graph and graph["espnet2_ext.svs.fusion.vcfm"]
    assert cycles(graph) == []
