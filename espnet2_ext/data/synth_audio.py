"""Source-filter singing synthesis for the embedded demo corpus.

    phone segments (phone, st, et, midi) + SingerVoice
      -> control frames (hop 128): formants F1..F4, voiced gain, noise gain, noise shape, nasality
      -> F0 track: note pitch, glides at note changes, 5-6 Hz vibrato, drift, jitter
      -> band-limited pulse train (voiced source) + white noise (noise source)
      -> STFT filtering: pulses * vocal-tract envelope * tilt + noise * fricative/aspiration envelope
      -> ISTFT -> waveform (N,) float32

Vowel formants per final (diphthongs move between targets), nasal murmur for m/n and -n/-ng codas,
fricatives as band-shaped noise, stops as closure silence + burst (+ aspiration for p/t/k/q/ch/c),
silences silent, breaths as breathy noise. Singer timbre: vocal-tract length (formant scale),
spectral tilt, breathiness, jitter, vibrato rate/depth.
"""

from dataclasses import dataclass
from typing import List, Sequence, Tuple

import numpy as np

N_FFT = 512
HOP = 128

# Vowel targets (F1, F2, F3, F4) in Hz for an average adult voice.
VOWELS = {
    "a": (800, 1250, 2650, 3600), "A": (750, 1050, 2600, 3500), "o": (550, 880, 2550, 3400),
    "e": (520, 1250, 2500, 3500), "E": (560, 1850, 2600, 3600), "i": (290, 2300, 3100, 3800),
    "u": (330, 720, 2450, 3400), "v": (300, 1850, 2350, 3500), "er": (520, 1450, 1750, 3300),
    "z": (380, 1400, 2650, 3600), "zh": (420, 1650, 2050, 3400),
}
# Final -> (vowel targets in order, nasal coda or "").
FINAL_SHAPES = {
    "a": (["a"], ""), "o": (["u", "o"], ""), "e": (["e"], ""), "i": (["i"], ""), "u": (["u"], ""),
    "v": (["v"], ""), "ai": (["a", "i"], ""), "ei": (["E", "i"], ""), "ao": (["a", "u"], ""),
    "ou": (["o", "u"], ""), "an": (["a"], "n"), "en": (["e"], "n"), "ang": (["A"], "ng"),
    "eng": (["e"], "ng"), "ong": (["o"], "ng"), "er": (["er"], ""), "ia": (["i", "a"], ""),
    "ie": (["i", "E"], ""), "iao": (["i", "a", "u"], ""), "iou": (["i", "o", "u"], ""),
    "ian": (["i", "E"], "n"), "in": (["i"], "n"), "iang": (["i", "A"], "ng"), "ing": (["i"], "ng"),
    "iong": (["i", "o"], "ng"), "io": (["i", "o"], ""), "ua": (["u", "a"], ""), "uo": (["u", "o"], ""),
    "uai": (["u", "a", "i"], ""), "uei": (["u", "E", "i"], ""), "uan": (["u", "a"], "n"),
    "uen": (["u", "e"], "n"), "uang": (["u", "A"], "ng"), "ueng": (["u", "e"], "ng"),
    "ve": (["v", "E"], ""), "van": (["v", "E"], "n"), "vn": (["v"], "n"),
}
# Initial -> (kind, noise shape, place). kinds: stop, astop (aspirated), affr, aaffr, fric, nasal, liquid
INITIAL_KINDS = {
    "b": ("stop", "lab", 0), "d": ("stop", "alv", 0), "g": ("stop", "vel", 0),
    "p": ("astop", "lab", 0), "t": ("astop", "alv", 0), "k": ("astop", "vel", 0),
    "z": ("affr", "s", 0), "zh": ("affr", "sh", 0), "j": ("affr", "x", 0),
    "c": ("aaffr", "s", 0), "ch": ("aaffr", "sh", 0), "q": ("aaffr", "x", 0),
    "s": ("fric", "s", 0), "sh": ("fric", "sh", 0), "x": ("fric", "x", 0), "f": ("fric", "f", 0),
    "h": ("fric", "asp", 0), "m": ("nasal", "", 0), "n": ("nasal", "", 0),
    "l": ("liquid", "", 0), "r": ("liquid", "", 0),
}
# Noise shapes: index 0 = aspiration (shaped by the current formants), others fixed bands.
NOISE_SHAPES = {"asp": 0, "s": 1, "sh": 2, "x": 3, "f": 4, "lab": 5, "alv": 6, "vel": 7, "breath": 8}
_NOISE_LEVEL = 0.15  # noise vs. pulse level before the tilt
_SHAPE_BANDS = {1: (7000, 0.35), 2: (3000, 0.45), 3: (4300, 0.4), 4: (5000, 1.2), 5: (900, 0.9),
                6: (4200, 0.6), 7: (1900, 0.5)}


@dataclass(frozen=True)
class SingerVoice:
    """Timbre and range of one synthetic singer."""

    name: str
    formant_scale: float  # vocal-tract length factor (female ~1.15, male ~0.9)
    tilt_db_oct: float  # source spectral slope (dB/octave, negative)
    breathiness: float  # aspiration noise mixed into voiced sound (0..0.3)
    jitter: float  # relative F0 perturbation (0.002..0.02)
    vib_rate: float  # Hz
    vib_depth: float  # cents
    key_shift: int  # semitones added to the melody (range)
    gain: float = 0.08  # target RMS of voiced parts


def midi_to_hz(m):
    return 440.0 * 2.0 ** ((np.asarray(m, dtype=np.float64) - 69.0) / 12.0)


def _resonance(f: np.ndarray, fc: np.ndarray, bw: np.ndarray) -> np.ndarray:
    """Magnitude of a 2nd-order resonator with unit DC gain. f (1, K); fc, bw (T, 1) -> (T, K)."""
    return fc**2 / np.sqrt((fc**2 - f**2) ** 2 + (f * bw) ** 2)


def _smooth(x: np.ndarray, width: int) -> np.ndarray:
    """Moving-average smoothing along axis 0 with edge padding (coarticulation)."""
    if width <= 1:
        return x
    k = np.hanning(width + 2)[1:-1]
    k = k / k.sum()
    pad = width // 2
    xp = np.pad(x, [(pad, width - 1 - pad)] + [(0, 0)] * (x.ndim - 1), mode="edge")
    if x.ndim == 1:
        return np.convolve(xp, k, mode="valid")
    return np.stack([np.convolve(xp[:, j], k, mode="valid") for j in range(x.shape[1])], axis=1)


class _Controls:
    """Per-frame control tracks, filled phone by phone."""

    def __init__(self, n_frames: int):
        self.formants = np.tile(np.array(VOWELS["e"], dtype=np.float64), (n_frames, 1))
        self.a_v = np.zeros(n_frames)
        self.a_n = np.zeros(n_frames)
        self.shape = np.zeros(n_frames, dtype=np.int64)
        self.nasal = np.zeros(n_frames)


def _vowel_targets(final: str, initial: str) -> Tuple[List[str], str]:
    vowels, coda = FINAL_SHAPES[final]
    if final == "i" and initial in ("z", "c", "s"):
        vowels = ["z"]
    elif final == "i" and initial in ("zh", "ch", "sh", "r"):
        vowels = ["zh"]
    return vowels, coda


def _fill_final(c: _Controls, a: int, b: int, final: str, initial: str, rng) -> None:
    vowels, coda = _vowel_targets(final, initial)
    n = b - a
    n_coda = max(3, int(n * rng.uniform(0.2, 0.3))) if coda else 0
    n_coda = min(n_coda, n // 2)
    nv = n - n_coda
    # glide onsets are short, the nucleus long, offsets medium
    weights = np.ones(len(vowels))
    if len(vowels) > 1:
        weights[0] = 0.35 if vowels[0] in ("i", "u", "v") else 1.0
    bounds = a + np.round(np.cumsum(np.r_[0, weights / weights.sum()]) * nv).astype(int)
    for v, s, e in zip(vowels, bounds[:-1], bounds[1:]):
        c.formants[s:e] = VOWELS[v]
    c.a_v[a:b] = 1.0
    if n_coda:
        s = b - n_coda
        c.nasal[s:b] = 1.0
        c.a_v[s:b] = 0.55
        c.formants[s:b] = VOWELS["e"] if coda == "n" else VOWELS["o"]


def _fill_initial(c: _Controls, a: int, b: int, initial: str, next_final: str, rng) -> None:
    kind, shape, _ = INITIAL_KINDS[initial]
    nxt = VOWELS[_vowel_targets(next_final, initial)[0][0]] if next_final else VOWELS["e"]
    n = b - a
    c.formants[a:b] = nxt
    if kind in ("stop", "astop", "affr", "aaffr"):
        n_clos = int(n * (0.5 if kind == "stop" else 0.3))
        n_burst = max(1, min(3, n - n_clos))
        s = a + n_clos
        c.shape[s:s + n_burst] = NOISE_SHAPES[shape] if kind in ("stop", "astop") else NOISE_SHAPES[shape]
        c.a_n[s:s + n_burst] = 0.9
        rest = s + n_burst
        if kind == "stop":
            c.a_v[rest:b] = 0.6  # voicing onset into the vowel
        elif kind == "astop":
            c.shape[rest:b] = NOISE_SHAPES["asp"]
            c.a_n[rest:b] = 0.55
        else:
            c.shape[rest:b] = NOISE_SHAPES[shape]
            c.a_n[rest:b] = 0.5 if kind == "affr" else 0.7
            if kind == "aaffr":
                tail = rest + (b - rest) * 2 // 3
                c.shape[tail:b] = NOISE_SHAPES["asp"]
                c.a_n[tail:b] = 0.5
    elif kind == "fric":
        c.shape[a:b] = NOISE_SHAPES[shape]
        c.a_n[a:b] = 0.35 if shape == "f" else 0.6
        if initial == "h":
            c.a_n[a:b] = 0.45
    elif kind == "nasal":
        c.nasal[a:b] = 1.0
        c.a_v[a:b] = 0.5
        c.formants[a:b] = VOWELS["e"] if initial == "n" else VOWELS["u"]
    else:  # liquid
        c.a_v[a:b] = 0.75
        c.formants[a:b] = (350, 1100, 2700, 3500) if initial == "l" else (420, 1300, 1700, 3300)
        if initial == "r":
            c.shape[a:b] = NOISE_SHAPES["sh"]
            c.a_n[a:b] = 0.12


def _f0_track(segments, syllable_of, n_frames: int, voice: SingerVoice, frame_rate: float, rng) -> np.ndarray:
    """Per-frame F0 (Hz): notes held through rests, glides, vibrato (delayed onset), drift."""
    notes = {}
    for (_, st, _, m), syl in zip(segments, syllable_of):
        if m > 0 and syl not in notes:
            notes[syl] = (int(round(st * frame_rate)), m)
    if not notes:
        return np.full(n_frames, float(midi_to_hz(60 + voice.key_shift)))
    starts = np.array([s for s, _ in notes.values()])
    midis = np.array([m for _, m in notes.values()], dtype=np.float64)
    order = np.argsort(starts, kind="stable")
    starts, midis = starts[order], midis[order]
    frames = np.arange(n_frames)
    idx = np.clip(np.searchsorted(starts, frames, side="right") - 1, 0, len(starts) - 1)
    midi = midis[idx]
    onset = np.maximum(frames - starts[idx], 0) / frame_rate
    glide = max(3, int(rng.uniform(0.05, 0.11) * frame_rate))
    midi = _smooth(midi, glide)
    t = frames / frame_rate
    rate = voice.vib_rate * (1 + 0.03 * np.sin(2 * np.pi * 0.3 * t + rng.uniform(0, 6.28)))
    phase = 2 * np.pi * np.cumsum(rate) / frame_rate + rng.uniform(0, 6.28)
    ramp = np.clip((onset - 0.2) / 0.25, 0, 1)
    cents = voice.vib_depth * ramp * np.sin(phase)
    drift = _smooth(rng.standard_normal(n_frames), max(3, int(0.3 * frame_rate))) * 12.0
    return midi_to_hz(midi + (cents + drift) / 100.0)


def _stft(x: np.ndarray, n_frames: int) -> np.ndarray:
    win = np.hanning(N_FFT + 1)[:-1]
    xp = np.pad(x, (N_FFT // 2, N_FFT // 2 + HOP * n_frames))
    idx = np.arange(N_FFT)[None, :] + HOP * np.arange(n_frames)[:, None]
    return np.fft.rfft(xp[idx] * win, axis=1)


def _istft(spec: np.ndarray, n_samples: int) -> np.ndarray:
    win = np.hanning(N_FFT + 1)[:-1]
    frames = np.fft.irfft(spec, n=N_FFT, axis=1) * win
    n_frames = spec.shape[0]
    out = np.zeros(HOP * n_frames + N_FFT)
    norm = np.zeros_like(out)
    for i in range(n_frames):
        out[i * HOP:i * HOP + N_FFT] += frames[i]
        norm[i * HOP:i * HOP + N_FFT] += win**2
    out = out / np.maximum(norm, 1e-3)
    return out[N_FFT // 2:N_FFT // 2 + n_samples]


def _phone_controls(segments, syllable_of, n_frames: int, frame_rate: float, rng: np.random.Generator) -> "_Controls":
    """Per-frame source and filter controls of the phone segments (before smoothing)."""
    c = _Controls(n_frames)
    for i, (ph, st, et, _) in enumerate(segments):
        a, b = int(round(st * frame_rate)), min(n_frames, int(round(et * frame_rate)))
        if b <= a:
            continue
        if ph == "SP":
            continue
        if ph == "AP":
            c.shape[a:b] = NOISE_SHAPES["breath"]
            env = np.sin(np.linspace(0, np.pi, b - a)) ** 0.7
            c.a_n[a:b] = 0.35 * env
            c.formants[a:b] = (600, 1400, 2500, 3500)
        elif ph in INITIAL_KINDS:
            nxt = segments[i + 1][0] if i + 1 < len(segments) and syllable_of[i + 1] == syllable_of[i] else ""
            _fill_initial(c, a, b, ph, nxt, rng)
        else:
            ini = segments[i - 1][0] if i > 0 and syllable_of[i - 1] == syllable_of[i] else ""
            _fill_final(c, a, b, ph, ini, rng)
            # note-level dynamics
            c.a_v[a:b] *= rng.uniform(0.75, 1.0) * np.linspace(1.0, rng.uniform(0.7, 1.1), b - a)
    return c


def _sources(segments, syllable_of, voice: SingerVoice, fs: int, n_samples: int, n_frames: int,
             rng: np.random.Generator) -> Tuple[np.ndarray, np.ndarray]:
    """(n_samples,) band-limited pulse train along the F0 track (with jitter), (n_samples,) white noise."""
    frame_rate = fs / HOP
    f0_frames = _f0_track(segments, syllable_of, n_frames, voice, frame_rate, rng)
    t_frames = np.arange(n_frames) * HOP
    f0 = np.interp(np.arange(n_samples), t_frames, f0_frames)
    jit = _smooth(rng.standard_normal(n_samples // 32 + 2), 3)
    f0 = f0 * (1 + voice.jitter * np.interp(np.arange(n_samples), np.arange(len(jit)) * 32, jit))
    phase = 2 * np.pi * np.cumsum(f0) / fs
    # band-limited pulse train: sum_{k=1..K} cos(k phase) + frac * cos((K+1) phase), K = 0.45 fs / f0,
    # continuous in K so that vibrato does not switch harmonics on and off abruptly
    kf = 0.45 * fs / f0
    k = np.floor(kf)
    phase = np.mod(phase, 2 * np.pi)
    half = np.sin(phase / 2)
    small = np.abs(half) < 1e-6
    dirichlet = np.where(small, k, np.sin((k + 0.5) * phase) / (2 * np.where(small, 1.0, half)) - 0.5)
    pulses = (dirichlet + (kf - k) * np.cos((k + 1) * phase)) / np.sqrt(kf)
    return pulses, rng.standard_normal(n_samples)


def synthesize(segments: Sequence[Tuple[str, float, float, int]], syllable_of: Sequence[int],
               voice: SingerVoice, fs: int, n_samples: int, rng: np.random.Generator) -> np.ndarray:
    """Sing phone segments [(phone, st, et, midi), ...] -> (n_samples,) float32 waveform.

    ``syllable_of[i]`` is the syllable index of segment i (-1 for SP/AP), used to find the final
    that follows an initial.
    """
    frame_rate = fs / HOP
    n_frames = n_samples // HOP + 1
    c = _phone_controls(segments, syllable_of, n_frames, frame_rate, rng)
    # coarticulation / smooth control movements
    formants = _smooth(c.formants, max(3, int(0.045 * frame_rate))) * voice.formant_scale
    a_v = _smooth(c.a_v, 3)
    a_n = _smooth(c.a_n, 2)
    nasal = _smooth(c.nasal, 3)
    pulses, noise = _sources(segments, syllable_of, voice, fs, n_samples, n_frames, rng)

    # ---- filters ----
    freqs = np.fft.rfftfreq(N_FFT, 1.0 / fs)[None, :]  # (1, K)
    bws = np.array([80.0, 100.0, 140.0, 200.0])
    env_v = np.ones((n_frames, freqs.shape[1]))
    for j in range(4):
        env_v *= _resonance(freqs, formants[:, j:j + 1], bws[j] * voice.formant_scale)
    anti = np.minimum(1.0, 1.0 / _resonance(freqs, np.full((1, 1), 1200.0), np.full((1, 1), 150.0)))
    nas = (_resonance(freqs, np.full((1, 1), 270.0), np.full((1, 1), 90.0))
           * _resonance(freqs, np.full((1, 1), 2200.0 * voice.formant_scale), np.full((1, 1), 250.0)) * anti * 1.2)
    env_v = env_v * (1 - nasal[:, None]) + nas * nasal[:, None]
    octs = np.log2(np.maximum(freqs, 250.0) / 250.0)
    tilt = 10.0 ** (voice.tilt_db_oct * octs / 20.0)
    hp = freqs**2 / (freqs**2 + 1500.0**2)

    shapes = np.zeros((len(NOISE_SHAPES), freqs.shape[1]))
    for idx, (fc, width) in _SHAPE_BANDS.items():
        fc = fc * voice.formant_scale
        shapes[idx] = np.exp(-0.5 * (np.log2(np.maximum(freqs[0], 50.0) / fc) / width) ** 2) * 5.0
    env_asp = env_v * hp * 1.5
    env_n = np.where((c.shape == 0)[:, None], env_asp, shapes[c.shape])
    breath = c.shape == NOISE_SHAPES["breath"]
    env_n[breath] = env_v[breath] ** 0.6 * hp * 4.0

    spec = (_stft(pulses, n_frames) * env_v * tilt * a_v[:, None]
            + _stft(noise, n_frames) * _NOISE_LEVEL * (env_n * a_n[:, None] + env_asp * voice.breathiness * a_v[:, None]))
    y = _istft(spec, n_samples)
    voiced = a_v > 0.5
    ref = np.sqrt(np.mean(y[np.repeat(voiced, HOP)[:n_samples]] ** 2)) if voiced.any() else np.sqrt(np.mean(y**2))
    y = y * (voice.gain / max(ref, 1e-8))
    return np.clip(y, -0.99, 0.99).astype(np.float32)
