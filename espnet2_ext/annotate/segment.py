"""Cut an aligned song into utterances of whole lyric lines (docs/annotate.md, "Utterances").

    aligned units of the song --each lyric line's sung span (first phone start, last phone end)-->
      cut between two lines where the aligned rest between them lasts >= ``min_rest`` (300 ms);
      a stretch longer than ``max_seconds`` is cut at its longest rest between lines (recursively);
      a stretch shorter than ``min_seconds`` joins the neighbour it is closer to (the shorter rest),
      when the two together stay within ``max_seconds``
      --utterance [first line start - pad (+ CLOSURE_PAD before a stop or affricate), last line end +
        pad], each end moved to the nearest video frame boundary (1/25 s) that keeps >= 20 ms of rest
        beside the singing and is not past the middle of the rest (the audio and the video of an
        utterance start on the same frame)-->
      Utterance(lines, start, end)
    an utterance's units: the song's units clipped to its span, times from its start
"""

from dataclasses import dataclass, field
from typing import Dict, List, Sequence, Tuple

import numpy as np

from espnet2_ext.annotate.align import AlignedUnit

VIDEO_FPS = 25.0
PAD = 0.02  # s of rest before the first and after the last line of an utterance: of the pads that kept every
# line of the development songs whole, the one with the most cuts within 100 ms (tied with 30 ms: the smaller;
# bench/sweep_cut_pad.py, docs/annotate.md "Rest edges and cut pad")
EDGE_MARGIN = 0.02  # s of rest kept at least between a cut and the singing
CLOSURE_PAD = 0.04  # s more before a line that starts with a stop or affricate: its closure is silent and
# the audio cannot place its start (the aligner tends to start it at the burst)
CLOSURE_INITIALS = ("b", "p", "d", "t", "g", "k", "z", "c", "zh", "ch", "j", "q")


@dataclass
class Utterance:
    lines: List[int]  # lyric line indices (consecutive)
    start: float
    end: float
    problems: List[str] = field(default_factory=list)

    @property
    def duration(self) -> float:
        return self.end - self.start


def line_first_phones(units: Sequence[AlignedUnit]) -> Dict[int, str]:
    out: Dict[int, str] = {}
    for u in units:
        if not u.is_rest:
            out.setdefault(u.line, u.phone)
    return out


def line_spans(units: Sequence[AlignedUnit]) -> Dict[int, Tuple[float, float]]:
    """{line index: (first phone start, last phone end)} of the aligned units."""
    out: Dict[int, Tuple[float, float]] = {}
    for u in units:
        if u.is_rest:
            continue
        st, et = out.get(u.line, (u.st, u.et))
        out[u.line] = (min(st, u.st), max(et, u.et))
    return out


def group_lines(spans: Sequence[Tuple[float, float]], min_rest: float = 0.3, min_seconds: float = 2.0,
                max_seconds: float = 15.0, pad: float = PAD) -> List[List[int]]:
    """Line indices grouped into utterances (module docstring); spans in song order."""
    n = len(spans)
    gaps = [spans[i + 1][0] - spans[i][1] for i in range(n - 1)]

    def length(group):
        return spans[group[-1]][1] - spans[group[0]][0] + 2 * pad

    groups, cur = [], [0]
    for i in range(1, n):
        if gaps[i - 1] >= min_rest:
            groups.append(cur)
            cur = []
        cur.append(i)
    groups.append(cur)
    out: List[List[int]] = []
    todo = list(groups)
    while todo:  # split the long stretches at their longest rest between lines
        g = todo.pop(0)
        if length(g) > max_seconds and len(g) > 1:
            k = max(range(len(g) - 1), key=lambda j: gaps[g[j]])
            todo[:0] = [g[:k + 1], g[k + 1:]]
        else:
            out.append(g)
    merged = True
    while merged:  # join the short ones to the neighbour across the shorter rest
        merged = False
        for k, g in enumerate(out):
            if length(g) >= min_seconds:
                continue
            options = []
            if k > 0 and length(out[k - 1] + g) <= max_seconds:
                options.append((gaps[g[0] - 1], k - 1))
            if k + 1 < len(out) and length(g + out[k + 1]) <= max_seconds:
                options.append((gaps[g[-1]], k + 1))
            if options:
                _, j = min(options)
                a, b = sorted((j, k))
                out[a:b + 1] = [out[a] + out[b]]
                merged = True
                break
    return out


def _snap(t: float, lo: float, hi: float) -> float:
    """The video frame boundary nearest ``t`` within [lo, hi]; the other neighbour when the nearest is
    out of range; ``t`` itself when both are."""
    down = np.floor(round(t * VIDEO_FPS, 6)) / VIDEO_FPS
    up = np.ceil(round(t * VIDEO_FPS, 6)) / VIDEO_FPS
    for c in sorted((down, up), key=lambda c: abs(c - t)):
        if lo - 1e-9 <= c <= hi + 1e-9:
            return float(c)
    return t


def cut_song(units: Sequence[AlignedUnit], duration: float, min_rest: float = 0.3, min_seconds: float = 2.0,
             max_seconds: float = 15.0, pad: float = PAD) -> List[Utterance]:
    """The song's utterances (module docstring); problems name what breaks the 2-15 s rule."""
    spans_d = line_spans(units)
    firsts = line_first_phones(units)
    lines = sorted(spans_d)
    spans = [spans_d[i] for i in lines]
    out = []
    groups = group_lines(spans, min_rest, min_seconds, max_seconds, pad)
    for gi, g in enumerate(groups):
        first, last = spans[g[0]], spans[g[-1]]
        prev_end = spans[groups[gi - 1][-1]][1] if gi > 0 else 0.0
        next_start = spans[groups[gi + 1][0]][0] if gi + 1 < len(groups) else duration
        lo = (prev_end + first[0]) / 2 if gi > 0 else 0.0
        hi = (last[1] + next_start) / 2 if gi + 1 < len(groups) else duration
        start = max(lo, first[0] - pad - (CLOSURE_PAD if firsts[lines[g[0]]] in CLOSURE_INITIALS else 0.0))
        end = min(hi, last[1] + pad)
        start = _snap(start, lo, max(lo, first[0] - EDGE_MARGIN))
        end = _snap(end, min(hi, last[1] + EDGE_MARGIN), hi)
        utt = Utterance([lines[i] for i in g], max(0.0, start), min(duration, end))
        if utt.duration < min_seconds:
            utt.problems.append(f"{utt.duration:.2f} s, under {min_seconds:g} s (no neighbour to join within "
                                f"{max_seconds:g} s)")
        if utt.duration > max_seconds:
            utt.problems.append(f"{utt.duration:.2f} s, over {max_seconds:g} s (a single line: kept whole)")
        out.append(utt)
    return out


def utterance_units(units: Sequence[AlignedUnit], utt: Utterance) -> List[AlignedUnit]:
    """The song's units inside ``utt``, clipped to it, times relative to its start; consecutive rests
    of one label merged."""
    out: List[AlignedUnit] = []
    for u in units:
        st, et = max(u.st, utt.start), min(u.et, utt.end)
        if et - st <= 1e-6:
            continue
        if not u.is_rest and u.line not in utt.lines:
            raise ValueError(f"phone {u.phone} of line {u.line} crosses the cut at "
                             f"{utt.start:.3f}-{utt.end:.3f} s")
        label = u.phone
        v = AlignedUnit(label, u.line, u.syllable, u.kind, st - utt.start, et - utt.start, u.first, u.end, u.score)
        if out and v.is_rest and out[-1].is_rest and out[-1].phone == v.phone:
            out[-1].et = v.et
            continue
        out.append(v)
    out[0].st = 0.0
    out[-1].et = utt.end - utt.start
    return out
