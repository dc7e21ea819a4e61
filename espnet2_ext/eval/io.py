"""Readers for decode directories and reference dump directories (see docs/data_contract.md).

    decode dir: wav.scp, feats.scp, durations, f0.scp, attn/<utt>.npy
    ref dump:   wav.scp, label, score.scp, pitch.scp, spembs.scp, lip.scp, ref_utt (every decode set:
                <utt> <reference utt>, the utterance itself in setting 1), ref_wav.scp

Tables are read with utils/fileio.py (read_scp_dict, read_table): errors name the file and line.
"""

import json
import os
from pathlib import Path
from typing import Any, Dict, List, Optional

import numpy as np

from espnet2_ext.utils.fileio import read_scp_dict, read_table


def read_scp_if_file(path: Path) -> Dict[str, str]:
    """``read_scp_dict`` of an optional file: {} when it does not exist."""
    return read_scp_dict(path) if Path(path).is_file() else {}


def read_if_file(path: Path, min_fields: int = 2, parse=None) -> Dict[str, Any]:
    """``read_table`` of an optional file: {} when it does not exist."""
    return read_table(path, min_fields, parse) if Path(path).is_file() else {}


def other_voices(ref_dir: Path) -> Dict[str, str]:
    """{utt: reference utt} of the utterances whose ``ref_utt`` names another one (settings 2-4;
    setting 1 names each utterance itself)."""
    rows = read_if_file(Path(ref_dir) / "ref_utt")
    return {u: v[0] for u, v in rows.items() if v[0] != u}


def float_durations(fields: List[str]) -> np.ndarray:
    """The fields of a decode dir's ``durations`` line (mel frames) as (N,) floats."""
    return np.array([float(x) for x in fields])


def resolve(path: str, base: Path) -> str:
    """A path as written in an scp: absolute, relative to the cwd, or relative to the scp's dir."""
    if os.path.isabs(path) or os.path.exists(path):
        return path
    cand = base / path
    return str(cand) if cand.exists() else path


class OptionalScp:
    """Lazy reader of an optional kaldi-ark scp (None when the file does not exist)."""

    def __init__(self, path: Path):
        self.path = Path(path)
        self._table = None
        if self.path.is_file():
            import kaldiio

            self._table = kaldiio.load_scp(str(self.path))

    def __bool__(self) -> bool:
        return self._table is not None

    def get(self, utt: str) -> Optional[np.ndarray]:
        if self._table is None or utt not in self._table:
            return None
        return np.asarray(self._table[utt])


def read_notes(score_json: str) -> List[tuple]:
    """espnet score json -> [(st, et, midi)] notes."""
    with open(score_json, encoding="utf-8") as f:
        data = json.load(f)
    try:
        return [(float(n[0]), float(n[1]), int(n[3])) for n in data["note"]]
    except (KeyError, IndexError, TypeError, ValueError) as e:
        raise ValueError(f"{score_json}: not an espnet score json ({e})") from e
