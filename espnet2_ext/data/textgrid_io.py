"""Praat TextGrid reading and writing through praatio, with errors that name the file and line.

    <utt>.TextGrid --read_textgrid--> {tier name: [Interval(xmin, xmax, text, line), ...]}
    [(name, [(xmin, xmax, text), ...]), ...] --write_textgrid--> <utt>.TextGrid (long format)

praatio parses both of Praat's text formats (long and short, UTF-8 or UTF-16). It does not keep
where an interval stood in the file, which the corpus checks need to point a user at a bad
boundary, so ``_interval_lines`` finds the line of every interval's text: in the long format the
``text = "..."`` lines in order, in the short format the quoted label after each interval's two
times. Point tiers are skipped.
"""

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

from praatio import textgrid as _tg
from praatio.utilities.errors import PraatioException

from espnet2_ext.utils.fileio import atomic_path

_QUOTED = re.compile(r'^\s*(?:text = )?"((?:[^"]|"")*)"\s*$')
_LONG_TIER = re.compile(r'^\s*class = "(\w+)"')


class TextGridError(ValueError):
    """A TextGrid that cannot be parsed or lacks a required tier."""


@dataclass(frozen=True)
class Interval:
    xmin: float
    xmax: float
    text: str
    line: int  # 1-based line of the interval's text in the file (0 when not known)


def _decode(path: Path) -> str:
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TextGridError(f"{path}: cannot read TextGrid ({e})") from e
    for enc in ("utf-8-sig", "utf-16"):
        try:
            return raw.decode(enc)
        except UnicodeDecodeError:
            continue
    raise TextGridError(f"{path}: not UTF-8/UTF-16 text")


def _interval_lines(text: str) -> List[Tuple[int, List[int]]]:
    """Per interval tier: (declared number of intervals, 1-based lines of the interval texts found)."""
    lines = text.splitlines()
    tiers: List[Tuple[int, List[int]]] = []
    if any(line.strip().startswith("item [") for line in lines):  # long format
        cls = None
        for no, line in enumerate(lines, start=1):
            m = _LONG_TIER.match(line)
            if m:
                cls = m.group(1)
                if cls == "IntervalTier":
                    tiers.append((-1, []))
            elif cls == "IntervalTier" and line.strip().startswith("intervals: size ="):
                tiers[-1] = (int(float(line.split("=")[1])), tiers[-1][1])
            elif cls == "IntervalTier" and line.strip().startswith("text = "):
                tiers[-1][1].append(no)
        return tiers
    # Short format: a tier is "IntervalTier" "name" xmin xmax n, then n x (xmin xmax "label").
    values = [(no, line.strip()) for no, line in enumerate(lines, start=1) if line.strip()]
    k = 0
    while k < len(values):
        if values[k][1] == '"IntervalTier"' and k + 4 < len(values):
            n = int(float(values[k + 4][1]))
            start = k + 5
            tiers.append((n, [values[start + 3 * j + 2][0] for j in range(n) if start + 3 * j + 2 < len(values)]))
            k = start + 3 * n
        else:
            k += 1
    return tiers


def read_textgrid(path: Union[str, Path]) -> Dict[str, List[Interval]]:
    """Read the interval tiers of a TextGrid: {tier name: [Interval, ...]}.

    Raises TextGridError naming the file when it is not a TextGrid praatio can read.
    """
    path = Path(path)
    text = _decode(path)
    if "ooTextFile" not in text[:200] or "TextGrid" not in text[:200]:
        raise TextGridError(f"{path}: not a Praat TextGrid (missing 'ooTextFile'/'TextGrid' header)")
    try:
        tg = _tg.openTextgrid(str(path), includeEmptyIntervals=True, reportingMode="silence")
    except (PraatioException, ValueError, IndexError, UnicodeError) as e:
        raise TextGridError(f"{path}: cannot parse TextGrid ({type(e).__name__}: {e})") from e
    line_tiers = _interval_lines(text)
    tiers: Dict[str, List[Interval]] = {}
    k = 0
    for name in tg.tierNames:
        tier = tg.getTier(name)
        if not isinstance(tier, _tg.IntervalTier):
            continue
        declared, lines = line_tiers[k] if k < len(line_tiers) else (-1, [])
        k += 1
        if declared >= 0 and len(lines) != declared:
            raise TextGridError(f"{path}: tier {name!r} declares {declared} intervals but the file holds "
                                f"{len(lines)} (truncated or hand-edited?)")
        entries = tier.entries
        if len(lines) != len(entries):  # praatio filled gaps, or the layout is unusual
            lines = [0] * len(entries)
        tiers[name] = [Interval(float(e.start), float(e.end), e.label, ln) for e, ln in zip(entries, lines)]
    return tiers


def write_textgrid(path: Union[str, Path], tiers: Sequence[Tuple[str, Sequence[Tuple[float, float, str]]]],
                   xmax: float) -> None:
    """Write interval tiers [(name, [(xmin, xmax, text), ...]), ...] as a long-format TextGrid, atomically."""
    tg = _tg.Textgrid(minTimestamp=0.0, maxTimestamp=float(xmax))
    for name, items in tiers:
        entries = [(round(float(a), 6), round(float(b), 6), t) for a, b, t in items]
        tg.addTier(_tg.IntervalTier(name, entries, 0.0, float(xmax)))
    with atomic_path(path, ".TextGrid") as tmp:
        tg.save(str(tmp), format="long_textgrid", includeBlankSpaces=True, reportingMode="silence")
