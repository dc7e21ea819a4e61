"""Praat TextGrid reading and writing (long "ooTextFile" format in, long or short format read).

    <utt>.TextGrid --read_textgrid--> {tier name: [Interval(xmin, xmax, text, line), ...]}
    [(name, [(xmin, xmax, text), ...]), ...] --write_textgrid--> <utt>.TextGrid (long format)

The reader tokenises the file (quoted strings and numbers, skipping keys such as ``xmin =`` and
``intervals [3]:``), which covers both of Praat's text formats, and remembers the line of every
interval so that errors can point at it.
"""

import os
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Dict, List, Sequence, Tuple, Union

_TOKEN = re.compile(r'"((?:[^"]|"")*)"|(\[\s*\d+\s*\])|([-+]?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?)|(<exists>|<absent>)')


class TextGridError(ValueError):
    """A TextGrid that cannot be parsed or lacks a required tier."""


@dataclass(frozen=True)
class Interval:
    xmin: float
    xmax: float
    text: str
    line: int  # 1-based line of the interval's text in the file (0 when not read from a file)


def _tokens(text: str) -> List[Tuple[object, int]]:
    out = []
    for lineno, line in enumerate(text.splitlines(), start=1):
        for m in _TOKEN.finditer(line):
            if m.group(1) is not None:
                out.append((m.group(1).replace('""', '"'), lineno))
            elif m.group(3) is not None:
                out.append((float(m.group(3)), lineno))
            elif m.group(4) is not None:
                out.append((m.group(4), lineno))
    return out


def read_textgrid(path: Union[str, Path]) -> Dict[str, List[Interval]]:
    """Read the interval tiers of a TextGrid; point tiers are skipped.

    Raises TextGridError naming the file (and line) when the file is not a TextGrid.
    """
    path = Path(path)
    try:
        raw = path.read_bytes()
    except OSError as e:
        raise TextGridError(f"{path}: cannot read TextGrid ({e})") from e
    for enc in ("utf-8-sig", "utf-16"):
        try:
            text = raw.decode(enc)
            break
        except UnicodeDecodeError:
            continue
    else:
        raise TextGridError(f"{path}: not UTF-8/UTF-16 text")
    toks = _tokens(text)
    pos = 0

    def take(kind, what):
        nonlocal pos
        if pos >= len(toks):
            raise TextGridError(f"{path}: unexpected end of file while reading {what}")
        val, line = toks[pos]
        if kind is str and not isinstance(val, str) or kind is float and not isinstance(val, float):
            raise TextGridError(f"{path}:{line}: expected {what}, got {val!r}")
        pos += 1
        return val, line

    if len(toks) < 2 or toks[0][0] != "ooTextFile" or toks[1][0] != "TextGrid":
        raise TextGridError(f"{path}: not a Praat TextGrid (missing 'ooTextFile'/'TextGrid' header)")
    pos = 2
    take(float, "xmin")
    take(float, "xmax")
    flag, line = take(str, "<exists>")
    if flag != "<exists>":
        return {}
    n_tiers, _ = take(float, "number of tiers")
    tiers: Dict[str, List[Interval]] = {}
    for _ in range(int(n_tiers)):
        cls, line = take(str, "tier class")
        name, _ = take(str, "tier name")
        take(float, "tier xmin")
        take(float, "tier xmax")
        n, _ = take(float, "number of intervals")
        items = []
        for _ in range(int(n)):
            if cls == "IntervalTier":
                a, _ = take(float, "interval xmin")
                b, _ = take(float, "interval xmax")
                t, tl = take(str, "interval text")
                items.append(Interval(a, b, t, tl))
            elif cls == "TextTier":
                take(float, "point time")
                take(str, "point mark")
            else:
                raise TextGridError(f"{path}:{line}: unknown tier class {cls!r}")
        if cls == "IntervalTier":
            if name in tiers:
                raise TextGridError(f"{path}:{line}: duplicate tier {name!r}")
            tiers[name] = items
    return tiers


def _fmt(x: float) -> str:
    return repr(round(float(x), 6))


def textgrid_text(tiers: Sequence[Tuple[str, Sequence[Tuple[float, float, str]]]], xmax: float) -> str:
    """Long-format TextGrid text of interval tiers [(name, [(xmin, xmax, text), ...]), ...]."""
    out = ['File type = "ooTextFile"', 'Object class = "TextGrid"', "", "xmin = 0", f"xmax = {_fmt(xmax)}",
           "tiers? <exists>", f"size = {len(tiers)}", "item []:"]
    for i, (name, items) in enumerate(tiers, start=1):
        out += [f"    item [{i}]:", '        class = "IntervalTier"', f'        name = "{name}"',
                "        xmin = 0", f"        xmax = {_fmt(xmax)}", f"        intervals: size = {len(items)}"]
        for j, (a, b, t) in enumerate(items, start=1):
            t = t.replace('"', '""')
            out += [f"        intervals [{j}]:", f"            xmin = {_fmt(a)}", f"            xmax = {_fmt(b)}",
                    f'            text = "{t}"']
    return "\n".join(out) + "\n"


def write_textgrid(path: Union[str, Path], tiers, xmax: float) -> None:
    """Write a long-format TextGrid atomically (temp file + rename)."""
    path = Path(path)
    tmp = path.with_name(path.name + ".tmp")
    tmp.write_text(textgrid_text(tiers, xmax), encoding="utf-8")
    os.replace(tmp, path)
