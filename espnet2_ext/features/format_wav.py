"""Stage 2 wav formatting: any readable audio -> mono PCM_16 wav at the recipe's rate.

    <path> --soundfile read--> (N, C) float --NaN / Inf or all-silent: ValueError naming the file-->
      --mean over channels--> (N,) --resample (log line) when rate != fs--> (N',)
      --clip, PCM_16, temp file + rename--> <out_dir>/<utt>.wav
"""

import logging
from pathlib import Path

import numpy as np
import soundfile as sf

from espnet2_ext.utils.fileio import atomic_path

SILENCE_PEAK_DBFS = -60.0  # a recording whose peak stays below this holds no singing


def resample(wav: np.ndarray, src: int, dst: int) -> np.ndarray:
    """Polyphase resampling (Kaiser-windowed FIR) from ``src`` Hz to ``dst`` Hz."""
    from math import gcd

    from scipy.signal import resample_poly

    g = gcd(int(src), int(dst))
    return resample_poly(wav, dst // g, src // g).astype(np.float32)


def load_mono(path, fs: int, utt: str = "") -> np.ndarray:
    """Read audio as mono float32 at ``fs`` (resampling with a log line when needed)."""
    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as e:  # noqa: BLE001
        raise ValueError(f"{path}: unreadable or corrupt audio ({e})") from e
    if len(wav) == 0:
        raise ValueError(f"{path}: audio is empty")
    bad = int((~np.isfinite(wav)).sum())
    if bad:
        raise ValueError(f"{path}: {bad} of {wav.size} samples are NaN or infinite (a corrupt recording): "
                         "fix or remove it from wav.scp")
    wav = wav.mean(axis=1)
    peak = float(np.abs(wav).max())
    if peak < 10 ** (SILENCE_PEAK_DBFS / 20):
        level = f"{20 * np.log10(peak):.1f} dBFS" if peak > 0 else "digital silence"
        raise ValueError(f"{path}: silent recording (peak {level}, below {SILENCE_PEAK_DBFS:g} dBFS): "
                         "no singing in it; remove it from wav.scp")
    if rate != fs:
        logging.info("%s: resampling %s from %d Hz to %d Hz", utt or path, path, rate, fs)
        wav = resample(wav, rate, fs)
    return wav


def format_wav(src, dst: Path, fs: int, utt: str = "") -> int:
    """Write ``src`` as mono PCM_16 at ``fs`` to ``dst`` atomically; returns the sample count."""
    wav = load_mono(src, fs, utt)
    dst = Path(dst)
    with atomic_path(dst, ".wav") as tmp:
        sf.write(str(tmp), np.clip(wav, -1.0, 32767 / 32768), fs, subtype="PCM_16", format="WAV")
    return len(wav)
