"""The command-line modules under espnet2_ext/bin are thin: none imports another one (what two of
them share lives in a library module)."""

import ast
from pathlib import Path

import espnet2_ext

BIN = Path(espnet2_ext.__file__).parent / "bin"
BIN_PACKAGE = "espnet2_ext.bin"


def bin_imports(path: Path) -> list:
    """``(line, imported name)`` of every import of a bin module in one file (absolute or relative)."""
    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"), filename=str(path))):
        if isinstance(node, ast.Import):
            found += [(node.lineno, a.name) for a in node.names if a.name.startswith(BIN_PACKAGE + ".")]
        elif isinstance(node, ast.ImportFrom):
            module = node.module or ""
            if node.level:  # relative to espnet2_ext.bin (level 1) or above
                base = BIN_PACKAGE.rsplit(".", node.level - 1)[0] if node.level > 1 else BIN_PACKAGE
                module = f"{base}.{module}" if module else base
            if module == BIN_PACKAGE:
                found += [(node.lineno, f"{module}.{a.name}") for a in node.names]
            elif module.startswith(BIN_PACKAGE + "."):
                found.append((node.lineno, module))
    return found


def test_the_checker_sees_every_form_of_import(tmp_path):
    p = tmp_path / "x.py"
    p.write_text("import espnet2_ext.bin.a\nfrom espnet2_ext.bin import b\nfrom espnet2_ext.bin.c import f\n"
                 "from . import d\nfrom .e import g\nfrom espnet2_ext.eval import io\nimport espnet2_ext.binx\n"
                 "def h():\n    from espnet2_ext.bin import k\n")
    assert [name for _, name in bin_imports(p)] == [
        "espnet2_ext.bin.a", "espnet2_ext.bin.b", "espnet2_ext.bin.c", "espnet2_ext.bin.d", "espnet2_ext.bin.e",
        "espnet2_ext.bin.k"]


def test_no_bin_module_imports_another():
    files = sorted(p for p in BIN.glob("*.py") if p.name != "__init__.py")
    assert len(files) > 10
    offenders = [f"{p.relative_to(BIN.parent.parent)}:{line}: imports {name}"
                 for p in files for line, name in bin_imports(p)]
    assert not offenders, "\n".join(offenders)
