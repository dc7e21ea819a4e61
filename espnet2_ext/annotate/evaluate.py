"""Score an annotated corpus against the truth of the demo songs (data/demo_songs.py).

    CORPUS/segments.tsv + <utt>.TextGrid + <utt>.notes --song times (utterance start + local time)-->
    truth <singer>/<song>.json
      lines whole: each true line lies inside exactly one utterance (its true sung span within the cut)
      cut error: |utterance start - true start of its first line|, |end - true end of its last line|
      line edge error: |aligned first phone start - true|, |aligned last phone end - true|
      phone boundaries: every sung phone's start and end against the truth (phones matched in order,
        line by line); fractions within 20 and 40 ms
      rest edges: the signed error (aligned - true) of the starts of phones that follow a rest in the
        truth (onsets) and of the ends of phones that precede one (offsets); mean in ms
      notes: the MIDI note of every sung syllable against the truth (exact)
"""

from pathlib import Path
from typing import Dict, List, Optional, Sequence

import numpy as np

from espnet2_ext.data.demo_songs import read_song_truth
from espnet2_ext.data.textgrid_io import read_textgrid


def _read_notes(path: Path) -> List[int]:
    return [int(line.split()[1]) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def song_utterances(corpus: Path) -> Dict[str, List[tuple]]:
    """{<singer>/<song>: [(utt, start, end)]} from segments.tsv."""
    out: Dict[str, List[tuple]] = {}
    for line in (Path(corpus) / "segments.tsv").read_text(encoding="utf-8").splitlines():
        u, key, st, et = line.split("\t")
        out.setdefault(key, []).append((u, float(st), float(et)))
    return out


def score_song(corpus: Path, key: str, utts: Sequence[tuple], truth: dict) -> dict:
    """Raw per-song measurements (lists) against one song's truth."""
    singer = key.split("/")[0]
    t_lines = [(x["start"], x["end"]) for x in truth["lines"]]
    t_phones = [p for p in truth["phones"] if p[4] >= 0]
    syl_line = {s: li for s, (_, _, _, _, li) in enumerate(truth["syllables"])}
    t_by_line: Dict[int, List[list]] = {}
    for p in t_phones:
        t_by_line.setdefault(syl_line[p[4]], []).append(p)
    whole = [0] * len(t_lines)
    cut_err, edge_err, bnd_err, notes_ok, onset_err, offset_err = [], [], [], [], [], []
    for u, st, et in utts:
        inside = [li for li, (a, b) in enumerate(t_lines) if a >= st - 1e-6 and b <= et + 1e-6]
        for li in inside:
            whole[li] += 1
        tg = read_textgrid(Path(corpus) / singer / f"{u}.TextGrid")
        notes = _read_notes(Path(corpus) / singer / f"{u}.notes")
        sung = [(iv.xmin + st, iv.xmax + st, iv.text, n) for iv, n in zip(tg["phones"], notes)
                if iv.text not in ("SP", "AP")]
        truth_ph = [p for li in sorted(t_by_line) if li in inside for p in t_by_line[li]]
        if [p[2] for p in truth_ph] != [s[2] for s in sung]:
            continue  # a cut through a line: counted by ``whole``
        for k, ((a, b, _, _), p) in enumerate(zip(sung, truth_ph)):
            bnd_err += [a - p[0], b - p[1]]
            if k == 0 or truth_ph[k - 1][1] < p[0] - 1e-6:
                onset_err.append(a - p[0])
            if k == len(truth_ph) - 1 or truth_ph[k + 1][0] > p[1] + 1e-6:
                offset_err.append(b - p[1])
        first_syl = {}
        for (_, _, _, n), p in zip(sung, truth_ph):
            first_syl.setdefault(p[4], (n, p[3]))
        notes_ok += [n == m for n, m in first_syl.values()]
        if inside:
            cut_err += [st - t_lines[inside[0]][0], et - t_lines[inside[-1]][1]]
            edge_err += [sung[0][0] - truth_ph[0][0], sung[-1][1] - truth_ph[-1][1]]
    return dict(lines=len(t_lines), whole=[w == 1 for w in whole], cut_err=cut_err, edge_err=edge_err,
                boundary_err=bnd_err, notes_ok=notes_ok, onset_err=onset_err, offset_err=offset_err)


def summarise(raw: Sequence[dict]) -> dict:
    def frac(x, tol):
        x = np.abs(np.asarray(x))
        return float((x <= tol + 1e-9).mean()) if len(x) else None

    whole = [w for r in raw for w in r["whole"]]
    cut = [e for r in raw for e in r["cut_err"]]
    edge = [e for r in raw for e in r["edge_err"]]
    bnd = [e for r in raw for e in r["boundary_err"]]
    notes = [n for r in raw for n in r["notes_ok"]]
    onset = [e for r in raw for e in r["onset_err"]]
    offset = [e for r in raw for e in r["offset_err"]]
    return dict(songs=len(raw), lines=len(whole), lines_whole=frac([0 if w else 1 for w in whole], 0),
                cuts=len(cut), cuts_within_100ms=frac(cut, 0.1), cut_err_ms_max=float(np.max(np.abs(cut)) * 1e3) if cut else None,
                line_edges_within_100ms=frac(edge, 0.1),
                boundaries=len(bnd), boundaries_within_20ms=frac(bnd, 0.02), boundaries_within_40ms=frac(bnd, 0.04),
                boundary_err_ms_mean=float(np.mean(np.abs(bnd)) * 1e3) if bnd else None,
                syllables=len(notes), notes_exact=float(np.mean(notes)) if notes else None,
                rest_onset_err_ms_mean=float(np.mean(onset) * 1e3) if onset else None,
                rest_offset_err_ms_mean=float(np.mean(offset) * 1e3) if offset else None)


def evaluate_corpus(corpus: Path, truth: Path, singers: Optional[Sequence[str]] = None) -> dict:
    """Summary over the songs of ``singers`` (default: all songs in segments.tsv with a truth file)."""
    raw = []
    for key, utts in sorted(song_utterances(corpus).items()):
        if singers is not None and key.split("/")[0] not in singers:
            continue
        path = Path(truth) / f"{key}.json"
        if path.is_file():
            raw.append(score_song(corpus, key, utts, read_song_truth(path)))
    return summarise(raw)
