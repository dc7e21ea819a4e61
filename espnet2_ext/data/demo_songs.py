"""Song-level demo performances with their truth, for the corpus builder (espnet2_ext/annotate).

    consecutive lyric lines of demo_lyrics (whole lines, wrapping) --plan_song: per line random
      syllable durations (log-uniform 0.15-0.8 s), initials 40-150 ms, rests inside a line (SP / AP,
      as the demo corpus's utterances), rests between lines (mostly 0.4-1.6 s, some 0.12-0.28 s
      that no cutter should cut at), a breath (AP) before some lines, silence before and after-->
      --synth_audio (one call for the whole song)--> vocals
      --synth_video (one face, one head motion for the whole song)--> frames
      --ffmpeg: H.264 video + the vocals as AAC--> <out>/<singer>/<song>.mp4
      lyric lines --> <out>/<singer>/<song>.txt (one sung line per text line)
      truth --> <truth>/<singer>/<song>.json (lines with their sung spans, phones with times and
                MIDI, syllables with their note) and <song>.TextGrid (tiers lines, words, phones)

A song is 20-60 s by default (``seconds``); every song has its own random stream
(seed, singer, song index, 3), so songs are byte-identical for the same seed whatever the order.
The singers are demo_corpus.SINGERS: singerE, singerF and singerG are the held-out ones.
"""

import json
import logging
import os
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import List, Optional, Sequence, Tuple

import numpy as np
import soundfile as sf

from espnet2_ext.data.demo_corpus import SINGER_INDEX, SINGERS, _melody, sing_syllable
from espnet2_ext.data.demo_lyrics import LYRIC_SETS
from espnet2_ext.data.phones import lyric_chars, lyric_to_phones
from espnet2_ext.data.synth_audio import synthesize
from espnet2_ext.data.synth_video import FPS, frame_shapes, mouth_tracks, render_frames, singer_look
from espnet2_ext.data.textgrid_io import write_textgrid
from espnet2_ext.utils.ffmpeg import ffmpeg_file, ffmpeg_to
from espnet2_ext.utils.fileio import atomic_write_text

HELD_OUT_SINGERS = ("singerE", "singerF", "singerG")
SONG_STREAM = 3  # fourth seed word of the songs' random streams (0-2 are the corpora's)
LONG_REST = (0.4, 1.6)  # s, a rest between lines
SHORT_REST = (0.12, 0.28)  # s, lines sung on without a cuttable rest (probability SHORT_REST_PROB)
SHORT_REST_PROB = 0.15
BREATH_PROB = 0.5  # a breath (AP, 0.15-0.3 s) ends a long rest before a line


@dataclass
class Song:
    """Timing and content of one generated song."""

    name: str  # <singer>_song<k>
    singer: str
    lines: List[str]  # lyric lines as written to <song>.txt
    line_spans: List[Tuple[float, float]]  # sung span of each line: first phone start, last phone end
    words: List[Tuple[float, float, str]]  # (st, et, character or SP / AP)
    phones: List[Tuple[float, float, str, int, int]]  # (st, et, phone, midi, syllable index or -1)
    syllables: List[Tuple[float, float, str, int, int]]  # (st, et, character, midi, line index)
    duration: float


def _line_syllables(line: str, rng: np.random.Generator) -> List[Tuple[str, List[str], float]]:
    chars = lyric_chars(line)
    groups = lyric_to_phones(line)
    return [(ch, phs, float(np.exp(rng.uniform(np.log(0.15), np.log(0.8))))) for ch, phs in zip(chars, groups)]


def plan_song(name: str, singer: str, rng: np.random.Generator, seconds: Tuple[float, float] = (20.0, 60.0),
              lyrics: Sequence[str] = LYRIC_SETS["demo"], max_lines: Optional[int] = None) -> Song:
    """Whole consecutive lyric lines until the song reaches a duration drawn in ``seconds`` (at least
    one line; at most ``max_lines``), with the timing described in the module docstring."""
    voice = SINGERS[SINGER_INDEX[singer]][0]
    target = float(rng.uniform(*seconds))
    first = int(rng.integers(len(lyrics)))
    t = float(rng.uniform(0.5, 1.5))
    words: List[Tuple[float, float, str]] = [(0.0, t, "SP")]
    phones: List[Tuple[float, float, str, int, int]] = [(0.0, t, "SP", 0, -1)]
    lines, spans, syllables = [], [], []
    k = 0  # syllable index over the song

    def rest(label: str, d: float) -> None:
        nonlocal t
        words.append((t, t + d, label))
        phones.append((t, t + d, label, 0, -1))
        t += d

    while True:
        li = len(lines)
        line = lyrics[(first + li) % len(lyrics)]
        sylls = _line_syllables(line, rng)
        midis = _melody(len(sylls), voice.key_shift, rng)
        if li > 0:  # the rest before this line
            if rng.random() < SHORT_REST_PROB:
                rest("SP", float(rng.uniform(*SHORT_REST)))
            else:
                gap = float(rng.uniform(*LONG_REST))
                breath = float(rng.uniform(0.15, 0.3)) if rng.random() < BREATH_PROB else 0.0
                rest("SP", gap - breath if breath else gap)
                if breath:
                    rest("AP", breath)
        line_start = t
        for j, ((ch, phs, d), midi) in enumerate(zip(sylls, midis)):
            if j > 0 and rng.random() < 0.2:  # a rest inside the line
                ap = rng.random() < 0.45
                rest("AP" if ap else "SP", float(rng.uniform(0.15, 0.35) if ap else rng.uniform(0.08, 0.4)))
            st = t
            t = sing_syllable(phones, t, d, phs, midi, k, rng)
            words.append((st, t, ch))
            syllables.append((st, t, ch, midi, li))
            k += 1
        lines.append(line)
        spans.append((line_start, t))
        if t >= target or (max_lines is not None and len(lines) >= max_lines):
            break
    end = t + float(rng.uniform(0.5, 1.5))
    end = float(np.ceil(round(end * FPS, 6)) / FPS)  # whole number of video frames
    rest("SP", end - t)
    return Song(name, singer, lines, spans, words, phones, syllables, end)


def song_truth(song: Song) -> dict:
    """The JSON truth of a song (times in seconds)."""
    d = asdict(song)
    d["lines"] = [{"text": text, "start": round(st, 6), "end": round(et, 6)}
                  for text, (st, et) in zip(song.lines, song.line_spans)]
    del d["line_spans"]
    d["phones"] = [[round(st, 6), round(et, 6), p, m, s] for st, et, p, m, s in song.phones]
    d["words"] = [[round(st, 6), round(et, 6), w] for st, et, w in song.words]
    d["syllables"] = [[round(st, 6), round(et, 6), c, m, li] for st, et, c, m, li in song.syllables]
    return d


def read_song_truth(path: Path) -> dict:
    """<truth>/<singer>/<song>.json -> the dict of song_truth."""
    return json.loads(Path(path).read_text(encoding="utf-8"))


def write_song(out: Path, truth: Path, song: Song, fs: int, rng: np.random.Generator, size: int = 192,
               video_difficulty: str = "hard", vocals: bool = False) -> None:
    """Synthesise and write <out>/<singer>/<song>.{mp4,txt} (and <song>.wav, the isolated vocals, with
    ``vocals``) and <truth>/<singer>/<song>.{json,TextGrid}."""
    voice, look = SINGERS[SINGER_INDEX[song.singer]]
    n = int(round(song.duration * fs))
    wav = synthesize([(p, st, et, m) for st, et, p, m, _ in song.phones], [s for *_, s in song.phones], voice, fs, n,
                     rng)
    n_v = int(round(song.duration * FPS))
    shapes = frame_shapes(mouth_tracks([(p, st, et) for st, et, p, _, _ in song.phones], song.duration), n_v)
    frames, _ = render_frames(shapes, rng, size, singer_look(voice.name, look), video_difficulty)
    d_out, d_truth = Path(out) / song.singer, Path(truth) / song.singer
    d_out.mkdir(parents=True, exist_ok=True)
    d_truth.mkdir(parents=True, exist_ok=True)
    base = d_out / song.name
    with tempfile.TemporaryDirectory(dir=d_out) as tmp:
        tmp_wav = Path(tmp) / "vocals.wav"
        sf.write(str(tmp_wav), wav, fs, subtype="PCM_16", format="WAV")
        h, w = frames.shape[1:3]
        ffmpeg_to(base.with_suffix(".mp4"), [
            "-f", "rawvideo", "-pix_fmt", "rgb24", "-s", f"{w}x{h}", "-r", str(FPS), "-i", "-",
            "-i", ffmpeg_file(tmp_wav), "-map", "0:v:0", "-map", "1:a:0", "-c:v", "libx264", "-preset", "medium",
            "-crf", "20", "-pix_fmt", "yuv420p", "-c:a", "aac", "-b:a", "160k", "-threads", "1",
            "-x264-params", "threads=1", "-fflags", "+bitexact", "-flags:v", "+bitexact", "-flags:a", "+bitexact",
            "-map_metadata", "-1", "-movflags", "+faststart"], f"writing {base.with_suffix('.mp4')}",
            input=np.ascontiguousarray(frames).tobytes())
        if vocals:
            os.replace(tmp_wav, base.with_suffix(".wav"))
    atomic_write_text(base.with_suffix(".txt"), "".join(line + "\n" for line in song.lines))
    atomic_write_text((d_truth / song.name).with_suffix(".json"),
                      json.dumps(song_truth(song), ensure_ascii=False, indent=1) + "\n")
    write_textgrid((d_truth / song.name).with_suffix(".TextGrid"), [
        ("lines", _line_tier(song)), ("words", song.words),
        ("phones", [(st, et, p) for st, et, p, _, _ in song.phones])], song.duration)


def _line_tier(song: Song) -> List[Tuple[float, float, str]]:
    out, t = [], 0.0
    for text, (st, et) in zip(song.lines, song.line_spans):
        if st > t:
            out.append((t, st, ""))
        out.append((st, et, text))
        t = et
    if song.duration > t:
        out.append((t, song.duration, ""))
    return out


def _make_one(job) -> float:
    out, truth, seed, singer, k, fs, size, seconds, lyrics, difficulty, max_lines, vocals = job
    rng = np.random.default_rng(np.random.SeedSequence([seed, SINGER_INDEX[singer], k, SONG_STREAM]))
    song = plan_song(f"{singer}_song{k:02d}", singer, rng, seconds, LYRIC_SETS[lyrics], max_lines)
    write_song(out, truth, song, fs, rng, size, difficulty, vocals)
    return song.duration


def make_demo_songs(out: Path, truth: Optional[Path] = None, singers: Sequence[str] = HELD_OUT_SINGERS,
                    songs_per_singer: int = 2, seed: int = 0, fs: int = 22050, size: int = 192,
                    seconds: Tuple[float, float] = (20.0, 60.0), lyrics: str = "demo", video_difficulty: str = "hard",
                    max_lines: Optional[int] = None, vocals: bool = False, nj: int = 1,
                    overwrite: bool = False) -> dict:
    """Songs of ``singers`` into ``out`` (the layout annotate_performances reads) and their truth into
    ``truth`` (default <out>/.truth, a hidden folder the annotator skips); returns statistics.
    vocals: also write <song>.wav, the isolated vocals (the same singing as the video's track)."""
    out = Path(out)
    truth = Path(truth) if truth is not None else out / ".truth"
    unknown = [s for s in singers if s not in SINGER_INDEX]
    if unknown or not singers:
        raise ValueError(f"--singers {unknown or list(singers)}: choose from {sorted(SINGER_INDEX)}")
    if lyrics not in LYRIC_SETS:
        raise ValueError(f"--lyrics must be one of {sorted(LYRIC_SETS)}, got {lyrics!r}")
    if not 0 < seconds[0] <= seconds[1]:
        raise ValueError(f"song seconds must satisfy 0 < min <= max, got {seconds}")
    if out.exists() and any(p for p in out.iterdir() if p.name != ".truth") and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty (pass --overwrite to replace its files)")
    t0 = time.time()
    jobs = [(out, truth, seed, s, k, fs, size, tuple(seconds), lyrics, video_difficulty, max_lines, vocals)
            for s in singers for k in range(songs_per_singer)]
    if nj == 1:
        durations = [_make_one(j) for j in jobs]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(nj) as pool:
            durations = pool.map(_make_one, jobs, chunksize=1)
    stats = {"songs": len(jobs), "seconds": round(float(sum(durations)), 2), "elapsed": round(time.time() - t0, 1)}
    logging.info("%d songs (%.1f min) in %s, truth in %s, %.1f s", stats["songs"], stats["seconds"] / 60, out, truth,
                 stats["elapsed"])
    return stats


def cached_demo_songs(out: Path, stamp: Path, **kwargs) -> bool:
    """make_demo_songs(out, overwrite=True, **kwargs) unless ``stamp`` records the same arguments (the
    benches reuse their songs across runs; ``nj`` is not recorded); writes the stamp. Returns whether
    the songs were made."""
    stamp = Path(stamp)
    gen = json.loads(json.dumps({k: v for k, v in kwargs.items() if k != "nj"}))  # tuples read back as lists
    if stamp.is_file() and json.loads(stamp.read_text()) == gen:
        return False
    make_demo_songs(out, overwrite=True, **kwargs)
    stamp.parent.mkdir(parents=True, exist_ok=True)
    stamp.write_text(json.dumps(gen))
    return True
