"""Deterministic generator of the embedded demo corpus (VisualSinger layout, docs/data_contract.md).

    lyric lines (demo_lyrics.py: LYRICS, or NEW_LYRICS for the new-lyrics sets)
      --phones.py--> syllables --random durations + melody--> phone segments
      --synth_audio--> <utt>.wav      --synth_video--> <utt>.mp4 + <utt>.mouth.npy
      --textgrid_io--> <utt>.TextGrid (tiers "words", "phones")   + <utt>.notes

Phone durations are drawn at random (syllable log-uniform in [0.15, 0.8] s, initial 40-150 ms,
random SP/AP between syllables), so they cannot be predicted from phone identity or pitch: the
video is the only cue to the timing. Every utterance has its own seed derived from
(seed, singer, index), so files are byte-identical for the same seed.
"""

import json
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import List, Optional, Tuple

import numpy as np
import soundfile as sf

from espnet2_ext.data.demo_lyrics import LYRIC_SETS, LYRICS  # noqa: F401  (LYRICS: re-exported)
from espnet2_ext.data.phones import lyric_chars, lyric_to_phones
from espnet2_ext.data.synth_audio import SingerVoice, synthesize
from espnet2_ext.data.synth_video import (FPS, VIDEO_DIFFICULTIES, FaceLook, encode_mp4, frame_shapes, mouth_tracks,
                                          render_frames, singer_look)
from espnet2_ext.data.textgrid_io import write_textgrid
from espnet2_ext.utils.fileio import atomic_path


# (name, voice, face): two female-range, two male-range seen singers and one of each held out
# (singerE, singerF: test_ood); singerG, a third unseen singer, sings only the new lyric lines
# (test_newlyrics_ood). Appending keeps the (seed, singer index, utterance) streams of the others.
SINGERS: List[Tuple[SingerVoice, FaceLook]] = [
    (SingerVoice("singerA", 1.18, -6.0, 0.06, 0.004, 5.6, 35.0, 5), FaceLook((185, 70, 85), 1.0)),
    (SingerVoice("singerB", 0.88, -9.5, 0.03, 0.010, 5.1, 55.0, -6), FaceLook((160, 80, 80), 1.05)),
    (SingerVoice("singerC", 1.26, -4.5, 0.18, 0.006, 5.9, 60.0, 8), FaceLook((200, 60, 95), 0.95)),
    (SingerVoice("singerD", 0.94, -7.5, 0.12, 0.016, 5.3, 25.0, -3), FaceLook((150, 75, 70), 1.1)),
    (SingerVoice("singerE", 1.12, -8.0, 0.10, 0.008, 5.5, 45.0, 3), FaceLook((190, 85, 95), 1.0)),
    (SingerVoice("singerF", 0.84, -5.5, 0.07, 0.012, 5.8, 40.0, -8), FaceLook((165, 70, 75), 1.0)),
    (SingerVoice("singerG", 1.05, -7.0, 0.14, 0.007, 5.4, 50.0, 1), FaceLook((175, 65, 90), 0.98)),
]
SINGER_INDEX = {voice.name: i for i, (voice, _) in enumerate(SINGERS)}
# Utterance id infix and extra seed word of each lyric set: the "demo" set keeps the original
# (seed, singer, index) streams and ids; the "new" one draws its own timing and melodies.
LYRIC_STREAMS = {"demo": ("", ()), "new": ("nl", (1,))}


@dataclass
class Utterance:
    """Timing and content of one generated utterance."""

    utt: str
    words: List[Tuple[float, float, str]]  # (st, et, char or SP/AP)
    phones: List[Tuple[float, float, str, int, int]]  # (st, et, phone, midi, syllable index or -1)
    duration: float


def _melody(n: int, shift: int, rng) -> List[int]:
    steps = [-4, -3, -2, 0, 2, 3, 4, 5, -5, 7, -7]
    m = int(rng.integers(52, 60))
    out = []
    for _ in range(n):
        out.append(int(np.clip(m + shift, 36, 79)))
        m = int(np.clip(m + rng.choice(steps), 50, 62))
    return out


def plan_utterance(utt: str, voice: SingerVoice, rng: np.random.Generator, lyrics: List[str] = LYRICS) -> Utterance:
    """Random lyric excerpt (of ``lyrics``), melody and phone durations of one 2.5-5 s utterance."""
    target = rng.uniform(2.5, 5.0)
    start = int(rng.integers(len(lyrics)))
    chars = lyric_chars(lyrics[start] + lyrics[(start + 1) % len(lyrics)])
    t = float(rng.uniform(0.15, 0.45))
    words = [(0.0, t, "SP")]
    phones = [(0.0, t, "SP", 0, -1)]
    sylls = []
    for ch in chars:
        d = float(np.exp(rng.uniform(np.log(0.15), np.log(0.8))))
        if sylls and t + d + 0.15 > target:
            break
        sylls.append((ch, d))
        t += d
    text = "".join(ch for ch, _ in sylls)
    groups = lyric_to_phones(text)
    midis = _melody(len(sylls), voice.key_shift, rng)
    t = phones[0][1]
    for k, ((ch, d), phs, midi) in enumerate(zip(sylls, groups, midis)):
        if k > 0 and rng.random() < 0.2:  # rest between syllables
            rest = "AP" if rng.random() < 0.45 else "SP"
            rd = float(rng.uniform(0.15, 0.35) if rest == "AP" else rng.uniform(0.08, 0.4))
            words.append((t, t + rd, rest))
            phones.append((t, t + rd, rest, 0, -1))
            t += rd
        st = t
        if len(phs) == 2:
            di = min(float(rng.uniform(0.04, 0.15)), 0.45 * d)
            phones.append((t, t + di, phs[0], midi, k))
            phones.append((t + di, t + d, phs[1], midi, k))
        else:
            phones.append((t, t + d, phs[0], midi, k))
        t += d
        words.append((st, t, ch))
    end = t + float(rng.uniform(0.15, 0.45))
    end = np.ceil(round(end * FPS, 6)) / FPS  # whole number of video frames
    words.append((t, end, "SP"))
    phones.append((t, end, "SP", 0, -1))
    return Utterance(utt, words, phones, float(end))


def _atomic(path: Path, write) -> None:
    """``write(tmp)`` to a temporary file beside ``path`` (same extension), renamed over it on success."""
    with atomic_path(path, path.suffix) as tmp:
        write(tmp)


def write_utterance(out_dir: Path, utt: Utterance, voice: SingerVoice, look: FaceLook, fs: int,
                    rng: np.random.Generator, size: int = 192, video_difficulty: str = "hard") -> None:
    """Synthesise and write wav, mp4, mouth.npy, TextGrid and notes of one utterance."""
    n = int(round(utt.duration * fs))
    segs = [(p, st, et, m) for st, et, p, m, _ in utt.phones]
    wav = synthesize(segs, [s for *_, s in utt.phones], voice, fs, n, rng)
    n_v = int(round(utt.duration * FPS))
    shapes = frame_shapes(mouth_tracks([(p, st, et) for st, et, p, _, _ in utt.phones], utt.duration), n_v)
    frames, centres = render_frames(shapes, rng, size, singer_look(voice.name, look), video_difficulty)  # GT_COLUMNS
    base = out_dir / utt.utt
    _atomic(base.with_suffix(".wav"), lambda p: sf.write(str(p), wav, fs, subtype="PCM_16", format="WAV"))
    encode_mp4(frames, base.with_suffix(".mp4"))
    _atomic(Path(str(base) + ".mouth.npy"), lambda p: np.save(p, centres.astype(np.float32)))
    write_textgrid(base.with_suffix(".TextGrid"), [("words", utt.words),
                   ("phones", [(st, et, p) for st, et, p, _, _ in utt.phones])], utt.duration)
    notes = "".join(f"{p} {m}\n" for _, _, p, m, _ in utt.phones)
    _atomic(base.with_suffix(".notes"), lambda p: p.write_text(notes))


def _make_one(job) -> float:
    """Worker: (out, seed, si, ui, fs, size, lyrics, difficulty) -> seconds of audio written. The utterance's
    random stream depends on (seed, singer, index, lyric set) only, so the corpus is the same
    whatever the order."""
    out, seed, si, ui, fs, size, lyrics, difficulty = job
    voice, look = SINGERS[si]
    infix, extra = LYRIC_STREAMS[lyrics]
    rng = np.random.default_rng(np.random.SeedSequence([seed, si, ui, *extra]))
    utt = plan_utterance(f"{voice.name}_{infix}{ui:04d}", voice, rng, LYRIC_SETS[lyrics])
    write_utterance(out / voice.name, utt, voice, look, fs, rng, size, difficulty)
    return utt.duration


def make_demo_corpus(out: Path, seed: int = 0, fs: int = 22050, num_singers: int = 6, num_ood: int = 2,
                     utts_per_singer: int = 30, ood_utts_per_singer: int = 8, scale: float = 1.0,
                     size: int = 192, overwrite: bool = False, nj: int = 1, singers: Optional[List[str]] = None,
                     lyrics: str = "demo", video_difficulty: str = "hard", reuse: bool = False) -> dict:
    """Generate the corpus into ``out`` with ``nj`` processes; returns statistics (utterances, seconds, elapsed).

    singers: names of SINGERS to generate (default: the first ``num_singers``); the last
    ``num_ood`` of them get ``ood_utts_per_singer`` utterances. lyrics: "demo" (LYRICS, the
    original corpus) or "new" (NEW_LYRICS, utterance ids <singer>_nl<k>, their own random streams).
    video_difficulty: "hard" (head roll, scale, squeeze, blur, noise, occlusions) or "easy" (the
    same utterances, faces and mouths without them; synth_video.ease_motion). The options that
    decide the corpus's bytes are recorded in ``out/.done`` (JSON, beside the statistics); reuse:
    when ``out/.done`` records the same options, keep that corpus and return its statistics, and
    when it records others, raise instead of mixing or replacing it.
    """
    out = Path(out)
    if lyrics not in LYRIC_SETS:
        raise ValueError(f"--lyrics must be one of {sorted(LYRIC_SETS)}, got {lyrics!r}")
    if singers is None:
        if not 1 <= num_singers <= len(SINGERS):
            raise ValueError(f"--num_singers must be in 1..{len(SINGERS)}")
        singers = [voice.name for voice, _ in SINGERS[:num_singers]]
    unknown = [s for s in singers if s not in SINGER_INDEX]
    if unknown or not singers:
        raise ValueError(f"--singers {unknown or singers}: choose from {sorted(SINGER_INDEX)}")
    if video_difficulty not in VIDEO_DIFFICULTIES:
        raise ValueError(f"--video_difficulty must be one of {VIDEO_DIFFICULTIES}, got {video_difficulty!r}")
    if nj < 1:
        raise ValueError(f"--nj must be >= 1, got {nj}")
    options = {"seed": seed, "fs": fs, "singers": list(singers), "num_ood": num_ood, "utts_per_singer": utts_per_singer,
               "ood_utts_per_singer": ood_utts_per_singer, "scale": scale, "video_size": size, "lyrics": lyrics,
               "video_difficulty": video_difficulty}
    if reuse and (out / ".done").exists():
        return _reuse_corpus(out, options)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty (pass --overwrite to replace its files)")
    (out / ".done").unlink(missing_ok=True)
    t0 = time.time()
    jobs, per_singer = [], []
    for k, name in enumerate(singers):
        si, voice = SINGER_INDEX[name], SINGERS[SINGER_INDEX[name]][0]
        ood = k >= len(singers) - num_ood
        n = max(1, int(round((ood_utts_per_singer if ood else utts_per_singer) * scale)))
        (out / voice.name).mkdir(parents=True, exist_ok=True)
        jobs += [(out, seed, si, ui, fs, size, lyrics, video_difficulty) for ui in range(n)]
        per_singer.append((voice.name, n))
    if nj == 1:
        durations = [_make_one(j) for j in jobs]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(nj) as pool:
            durations = pool.map(_make_one, jobs, chunksize=1)
    for name, n in per_singer:
        logging.info("%s: %d utterances", name, n)
    stats = {"utterances": len(jobs), "seconds": round(float(sum(durations)), 2), "elapsed": round(time.time() - t0, 1)}
    (out / ".done").write_text(json.dumps(dict(stats, options=options)) + "\n")
    return stats


def _reuse_corpus(out: Path, options: dict) -> dict:
    """The statistics of the finished corpus in ``out`` if its .done records ``options``; raises naming
    the options that differ (or that it records none) and what to remove to regenerate."""
    done = out / ".done"
    try:
        recorded = json.loads(done.read_text())
    except ValueError:
        recorded = {}
    old = recorded.get("options") if isinstance(recorded, dict) else None
    fix = f"remove {out} to generate the corpus with this run's options, or pass another --out"
    if not isinstance(old, dict):
        raise ValueError(f"{done}: records no generation options (written by an older version), so the corpus "
                         f"there may not be the one asked for; {fix}")
    diff = [f"{k}={old.get(k)!r} there, {v!r} asked" for k, v in options.items() if old.get(k) != v]
    if diff:
        raise ValueError(f"{done}: the corpus there was generated with other options ({'; '.join(diff)}); {fix}")
    logging.info("demo corpus already in %s with the same options (remove it to regenerate)", out)
    return {k: v for k, v in recorded.items() if k != "options"}
