"""What ``perform`` writes into --out, each file through a temporary name and a rename.

    [Performance, ...] (one per sung line, at its place in the video)
      -> <name>.wav       the sung track over the whole video, silence between the lines
      -> <name>.mp4       the input video with that track (its own audio dropped)
      -> <name>.TextGrid  tiers "words" (syllables) and "phones", read off the lips (Praat)
      -> <name>.json      phones, notes, durations (s and mel frames), model, vocoder, step timings,
                          per line the lip-reading confidence (svs/performsinger/confidence.py), whether
                          it reaches the threshold, and the video frames not read
      -> <name>.png       mel, F0 over the notes, attention, boundaries over the lip strip
                          (<name>.<k>.png for line k of a song)
"""

import logging
import time
from pathlib import Path
from typing import Dict, List, Sequence

import numpy as np
import soundfile as sf

from espnet2_ext.api.errors import InputError
from espnet2_ext.utils.fileio import atomic_json, atomic_path

SUFFIXES = (".wav", ".mp4", ".TextGrid", ".json", ".png")


class OutputExistsError(InputError):
    """An output of the command exists and --overwrite was not given."""


def output_paths(out_dir: Path, name: str, n_lines: int = 1) -> List[Path]:
    pngs = [f".{k}.png" for k in range(1, n_lines + 1)] if n_lines > 1 else [".png"]
    return [Path(out_dir) / f"{name}{s}" for s in SUFFIXES[:-1] + tuple(pngs)]


def check_outputs(out_dir: Path, name: str, n_lines: int, overwrite: bool) -> None:
    """OutputExistsError naming the first output of ``name`` already in ``out_dir`` (unless overwrite)."""
    if overwrite:
        return
    for p in output_paths(out_dir, name, n_lines):
        if p.exists():
            raise OutputExistsError(f"{p} exists: pass --overwrite to replace it, or another --out / --name")


def song_track(perfs: Sequence, seconds: float, fs: int) -> np.ndarray:
    """(round(seconds x fs),) float32: each line's wav at its start, silence elsewhere."""
    track = np.zeros(max(1, int(round(seconds * fs))), np.float32)
    for p in perfs:
        a = int(round(p.start * fs))
        n = max(0, min(len(p.wav), len(track) - a))
        track[a:a + n] = p.wav[:n]
    return track


def tiers(perfs: Sequence, seconds: float):
    """TextGrid tiers [("words", ...), ("phones", ...)] covering [0, seconds]; gaps are empty intervals."""
    words, phones = [], []
    for p in perfs:
        b = np.minimum(p.boundaries, seconds)
        k = 0
        for s in p.syllables:
            n = len(s.phones)
            words.append((float(b[k]), float(b[k + n]), s.text))
            phones += [(float(b[k + i]), float(b[k + i + 1]), ph) for i, ph in enumerate(s.phones)]
            k += n
    out = []
    for name, items in (("words", words), ("phones", phones)):
        filled, t = [], 0.0
        for a, b, text in items:
            if b <= a:  # a phone of zero frames (a rest the lips skip): not drawable in Praat
                continue
            if a > t + 1e-6:
                filled.append((t, a, ""))
            filled.append((max(a, t), b, text))
            t = b
        if seconds > t + 1e-6:
            filled.append((t, seconds, ""))
        out.append((name, filled))
    return out


def line_record(p) -> Dict:
    return dict(start_s=round(p.start, 4), syllables=[s.text for s in p.syllables], phones=p.phones, notes=p.midi,
                durations_frames=[int(d) for d in p.durations],
                durations_s=[round(float(d), 5) for d in p.durations_s],
                boundaries_s=[round(float(b), 5) for b in p.boundaries], timings_s=p.timings,
                lip_confidence=p.lip_confidence, confident=p.confident, unread_frames=p.unread_frames)


def write_outputs(perfs: Sequence, video: Path, seconds: float, out_dir: Path, name: str, model: str,
                  vocoder: str, extra_timings: Dict[str, float]) -> Dict[str, Path]:
    """Write the five outputs (module docstring); returns {suffix: path}."""
    from espnet2_ext.data.textgrid_io import write_textgrid
    from espnet2_ext.eval.decode_plot import plot_utt
    from espnet2_ext.utils.media import mux_video

    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths = output_paths(out_dir, name, len(perfs))
    wav_path, mp4_path, tg_path, json_path = paths[:4]
    fs = perfs[0].fs
    t0 = time.perf_counter()
    track = song_track(perfs, seconds, fs)
    with atomic_path(wav_path, ".wav") as tmp:
        sf.write(str(tmp), track, fs, subtype="PCM_16")
    mux_video(video, wav_path, mp4_path)
    mux_s = round(time.perf_counter() - t0, 4)
    logging.info("%-8s %6.2f s  %s", "mux", mux_s, mp4_path)
    write_textgrid(tg_path, tiers(perfs, seconds), seconds)
    for k, (p, png) in enumerate(zip(perfs, paths[4:]), start=1):
        notes = [(float(a - p.start), float(b - p.start), m)
                 for a, b, m in zip(p.boundaries[:-1], p.boundaries[1:], p.midi)]
        hop = int(round(fs / p.frame_rate))
        plot_utt(png, f"{name} line {k}" if len(perfs) > 1 else name, fs, hop, gen_mel=p.mel, f0=p.f0,
                 notes=notes, attn=p.attn, pred_dur=p.durations, lip=p.crops)
    record = dict(video=str(video), model=model, vocoder=vocoder, fs=fs, frame_rate=perfs[0].frame_rate,
                  seconds=round(seconds, 4), lines=[line_record(p) for p in perfs],
                  timings_s={**extra_timings, "mux": mux_s})
    atomic_json(record, json_path)
    return {p.name[len(name):]: p for p in paths}
