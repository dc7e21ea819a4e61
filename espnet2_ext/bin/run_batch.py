#!/usr/bin/env python3
"""Run one command-line tool over several argument lines in one process (imports and models load once).

    python -m espnet2_ext.bin.run_batch --module espnet2_ext.bin.extract_dvector --args_file dvector.1.args

    <args_file>: one invocation per line, shell-quoted (shlex); blank lines and lines starting with
    '#' are skipped  --> <module>.main(argv) of each line, in order

A recipe job over many small sets spends most of its time starting Python and importing torch,
librosa or the face mesh (3-4 s per process here, against 0.03 s per utterance of d-vectors): stages
2 and 3 give each job one process for all its sets this way. The tool's main must take an argv
list. The first line that fails (a non-zero exit status or return value, or an exception) stops the
batch with an error naming the args file and the line, and that status; the lines before it have
written their outputs, the lines after it are not run.
"""

import argparse
import importlib
import logging
import shlex
import sys
from typing import List, Tuple


def read_args_file(path: str) -> List[Tuple[int, List[str]]]:
    """[(line number, argv)] of an args file; a line shlex cannot split is a ValueError naming it."""
    out = []
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            try:
                out.append((n, shlex.split(line)))
            except ValueError as e:
                raise ValueError(f"{path}:{n}: cannot split the arguments ({e}): {line.rstrip()}") from e
    return out


def _status(code) -> int:
    """Exit status of a main's return value or SystemExit code (None and 0: success)."""
    if code is None:
        return 0
    if isinstance(code, int):  # sys.exit(True) / sys.exit(False): status 1 / 0, as Python exits
        return int(code)
    print(code, file=sys.stderr)  # sys.exit("message"): the message, status 1
    return 1


def main(argv=None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--module", required=True, help="importable module with main(argv), e.g. espnet2_ext.bin.format_wav")
    p.add_argument("--args_file", required=True, help="one invocation's arguments per line")
    a = p.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    try:
        lines = read_args_file(a.args_file)
    except (OSError, ValueError) as e:
        logging.error("%s", e)
        return 1
    try:
        tool = importlib.import_module(a.module).main
    except (ImportError, AttributeError) as e:
        logging.error("--module %s: not a module with a main(argv) (%s)", a.module, e)
        return 1
    for n, args in lines:
        logging.info("%s:%d: %s %s", a.args_file, n, a.module, shlex.join(args))
        try:
            status = _status(tool(args))
        except SystemExit as e:
            status = _status(e.code)
        except Exception:
            logging.error("%s:%d: %s raised:", a.args_file, n, a.module)
            raise
        if status != 0:
            logging.error("%s:%d: %s failed with status %d: %s", a.args_file, n, a.module, status, shlex.join(args))
            return status
    logging.info("%s: %d invocation(s) of %s done", a.args_file, len(lines), a.module)
    return 0


if __name__ == "__main__":
    sys.exit(main())
