"""One MIDI note per sung syllable, from the song's F0 (docs/annotate.md, "Notes").

    F0 (T,) Hz on the 10 ms frames (parselmouth autocorrelation, features/f0.py)
      voiced frames of a syllable (its initial and final) --semitone round(69 + 12 log2(f / 440))-->
      the most frequent semitone (a tie: the one nearest the median of the frames' semitones)
    the syllable's initial takes the same note; rests (SP, AP) are 0. A syllable with no voiced frame
    takes the note of the nearest sung syllable of its line (and is flagged for review).
"""

from typing import Dict, List, Sequence, Tuple

import numpy as np

from espnet2_ext.annotate.align import AlignedUnit


def hz_to_midi(f: np.ndarray) -> np.ndarray:
    return 69.0 + 12.0 * np.log2(np.asarray(f, np.float64) / 440.0)


def mode_semitone(f0: np.ndarray) -> Tuple[int, int]:
    """(note, voiced frame count) of F0 frames (0 = unvoiced); note 0 when none is voiced."""
    v = f0[f0 > 0]
    if not len(v):
        return 0, 0
    cont = hz_to_midi(v)
    semis = np.rint(cont).astype(int)
    vals, counts = np.unique(semis, return_counts=True)
    best = vals[counts == counts.max()]
    med = float(np.median(cont))
    return int(best[np.argmin(np.abs(best - med))]), len(v)


def syllable_notes(units: Sequence[AlignedUnit], f0: np.ndarray) -> Dict[int, Tuple[int, float]]:
    """{syllable index: (MIDI note, voiced fraction of its frames)} for the sung syllables of ``units``."""
    spans: Dict[int, List[int]] = {}
    lines: Dict[int, int] = {}
    for u in units:
        if u.is_rest:
            continue
        a, b = spans.get(u.syllable, [u.first, u.end])
        spans[u.syllable] = [min(a, u.first), max(b, u.end)]
        lines[u.syllable] = u.line
    out: Dict[int, Tuple[int, float]] = {}
    for s, (a, b) in spans.items():
        note, n = mode_semitone(f0[a:b])
        out[s] = (int(np.clip(note, 0, 127)), n / max(b - a, 1))
    sylls = sorted(out)
    for s in sylls:  # unvoiced syllables: the nearest voiced one of the same line
        if out[s][0] > 0:
            continue
        same = [o for o in sylls if lines[o] == lines[s] and out[o][0] > 0]
        if same:
            near = min(same, key=lambda o: abs(o - s))
            out[s] = (out[near][0], out[s][1])
    return out
