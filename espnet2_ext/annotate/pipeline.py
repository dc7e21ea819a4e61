"""Performance videos + lyrics -> the VisualSinger corpus layout, with no hand annotation.

    DIR/<singer>/<song>.mp4 (+ <song>.wav isolated vocals, optional) + <song>.txt (lyrics)
      --scan: pair the files; a song that cannot be used is one problem line naming it-->
      --prepare (nj processes): lyrics -> phones (lyrics.py); audio -> features (audio.py); the video's
        face and mouth crops (lip front end); checks: under 2 s, no singing, lyrics too long for it,
        no face, unreadable files-->
      --aligner.train_aligner on every good song (flat start, 2 GMM stages) --> audio alignment
      --(lips) lip classifier trained on that alignment --> alignment of audio and lips-->
      --align.shift_rest_edges: the silences given back what the 25 ms window took from them-->
      --per song: lines that do not fit the audio are named and left out; segment.cut_song;
        notes.syllable_notes; review confidence-->
      CORPUS/<singer>/<utt>.{wav,mp4,TextGrid,notes}, CORPUS/segments.tsv, CORPUS/review.tsv,
      CORPUS/problems.txt, CORPUS/.annotate/written.tsv

Every output utterance is read back with data/visualsinger.load_utterance (stage 1's reader). A re-run
never writes over a reviewed TextGrid (review.py); a song holding one keeps its cuts from
segments.tsv.
"""

import logging
import re
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Dict, List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.annotate import lips as LP
from espnet2_ext.annotate.aligner import AlignerConfig, align_all, phone_log_posteriors, train_aligner
from espnet2_ext.annotate.align import (REST_OFFSET_SHIFT, REST_ONSET_SHIFT, AlignedUnit, shift_rest_edges,
                                        unit_scores, units_from_path)
from espnet2_ext.annotate.audio import FRAME_S, AudioError, SongAudio, load_song_audio
from espnet2_ext.annotate.gmm import breathy_frames, quiet_frames
from espnet2_ext.annotate.hmm import Graph, build_graph, min_frames
from espnet2_ext.annotate.lyrics import LyricLine, LyricsError, read_lyrics
from espnet2_ext.annotate.notes import syllable_notes
from espnet2_ext.annotate.review import (UttReview, is_reviewed, low_posterior_threshold, read_written, sha1,
                                         utterance_review, write_review, write_written)
from espnet2_ext.annotate.segment import PAD, Utterance, cut_song, line_spans, utterance_units
from espnet2_ext.data.phones import FINALS
from espnet2_ext.data.textgrid_io import read_textgrid, write_textgrid
from espnet2_ext.data.visualsinger import REST_WORDS
from espnet2_ext.utils.fileio import atomic_path, atomic_write_text

VIDEO_EXT = ".mp4"
MIN_SONG_SECONDS = 2.0
MIN_SINGING_SECONDS = 0.5
LIP_WEIGHT = 3.0
FEW_MINUTES = 5.0  # of songs: fewer are warned about (measured: 2.7 min too few, 7 min enough)


class AnnotateError(ValueError):
    """Nothing could be annotated (every song is named in the problems)."""


@dataclass
class Options:
    min_rest: float = 0.3  # s, the rests between lines that cut
    min_seconds: float = 2.0
    max_seconds: float = 15.0
    pad: float = PAD  # s of rest kept before the first and after the last line of an utterance
    rest_onset_shift: float = REST_ONSET_SHIFT  # s later for a phone that starts after a silence
    rest_offset_shift: float = REST_OFFSET_SHIFT  # s earlier for a phone that ends before a silence
    lips: str = "auto"  # auto: when the face mesh or Haar front end finds faces; on; off
    lip_weight: float = LIP_WEIGHT
    lip_front_end: str = "auto"
    separator: Optional[str] = None
    vad: bool = True
    fs: int = 0  # rate of the utterance wavs (0: the song's own)
    nj: int = 1
    seed: int = 0
    validate: bool = True
    aligner: AlignerConfig = field(default_factory=AlignerConfig)


@dataclass
class SongInput:
    singer: str
    name: str
    video: Path
    lyrics: Path
    vocals: Optional[Path] = None

    @property
    def key(self) -> str:
        return f"{self.singer}/{self.name}"


@dataclass
class Problem:
    song: str  # <singer>/<song>
    message: str

    def __str__(self) -> str:
        return f"{self.song}: {self.message}"


@dataclass
class SongData:
    inp: SongInput
    lines: List[LyricLine]
    audio: SongAudio
    graph: Graph
    lip_raw: Optional[np.ndarray] = None  # (T_v, LIP_SIZE^2) crop features
    units: List[AlignedUnit] = field(default_factory=list)  # the alignment written (audio + lips when used)
    audio_units: List[AlignedUnit] = field(default_factory=list)  # the alignment of the audio alone

    @property
    def voiced(self) -> np.ndarray:
        return self.audio.f0 > 0


# ------------------------------------------------------------------------------------------------ scan
_SAFE = re.compile(r"[^A-Za-z0-9_-]+")


def song_id(name: str) -> str:
    """A song name as a piece of a Kaldi utterance id (ASCII letters, digits, _ and -)."""
    s = _SAFE.sub("-", name).strip("-")
    if not s or s != name and not re.search(r"[A-Za-z0-9]", s):
        import hashlib

        s = (s + "-" if s else "song-") + hashlib.sha1(name.encode()).hexdigest()[:6]
    return s


def utt_id(singer: str, song: str, k: int) -> str:
    """<singer>_<song>_<k:03d> (a song name that already starts with <singer>_ is not repeated)."""
    sid = song_id(song[len(singer) + 1:] if song.startswith(singer + "_") and len(song) > len(singer) + 1 else song)
    return f"{singer}_{sid}_{k:03d}"


def scan_performances(root: Path) -> Tuple[List[SongInput], List[Problem]]:
    """DIR/<singer>/<song>.{mp4,txt[,wav]} -> songs and the problems of files that do not pair up."""
    root = Path(root)
    if not root.is_dir():
        raise AnnotateError(f"{root}: performances directory not found")
    songs, problems = [], []
    for d in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        files: Dict[str, Dict[str, Path]] = {}
        for f in sorted(d.iterdir()):
            if f.is_file() and f.suffix.lower() in (VIDEO_EXT, ".txt", ".wav") and not f.name.startswith("."):
                files.setdefault(f.stem, {})[f.suffix.lower()] = f
        for stem, fs in sorted(files.items()):
            key = f"{d.name}/{stem}"
            if re.search(r"\s", d.name):
                problems.append(Problem(key, f"the singer folder name {d.name!r} holds whitespace, which no utterance "
                                             "id can (rename the folder)"))
                continue
            if VIDEO_EXT not in fs:
                problems.append(Problem(key, f"no video {stem}{VIDEO_EXT} beside {', '.join(sorted(p.name for p in fs.values()))}"))
                continue
            if ".txt" not in fs:
                problems.append(Problem(key, f"no lyrics {stem}.txt beside {fs[VIDEO_EXT].name}"))
                continue
            songs.append(SongInput(d.name, stem, fs[VIDEO_EXT], fs[".txt"], fs.get(".wav")))
    if not songs and not problems:
        raise AnnotateError(f"{root}: no <singer>/<song>{VIDEO_EXT} with its <song>.txt found")
    return songs, problems


# ------------------------------------------------------------------------------------------------ prepare
_EXTRACTOR = {}


def _extractor(front_end: str, stride: int):
    """The lip front end (lip/front_end.py); with the face mesh and ``stride`` > 1 it tracks every
    stride-th frame only (the face check of a run without the lips)."""
    from espnet2_ext.lip.front_end import build_extractor
    from espnet2_ext.lip.landmark_roi import DEFAULT_LANDMARK_ROI_CONF

    key = (front_end, stride)
    if key not in _EXTRACTOR:
        ex = build_extractor({"front_end": front_end})
        if ex.roi_conf["front_end"] == "mediapipe" and stride > 1:
            ex = build_extractor({"front_end": "mediapipe", "landmark_conf": {"stride": stride},
                                  "min_face_fraction": DEFAULT_LANDMARK_ROI_CONF["min_face_fraction"] / stride})
        _EXTRACTOR[key] = ex
    return _EXTRACTOR[key]


def prepare_song(inp: SongInput, opts: Options, work: Path):
    """-> SongData, or a Problem naming why the song cannot be used."""
    from espnet2_ext.lip.roi import NoFaceError
    from espnet2_ext.lip.video_io import VideoReadError

    try:
        lines = read_lyrics(inp.lyrics)
    except LyricsError as e:
        return Problem(inp.key, str(e))
    try:
        cache = work / "vocals" / inp.singer / f"{inp.name}.wav"
        audio = load_song_audio(inp.video, inp.vocals, opts.separator, cache, opts.vad)
    except AudioError as e:
        return Problem(inp.key, str(e))
    if audio.duration < MIN_SONG_SECONDS:
        return Problem(inp.key, f"the song lasts {audio.duration:.2f} s, under {MIN_SONG_SECONDS:g} s: left out")
    voiced_s = float((audio.f0 > 0).sum()) * FRAME_S
    if voiced_s < MIN_SINGING_SECONDS:
        return Problem(inp.key, f"no singing found ({voiced_s:.2f} s of voiced sound in {audio.duration:.1f} s"
                                f"{', silero-vad hears no voice' if opts.vad and audio.vad.max() < 0.5 else ''}): left out")
    graph = build_graph([[s.phones for s in line.syllables] for line in lines])
    n_syl = sum(len(line.syllables) for line in lines)
    need = min_frames(graph) * FRAME_S
    if need > audio.duration or voiced_s < 0.06 * n_syl:
        return Problem(inp.key, f"the lyrics ({len(lines)} lines, {n_syl} syllables) cannot fit the audio "
                                f"({audio.duration:.1f} s, {voiced_s:.1f} s of it sung; they need at least "
                                f"{max(need, 0.06 * n_syl):.1f} s): wrong lyrics file? left out")
    want_lips = opts.lips != "off"
    try:
        track = _extractor(opts.lip_front_end, 1 if want_lips else 10)(inp.video)
    except NoFaceError as e:
        return Problem(inp.key, f"no face in the video ({str(e).split(': ', 1)[-1]}): song left out")
    except (VideoReadError, ValueError, RuntimeError) as e:
        return Problem(inp.key, f"unreadable video {inp.video} ({str(e).splitlines()[0][:200]})")
    lip_raw = LP.crop_features(track.crops) if want_lips else None
    return SongData(inp, lines, audio, graph, lip_raw)


def _prepare_job(args):
    inp, opts, work = args
    import torch

    torch.set_num_threads(1)
    try:
        return prepare_song(inp, opts, work)
    except Exception as e:  # noqa: BLE001 - one bad song must not stop the others; named in problems
        logging.exception("preparing %s", inp.key)
        return Problem(inp.key, f"failed: {type(e).__name__}: {e}")


def prepare_all(songs: Sequence[SongInput], opts: Options, work: Path) -> Tuple[List[SongData], List[Problem]]:
    jobs = [(s, opts, work) for s in songs]
    if opts.nj > 1 and len(jobs) > 1:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(min(opts.nj, len(jobs))) as pool:
            results = pool.map(_prepare_job, jobs, chunksize=1)
    else:
        results = [_prepare_job(j) for j in jobs]
    good = [r for r in results if isinstance(r, SongData)]
    return good, [r for r in results if isinstance(r, Problem)]


# ------------------------------------------------------------------------------------------------ align
def align_songs(data: List[SongData], opts: Options) -> Dict[str, float]:
    """Train the aligner on every song, align (audio, then audio + lips); sets each song's units.
    Returns timings (seconds) of the steps."""
    t0 = time.time()
    cfg = AlignerConfig(**{**opts.aligner.__dict__, "nj": opts.nj})
    mfccs = [d.audio.mfcc for d in data]
    voiced = [d.voiced for d in data]
    quiet = [quiet_frames(d.audio.energy, d.audio.vad, d.audio.f0) for d in data]
    breathy = [breathy_frames(d.audio.energy, d.audio.f0) for d in data]
    graphs = [d.graph for d in data]
    song_lines = [[[s.phones for s in line.syllables] for line in d.lines] for d in data]
    model = train_aligner(mfccs, voiced, quiet, breathy, song_lines, graphs, cfg)
    emissions = [model.emissions(m, v, q) for m, v, q in zip(mfccs, voiced, quiet)]
    paths = align_all(emissions, graphs, opts.nj, model.bands)
    times = {"train_audio_aligner": time.time() - t0}
    posts = [phone_log_posteriors(e) for e in emissions]
    for d, p, lp in zip(data, paths, posts):
        d.audio_units = units_from_path(p, d.graph, d.audio.duration)
        unit_scores(d.audio_units, p, d.graph, lp)
        d.units = d.audio_units
    use_lips = opts.lips != "off" and all(d.lip_raw is not None for d in data)
    if use_lips:
        t1 = time.time()
        pca = LP.fit_pca([d.lip_raw for d in data])
        feats = [pca(d.lip_raw) for d in data]
        clf = LP.train_lips(feats, [d.audio_units for d in data], seed=opts.seed)
        combined = [e + LP.lip_emissions(clf.log_scores(LP.stack_context(z)), len(e), opts.lip_weight)
                    for e, z in zip(emissions, feats)]
        paths = align_all(combined, graphs, opts.nj, model.bands)
        for d, p, lp in zip(data, paths, posts):
            d.units = units_from_path(p, d.graph, d.audio.duration)
            unit_scores(d.units, p, d.graph, lp)
        times["train_lips"] = time.time() - t1
    shift_all(data, opts.rest_onset_shift, opts.rest_offset_shift)
    return times


def shift_all(data: Sequence[SongData], onset: float, offset: float) -> None:
    """align.shift_rest_edges on both alignments of every song."""
    for d in data:
        for units in {id(d.audio_units): d.audio_units, id(d.units): d.units}.values():
            shift_rest_edges(units, onset, offset)


# ------------------------------------------------------------------------------------------------ write
def line_problems(d: SongData) -> Dict[int, str]:
    """{line index: why the line does not fit the audio} after alignment."""
    out = {}
    spans = line_spans(d.units)
    voiced = d.voiced
    for li, line in enumerate(d.lines):
        us = [u for u in d.units if u.line == li]
        st, et = spans[li]
        n = len(line.syllables)
        finals = [u for u in us if u.phone in FINALS]
        fr = np.concatenate([np.arange(u.first, u.end) for u in finals]) if finals else np.zeros(0, int)
        vfrac = float(voiced[fr].mean()) if len(fr) else 0.0
        per_syl = (et - st) / n
        where = f"{d.inp.lyrics.name}:{line.no}: lyric line {line.text!r}"
        if per_syl < 0.08 or vfrac < 0.3:
            out[li] = (f"{where} does not fit the audio (aligned to {et - st:.2f} s at {st:.2f} s, "
                       f"{100 * vfrac:.0f} % voiced): wrong or extra line? its utterance is left out")
        elif per_syl > 2.5:
            out[li] = (f"{where} is aligned over {et - st:.1f} s ({per_syl:.1f} s a syllable): the lyrics may miss a "
                       "sung line; its utterance is left out")
    return out


@dataclass
class UttOut:
    utt: str
    song: SongData
    seg: Utterance
    units: List[AlignedUnit]
    notes: Dict[int, int]


def textgrid_tiers(d: SongData, units: Sequence[AlignedUnit]):
    """(words, phones) tiers of an utterance's units; word labels from the lyrics (pinyin: its proxy
    character, lyrics.py)."""
    labels = [s.label for line in d.lines for s in line.syllables]
    words, phones = [], []
    for u in units:
        phones.append((u.st, u.et, u.phone))
        if u.is_rest:
            words.append([u.st, u.et, u.phone, -1])
        elif words and words[-1][3] == u.syllable:
            words[-1][1] = u.et
        else:
            words.append([u.st, u.et, labels[u.syllable], u.syllable])
    return [(a, b, t) for a, b, t, _ in words], phones


def notes_text(units: Sequence[AlignedUnit], notes: Dict[int, int]) -> str:
    return "".join(f"{u.phone} {0 if u.is_rest else notes[u.syllable]}\n" for u in units)


def write_media(song: SongData, seg: Utterance, base: Path, fs: int) -> None:
    """<utt>.wav (the song's audio between the cuts) and <utt>.mp4 (its video, 25 fps, no audio)."""
    import soundfile as sf

    from espnet2_ext.utils.ffmpeg import ffmpeg_file, ffmpeg_to

    a = song.audio
    wav, rate = a.wav, a.fs
    if fs and fs != rate:
        from espnet2_ext.annotate.audio import decode_audio

        wav, rate = decode_audio(song.inp.vocals or song.inp.video, fs), fs
    x = wav[int(round(seg.start * rate)):int(round(seg.end * rate))]
    with atomic_path(base.with_suffix(".wav"), ".wav") as tmp:
        sf.write(str(tmp), x, rate, subtype="PCM_16", format="WAV")
    ffmpeg_to(base.with_suffix(".mp4"), [
        "-ss", f"{seg.start:.6f}", "-i", ffmpeg_file(song.inp.video), "-t", f"{seg.end - seg.start:.6f}",
        "-map", "0:v:0", "-an", "-c:v", "libx264", "-preset", "medium", "-crf", "18", "-pix_fmt", "yuv420p",
        "-r", "25", "-threads", "1", "-fflags", "+bitexact", "-flags:v", "+bitexact"],
        f"cutting {song.inp.video} at {seg.start:.3f}-{seg.end:.3f} s")


def read_segments_tsv(path: Path) -> Dict[str, List[Tuple[str, float, float]]]:
    """CORPUS/segments.tsv -> {<singer>/<song>: [(utt, start, end)]}."""
    out: Dict[str, List[Tuple[str, float, float]]] = {}
    if not Path(path).is_file():
        return out
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.split("\t")
        if len(parts) == 4:
            out.setdefault(parts[1], []).append((parts[0], float(parts[2]), float(parts[3])))
    return out


def annotate(performances: Path, out: Path, opts: Optional[Options] = None) -> dict:
    """The whole pipeline (module docstring); returns a summary."""
    opts = opts or Options()
    t0 = time.time()
    performances, out = Path(performances), Path(out)
    out.mkdir(parents=True, exist_ok=True)
    work = out / ".annotate"
    work.mkdir(exist_ok=True)
    songs, problems = scan_performances(performances)
    for p in problems:
        logging.error("%s", p)
    logging.info("%d songs in %s: preparing (lyrics, audio features, faces) with %d jobs", len(songs), performances,
                 opts.nj)
    data, bad = prepare_all(songs, opts, work)
    for p in bad:
        logging.error("%s", p)
    problems += bad
    timing = {"prepare": time.time() - t0}
    if not data:
        _finish(out, problems, [], {})
        raise AnnotateError(f"no song of {performances} could be annotated ({len(problems)} problems, "
                            f"listed in {out / 'problems.txt'})")
    if opts.lips == "on" and any(d.lip_raw is None for d in data):
        raise AnnotateError("--lips on: some songs have no lip stream")
    minutes = sum(d.audio.duration for d in data) / 60
    if minutes < FEW_MINUTES:
        logging.warning("only %.1f min of songs: the aligner learns from the corpus itself and places boundaries "
                        "less well on little of it (on the demo songs 59 %% within 20 ms on 2.7 min, 91 %% on 7 min; "
                        "docs/annotate.md, Limits): add songs if you have them, and open review.tsv's worst first",
                        minutes)
    timing.update(align_songs(data, opts))
    t1 = time.time()
    problems, n_utts = write_corpus(data, out, opts, problems)
    timing["write"] = time.time() - t1
    seconds = sum(d.audio.duration for d in data)
    summary = dict(songs=len(songs), annotated_songs=len(data), utterances=n_utts, problems=len(problems),
                   song_seconds=round(seconds, 2), elapsed=round(time.time() - t0, 1),
                   timing={k: round(v, 1) for k, v in timing.items()},
                   lips=opts.lips != "off" and all(d.lip_raw is not None for d in data))
    logging.info("%d utterances from %d of %d songs (%.1f min of singing) in %.0f s; %d problems (%s)",
                 n_utts, len(data), len(songs), seconds / 60, summary["elapsed"], len(problems),
                 out / "problems.txt")
    return summary


def write_corpus(data: Sequence[SongData], out: Path, opts: Options, problems: List[Problem]
                 ) -> Tuple[List[Problem], int]:
    """Every aligned song's utterances, segments.tsv, review.tsv, problems.txt into ``out``.
    -> (all problems, number of utterances)."""
    out.mkdir(parents=True, exist_ok=True)
    (out / ".annotate").mkdir(exist_ok=True)
    problems = list(problems)
    written = read_written(out / ".annotate" / "written.tsv")
    old_segments = read_segments_tsv(out / "segments.tsv")
    seg_lines, reviews = [], []
    low = low_posterior_threshold([u.score for d in data for u in d.units if not u.is_rest])
    for d in data:
        p, rows, segs = write_song(d, out, opts, written, old_segments.get(d.inp.key, []), low)
        for x in p:
            logging.warning("%s", x)
        problems += p
        reviews += rows
        seg_lines += segs
    _finish(out, problems, reviews, written, seg_lines)
    return problems, len(seg_lines)


def _finish(out: Path, problems, reviews, written, seg_lines=()):
    atomic_write_text(out / "problems.txt", "".join(f"{p}\n" for p in problems))
    if reviews:
        write_review(out / "review.tsv", reviews)
    atomic_write_text(out / "segments.tsv", "".join(f"{u}\t{k}\t{s:.3f}\t{e:.3f}\n" for u, k, s, e in sorted(seg_lines)))
    write_written(out / ".annotate" / "written.tsv", written)


def reviewed_notes(d: SongData, seg: Utterance, tg_path: Path) -> str:
    """The notes of a reviewed TextGrid: one note per syllable (a non-rest interval of its words tier),
    the most frequent semitone of the song's F0 over it (notes.py), copied to the phones inside it."""
    from espnet2_ext.annotate.notes import mode_semitone
    from espnet2_ext.data.phones import is_rest, normalize_phone

    tiers = read_textgrid(tg_path)
    words = [(iv.xmin, iv.xmax) for iv in tiers["words"] if iv.text.strip().lower() not in REST_WORDS]
    out = []
    for iv in tiers["phones"]:
        ph = normalize_phone(iv.text)
        note = 0
        if not is_rest(ph):
            mid = (iv.xmin + iv.xmax) / 2
            span = next(((a, b) for a, b in words if a <= mid < b), (iv.xmin, iv.xmax))
            a, b = (int(round((seg.start + t) / FRAME_S)) for t in span)
            note = mode_semitone(d.audio.f0[a:max(b, a + 1)])[0]
        out.append(f"{ph} {note}\n")
    return "".join(out)


def _write_utterance(d: SongData, seg: Utterance, utt: str, base: Path, units, notes, opts: Options) -> dict:
    """Media, TextGrid and notes of one utterance, then stage 1's check -> the files' hashes, or the
    check's error."""
    from espnet2_ext.data.visualsinger import CorpusError, load_utterance

    words, phones = textgrid_tiers(d, units)
    write_media(d, seg, base, opts.fs)
    write_textgrid(base.with_suffix(".TextGrid"), [("words", words), ("phones", phones)], round(seg.end - seg.start, 6))
    atomic_write_text(base.with_suffix(".notes"), notes_text(units, notes))
    res = {"TextGrid": sha1(base.with_suffix(".TextGrid")), "notes": sha1(base.with_suffix(".notes"))}
    if opts.validate:
        try:
            load_utterance(base.parent.parent, base.parent.name, utt)
        except CorpusError as e:
            res["error"] = str(e)
    return res


def _keep_reviewed(d: SongData, seg: Utterance, utt: str, base: Path, written: Dict[str, str], opts: Options
                   ) -> Optional[str]:
    """A reviewed utterance: its TextGrid is never written; its notes follow the corrected phones
    unless a person edited them too. -> an error of stage 1's check, or None."""
    from espnet2_ext.data.textgrid_io import TextGridError
    from espnet2_ext.data.visualsinger import CorpusError, load_utterance

    rel = f"{base.parent.name}/{utt}.notes"
    notes_path = base.with_suffix(".notes")
    if not notes_path.is_file() or written.get(rel) == sha1(notes_path):
        try:
            atomic_write_text(notes_path, reviewed_notes(d, seg, base.with_suffix(".TextGrid")))
            written[rel] = sha1(notes_path)
        except (TextGridError, ValueError, KeyError) as e:
            return f"its TextGrid cannot be read ({e})"
    if opts.validate:
        try:
            load_utterance(base.parent.parent, base.parent.name, utt)
        except CorpusError as e:
            return str(e)
    return None


def write_song(d: SongData, out: Path, opts: Options, written: Dict[str, str],
               old: List[Tuple[str, float, float]], low_threshold: float):
    """Cut, note and write one song's utterances (media in ``nj`` threads). -> (problems, review rows,
    segments.tsv rows)."""
    from concurrent.futures import ThreadPoolExecutor

    key, singer = d.inp.key, d.inp.singer
    problems: List[Problem] = []
    bad_lines = line_problems(d)
    for msg in bad_lines.values():
        problems.append(Problem(key, msg))
    reviewed = {u for u, _, _ in old if is_reviewed(out, f"{singer}/{u}.TextGrid", written)}
    spans = line_spans(d.units)
    if reviewed:  # keep the song's cuts: the corrected TextGrids belong to them
        segs = []
        for u, st, et in old:
            lines = [li for li, (a, b) in spans.items() if st <= (a + b) / 2 < et]
            segs.append((u, Utterance(lines, st, et)))
        logging.info("%s: %d reviewed utterances: its cuts are kept from segments.tsv", key, len(reviewed))
        homeless = sorted(set(spans) - {li for _, sg in segs for li in sg.lines})
        for li in homeless:
            problems.append(Problem(key, f"{d.inp.lyrics.name}:{d.lines[li].no}: lyric line {d.lines[li].text!r} "
                                         "lies in none of the cuts kept for the reviewed utterances: left out"))
    else:
        for u, _, _ in old:  # the song is cut anew: its old files go
            for ext in (".wav", ".mp4", ".TextGrid", ".notes"):
                (out / singer / (u + ext)).unlink(missing_ok=True)
        cut = cut_song(d.units, d.audio.duration, opts.min_rest, opts.min_seconds, opts.max_seconds, opts.pad)
        segs = [(utt_id(singer, d.inp.name, k + 1), s) for k, s in enumerate(cut)]
    notes = {s: n for s, (n, _) in syllable_notes(d.units, d.audio.f0).items()}
    (out / singer).mkdir(parents=True, exist_ok=True)
    rows, seg_rows, jobs = [], [], []
    for utt, seg in segs:
        for msg in seg.problems:
            problems.append(Problem(key, f"utterance {utt} (lines {', '.join(str(d.lines[i].no) for i in seg.lines)}): "
                                         f"{msg}"))
        if any(li in bad_lines for li in seg.lines):
            continue
        rel_tg = f"{singer}/{utt}.TextGrid"
        base = out / singer / utt
        if utt in reviewed:
            err = _keep_reviewed(d, seg, utt, base, written, opts)
            if err:
                problems.append(Problem(key, f"reviewed utterance {utt} fails the corpus check: {err}"))
            rows.append(UttReview(utt, key, seg.start, seg.end, 0.0, 0, 0, 0, [], "reviewed", rel_tg))
            seg_rows.append((utt, key, seg.start, seg.end))
            continue
        try:
            units = utterance_units(d.units, seg)
        except ValueError as e:
            problems.append(Problem(key, f"utterance {utt}: {e}; left as it was"))
            continue
        jobs.append((utt, seg, base, units))
    with ThreadPoolExecutor(max(1, opts.nj)) as pool:
        results = list(pool.map(lambda j: _write_utterance(d, j[1], j[0], j[2], j[3], notes, opts), jobs))
    for (utt, seg, _, units), res in zip(jobs, results):
        rel_tg = f"{singer}/{utt}.TextGrid"
        written[rel_tg] = res["TextGrid"]
        written[f"{singer}/{utt}.notes"] = res["notes"]
        if "error" in res:
            problems.append(Problem(key, f"utterance {utt} fails the corpus check: {res['error']}"))
        rows.append(utterance_review(utt, key, seg.start, seg.end, units, d.voiced, rel_tg, low_threshold))
        seg_rows.append((utt, key, seg.start, seg.end))
    return problems, rows, seg_rows
