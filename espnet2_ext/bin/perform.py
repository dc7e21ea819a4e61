#!/usr/bin/env python3
"""Sing lyrics onto your own video: lips give the timing, a reference recording the voice.

    python -m espnet2_ext.bin.perform --model exp/svs_performsinger/packed/performsinger.zip \
        --video in.mp4 --lyrics "月亮照在小河上" --notes "A3 B3 C4 C4 D4 E4 D4" --reference voice.wav --out out/
    ... --lyrics_file lyrics.txt --notes_file notes.txt          or --score song.musicxml (pitches only)
    ... --video song.mp4 --segments lines.txt                    a whole song, one sung line per line
    ... --start 12.4 --end 17.9                                  one line of a longer video
    ... --from_utt data/test_ood [UTT]     video, reference, lyrics and notes of one utterance of a
                                           data dir (api/data_utt.py; no UTT: the first whose phones
                                           the model's token list has)

MODEL is a packed model (recipe stage 9) or an exp dir. Writes <name>.{wav,mp4,TextGrid,json,png}
into --out (<name>: the video's name); see espnet2_ext/api/outputs.py. A path that starts with
``-`` is given as ``--video=-clip.mp4``. Bad input (or an ffmpeg failure) is one error line, exit
status 1, and nothing is written: every input is checked before the model loads, and every sung
line before the first is sung.
"""

import argparse
import logging
import os
import sys
import time
from pathlib import Path
from typing import List

from espnet2_ext.api.errors import InputError
from espnet2_ext.api.segments import END_TOLERANCE, Segment, check_segments, read_segments
from espnet2_ext.svs.precision import PRECISIONS
from espnet2_ext.utils.media import FFmpegError


def get_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--model", required=True, help="packed model (.zip) or exp dir (exp/svs_<system>)")
    p.add_argument("--video", help="performance video (any fps / size, audio or not)")
    p.add_argument("--reference", help="recording of the voice to sing with (>= 1 s)")
    p.add_argument("--from_utt", nargs="+", metavar=("DATA_DIR", "UTT"),
                   help="take --video, --reference, --lyrics and --notes from utterance UTT of a stage-1 data dir")
    p.add_argument("--out", required=True, help="output directory")
    p.add_argument("--name", default=None, help="output file name stem (default: the video's)")
    g = p.add_mutually_exclusive_group()
    g.add_argument("--lyrics", help="Chinese characters or pinyin syllables; SP / AP for rests and breaths")
    g.add_argument("--lyrics_file", help="a file holding the lyrics")
    n = p.add_mutually_exclusive_group()
    n.add_argument("--notes", help="one note per sung syllable: MIDI numbers or names (C4, F#3, Bb4)")
    n.add_argument("--notes_file", help="a file holding the notes")
    n.add_argument("--score", help="MusicXML or MIDI file: its pitch sequence, in order (lengths ignored)")
    p.add_argument("--segments", help="'<start> <end> <lyrics> | <notes>' lines of a whole song")
    p.add_argument("--start", type=float, default=None, help="seconds: sing only from here")
    p.add_argument("--end", type=float, default=None, help="seconds: sing only up to here")
    p.add_argument("--max_seconds", type=float, default=20.0, help="longest line sung in one piece")
    p.add_argument("--overwrite", action="store_true", help="replace existing outputs")
    p.add_argument("--device", default="cpu")
    p.add_argument("--vocoder", default=None, choices=["auto", "griffin_lim", "hifigan_pretrained", "hifigan"],
                   help="default: the pack's, else auto")
    p.add_argument("--vocoder_checkpoint", default=None)
    p.add_argument("--nthreads", type=int, default=2)
    p.add_argument("--precision", default=None, choices=PRECISIONS,
                   help="compute dtype of the lip encoder, F0 predictor and mel decoders (default: the pack's decode "
                        "config; auto: bfloat16 where the device computes it natively)")
    p.add_argument("--log_level", default="INFO", choices=["ERROR", "WARNING", "INFO", "DEBUG"])
    return p


def _read_text(path: str, what: str) -> str:
    try:
        return Path(path).read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise InputError(f"--{what} {path}: cannot read it ({e})") from e


def _lines(a: argparse.Namespace, duration: float) -> List[Segment]:
    """The sung lines: from --segments, or one line of --lyrics / --notes (all of the video or --start/--end)."""
    if a.segments:
        if a.lyrics or a.lyrics_file or a.notes or a.notes_file or a.score:
            raise InputError("--segments gives every line's lyrics and notes: drop --lyrics / --notes / --score")
        return check_segments(read_segments(a.segments), a.segments, a.video, duration, a.max_seconds)
    lyrics = a.lyrics if a.lyrics is not None else _read_text(a.lyrics_file, "lyrics_file") if a.lyrics_file else None
    notes = a.notes if a.notes is not None else _read_text(a.notes_file, "notes_file") if a.notes_file else a.score
    if lyrics is None or notes is None:
        raise InputError("give the lyrics (--lyrics or --lyrics_file) and the notes (--notes, --notes_file or "
                         "--score), or a --segments file")
    st, et = a.start, a.end
    length = (et if et is not None else duration) - (st or 0.0)
    if st is None and et is None and duration > a.max_seconds:
        raise InputError(f"{a.video}: {duration:.1f} s, longer than --max_seconds {a.max_seconds:g}: pass --segments "
                         "(one line per sung line) or --start / --end")
    if length > a.max_seconds:
        raise InputError(f"--start / --end: {length:.1f} s, longer than --max_seconds {a.max_seconds:g}")
    if length <= 0 or (st or 0.0) >= duration:
        raise InputError(f"--start {st} / --end {et}: an empty part of {a.video} ({duration:.2f} s)")
    if et is not None and et > duration + END_TOLERANCE:
        raise InputError(f"--end {et:g}: after the end of {a.video} ({duration:.2f} s)")
    return [Segment(st if st is not None else 0.0, min(et, duration) if et is not None else duration, lyrics, notes,
                    0)]


def check_out_dir(out: str) -> None:
    """InputError unless --out is a directory or can be made one: not an existing file, nor under one,
    and inside a directory this user may write in."""
    path = Path(out)
    for d in (path, *path.absolute().parents):
        if not os.path.lexists(d):
            continue
        if not d.is_dir():
            what = "" if d == path else f" {d}"
            raise InputError(f"--out {out}:{what} exists and is not a directory: pass a directory for the outputs "
                             "(made when missing)")
        if not os.access(d, os.W_OK | os.X_OK):
            raise InputError(f"--out {out}: cannot write in {d}: pass a directory you may write in")
        return


_FROM_UTT = ("video", "reference", "lyrics", "lyrics_file", "notes", "notes_file", "score", "segments")


def check_sources(a: argparse.Namespace) -> None:
    """--video and --reference given, or --from_utt DATA_DIR [UTT] instead of them (and of the lyrics/notes)."""
    if a.from_utt is None:
        missing = [f"--{k}" for k in ("video", "reference") if getattr(a, k) is None]
        if missing:
            raise InputError(f"pass {' and '.join(missing)} (or --from_utt DATA_DIR [UTT])")
        return
    if len(a.from_utt) > 2:
        raise InputError(f"--from_utt takes DATA_DIR and at most one UTT, got {len(a.from_utt)} values")
    given = [f"--{k}" for k in _FROM_UTT if getattr(a, k) is not None]
    if given:
        raise InputError(f"--from_utt gives the video, reference, lyrics and notes: drop {' '.join(given)}")


def fill_from_utt(a: argparse.Namespace, tokens=None) -> None:
    """Set --video, --reference, --lyrics and --notes from ``--from_utt DATA_DIR [UTT]``."""
    from espnet2_ext.api.data_utt import read_data_utt

    d = read_data_utt(a.from_utt[0], a.from_utt[1] if len(a.from_utt) > 1 else None, tokens)
    logging.info("--from_utt: utterance %s of %s", d.utt, a.from_utt[0])
    a.video, a.reference, a.lyrics, a.notes = d.video, d.reference, d.lyrics, d.notes


def _load(a: argparse.Namespace):
    """(Performer, seconds it took to load)."""
    from espnet2_ext.api.performer import Performer

    t0 = time.perf_counter()
    performer = Performer.from_pretrained(a.model, device=a.device, vocoder=a.vocoder,
                                          vocoder_checkpoint=a.vocoder_checkpoint, precision=a.precision)
    return performer, round(time.perf_counter() - t0, 4)


def run(a: argparse.Namespace) -> dict:
    """Check every input, load the model, sing every line, then write the outputs; returns their paths."""
    import torch
    from tqdm import tqdm

    from espnet2_ext.api.outputs import check_outputs
    from espnet2_ext.api.video import inspect_video

    t_all = time.perf_counter()
    torch.set_num_threads(max(1, a.nthreads))
    check_sources(a)
    check_out_dir(a.out)
    performer = None
    if a.from_utt is not None:
        if len(a.from_utt) == 1:  # the model's token list picks the utterance
            performer, load_s = _load(a)
        fill_from_utt(a, performer.token2id if performer else None)
    video = Path(a.video)
    info = inspect_video(video)
    lines = _lines(a, info.duration)
    whole = len(lines) == 1 and not a.segments and a.start is None and a.end is None
    name = a.name or video.stem
    check_outputs(Path(a.out), name, len(lines), a.overwrite)
    if performer is None:
        performer, load_s = _load(a)
    where = (lambda s: f"{a.segments}:{s.line}") if a.segments else (lambda s: "")
    for s in lines:  # every line's lyrics and notes before any singing
        performer.prepare(s.lyrics, s.notes, where(s))
    perfs = []
    for s in tqdm(lines, desc="lines", unit="line", disable=len(lines) < 2):
        cut = (None, None) if whole else (s.start, s.end)
        perfs.append(performer(video, s.lyrics, s.notes, a.reference, *cut, where=where(s)))
    timings = {"load": load_s, "total": round(time.perf_counter() - t_all, 4)}
    paths = _write(a, perfs, video, info.duration, name, performer, timings)
    logging.info("done in %.1f s", time.perf_counter() - t_all)
    return paths


def _write(a: argparse.Namespace, perfs, video: Path, seconds: float, name: str, performer, timings) -> dict:
    """write_outputs; when it fails (ffmpeg muxing, a full disk), the outputs it had written are removed."""
    from espnet2_ext.api.outputs import output_paths, write_outputs

    out = Path(a.out)
    made = not out.exists()
    before = {p for p in output_paths(out, name, len(perfs)) if p.exists()}
    try:
        return write_outputs(perfs, video, seconds, out, name, performer.source, performer.vocoder_name, timings)
    except BaseException:
        for p in output_paths(out, name, len(perfs)):
            if p not in before:
                p.unlink(missing_ok=True)
        if made and out.is_dir() and not any(out.iterdir()):
            out.rmdir()
        raise


def one_line(e: BaseException) -> str:
    """The message of ``e`` on one line (a message quoting a tool's output may hold several)."""
    return " ".join(ln.strip() for ln in str(e).splitlines() if ln.strip())


def main(argv=None) -> None:
    a = get_parser().parse_args(argv)
    logging.basicConfig(level=a.log_level, format="%(asctime)s %(levelname)s: %(message)s")
    try:
        paths = run(a)
    except (InputError, FFmpegError) as e:
        logging.error("%s", one_line(e))
        sys.exit(1)
    print(f"sung video: {paths['.mp4'].absolute()}")


if __name__ == "__main__":
    main()
