"""Reading Kaldi-style ``<utt> <value>`` scp files with errors that name the file and line."""

from pathlib import Path
from typing import List, Tuple


def read_scp(path) -> List[Tuple[str, str]]:
    """``<utt> <value>`` lines -> [(utt, value)]; ValueError naming file:line on bad lines."""
    path = Path(path)
    rows = []
    for no, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2:
            raise ValueError(f"{path}:{no}: expected '<utt> <value>', got {line!r}")
        rows.append((parts[0], parts[1]))
    return rows
