"""The project's one home for small file conventions: Kaldi-style tables and atomic writes.

    read_scp(path)            "<utt> <value>" lines -> [(utt, value)], errors name file:line
    read_scp_dict(path)       the same as {utt: value}; a repeated utt is an error
    read_table(path, n)       "<utt> f1 f2 ..." lines (>= n fields) -> {utt: [f1, ...]} or
                              {utt: parse(fields)}; a repeated utt is an error
    atomic_path(path)         context manager: write to a temp file beside ``path``, renamed over
                              it only when the block succeeds (nothing half-written is left)
    atomic_write_text / atomic_json / atomic_torch_save   the common cases of atomic_path
    atomic_dir(path)          the same for a directory: built in ``<path>.tmp``, then renamed
    atomic_ark_scp(ark, scp)  a kaldiio ``ark,scp`` writer whose two files appear only on success

A writer that fails leaves the previous file untouched: every output a stage or a command produces
goes through ``atomic_path``.
"""

import contextlib
import json
import logging
import os
import shutil
from pathlib import Path
from typing import Any, Callable, Dict, Iterable, Iterator, List, Optional, Tuple, Union

PathLike = Union[str, os.PathLike]


def _scp_rows(path: Path) -> Iterator[Tuple[int, str, str]]:
    """(line number, utt, value) of every non-blank ``<utt> <value>`` line; ValueError naming file:line."""
    with open(path, encoding="utf-8") as f:
        for no, line in enumerate(f, start=1):
            if not line.strip():
                continue
            parts = line.strip().split(maxsplit=1)
            if len(parts) != 2:
                raise ValueError(f"{path}:{no}: expected '<utt> <value>', got {line.rstrip()!r}")
            yield no, parts[0], parts[1]


def read_scp(path: PathLike) -> List[Tuple[str, str]]:
    """``<utt> <value>`` lines -> [(utt, value)] in file order; ValueError naming file:line."""
    return [(utt, value) for _, utt, value in _scp_rows(Path(path))]


def _unique(path: Path, rows: Iterable[Tuple[int, str, Any]]) -> Dict[str, Any]:
    """(line, key, value) rows -> {key: value}; a key given twice is a ValueError naming both lines."""
    out: Dict[str, Any] = {}
    first_line: Dict[str, int] = {}
    for no, key, value in rows:
        if key in out:
            raise ValueError(f"{path}:{no}: '{key}' already given on line {first_line[key]}")
        out[key] = value
        first_line[key] = no
    return out


def read_scp_dict(path: PathLike) -> Dict[str, str]:
    """``<utt> <value>`` lines -> {utt: value}; a key given twice is a ValueError naming both lines."""
    path = Path(path)
    return _unique(path, _scp_rows(path))


def read_table(path: PathLike, min_fields: int = 2,
               parse: Optional[Callable[[List[str]], Any]] = None) -> Dict[str, Any]:
    """``<utt> f1 f2 ...`` lines (at least ``min_fields`` fields with the utt) -> {utt: [f1, ...]}.

    ``parse`` turns each line's fields after the utt into its value; a ValueError it raises comes
    back naming the file and line. A repeated utt is a ValueError naming both lines.
    """
    path = Path(path)

    def rows() -> Iterator[Tuple[int, str, Any]]:
        with open(path, encoding="utf-8") as f:
            for no, line in enumerate(f, start=1):
                parts = line.split()
                if not parts:
                    continue
                if len(parts) < min_fields:
                    raise ValueError(f"{path}:{no}: expected at least {min_fields} fields, got {line.strip()!r}")
                if parse is None:
                    yield no, parts[0], parts[1:]
                    continue
                try:
                    yield no, parts[0], parse(parts[1:])
                except ValueError as e:
                    raise ValueError(f"{path}:{no}: {e}") from None

    return _unique(path, rows())


@contextlib.contextmanager
def atomic_path(path: PathLike, suffix: str = "") -> Iterator[Path]:
    """Yield a temporary path beside ``path``; on success it replaces ``path``, on error it is removed.

    ``suffix`` keeps an extension on the temporary name for writers that infer the format from it
    (``soundfile``, ``cv2.imwrite``, ``np.save``): ``atomic_path("a.wav", ".wav")`` -> ``a.tmp.wav``.
    """
    path = Path(path)
    tmp = path.with_name(f"{path.stem if suffix else path.name}.tmp{os.getpid()}{suffix}")
    try:
        yield tmp
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            tmp.unlink()


@contextlib.contextmanager
def atomic_dir(path: PathLike) -> Iterator[Path]:
    """Yield an empty directory ``<path>.tmp``; on success it replaces ``path`` (an existing ``path``
    is removed only then), on error it is removed and ``path`` stays as it was."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    if tmp.exists():  # left by a killed run
        shutil.rmtree(tmp)
    tmp.mkdir(parents=True)
    try:
        yield tmp
        if path.exists():
            logging.info("replacing %s", path)
            shutil.rmtree(path)
        os.replace(tmp, path)
    finally:
        if tmp.exists():
            shutil.rmtree(tmp)


@contextlib.contextmanager
def atomic_ark_scp(ark: PathLike, scp: PathLike) -> Iterator[Callable]:
    """A ``kaldiio.WriteHelper`` (``writer(utt, array)``) into temporary files beside ``ark`` and
    ``scp``; when the block succeeds the ark is renamed, then the scp, which names the final ark."""
    import kaldiio

    ark, scp = Path(ark), Path(scp)
    with atomic_path(scp) as scp_tmp, atomic_path(ark, ark.suffix) as ark_tmp:
        with kaldiio.WriteHelper(f"ark,scp:{ark_tmp},{scp_tmp}") as writer:
            yield writer
        text = scp_tmp.read_text(encoding="utf-8")
        scp_tmp.write_text(text.replace(f"{ark_tmp}:", f"{ark}:"), encoding="utf-8")


def atomic_write_text(path: PathLike, text: str) -> None:
    """Write ``text`` (UTF-8) to ``path`` atomically."""
    with atomic_path(path) as tmp:
        tmp.write_text(text, encoding="utf-8")


def atomic_json(obj, path: PathLike, indent: int = 1) -> None:
    """``json.dump(obj)`` to ``path`` atomically (non-ASCII kept as is)."""
    with atomic_path(path) as tmp:
        with open(tmp, "w", encoding="utf-8") as f:
            json.dump(obj, f, indent=indent, ensure_ascii=False)


def atomic_torch_save(obj, path: PathLike) -> None:
    """``torch.save(obj)`` to ``path`` atomically."""
    import torch

    with atomic_path(path) as tmp:
        torch.save(obj, tmp)
