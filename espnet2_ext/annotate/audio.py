"""A song's audio: decoding, the user's separator, and the frame features the aligner reads.

    <song>.wav (isolated vocals) or the video's sung track (through --separator when given)
      --ffmpeg, mono--> the song's audio at its own rate (cut into the utterances' wavs)
      --ffmpeg, 16 kHz--> analysis audio
        --log-mel (40 bands, 25 ms window, 10 ms hop, centred frames; power floored MEL_FLOOR_DB
          below the song's loud frames, so that reverberant tails and noise read as silence)--> mel (T, 40)
        --MFCC 13 + deltas + delta-deltas, mean / variance normalised per song--> mfcc (T, 39)
        --parselmouth autocorrelation pitch (features/f0.py) on the same frame grid--> f0 (T,) Hz
        --silero-vad speech probability (32 ms windows, held over their frames)--> vad (T,)
        --log RMS energy--> energy (T,) dB

Frame j is centred at j * 10 ms (1 + N // 160 frames); a boundary between frames j - 1 and j is
at (j - 0.5) * 10 ms.
"""

import logging
import os
import re
import shlex
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Optional

import numpy as np

from espnet2_ext.utils.ffmpeg import FFmpegError, ffmpeg_exe, ffmpeg_file, run_ffmpeg

FS = 16000
HOP = 160
WIN = 400
N_FFT = 512
N_MELS = 40
FRAME_S = HOP / FS
MEL_FLOOR_DB = 40.0  # mel power floor below the song's loud frames: tails and noise under it read as silence


class AudioError(ValueError):
    """An audio or video file that cannot be read, or a separator that fails; names the file."""


@dataclass
class SongAudio:
    """The audio of one song: at its own rate (for the corpus) and its analysis features."""

    wav: np.ndarray  # (N,) float32 at ``fs``
    fs: int
    mel: np.ndarray  # (T, 40) log-mel
    mfcc: np.ndarray  # (T, 39) normalised
    f0: np.ndarray  # (T,) Hz, 0 = unvoiced
    energy: np.ndarray  # (T,) dB
    vad: np.ndarray  # (T,) silero speech probability (zeros when not computed)

    @property
    def num_frames(self) -> int:
        return len(self.mel)

    @property
    def duration(self) -> float:
        return len(self.wav) / self.fs


def native_rate(path: Path) -> int:
    """Sampling rate of the first audio stream of ``path``; AudioError when there is none."""
    proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-i", ffmpeg_file(path)], capture_output=True,
                          text=True, errors="replace")
    line = next((ln for ln in proc.stderr.splitlines() if " Audio:" in ln), None)
    if line is None:
        if "Invalid data" in proc.stderr or "No such file" in proc.stderr or " Video:" not in proc.stderr:
            raise AudioError(f"{path}: unreadable file (ffmpeg reads no stream from it)")
        raise AudioError(f"{path}: no audio track (the sung track is needed, or an isolated <song>.wav beside it)")
    m = re.search(r"(\d+) Hz", line)
    if not m:
        raise AudioError(f"{path}: cannot tell the audio track's sampling rate ({line.strip()!r})")
    return int(m.group(1))


def decode_audio(path: Path, fs: Optional[int] = None) -> np.ndarray:
    """(N,) float32 mono audio of ``path`` at ``fs`` (its own rate when None); AudioError naming it."""
    args = ["-i", ffmpeg_file(path), "-map", "0:a:0", "-vn", "-ac", "1"] + (["-ar", str(fs)] if fs else [])
    try:
        proc = run_ffmpeg(args + ["-f", "f32le", "-"], f"decoding the audio of {path}")
    except FFmpegError as e:
        raise AudioError(str(e)) from None
    x = np.frombuffer(proc.stdout, np.float32)
    if not len(x):
        raise AudioError(f"{path}: the audio track is empty")
    return x.copy()


def run_separator(command: str, src: Path, out: Path) -> Path:
    """Run the user's vocal separator: ``command`` with {input} (the song's audio as a wav) and
    {output} (the vocals wav it must write) replaced by quoted paths, or, when it names neither, with
    the two paths appended as arguments; AudioError naming the song."""
    if ("{input}" in command) != ("{output}" in command):
        raise AudioError(f"--separator {command!r} must name both {{input}} and {{output}}, or neither")
    if "{input}" not in command:
        command += " {input} {output}"
    out.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=out.parent) as tmp:
        mix = Path(tmp) / "mix.wav"
        try:
            run_ffmpeg(["-i", ffmpeg_file(src), "-map", "0:a:0", "-vn", "-c:a", "pcm_s16le", ffmpeg_file(mix)],
                       f"extracting the sung track of {src}")
        except FFmpegError as e:
            raise AudioError(str(e)) from None
        vocals = Path(tmp) / "vocals.wav"
        cmd = command.format(input=shlex.quote(str(mix)), output=shlex.quote(str(vocals)))
        proc = subprocess.run(cmd, shell=True, capture_output=True, text=True, errors="replace")
        if proc.returncode != 0 or not vocals.is_file():
            last = (proc.stderr.strip().splitlines() or ["no message"])[-1]
            raise AudioError(f"{src}: the separator failed (exit {proc.returncode}, "
                             f"{'no output written' if not vocals.is_file() else last})")
        os.replace(vocals, out)
    return out


def mel_filterbank(n_mels: int = N_MELS, fmin: float = 50.0, fmax: float = FS / 2) -> np.ndarray:
    """(n_mels, N_FFT // 2 + 1) triangular filters, equally spaced on the HTK mel scale."""
    def mel(f):
        return 2595.0 * np.log10(1.0 + np.asarray(f) / 700.0)

    hz = 700.0 * (10 ** (np.linspace(mel(fmin), mel(fmax), n_mels + 2) / 2595.0) - 1.0)
    bins = np.fft.rfftfreq(N_FFT, 1.0 / FS)
    lo, ce, hi = hz[:-2, None], hz[1:-1, None], hz[2:, None]
    fb = np.maximum(0.0, np.minimum((bins - lo) / (ce - lo), (hi - bins) / (hi - ce)))
    return fb.astype(np.float32)


def dct_matrix(n_in: int, n_out: int) -> np.ndarray:
    """(n_out, n_in) orthonormal DCT-II."""
    k = np.arange(n_out)[:, None]
    m = np.cos(np.pi * k * (2 * np.arange(n_in)[None] + 1) / (2 * n_in)) * np.sqrt(2.0 / n_in)
    m[0] /= np.sqrt(2.0)
    return m.astype(np.float32)


def deltas(x: np.ndarray, width: int = 2) -> np.ndarray:
    """(T, D) -> (T, D) regression deltas over +/- ``width`` frames (edges repeated)."""
    xp = np.pad(x, ((width, width), (0, 0)), mode="edge")
    num = sum(k * (xp[width + k:len(xp) - width + k] - xp[width - k:len(xp) - width - k]) for k in range(1, width + 1))
    return num / (2 * sum(k * k for k in range(1, width + 1)))


def features(x16: np.ndarray, vad: bool = True) -> dict:
    """Analysis features of 16 kHz audio (module docstring): mel, mfcc, f0, energy, vad."""
    from espnet2_ext.features.f0 import extract_f0

    x16 = np.asarray(x16, np.float32)
    power = power_spectrogram(x16)  # (T, 257)
    melpow = power @ mel_filterbank().T
    floor = max(float(np.percentile(melpow.mean(1), 99)) * 10 ** (-MEL_FLOOR_DB / 10), 1e-10)
    mel = np.log(melpow + floor).astype(np.float32)  # (T, 40)
    cep = mel @ dct_matrix(N_MELS, 13).T
    d1 = deltas(cep)
    mfcc = np.concatenate([cep, d1, deltas(d1)], axis=1)
    mfcc = ((mfcc - mfcc.mean(0)) / (mfcc.std(0) + 1e-5)).astype(np.float32)
    energy = (10 * np.log10(power.sum(1) / N_FFT + 1e-10)).astype(np.float32)
    f0 = extract_f0(x16, FS, HOP)[:, 0]
    t = len(mel)
    f0 = np.pad(f0, (0, max(0, t - len(f0))))[:t]
    return dict(mel=mel, mfcc=mfcc, f0=f0, energy=energy, vad=vad_track(x16, t) if vad else np.zeros(t, np.float32))


def power_spectrogram(x16: np.ndarray) -> np.ndarray:
    """(T, 257) power of centred 25 ms Hann frames every 10 ms (T = 1 + N // 160), zero-padded to 512."""
    pad = N_FFT // 2
    xp = np.pad(np.asarray(x16, np.float32), (pad, pad), mode="reflect" if len(x16) > pad else "constant")
    t = 1 + len(x16) // HOP
    xp = np.pad(xp, (0, max(0, (t - 1) * HOP + N_FFT - len(xp))))
    frames = np.lib.stride_tricks.sliding_window_view(xp, N_FFT)[::HOP][:t]
    win = np.zeros(N_FFT, np.float32)
    off = (N_FFT - WIN) // 2
    win[off:off + WIN] = np.hanning(WIN + 1)[:-1]
    return (np.abs(np.fft.rfft(frames * win, axis=1)) ** 2).astype(np.float32)


_VAD = None


def vad_track(x16: np.ndarray, n_frames: int) -> np.ndarray:
    """silero-vad speech probability per 32 ms window, held over the 10 ms frames -> (T,) float32;
    zeros (with one log line) when silero-vad is not installed."""
    global _VAD
    try:
        import torch
        from silero_vad import load_silero_vad
    except ImportError:
        logging.warning("silero-vad is not installed: the rests come from the alignment alone (pip install silero-vad)")
        return np.zeros(n_frames, np.float32)
    if _VAD is None:
        _VAD = load_silero_vad()
    _VAD.reset_states()
    win = 512
    n = len(x16) // win
    x = torch.from_numpy(np.ascontiguousarray(x16[: n * win], np.float32))
    probs = np.zeros(n, np.float32)
    with torch.no_grad():
        for i in range(n):
            probs[i] = float(_VAD(x[i * win:(i + 1) * win], FS))
    centres = np.arange(n_frames) * HOP
    idx = np.clip(centres // win, 0, max(n - 1, 0))
    return probs[idx] if n else np.zeros(n_frames, np.float32)


def load_song_audio(video: Path, vocals: Optional[Path] = None, separator: Optional[str] = None,
                    cache: Optional[Path] = None, vad: bool = True) -> SongAudio:
    """The song's audio: ``vocals`` when given, else the video's track (through ``separator`` into
    ``cache`` when given, reused there while newer than the video); AudioError naming the file."""
    src = vocals
    if src is None and separator:
        if cache is None:
            raise ValueError("a separator needs a cache path for its output")
        if not (cache.is_file() and cache.stat().st_mtime >= Path(video).stat().st_mtime):
            run_separator(separator, Path(video), cache)
        src = cache
    src = Path(src or video)
    fs = native_rate(src)
    wav = decode_audio(src)
    x16 = decode_audio(src, FS) if fs != FS else wav
    return SongAudio(wav=wav, fs=fs, **features(x16, vad))
