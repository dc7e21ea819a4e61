"""VisualSinger corpus layout -> Kaldi/espnet data directories (stage 1, docs/data_contract.md).

    <corpus>/<singer>/<utt>.{wav,mp4,TextGrid,notes[,mouth.npy]}
      --load_utterance: checks audio/video readable, lengths agree, TextGrid phones == lyric
        pinyin, .notes == phones--> UttRecord (phones with times, one note per syllable)
      --split_records: --ood_singers -> test_ood, the rest 8:1:1 per singer (seeded)-->
      --write_data_dir: data/<set>.tmp/{wav.scp,text,utt2spk,spk2utt,label,score.scp,video.scp,
        mouth_gt.scp,score/<utt>.json} --validate, rename--> data/<set>/
"""

import json
import logging
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet2_ext.data.phones import (PhoneError, is_rest, lyric_chars, lyric_to_phones,
                                     normalize_phone)
from espnet2_ext.data.textgrid_io import TextGridError, read_textgrid
from espnet2_ext.utils.fileio import atomic_dir, read_scp

REQUIRED_EXT = (".wav", ".mp4", ".TextGrid", ".notes")
_TMP_NAME = re.compile(r"\.tmp\d*$")  # a writer's temporary file (utils/fileio.atomic_path), not an utterance
REST_WORDS = {  # word-tier labels of silence and breath (no lyric)
    "", "sp", "sil", "<sp>", "silence", "pau", "ap", "br", "breath", "<ap>", "<br>"}


class CorpusError(ValueError):
    """Bad corpus input; the message names the file (and line / tier)."""


@dataclass
class UttRecord:
    utt: str
    spk: str
    wav: Path
    video: Path
    mouth: Optional[Path]
    phones: List[Tuple[float, float, str]]  # (st, et, phone)
    notes: List[list] = field(default_factory=list)  # [st, et, lyric, midi, "p1_p2"]


def media_duration(path: Path) -> float:
    """Duration (s) of a video file, decoding it with FFmpeg; CorpusError when unreadable."""
    import imageio_ffmpeg

    from espnet2_ext.utils.ffmpeg import ffmpeg_file

    try:
        n, secs = imageio_ffmpeg.count_frames_and_secs(ffmpeg_file(path))
    except Exception as e:  # noqa: BLE001 - ffmpeg reports many kinds of failures
        raise CorpusError(f"{path}: unreadable or corrupt video ({str(e).splitlines()[0][:200]})") from e
    if n <= 0:
        raise CorpusError(f"{path}: video has no frames")
    return float(secs)


def audio_duration(path: Path) -> Tuple[float, int]:
    try:
        info = sf.info(str(path))
    except Exception as e:  # noqa: BLE001
        raise CorpusError(f"{path}: unreadable or corrupt audio ({e})") from e
    if info.frames <= 0:
        raise CorpusError(f"{path}: audio is empty")
    return info.frames / info.samplerate, info.samplerate


def read_notes(path: Path) -> List[Tuple[str, int, int]]:
    """.notes -> [(phone, midi, line number)]."""
    out = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise CorpusError(f"{path}: cannot read notes ({e})") from e
    for no, line in enumerate(lines, start=1):
        if not line.strip():
            continue
        parts = line.split()
        if len(parts) != 2:
            raise CorpusError(f"{path}:{no}: expected '<phone> <midi>', got {line!r}")
        try:
            ph = normalize_phone(parts[0])
            midi = int(parts[1])
        except (PhoneError, ValueError) as e:
            raise CorpusError(f"{path}:{no}: {e}") from e
        if not 0 <= midi <= 127:
            raise CorpusError(f"{path}:{no}: MIDI {midi} outside 0..127")
        out.append((ph, midi, no))
    return out


def _phone_intervals(tg_path: Path, tier, a_dur: float, wav: Path, tolerance: float) -> List[Tuple[float, float, str]]:
    """Tier 'phones' -> [(st, et, phone)]: contiguous from 0, ending with the audio (within ``tolerance``)."""
    phones = []
    prev_end = 0.0
    for k, iv in enumerate(tier, start=1):
        try:
            ph = normalize_phone(iv.text)
        except PhoneError as e:
            raise CorpusError(f"{tg_path}:{iv.line}: tier 'phones' interval {k}: {e}") from e
        if iv.xmax <= iv.xmin or abs(iv.xmin - prev_end) > 1e-4:
            raise CorpusError(f"{tg_path}:{iv.line}: tier 'phones' interval {k} [{iv.xmin}, {iv.xmax}] "
                              f"does not follow the previous one (ends at {prev_end})")
        phones.append((iv.xmin, iv.xmax, ph))
        prev_end = iv.xmax
    if not phones:
        raise CorpusError(f"{tg_path}: tier 'phones' is empty")
    if abs(prev_end - a_dur) > tolerance:
        raise CorpusError(f"{tg_path}: tier 'phones' ends at {prev_end:.3f} s but {wav.name} lasts {a_dur:.3f} s")
    return phones


def _lyric_syllables(tg_path: Path, tier) -> Tuple[List[str], List[List[str]]]:
    """Tier 'words' -> (lyric characters, the phones of each one's pinyin syllable)."""
    chars = []
    for iv in tier:
        if iv.text.strip().lower() not in REST_WORDS:
            chars += lyric_chars(iv.text)
    if not chars:
        raise CorpusError(f"{tg_path}: tier 'words' has no lyrics (empty lyrics)")
    try:
        return chars, lyric_to_phones("".join(chars))
    except PhoneError as e:
        raise CorpusError(f"{tg_path}: tier 'words': {e}") from e


def _check_notes(notes_path: Path, notes, phones, tg_path: Path, ivs) -> None:
    """One .notes line per phone interval, the same phone, MIDI 0 on rests."""
    if len(notes) != len(phones):
        raise CorpusError(f"{notes_path}: {len(notes)} note lines but {len(phones)} intervals in tier 'phones' "
                          f"of {tg_path.name}")
    for (_st, _et, ph), (nph, midi, no), iv in zip(phones, notes, ivs):
        if nph != ph:
            raise CorpusError(f"{notes_path}:{no}: phone {nph!r} but tier 'phones' of {tg_path.name} "
                              f"has {ph!r} (line {iv.line})")
        if is_rest(ph) and midi != 0:
            raise CorpusError(f"{notes_path}:{no}: {ph} must have MIDI 0, got {midi}")


def _syllable_notes(tg_path: Path, phones, notes, chars, groups, ivs) -> List[list]:
    """Phones grouped into syllable notes following the lyric's pinyin: [st, et, lyric, midi, "p1_p2"]."""
    out = []
    i, g = 0, 0
    while i < len(phones):
        st, et, ph = phones[i]
        if is_rest(ph):
            out.append([round(st, 6), round(et, 6), ph, 0, ph])
            i += 1
            continue
        if g >= len(groups):
            raise CorpusError(f"{tg_path}:{ivs[i].line}: tier 'phones' interval {i + 1} {ph!r} has no "
                              f"syllable left in tier 'words' ({''.join(chars)})")
        want = groups[g]
        got = [p for _, _, p in phones[i:i + len(want)]]
        if got != want:
            raise CorpusError(f"{tg_path}:{ivs[i].line}: tier 'phones' intervals {i + 1}.. are {got} but "
                              f"tier 'words' character {chars[g]!r} is {want}")
        midi = notes[i + len(want) - 1][1]
        out.append([round(st, 6), round(phones[i + len(want) - 1][1], 6), chars[g], midi, "_".join(want)])
        i += len(want)
        g += 1
    if g != len(groups):
        raise CorpusError(f"{tg_path}: tier 'words' has {len(groups)} syllables but tier 'phones' covers {g}")
    return out


def load_utterance(corpus: Path, spk: str, utt: str, tolerance: float = 0.2) -> UttRecord:
    """Read and check one utterance of the corpus layout."""
    base = Path(corpus) / spk / utt
    for ext in REQUIRED_EXT:
        if not base.with_suffix(ext).is_file():
            raise CorpusError(f"{base.with_suffix(ext)}: missing (every utterance needs {', '.join(REQUIRED_EXT)})")
    wav, mp4, tg_path, notes_path = (base.with_suffix(e) for e in REQUIRED_EXT)
    a_dur, _ = audio_duration(wav)
    v_dur = media_duration(mp4)
    if abs(a_dur - v_dur) > tolerance:
        raise CorpusError(f"{mp4}: video lasts {v_dur:.3f} s but {wav.name} lasts {a_dur:.3f} s "
                          f"(tolerance {tolerance} s)")
    try:
        tiers = read_textgrid(tg_path)
    except TextGridError as e:
        raise CorpusError(str(e)) from e
    for tier in ("words", "phones"):
        if tier not in tiers:
            raise CorpusError(f"{tg_path}: no IntervalTier named {tier!r} (found {sorted(tiers)})")
    phones = _phone_intervals(tg_path, tiers["phones"], a_dur, wav, tolerance)
    chars, groups = _lyric_syllables(tg_path, tiers["words"])
    notes = read_notes(notes_path)
    _check_notes(notes_path, notes, phones, tg_path, tiers["phones"])
    mouth = Path(str(base) + ".mouth.npy")
    rec = UttRecord(utt, spk, wav, mp4, mouth if mouth.is_file() else None, phones)
    rec.notes = _syllable_notes(tg_path, phones, notes, chars, groups, tiers["phones"])
    return rec


def scan_corpus(corpus: Path) -> Dict[str, List[str]]:
    """{singer: sorted utterance ids}; utterances are named by any of the required files."""
    corpus = Path(corpus)
    if not corpus.is_dir():
        raise CorpusError(f"{corpus}: corpus directory not found")
    out = {}
    for d in sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith(".")):
        utts = sorted({f.name[: -len(ext)] for ext in REQUIRED_EXT for f in d.glob("*" + ext)
                       if not _TMP_NAME.search(f.name[: -len(ext)])})
        for u in utts:
            if not u.startswith(d.name + "_"):
                raise CorpusError(f"{d / u}: utterance id must start with '{d.name}_' (Kaldi sorting)")
        if utts:
            out[d.name] = utts
    if not out:
        raise CorpusError(f"{corpus}: no <singer>/<utt>.wav found")
    return out


def split_records(records: Sequence[UttRecord], ood_singers: Sequence[str], seed: int = 0) -> Dict[str, List[UttRecord]]:
    """test_ood = ood singers; the others 8:1:1 per singer into train/dev/test (seeded)."""
    sets = {"train": [], "dev": [], "test": [], "test_ood": []}
    by_spk: Dict[str, List[UttRecord]] = {}
    for r in records:
        by_spk.setdefault(r.spk, []).append(r)
    for si, spk in enumerate(sorted(by_spk)):
        recs = sorted(by_spk[spk], key=lambda r: r.utt)
        if spk in ood_singers:
            sets["test_ood"] += recs
            continue
        order = np.random.default_rng(np.random.SeedSequence([seed, si])).permutation(len(recs))
        n = len(recs)
        n_dev = max(1, int(round(0.1 * n))) if n >= 3 else 0
        n_test = max(1, int(round(0.1 * n))) if n >= 3 else 0
        sets["dev"] += [recs[j] for j in order[:n_dev]]
        sets["test"] += [recs[j] for j in order[n_dev:n_dev + n_test]]
        sets["train"] += [recs[j] for j in order[n_dev + n_test:]]
    return sets


def _write_lines(path: Path, rows: Dict[str, str]) -> None:
    path.write_text("".join(f"{k} {rows[k]}\n" for k in sorted(rows)), encoding="utf-8")


def write_data_dir(records: Sequence[UttRecord], out: Path, overwrite: bool = False) -> None:
    """Write one data dir atomically: data/<set>.tmp, validate, then rename to data/<set>."""
    out = Path(out).absolute()
    if out.exists() and not overwrite:
        raise FileExistsError(f"{out} exists (pass --overwrite true to replace it)")
    with atomic_dir(out) as tmp:
        _write_tables(sorted(records, key=lambda r: r.utt), out, tmp)
        validate_data_dir(tmp)


def _write_tables(recs: Sequence[UttRecord], out: Path, tmp: Path) -> None:
    """The tables and score/<utt>.json of the data dir ``out`` (absolute), written into ``tmp``."""
    (tmp / "score").mkdir(parents=True)
    files = {k: {} for k in ("wav.scp", "text", "utt2spk", "label", "score.scp", "video.scp", "mouth_gt.scp")}
    for r in recs:
        files["wav.scp"][r.utt] = str(r.wav.absolute())
        files["video.scp"][r.utt] = str(r.video.absolute())
        files["text"][r.utt] = " ".join(p for _, _, p in r.phones)
        files["utt2spk"][r.utt] = r.spk
        files["label"][r.utt] = " ".join(f"{st:.6f} {et:.6f} {p}" for st, et, p in r.phones)
        score = {"tempo": 120, "item_list": ["st", "et", "lyric", "midi", "phns"], "note": r.notes}
        (tmp / "score" / f"{r.utt}.json").write_text(json.dumps(score, ensure_ascii=False), encoding="utf-8")
        files["score.scp"][r.utt] = str(out / "score" / f"{r.utt}.json")
        if r.mouth is not None:
            files["mouth_gt.scp"][r.utt] = str(r.mouth.absolute())
    if files["mouth_gt.scp"] and len(files["mouth_gt.scp"]) != len(recs):
        missing = sorted(set(files["wav.scp"]) - set(files["mouth_gt.scp"]))
        logging.warning("%s: %d utterances lack <utt>.mouth.npy (e.g. %s): mouth_gt.scp not written",
                        out, len(missing), missing[0])
        files["mouth_gt.scp"] = {}
    for name, rows in files.items():
        if rows or name != "mouth_gt.scp":
            _write_lines(tmp / name, rows)
    spk2utt: Dict[str, List[str]] = {}
    for r in recs:
        spk2utt.setdefault(r.spk, []).append(r.utt)
    _write_lines(tmp / "spk2utt", {s: " ".join(u) for s, u in spk2utt.items()})


def _read_scp(path: Path) -> List[Tuple[str, str]]:
    try:
        return read_scp(path)
    except ValueError as e:  # names the file and line
        raise CorpusError(str(e)) from None


def validate_data_dir(d: Path) -> None:
    """Same sorted utterance set in every file, utt2spk/spk2utt consistent, label == text phones."""
    d = Path(d)
    ref = None
    tables = {}
    for name in ("wav.scp", "text", "utt2spk", "label", "score.scp", "video.scp", "mouth_gt.scp"):
        if not (d / name).is_file():
            if name == "mouth_gt.scp":
                continue
            raise CorpusError(f"{d / name}: missing")
        rows = _read_scp(d / name)
        keys = [k for k, _ in rows]
        if keys != sorted(keys) or len(set(keys)) != len(keys):
            raise CorpusError(f"{d / name}: not sorted or has duplicate utterances")
        if ref is None:
            ref = keys
        elif keys != ref:
            raise CorpusError(f"{d / name}: utterance set differs from {d / 'wav.scp'}")
        tables[name] = dict(rows)
    spk2utt = {s: u.split() for s, u in _read_scp(d / "spk2utt")}
    inv = {u: s for s, us in spk2utt.items() for u in us}
    if inv != tables["utt2spk"]:
        raise CorpusError(f"{d / 'spk2utt'}: inconsistent with {d / 'utt2spk'}")
    for utt, lab in tables["label"].items():
        if lab.split()[2::3] != tables["text"][utt].split():
            raise CorpusError(f"{d / 'label'}: phones of {utt} differ from {d / 'text'}")


def prepare(corpus: Path, out: Path, ood_singers: Optional[Sequence[str]] = None, seed: int = 0,
            tolerance: float = 0.2, overwrite: bool = False, progress: bool = True,
            singers: Optional[Sequence[str]] = None, set_name: Optional[str] = None) -> Dict[str, int]:
    """Full stage 1: scan, check every utterance, split, write data/{train,dev,test,test_ood}.

    singers: only these singers of the corpus (default: all). set_name: no split, every
    utterance goes to data/<set_name> (e.g. the demo's test_newlyrics, a corpus of its own).
    """
    from tqdm import tqdm

    layout = scan_corpus(corpus)
    if singers is not None:
        missing = sorted(set(singers) - set(layout))
        if missing:
            raise CorpusError(f"{corpus}: --singers {missing} not in the corpus ({sorted(layout)})")
        layout = {s: layout[s] for s in singers}
    singers = sorted(layout)
    if ood_singers is None:
        ood_singers = singers[-2:] if len(singers) > 2 else []
    unknown = set(ood_singers) - set(singers)
    if unknown:
        raise CorpusError(f"{corpus}: --ood_singers {sorted(unknown)} not in the corpus ({singers})")
    items = [(s, u) for s in singers for u in layout[s]]
    records = [load_utterance(Path(corpus), s, u, tolerance)
               for s, u in tqdm(items, desc="check corpus", disable=not progress)]
    sets = {set_name: records} if set_name else split_records(records, ood_singers, seed)
    out = Path(out)
    out.mkdir(parents=True, exist_ok=True)
    for name, recs in sets.items():
        if recs:
            write_data_dir(recs, out / name, overwrite)
        logging.info("%s/%s: %d utterances", out, name, len(recs))
    return {k: len(v) for k, v in sets.items()}
