"""An alignment path -> timed units of the song (phones, rests), and a song's alignment result.

    state path (T,) through the song's Graph --hmm.path_segments--> units with frame spans
      --times: a boundary between frames j - 1 and j lies at (j - 0.5) * 10 ms (the song's first unit
        starts at 0, its last ends with the audio)--> AlignedUnit(phone, line, syllable, kind, st, et)
    optional rests the path skipped do not appear
  --shift_rest_edges: each start of a phone after a silence (SP) later by ``onset`` s, each end of a
    phone before one earlier by ``offset`` s (the 25 ms analysis window hears a note before it starts
    and after it ends, so the frames put silences short; the shifts are chosen on the development
    songs, docs/annotate.md "Rest edges")
"""

from dataclasses import dataclass
from typing import List

import numpy as np

from espnet2_ext.annotate.audio import FRAME_S
from espnet2_ext.annotate.hmm import Graph, path_segments


@dataclass
class AlignedUnit:
    phone: str  # phone, or "SP" / "AP" for a rest
    line: int  # lyric line index (-1 for rests)
    syllable: int  # syllable index over the song (-1 for rests)
    kind: str  # "phone", "inner", "gap", "edge"
    st: float
    et: float
    first: int  # frame span [first, end)
    end: int
    score: float = 0.0  # mean log posterior of its frames (confidence; 0 when not computed)

    @property
    def is_rest(self) -> bool:
        return self.line < 0


def units_from_path(path: np.ndarray, g: Graph, duration: float) -> List[AlignedUnit]:
    """The units the path visits, with times (module docstring)."""
    out = []
    for ui, a, b in path_segments(path, g):
        u = g.units[ui]
        st = 0.0 if a == 0 else (a - 0.5) * FRAME_S
        et = duration if b == len(path) else (b - 0.5) * FRAME_S
        out.append(AlignedUnit(u.phone, u.line, u.syllable, u.kind, st, min(et, duration), a, b))
    out[-1].et = duration
    return out


def unit_scores(units: List[AlignedUnit], path: np.ndarray, g: Graph, log_post: np.ndarray) -> None:
    """Set each unit's score: the mean log posterior of its path columns over its frames."""
    cols = g.column[path]
    lp = log_post[np.arange(len(path)), cols]
    for u in units:
        u.score = float(lp[u.first:u.end].mean()) if u.end > u.first else 0.0


MIN_UNIT_S = 0.01  # s: a shift leaves every phone at least this long
REST_ONSET_SHIFT = 0.01  # s; both chosen on the development songs (bench/sweep_cut_pad.py --shifts): the
REST_OFFSET_SHIFT = 0.01  # s; lowest mean boundary error that kept every line whole (tied with 12 / 8 ms)


def shift_rest_edges(units: List[AlignedUnit], onset: float, offset: float) -> List[AlignedUnit]:
    """Give the silences back what the analysis window took: a phone after SP starts ``onset`` s later,
    a phone before SP ends ``offset`` s earlier (in place; capped so that no phone gets shorter than
    MIN_UNIT_S). Breaths (AP) keep their edges: they are not silent."""
    for a, c in zip(units[:-1], units[1:]):
        if a.phone == "SP" and not c.is_rest and onset > 0:
            b = min(a.et + onset, max(a.et, c.et - MIN_UNIT_S))
        elif c.phone == "SP" and not a.is_rest and offset > 0:
            b = max(c.st - offset, min(c.st, a.st + MIN_UNIT_S))
        else:
            continue
        a.et = c.st = round(b, 6)
    return units
