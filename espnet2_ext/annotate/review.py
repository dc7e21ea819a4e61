"""Alignment confidence per utterance, review.tsv, and the protection of TextGrids a person corrected.

    each phone: mean log posterior of its phone (the audio model's posterior, flat prior, summed over
      the phone's states) over its frames; flags: low posterior (among the corpus's lowest
      LOW_POSTERIOR_PERCENT %, and under log 0.2), under 20 ms, a final (vowel) with under half of its
      frames voiced
    utterance confidence = mean phone log posterior - FLAG_COST * number of flags
    review.tsv: one row per utterance, worst (lowest confidence) first; reviewed utterances last

A TextGrid counts as reviewed, and a re-run never writes over it, when
  * <utt>.reviewed exists beside it (an empty file; ``touch`` it after checking an utterance), or
  * it differs from the file the annotator wrote (a person opened it in Praat and saved a change):
    CORPUS/.annotate/written.tsv records the SHA-1 of every TextGrid and notes file it wrote.
"""

import hashlib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Sequence, Tuple

import numpy as np

from espnet2_ext.annotate.align import AlignedUnit
from espnet2_ext.data.phones import FINALS
from espnet2_ext.utils.fileio import atomic_write_text

LOW_POSTERIOR = float(np.log(0.2))
LOW_POSTERIOR_PERCENT = 5.0
SHORT_PHONE = 0.02
FLAG_COST = 1.0
REVIEW_COLUMNS = ("rank", "utt", "song", "start_s", "end_s", "confidence", "low_posterior_phones", "short_phones",
                  "unvoiced_vowels", "worst_phones", "status", "textgrid")


@dataclass
class UttReview:
    utt: str
    song: str
    start: float
    end: float
    confidence: float
    low_posterior: int
    short: int
    unvoiced: int
    worst: List[Tuple[str, float, float]] = field(default_factory=list)  # (phone, start s, log posterior)
    status: str = "auto"
    textgrid: str = ""


def low_posterior_threshold(scores: Sequence[float]) -> float:
    """The corpus's flag threshold: its LOW_POSTERIOR_PERCENT percentile, at most LOW_POSTERIOR."""
    return min(LOW_POSTERIOR, float(np.percentile(scores, LOW_POSTERIOR_PERCENT))) if len(scores) else LOW_POSTERIOR


def phone_flags(units: Sequence[AlignedUnit], voiced: np.ndarray, low_threshold: float = LOW_POSTERIOR
                ) -> Tuple[int, int, int]:
    """(low posterior, short, unvoiced vowel) counts of the sung phones of an utterance's units."""
    low = short = unv = 0
    for u in units:
        if u.is_rest:
            continue
        low += u.score < low_threshold
        short += (u.et - u.st) < SHORT_PHONE - 1e-9
        if u.phone in FINALS and u.end > u.first:
            unv += voiced[u.first:u.end].mean() < 0.5
    return int(low), int(short), int(unv)


def utterance_review(utt: str, song: str, start: float, end: float, units: Sequence[AlignedUnit],
                     voiced: np.ndarray, textgrid: str, low_threshold: float = LOW_POSTERIOR) -> UttReview:
    sung = [u for u in units if not u.is_rest]
    low, short, unv = phone_flags(units, voiced, low_threshold)
    mean = float(np.mean([u.score for u in sung])) if sung else 0.0
    worst = sorted(sung, key=lambda u: u.score)[:3]
    return UttReview(utt, song, start, end, mean - FLAG_COST * (low + short + unv), low, short, unv,
                     [(u.phone, round(u.st, 3), round(u.score, 2)) for u in worst], "auto", textgrid)


def write_review(path: Path, rows: Sequence[UttReview]) -> None:
    """review.tsv, worst first: automatic ones by confidence, then the reviewed ones."""
    order = sorted(rows, key=lambda r: (r.status != "auto", r.confidence, r.utt))
    lines = ["\t".join(REVIEW_COLUMNS)]
    for k, r in enumerate(order, start=1):
        worst = ",".join(f"{p}@{t:.2f}({s:.1f})" for p, t, s in r.worst) or "-"
        lines.append("\t".join([str(k), r.utt, r.song, f"{r.start:.3f}", f"{r.end:.3f}", f"{r.confidence:.3f}",
                                str(r.low_posterior), str(r.short), str(r.unvoiced), worst, r.status, r.textgrid]))
    atomic_write_text(path, "\n".join(lines) + "\n")


def sha1(path: Path) -> str:
    return hashlib.sha1(Path(path).read_bytes()).hexdigest()


def read_written(path: Path) -> Dict[str, str]:
    """CORPUS/.annotate/written.tsv -> {relative file path: SHA-1 the annotator wrote}."""
    out = {}
    if Path(path).is_file():
        for line in Path(path).read_text(encoding="utf-8").splitlines():
            parts = line.split("\t")
            if len(parts) == 2:
                out[parts[0]] = parts[1]
    return out


def write_written(path: Path, table: Dict[str, str]) -> None:
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, "".join(f"{k}\t{v}\n" for k, v in sorted(table.items())))


def is_reviewed(corpus: Path, rel_textgrid: str, written: Dict[str, str]) -> bool:
    """True when the TextGrid was marked (<utt>.reviewed) or edited since the annotator wrote it."""
    tg = Path(corpus) / rel_textgrid
    if not tg.is_file():
        return False
    if tg.with_suffix(".reviewed").exists():
        return True
    return rel_textgrid in written and sha1(tg) != written[rel_textgrid]
