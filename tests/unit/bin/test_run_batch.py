"""run_batch: one process runs a tool's main over every line of an args file, and stops at the first failure."""

import logging
import sys

import pytest

from espnet2_ext.bin.run_batch import main, read_args_file

TOOL = '''
import json, sys
CALLS = []
def main(argv):
    CALLS.append(argv)
    if argv and argv[0] == "--fail":
        sys.exit(int(argv[1]))
    if argv and argv[0] == "--return":
        return int(argv[1])
    if argv and argv[0] == "--raise":
        raise RuntimeError("boom")
'''


@pytest.fixture
def tool(tmp_path, monkeypatch):
    (tmp_path / "batch_tool_fixture.py").write_text(TOOL)
    monkeypatch.syspath_prepend(str(tmp_path))
    sys.modules.pop("batch_tool_fixture", None)
    import batch_tool_fixture

    yield batch_tool_fixture
    sys.modules.pop("batch_tool_fixture", None)


def write(tmp_path, text):
    p = tmp_path / "jobs.args"
    p.write_text(text)
    return str(p)


def test_every_line_in_order_with_shell_quoting(tool, tmp_path):
    args = write(tmp_path, "--in a.scp --out 'dir with space'\n\n# a comment\n--in b.scp --out x\\ y\n")
    assert main(["--module", "batch_tool_fixture", "--args_file", args]) == 0
    assert tool.CALLS == [["--in", "a.scp", "--out", "dir with space"], ["--in", "b.scp", "--out", "x y"]]


@pytest.mark.parametrize("bad, status", [("--fail 3", 3), ("--return 2", 2), ("--fail 1", 1)])
def test_the_first_failure_stops_the_batch_and_names_the_line(tool, tmp_path, caplog, bad, status):
    args = write(tmp_path, f"--ok 1\n{bad}\n--ok 2\n")
    with caplog.at_level(logging.ERROR):
        assert main(["--module", "batch_tool_fixture", "--args_file", args]) == status
    assert tool.CALLS == [["--ok", "1"], bad.split()]  # the line after the failure never ran
    assert f"{args}:2" in caplog.text


def test_an_exception_names_the_line_and_propagates(tool, tmp_path, caplog):
    args = write(tmp_path, "--raise\n")
    with caplog.at_level(logging.ERROR), pytest.raises(RuntimeError, match="boom"):
        main(["--module", "batch_tool_fixture", "--args_file", args])
    assert f"{args}:1" in caplog.text


def test_an_unbalanced_quote_is_an_error_naming_file_and_line(tmp_path):
    args = write(tmp_path, "--ok 1\n--out 'open\n")
    with pytest.raises(ValueError, match=r"jobs\.args:2"):
        read_args_file(args)
    assert main(["--module", "json", "--args_file", args]) == 1


def test_a_module_without_main_is_refused(tmp_path, caplog):
    args = write(tmp_path, "--x\n")
    with caplog.at_level(logging.ERROR):
        assert main(["--module", "json", "--args_file", args]) == 1
    assert "main(argv)" in caplog.text
