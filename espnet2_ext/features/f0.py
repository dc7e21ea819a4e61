"""F0 extraction (stage 2): wav -> (T_feats, 1) float32 Hz, 0 = unvoiced, on the mel frame grid.

    (N,) float wav --parselmouth autocorrelation pitch (step hop/fs, 60-1000 Hz)--> f0 at times
      t_k --interpolate to frame centres j * hop / fs (espnet's centred STFT)--> (1 + N // hop, 1)
"""

import numpy as np

# stage 2's F0 extractor and its range: the one place both stage 2 and a reference at inference read
DEFAULT_F0_CONF = {"extractor": "parselmouth_ac", "f0_min": 60.0, "f0_max": 1000.0}


def num_frames(n_samples: int, hop_length: int) -> int:
    """Frames of espnet's centred STFT for ``n_samples`` samples."""
    return 1 + n_samples // hop_length


def check_f0_conf(f0_conf: dict) -> dict:
    """A recorded F0 conf -> the extract_f0 keyword arguments; ValueError for another extractor."""
    conf = dict(DEFAULT_F0_CONF, **(f0_conf or {}))
    if conf["extractor"] != DEFAULT_F0_CONF["extractor"]:
        raise ValueError(f"F0 extractor {conf['extractor']!r}: this version has {DEFAULT_F0_CONF['extractor']!r} only")
    unknown = sorted(set(conf) - set(DEFAULT_F0_CONF))
    if unknown:
        raise ValueError(f"F0 conf: unknown option(s) {', '.join(unknown)}")
    return {"f0_min": float(conf["f0_min"]), "f0_max": float(conf["f0_max"])}


def extract_f0(wav: np.ndarray, fs: int, hop_length: int, f0_min: float = DEFAULT_F0_CONF["f0_min"],
               f0_max: float = DEFAULT_F0_CONF["f0_max"]) -> np.ndarray:
    """F0 track (1 + N // hop, 1) float32 in Hz (0 where unvoiced)."""
    import parselmouth

    wav = np.asarray(wav, dtype=np.float64)
    t_out = np.arange(num_frames(len(wav), hop_length)) * hop_length / fs
    min_len = 3.0 / f0_min  # parselmouth needs a few periods of the lowest pitch
    if len(wav) / fs < min_len:
        return np.zeros((len(t_out), 1), np.float32)
    snd = parselmouth.Sound(wav, sampling_frequency=fs)
    pitch = snd.to_pitch_ac(time_step=hop_length / fs, pitch_floor=f0_min, pitch_ceiling=f0_max)
    f0 = pitch.selected_array["frequency"]
    times = pitch.xs()
    # nearest analysis frame (keeps voiced/unvoiced decisions crisp); outside the range -> unvoiced
    idx = np.clip(np.searchsorted(times, t_out), 0, len(times) - 1)
    prev = np.clip(idx - 1, 0, len(times) - 1)
    near = np.where(np.abs(times[prev] - t_out) < np.abs(times[idx] - t_out), prev, idx)
    out = f0[near]
    out[(t_out < times[0] - hop_length / fs) | (t_out > times[-1] + hop_length / fs)] = 0.0
    return out.astype(np.float32)[:, None]
