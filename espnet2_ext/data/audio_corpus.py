"""Audio-only singing corpora for stage one (docs/corpora.md): phone mapping, checks, data dirs.

    reader (opencpop.py: segments/train.txt lines, m4singer.py: meta.json items)
      --> CorpusUtt per line / item (fields parsed: phones, MIDI notes, durations, slurs)
      --to_record: corpus phones --map_phones--> the project's phones (phones.py), the phone
                   durations against the audio (tolerance), one note per syllable, rest or slur
      --> AudioRecord (phones with times, notes [st, et, lyric, midi, "p1_p2"])
      --write_audio_data_dir: wav/<utt>.wav (mono PCM_16 at the recipe's fs, features/format_wav.py),
        wav.scp, text, utt2spk, spk2utt, label, score.scp, score/<utt>.json --> data/<name>_train

The tables are those of the VisualSinger preparation (visualsinger.py) without video.scp and
mouth_gt.scp. A problem of an input line is one CorpusError naming the file and the line
(M4Singer: meta.json and the item's index); prepare_corpus reports every bad line at once.
"""

import json
import logging
import math
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Tuple, Union

from espnet2_ext.data.phones import BREATH, FINALS, INITIALS, SILENCE, PhoneError, lyric_chars, normalize_phone
from espnet2_ext.data.visualsinger import CorpusError, audio_duration
from espnet2_ext.utils.fileio import atomic_dir

LAYOUTS = ("opencpop", "m4singer")
# Phone durations may miss the audio's length by this much (s): 50 ms is 4 mel frames at the recipe's
# 256 / 22050 s hop, more than the rounding of per-phone durations adds up to (Opencpop writes
# 6 decimals, M4Singer 2-6; 30 phones rounded to 10 ms miss by ~16 ms rms) and less than one short
# phone, so a line whose durations belong to another recording (or lack a phone) is caught.
DEFAULT_TOLERANCE = 0.05
# The notes a sung phone may carry: the piano's range A0..C8. No one sings outside it (the whistle
# register tops out near C7-G7); a value beyond is an annotation error (an octave or a unit off).
MIDI_MIN, MIDI_MAX = 21, 108
SLUR_LYRIC = "—"  # espnet's lyric of the extra notes of a syllable (SVSPreprocessor's slur flag)
MAX_REPORTED = 20  # bad lines listed in one error (the count of all of them is given)

# Glide initials as the corpora write them (Opencpop's pinyin-to-phoneme table; M4Singer follows it):
# y/w + final -> the one final pypinyin's strict style (the project's phone set) gives the syllable.
GLIDES: Dict[str, Dict[str, str]] = {
    "y": {"a": "ia", "an": "ian", "ang": "iang", "ao": "iao", "e": "ie", "i": "i", "in": "in", "ing": "ing",
          "o": "io", "ong": "iong", "ou": "iou", "v": "v", "van": "van", "ve": "ve", "vn": "vn",
          "u": "v", "uan": "van", "ue": "ve", "un": "vn"},  # yu, yuan, yue, yun as pinyin spells them
    "w": {"a": "ua", "ai": "uai", "an": "uan", "ang": "uang", "ei": "uei", "en": "uen", "eng": "ueng",
          "o": "uo", "u": "u"},
}
# Finals in their written (abbreviated) pinyin form -> strict form.
WRITTEN_FINALS = {"iu": "iou", "ui": "uei", "un": "uen"}
# After j, q, x pinyin writes u-umlaut as u.
UMLAUT_INITIALS = ("j", "q", "x")
UMLAUT_FINALS = {"u": "v", "ue": "ve", "uan": "van", "un": "vn"}
# The inverse, for writing the project's syllables in the corpora's spelling (the demo generator).
_UNGLIDE = {f: (g, w) for g, table in GLIDES.items() for w, f in table.items() if w[0] != "u" or g == "w"}
_UNWRITE = {v: k for k, v in WRITTEN_FINALS.items()}
_NAME = re.compile(r"^[a-z][a-z0-9]*$")
_NOTE = re.compile(r"^([A-Ga-g])([#b]?)(-?\d+)$")
_PITCH_CLASS = {"C": 0, "D": 2, "E": 4, "F": 5, "G": 7, "A": 9, "B": 11}


@dataclass
class CorpusUtt:
    """One line (Opencpop) or item (M4Singer) with its fields parsed, per phone as the corpus writes it."""

    where: str  # "<file>:<line>" or "<meta.json>: item <k> (<item_name>)"
    utt: str  # utterance id of the data dir
    spk: str
    wav: Path
    lyrics: str
    phones: List[str]
    midis: List[int]  # 0: rest
    durs: List[float]  # s
    slurs: List[int]


@dataclass
class AudioRecord:
    utt: str
    spk: str
    wav: Path  # the corpus recording (converted to the recipe's fs when written)
    phones: List[Tuple[float, float, str]]  # (st, et, phone)
    notes: List[list]  # [st, et, lyric, midi, "p1_p2"]


class PhoneMapError(ValueError):
    """A corpus phone with no mapping to the project's phone set (``index``: 0-based position)."""

    def __init__(self, index: int, phone: str, reason: str):
        super().__init__(f"phone {index + 1} {phone!r}: {reason} (mappings: docs/corpora.md)")
        self.index = index


# ----------------------------------------------------------------------------------------------
# Phones

def _rest(phone: str) -> Optional[str]:
    """SP / AP for the corpora's silence and breath labels (SP, AP, <SP>, <AP>, sil, br, ...), else None."""
    if not phone.strip():
        return None
    try:
        p = normalize_phone(phone)
    except PhoneError:
        return None
    return p if p in (SILENCE, BREATH) else None


def _final(index: int, phone: str, initial: str) -> str:
    """A written final after ``initial`` ("" when none) -> the project's final."""
    if initial in UMLAUT_INITIALS and phone in UMLAUT_FINALS:
        return UMLAUT_FINALS[phone]
    f = WRITTEN_FINALS.get(phone, phone)
    if f not in FINALS:
        raise PhoneMapError(index, phone, "not a final of the project's phone set")
    return f


def map_phones(phones: Sequence[str], slurs: Sequence[int]) -> List[Tuple[str, List[int], str]]:
    """Corpus phones of one utterance -> [(project phone, indices of the corpus phones it covers, kind)].

    kind: "rest" (SP, AP), "initial", "final", "slur" (an extra note of the syllable before: the
    corpus repeats its final with slur flag 1, as espnet's Opencpop and M4Singer recipes keep it).
    A glide initial (y, w) and its final become one phone (the final, e.g. y ou -> iou) spanning both.
    Raises PhoneMapError naming the first phone that has no mapping.
    """
    out: List[Tuple[str, List[int], str]] = []
    written = ""  # the corpus's spelling of the last final (a slur repeats it)
    i = 0
    while i < len(phones):
        p = phones[i]
        if slurs[i]:
            if not out or out[-1][2] not in ("final", "slur"):
                raise PhoneMapError(i, p, "slur flag on a phone that follows no sung final")
            if p not in (written, out[-1][0]):
                raise PhoneMapError(i, p, f"slur flag, but the phone does not repeat the final {written!r} before it")
            out.append((out[-1][0], [i], "slur"))
            i += 1
            continue
        rest = _rest(p)
        if rest is not None:
            out.append((rest, [i], "rest"))
            i += 1
            continue
        if p in INITIALS or p in GLIDES:
            nxt = phones[i + 1] if i + 1 < len(phones) else None
            if nxt is None or slurs[i + 1] or _rest(nxt) is not None or nxt in INITIALS or nxt in GLIDES:
                raise PhoneMapError(i, p, f"initial not followed by a final (next: {nxt!r})")
            if p in GLIDES:
                if nxt not in GLIDES[p]:
                    raise PhoneMapError(i + 1, nxt, f"no syllable {p}{nxt} in the mapping of glide {p!r}")
                out.append((GLIDES[p][nxt], [i, i + 1], "final"))
            else:
                out.append((p, [i], "initial"))
                out.append((_final(i + 1, nxt, p), [i + 1], "final"))
            written = nxt
            i += 2
            continue
        out.append((_final(i, p, ""), [i], "final"))
        written = p
        i += 1
    return out


def corpus_spelling(initial: str, final: str) -> List[str]:
    """One syllable of the project's phones -> the corpora's spelling (Opencpop's table): the phones
    that map back to it, e.g. ("", "iou") -> ["y", "ou"], ("l", "uei") -> ["l", "ui"], ("j", "v") -> ["j", "v"]."""
    if initial:
        return [initial, _UNWRITE.get(final, final)]
    if final in _UNGLIDE:
        return list(_UNGLIDE[final])
    return [final]


# ----------------------------------------------------------------------------------------------
# Notes and numbers (the readers' field parsing)

def check_midi(midi: int) -> int:
    """0 (rest) or MIDI_MIN..MAX; ValueError otherwise."""
    if midi != 0 and not MIDI_MIN <= midi <= MIDI_MAX:
        raise ValueError(f"MIDI {midi} is out of range (rest, or {MIDI_MIN}..{MIDI_MAX}: A0..C8)")
    return midi


def note_name_to_midi(name: str) -> int:
    """Opencpop's note names ("C#4/Db4", "A3", "rest") -> MIDI (C4 = 60, rest = 0), range-checked."""
    if name == "rest":
        return 0
    m = _NOTE.match(name.split("/")[0])
    if not m:
        raise ValueError(f"unknown note name {name!r} (expected e.g. 'C#4/Db4', 'A3' or 'rest')")
    letter, acc, octave = m.groups()
    midi = 12 * (int(octave) + 1) + _PITCH_CLASS[letter.upper()] + {"#": 1, "b": -1, "": 0}[acc]
    try:
        return check_midi(midi)
    except ValueError as e:
        raise ValueError(f"note {name!r}: {e}") from None


def midi_to_note_name(midi: int) -> str:
    """MIDI -> Opencpop's note name (sharps with their flat alias, e.g. 61 -> "C#4/Db4"; 0 -> "rest")."""
    if midi == 0:
        return "rest"
    names = ["C", "C#/Db", "D", "D#/Eb", "E", "F", "F#/Gb", "G", "G#/Ab", "A", "A#/Bb", "B"]
    octave = midi // 12 - 1
    return "/".join(f"{n}{octave}" for n in names[midi % 12].split("/"))


def parse_durations(values: Iterable[Union[str, float, int]], what: str) -> List[float]:
    """Durations (s): finite numbers >= 0; ValueError naming the position of the first bad one."""
    out = []
    for k, v in enumerate(values, start=1):
        try:
            if isinstance(v, bool):
                raise ValueError
            d = float(v)
        except (TypeError, ValueError):
            raise ValueError(f"{what} {k} {v!r} is not a number") from None
        if not math.isfinite(d) or d < 0:
            raise ValueError(f"{what} {k} {v!r} is not a duration (a finite number >= 0)")
        out.append(d)
    return out


def parse_slurs(values: Iterable[Union[str, int, bool]], what: str) -> List[int]:
    """Slur flags: 0 / 1 (as text or integers); ValueError naming the position of the first other value."""
    out = []
    for k, v in enumerate(values, start=1):
        if isinstance(v, float) or v not in ("0", "1", 0, 1):
            raise ValueError(f"{what} {k} {v!r} is not 0 or 1")
        out.append(int(v))
    return out


def ascii_id(text: str) -> str:
    """A Kaldi-safe id part: letters, digits and '-' kept, every other character as U<hex>."""
    return "".join(c if (c.isascii() and c.isalnum()) or c == "-" else f"U{ord(c):04X}" for c in text)


# ----------------------------------------------------------------------------------------------
# Records

def _lyrics(text: str, n_syllables: int) -> Optional[List[str]]:
    """The lyric characters of a line, one per syllable (rest labels dropped); None when they do not match."""
    chars = lyric_chars(re.sub(r"<?(AP|SP)>?", "", text))
    return chars if len(chars) == n_syllables else None


def to_record(u: CorpusUtt, tolerance: float = DEFAULT_TOLERANCE) -> AudioRecord:
    """Map, check and time one parsed utterance; CorpusError naming ``u.where`` for the first problem."""
    try:
        mapped = map_phones(u.phones, u.slurs)
    except PhoneMapError as e:
        raise CorpusError(f"{u.where}: {e}") from None
    midis = []
    for _, idx, kind in mapped:
        if kind == "rest":
            midis.append(0)  # a rest carries no note, whatever the corpus wrote
            continue
        midi = u.midis[idx[-1]]
        if midi == 0:
            raise CorpusError(f"{u.where}: phone {idx[-1] + 1} {u.phones[idx[-1]]!r} is sung but its note is a rest")
        midis.append(midi)
    if not u.wav.is_file():
        raise CorpusError(f"{u.where}: missing wav {u.wav}")
    try:
        a_dur, _ = audio_duration(u.wav)
    except CorpusError as e:
        raise CorpusError(f"{u.where}: {e}") from None
    total = sum(u.durs)
    if abs(total - a_dur) > tolerance:
        raise CorpusError(f"{u.where}: phone durations add up to {total:.3f} s but {u.wav.name} lasts {a_dur:.3f} s "
                          f"(tolerance {tolerance * 1000:.0f} ms)")
    times, t = [], 0.0
    for _, idx, _ in mapped:
        d = sum(u.durs[k] for k in idx)
        times.append((round(t, 6), round(t + d, 6)))
        t += d
    n_syl = sum(kind == "final" for _, _, kind in mapped)
    chars = _lyrics(u.lyrics, n_syl)
    phones = [(st, et, ph) for (st, et), (ph, _, _) in zip(times, mapped)]
    notes, syl, i = [], 0, 0
    while i < len(mapped):
        (st, et), (ph, idx, kind) = times[i], mapped[i]
        if kind == "rest":
            notes.append([st, et, ph, 0, ph])
        elif kind == "slur":
            notes.append([st, et, SLUR_LYRIC, midis[i], ph])
        else:
            group = [i] if kind == "final" else [i, i + 1]
            lyric = chars[syl] if chars else "".join(u.phones[k] for g in group for k in mapped[g][1])
            notes.append([st, times[group[-1]][1], lyric, midis[group[-1]], "_".join(mapped[g][0] for g in group)])
            syl += 1
            i = group[-1]
        i += 1
    return AudioRecord(u.utt, u.spk, u.wav, phones, notes)


# ----------------------------------------------------------------------------------------------
# Data dirs

def _report(errors: Sequence[str], what: str) -> CorpusError:
    shown = "\n  ".join(errors[:MAX_REPORTED])
    more = f"\n  ... and {len(errors) - MAX_REPORTED} more" if len(errors) > MAX_REPORTED else ""
    return CorpusError(f"{what}: {len(errors)} bad line(s):\n  {shown}{more}")


def check_speaker_order(pairs: Iterable[Tuple[str, str]], where: str) -> None:
    """(utt, spk) sorted by utterance must be sorted by speaker too (Kaldi's utt2spk rule)."""
    prev = None
    for utt, spk in sorted(pairs):
        if prev is not None and spk < prev[1]:
            raise CorpusError(f"{where}: utterance {utt} (speaker {spk}) sorts after {prev[0]} (speaker {prev[1]}): "
                              "speaker ids must be prefixes of the utterance ids that sort with them")
        prev = (utt, spk)


def _format_one(job) -> Optional[str]:
    """Worker: (src, dst, fs, utt) -> None, or the error of an unreadable / silent recording."""
    from espnet2_ext.features.format_wav import format_wav

    src, dst, fs, utt = job
    try:
        format_wav(src, dst, fs, utt)
    except ValueError as e:
        return f"{utt}: {e}"
    return None


def write_audio_data_dir(records: Sequence[AudioRecord], out: Path, fs: int, nj: int = 1,
                         overwrite: bool = False) -> None:
    """data/<set>: wav/<utt>.wav at ``fs`` and the tables, written atomically (data/<set>.tmp, renamed)."""
    out = Path(out).absolute()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (pass --overwrite true to replace it)")
    recs = sorted(records, key=lambda r: r.utt)
    if not recs:
        raise CorpusError(f"{out}: no utterances to write")
    check_speaker_order(((r.utt, r.spk) for r in recs), str(out))
    with atomic_dir(out) as tmp:
        (tmp / "wav").mkdir()
        (tmp / "score").mkdir()
        jobs = [(r.wav, tmp / "wav" / f"{r.utt}.wav", fs, r.utt) for r in recs]
        if nj > 1 and len(jobs) > 1:
            import multiprocessing

            with multiprocessing.get_context("fork").Pool(min(nj, len(jobs))) as pool:
                errors = [e for e in pool.map(_format_one, jobs, chunksize=4) if e]
        else:
            errors = [e for e in map(_format_one, jobs) if e]
        if errors:
            raise _report(errors, f"{out}: converting the recordings to {fs} Hz")
        tables: Dict[str, Dict[str, str]] = {k: {} for k in ("wav.scp", "text", "utt2spk", "label", "score.scp")}
        spk2utt: Dict[str, List[str]] = {}
        for r in recs:
            tables["wav.scp"][r.utt] = str(out / "wav" / f"{r.utt}.wav")
            tables["text"][r.utt] = " ".join(p for _, _, p in r.phones)
            tables["utt2spk"][r.utt] = r.spk
            tables["label"][r.utt] = " ".join(f"{st:.6f} {et:.6f} {p}" for st, et, p in r.phones)
            score = {"tempo": 120, "item_list": ["st", "et", "lyric", "midi", "phns"], "note": r.notes}
            (tmp / "score" / f"{r.utt}.json").write_text(json.dumps(score, ensure_ascii=False), encoding="utf-8")
            tables["score.scp"][r.utt] = str(out / "score" / f"{r.utt}.json")
            spk2utt.setdefault(r.spk, []).append(r.utt)
        tables["spk2utt"] = {s: " ".join(us) for s, us in spk2utt.items()}
        for name, rows in tables.items():
            (tmp / name).write_text("".join(f"{k} {rows[k]}\n" for k in sorted(rows)), encoding="utf-8")


# ----------------------------------------------------------------------------------------------
# --stage_one_corpora

def parse_corpora(spec: str) -> List[Tuple[str, str, Path]]:
    """``"[<name>=]<layout>:<dir> ..."`` (spaces or commas between entries) -> [(name, layout, dir)].

    name defaults to the layout; it names the data dir data/<name>_train and prefixes the speakers.
    """
    out: List[Tuple[str, str, Path]] = []
    for entry in spec.replace(",", " ").split():
        head, sep, path = entry.partition(":")
        name, _, layout = head.rpartition("=")
        name = name or layout
        if not sep or not path:
            raise ValueError(f"--stage_one_corpora: {entry!r} is not <layout>:<dir> (layouts: {', '.join(LAYOUTS)})")
        if layout not in LAYOUTS:
            raise ValueError(f"--stage_one_corpora: {entry!r}: unknown layout {layout!r} (choose from {', '.join(LAYOUTS)})")
        if not _NAME.match(name):
            raise ValueError(f"--stage_one_corpora: {entry!r}: name {name!r} must be lowercase letters and digits, "
                             "starting with a letter")
        if name in (n for n, _, _ in out):
            raise ValueError(f"--stage_one_corpora: two corpora named {name!r}: name one of them (<name>=<layout>:<dir>)")
        out.append((name, layout, Path(path)))
    if not out:
        raise ValueError("--stage_one_corpora: no corpus given")
    return out


def _reader(layout: str) -> Callable:
    if layout == "opencpop":
        from espnet2_ext.data.opencpop import read_opencpop

        return read_opencpop
    from espnet2_ext.data.m4singer import read_m4singer

    return read_m4singer


def read_corpus(name: str, layout: str, root: Path, tolerance: float = DEFAULT_TOLERANCE) -> List[AudioRecord]:
    """The training utterances of one corpus, checked; one CorpusError listing every bad line."""
    root = Path(root).absolute()
    if not root.is_dir():
        raise CorpusError(f"{root}: {layout} corpus directory not found")
    utts, errors = _reader(layout)(root, name)
    records = []
    for u in utts:
        try:
            records.append(to_record(u, tolerance))
        except CorpusError as e:
            errors.append(str(e))
    if errors:
        raise _report(errors, f"{root} ({layout} layout)")
    if not records:
        raise CorpusError(f"{root}: no training utterance in the {layout} layout")
    return records


def prepare_corpus(name: str, layout: str, root: Path, out: Path, fs: int, tolerance: float = DEFAULT_TOLERANCE,
                   nj: int = 1, overwrite: bool = False, records: Optional[List[AudioRecord]] = None) -> Dict[str, float]:
    """Stage 1 of one corpus: read and check it (unless its ``records`` are given), write
    data/<name>_train into ``out``; statistics."""
    if records is None:
        records = read_corpus(name, layout, root, tolerance)
    write_audio_data_dir(records, Path(out) / f"{name}_train", fs, nj, overwrite)
    stats = {"utterances": len(records), "speakers": len({r.spk for r in records}),
             "hours": round(sum(r.phones[-1][1] for r in records) / 3600, 3)}
    logging.info("%s (%s, %s) -> %s/%s_train: %s", name, layout, root, out, name, stats)
    return stats
