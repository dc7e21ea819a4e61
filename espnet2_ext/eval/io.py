"""Readers for decode directories and reference dump directories (see docs/data_contract.md).

    decode dir: wav.scp, feats.scp, durations, f0.scp, attn/<utt>.npy
    ref dump:   wav.scp, label, score.scp, pitch.scp, spembs.scp, lip.scp, ref_utt (every decode set: <utt> <reference utt>, the utterance itself in setting 1), ref_wav.scp
"""

import json
import os
from pathlib import Path
from typing import Dict, List, Optional

import numpy as np


def read_table(path, min_fields: int = 2) -> Dict[str, List[str]]:
    """``<utt> field ...`` lines -> {utt: [fields]}; errors name the file and line."""
    out: Dict[str, List[str]] = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            parts = line.split()
            if not parts:
                continue
            if len(parts) < min_fields:
                raise ValueError(f"{path}:{lineno}: expected at least {min_fields} fields, got {line.strip()!r}")
            if parts[0] in out:
                raise ValueError(f"{path}:{lineno}: duplicate utterance {parts[0]}")
            out[parts[0]] = parts[1:]
    return out


def read_scp(path) -> Dict[str, str]:
    """``<utt> <path or ark spec>`` -> {utt: value}."""
    out = {}
    with open(path, encoding="utf-8") as f:
        for lineno, line in enumerate(f, 1):
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{lineno}: expected '<utt> <path>', got {line.strip()!r}")
            out[parts[0]] = parts[1]
    return out


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


def label_phones(fields: List[str]) -> List[str]:
    return [x for i, x in enumerate(fields) if i % 3 == 2]
