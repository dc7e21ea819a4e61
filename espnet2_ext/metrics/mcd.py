"""Mel-cepstral distortion with DTW (ESPnet's evaluate_mcd definition).

    wav (N,) --hamming frames (n_fft 1024, shift 256, no padding)--> pysptk.mcep(order, alpha)
      -> (T, order+1) mel-cepstra, c0 included
    gen, ref mel-cepstra --fastdtw (euclidean)--> path (i_k, j_k)
    MCD       = mean_k  10 / ln(10) * sqrt(2 * sum_{d=0..D} (c_gen[i_k, d] - c_ref[j_k, d])^2)   [dB]
                (c0 included: ESPnet's definition, the headline "mcd")
    MCD no c0 = the same with d = 1..D, along the same DTW path ("mcd_no_c0"): c0 is the frame's
                log energy, so this one ignores loudness differences; published SVS papers
                report either

Order / all-pass alpha by rate: 16k 23/0.42, 22.05k 34/0.45, 24k 34/0.46, 44.1k 39/0.53,
48k 39/0.55 (others: order 34 below 32 kHz, 39 above, alpha from pysptk.util.mcepalpha).
Waveforms are scaled to the int16 range first, as ESPnet reads them.
"""

from typing import Optional, Tuple

import numpy as np

MCEP_PARAMS = {16000: (23, 0.42), 22050: (34, 0.45), 24000: (34, 0.46), 44100: (39, 0.53), 48000: (39, 0.55)}


def mcep_params(fs: int) -> Tuple[int, float]:
    """(order, alpha) for a sampling rate."""
    if fs in MCEP_PARAMS:
        return MCEP_PARAMS[fs]
    import pysptk

    return (34 if fs < 32000 else 39), float(pysptk.util.mcepalpha(fs))


MCEP_N_FFT = 1024  # analysis window of the mel-cepstra (samples)
MCEP_N_SHIFT = 256  # their frame shift (samples); the scorer's DTW-to-F0 mapping and cache key use both


def mel_cepstrum(wav: np.ndarray, fs: int, n_fft: int = MCEP_N_FFT, n_shift: int = MCEP_N_SHIFT) -> np.ndarray:
    """(N,) float wav in [-1, 1] -> (T, order + 1) mel-cepstra, T = (N - n_fft) // n_shift + 1."""
    import pysptk

    order, alpha = mcep_params(fs)
    x = np.asarray(wav, dtype=np.float64) * 32768.0
    if len(x) < n_fft:
        x = np.pad(x, (0, n_fft - len(x)))
    n_frames = (len(x) - n_fft) // n_shift + 1
    frames = np.lib.stride_tricks.sliding_window_view(x, n_fft)[::n_shift][:n_frames] * pysptk.sptk.hamming(n_fft)
    return np.stack([pysptk.mcep(f, order=order, alpha=alpha, eps=1e-6, etype=1) for f in frames])


def dtw_path(gen: np.ndarray, ref: np.ndarray) -> np.ndarray:
    """fastdtw path (K, 2) of (gen index, ref index) pairs, euclidean frame distance."""
    from fastdtw import fastdtw

    _, path = fastdtw(gen, ref, dist=lambda a, b: float(np.sqrt(((a - b) ** 2).sum())))
    return np.asarray(path, dtype=np.int64)


def mcd_from_mceps(gen: np.ndarray, ref: np.ndarray, path: Optional[np.ndarray] = None,
                   include_c0: bool = True) -> float:
    """MCD (dB) between (T1, D) and (T2, D) mel-cepstra along a DTW path (computed if None);
    ``include_c0=False`` leaves out coefficient 0 (the energy term)."""
    if path is None:
        path = dtw_path(gen, ref)
    first = 0 if include_c0 else 1
    diff2 = ((gen[path[:, 0], first:] - ref[path[:, 1], first:]) ** 2).sum(axis=1)
    return float(np.mean(10.0 / np.log(10.0) * np.sqrt(2.0 * diff2)))


def mcd_dtw(gen_wav: np.ndarray, ref_wav: np.ndarray, fs: int, n_fft: int = MCEP_N_FFT,
            n_shift: int = MCEP_N_SHIFT) -> float:
    """MCD-DTW (dB) between two waveforms at the same rate."""
    g = mel_cepstrum(gen_wav, fs, n_fft, n_shift)
    r = mel_cepstrum(ref_wav, fs, n_fft, n_shift)
    return mcd_from_mceps(g, r, dtw_path(g, r))
