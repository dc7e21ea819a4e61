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
from espnet2_ext.data.phones import INITIALS, lyric_chars, lyric_to_phones
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


def sing_syllable(phones: list, t: float, d: float, phs, midi: int, k: int, rng) -> float:
    """Append the phones of syllable ``k`` (initial + final, or one phone) sung from ``t`` for ``d``
    seconds on ``midi`` to ``phones``; the initial lasts 40-150 ms, at most 45 % of the syllable.
    Returns the syllable's end."""
    if len(phs) == 2:
        di = min(float(rng.uniform(0.04, 0.15)), 0.45 * d)
        phones.append((t, t + di, phs[0], midi, k))
        phones.append((t + di, t + d, phs[1], midi, k))
    else:
        phones.append((t, t + d, phs[0], midi, k))
    return t + d


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
        t = sing_syllable(phones, t, d, phs, midi, k, rng)
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


# ----------------------------------------------------------------------------------------------
# Audio-only songs of extra singers in the Opencpop and M4Singer layouts (stage one's extra
# corpora, docs/corpora.md): the same planner and synthesiser, no video. Their own singers and
# random streams (a fourth seed word 2), so the audio-visual corpora stay byte-identical.
AUDIO_ONLY_SINGERS: List[SingerVoice] = [
    SingerVoice("singerH", 1.10, -7.0, 0.09, 0.006, 5.7, 40.0, 2),
    SingerVoice("singerI", 0.90, -8.5, 0.05, 0.012, 5.2, 30.0, -5),
    SingerVoice("singerJ", 1.22, -5.0, 0.15, 0.009, 6.0, 50.0, 6),
]
AUDIO_ONLY_INDEX = {v.name: i for i, v in enumerate(AUDIO_ONLY_SINGERS)}
AUDIO_ONLY_LAYOUTS = ("opencpop", "m4singer")
AUDIO_ONLY_FS = {"opencpop": 44100, "m4singer": 48000}  # the corpora's own rates
SLUR_PROB = 0.25  # a sung final of >= 0.3 s is sung on two notes (a slur) with this probability
M4SINGER_SONGS = ("练习曲 一", "练习曲 二")  # song names (Chinese, with a space, as M4Singer's can be)


def add_slurs(utt: Utterance, rng: np.random.Generator, prob: float = SLUR_PROB) -> List[tuple]:
    """The plan's phones as (st, et, phone, midi, syllable, slur): a long sung final is split in two
    notes, the second a step away and flagged as slur (its own syllable index, for the F0 track)."""
    out, extra = [], max(s for *_, s in utt.phones) + 1
    for st, et, ph, midi, syl in utt.phones:
        if syl >= 0 and ph not in INITIALS and et - st >= 0.3 and rng.random() < prob:
            cut = st + (et - st) * float(rng.uniform(0.5, 0.7))
            out.append((st, cut, ph, midi, syl, 0))
            out.append((cut, et, ph, int(np.clip(midi + rng.choice([-2, -1, 1, 2]), 36, 79)), extra, 1))
            extra += 1
        else:
            out.append((st, et, ph, midi, syl, 0))
    return out


def corpus_phones(phones: List[tuple]) -> List[tuple]:
    """(st, et, phone, midi, syllable, slur) in the project's spelling -> the corpora's (audio_corpus.
    corpus_spelling: glides y/w, finals iu/ui/un), with each phone's note duration:
    (phone, midi, note_dur, dur, slur)."""
    from espnet2_ext.data.audio_corpus import corpus_spelling

    out, i = [], 0
    while i < len(phones):
        st, et, ph, midi, syl, slur = phones[i]
        if syl < 0 or slur:  # rest, or a slur note: repeats the final as it was written
            out.append((out[-1][0] if slur else ph, midi, et - st, et - st, slur))
            i += 1
            continue
        initial = ph if ph in INITIALS else ""
        j = i + 1 if initial else i
        _, f_et, final, _, _, _ = phones[j]
        spelled = corpus_spelling(initial, final)
        note_dur = f_et - st
        if initial:
            durs = [phones[i][1] - st, f_et - phones[j][0]]
        elif len(spelled) == 2:  # a glide: 30 % of the final, at most 60 ms
            g = min(0.06, 0.3 * (f_et - st))
            durs = [g, f_et - st - g]
        else:
            durs = [f_et - st]
        out += [(p, midi, note_dur, d, 0) for p, d in zip(spelled, durs)]
        i = j + 1
    return out


def _make_audio_only(job) -> dict:
    """Worker: (out, layout, seed, si, ui, fs, lyrics, uid) -> the utterance's line / item fields; writes its wav."""
    out, layout, seed, si, ui, fs, lyrics, uid = job
    voice = AUDIO_ONLY_SINGERS[si]
    rng = np.random.default_rng(np.random.SeedSequence([seed, si, ui, 2, *LYRIC_STREAMS[lyrics][1]]))
    utt = plan_utterance(uid, voice, rng, LYRIC_SETS[lyrics])
    phones = add_slurs(utt, rng)
    n = int(round(utt.duration * fs))
    wav = synthesize([(p, st, et, m) for st, et, p, m, _, _ in phones], [s for *_, s, _ in phones], voice, fs, n, rng)
    spelled = corpus_phones(phones)
    if layout == "m4singer":  # M4Singer writes its rests <SP>, <AP>
        spelled = [(f"<{p}>" if p in ("SP", "AP") else p, *rest) for p, *rest in spelled]
    lyric = "".join(ch for _, _, ch in utt.words if ch not in ("SP", "AP"))
    fields = dict(lyrics=lyric, phones=[p for p, *_ in spelled], midis=[m for _, m, *_ in spelled],
                  note_durs=[d for _, _, d, _, _ in spelled], durs=[d for *_, d, _ in spelled],
                  slurs=[s for *_, s in spelled], seconds=utt.duration)
    if layout == "opencpop":
        path = out / "segments" / "wavs" / f"{uid}.wav"
    else:
        singer, song, idx = uid.split("#")
        path = out / f"{singer}#{song}" / f"{idx}.wav"
    path.parent.mkdir(parents=True, exist_ok=True)
    _atomic(path, lambda p: sf.write(str(p), wav, fs, subtype="PCM_16", format="WAV"))
    return fields


def make_audio_only_corpus(out: Path, layout: str, singers: Optional[List[str]] = None, seed: int = 0,
                           fs: Optional[int] = None, utts_per_singer: int = 30, scale: float = 1.0,
                           lyrics: str = "demo", nj: int = 1, overwrite: bool = False, reuse: bool = False) -> dict:
    """Audio-only songs of AUDIO_ONLY_SINGERS in the Opencpop or M4Singer layout (opencpop.py,
    m4singer.py) into ``out``; statistics (utterances, seconds, elapsed).

    Opencpop's layout has one singer (default singerH) and puts every 10th utterance into test.txt;
    M4Singer's takes several (default all three), songs of 5 utterances. fs: the corpus's rate
    (default: the real corpus's, 44.1 / 48 kHz). ``out/.done`` records the options (``reuse`` as in
    make_demo_corpus).
    """
    from espnet2_ext.data.m4singer import m4singer_item
    from espnet2_ext.data.opencpop import opencpop_line

    out = Path(out)
    if layout not in AUDIO_ONLY_LAYOUTS:
        raise ValueError(f"--audio_only_layout must be one of {AUDIO_ONLY_LAYOUTS}, got {layout!r}")
    if singers is None:
        singers = ["singerH"] if layout == "opencpop" else [v.name for v in AUDIO_ONLY_SINGERS]
    unknown = [s for s in singers if s not in AUDIO_ONLY_INDEX]
    if unknown or not singers:
        raise ValueError(f"--singers {unknown or singers}: the audio-only singers are {sorted(AUDIO_ONLY_INDEX)}")
    if layout == "opencpop" and len(singers) != 1:
        raise ValueError(f"the Opencpop layout holds one singer, got --singers {singers}")
    if lyrics not in LYRIC_SETS:
        raise ValueError(f"--lyrics must be one of {sorted(LYRIC_SETS)}, got {lyrics!r}")
    if nj < 1:
        raise ValueError(f"--nj must be >= 1, got {nj}")
    fs = fs or AUDIO_ONLY_FS[layout]
    options = {"layout": layout, "seed": seed, "fs": fs, "singers": list(singers), "utts_per_singer": utts_per_singer,
               "scale": scale, "lyrics": lyrics}
    if reuse and (out / ".done").exists():
        return _reuse_corpus(out, options)
    if out.exists() and any(out.iterdir()) and not overwrite:
        raise FileExistsError(f"{out} exists and is not empty (pass --overwrite to replace its files)")
    (out / ".done").unlink(missing_ok=True)
    t0 = time.time()
    n = max(1, int(round(utts_per_singer * scale)))
    jobs = []
    for name in singers:
        for ui in range(n):
            if layout == "opencpop":
                uid = f"{2001 + ui // 10:04d}{ui % 10 + 1:06d}"
            else:
                uid = f"{name}#{M4SINGER_SONGS[(ui // 5) % len(M4SINGER_SONGS)]}#{ui:04d}"
            jobs.append((out, layout, seed, AUDIO_ONLY_INDEX[name], ui, fs, lyrics, uid))
    out.mkdir(parents=True, exist_ok=True)
    if nj == 1:
        results = [_make_audio_only(j) for j in jobs]
    else:
        import multiprocessing

        with multiprocessing.get_context("fork").Pool(nj) as pool:
            results = pool.map(_make_audio_only, jobs, chunksize=1)
    fields = [{k: v for k, v in r.items() if k != "seconds"} for r in results]
    if layout == "opencpop":
        (out / "segments").mkdir(exist_ok=True)
        lines = {"train": "", "test": ""}
        for k, (job, f) in enumerate(zip(jobs, fields)):
            lines["test" if k % 10 == 9 else "train"] += opencpop_line(job[-1], **f)
        for split, text in lines.items():
            _atomic(out / "segments" / f"{split}.txt", lambda p, t=text: p.write_text(t, encoding="utf-8"))
    else:
        items = [m4singer_item(*job[-1].split("#"), txt=f.pop("lyrics"), **f) for job, f in zip(jobs, fields)]
        _atomic(out / "meta.json", lambda p: p.write_text(json.dumps(items, ensure_ascii=False, indent=1), encoding="utf-8"))
    stats = {"utterances": len(jobs), "seconds": round(float(sum(r["seconds"] for r in results)), 2),
             "elapsed": round(time.time() - t0, 1)}
    logging.info("%s layout, %s: %d utterances each", layout, " ".join(singers), n)
    (out / ".done").write_text(json.dumps(dict(stats, options=options)) + "\n")
    return stats
