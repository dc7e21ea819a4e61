"""F0 frame error (FFE).

    f0_gen (T1,), f0_ref (T2,) Hz, 0 = unvoiced, same extractor and hop
      -> aligned frame pairs (DTW path or truncation to min(T1, T2))
    FFE = (#voicing decision errors + #gross pitch errors) / #pairs
      voicing error: voiced in exactly one; gross pitch error: voiced in both and
      |f0_gen / f0_ref - 1| > 20 %.
"""

from typing import Dict, Optional

import numpy as np


def aligned_pairs(f0_gen: np.ndarray, f0_ref: np.ndarray, path: Optional[np.ndarray] = None):
    """(K,) gen and (K,) ref values along a (K, 2) path, or truncated to the shorter track."""
    f0_gen = np.asarray(f0_gen, dtype=np.float64).reshape(-1)
    f0_ref = np.asarray(f0_ref, dtype=np.float64).reshape(-1)
    if path is None:
        n = min(len(f0_gen), len(f0_ref))
        return f0_gen[:n], f0_ref[:n]
    i = np.clip(path[:, 0], 0, len(f0_gen) - 1)
    j = np.clip(path[:, 1], 0, len(f0_ref) - 1)
    return f0_gen[i], f0_ref[j]


def ffe_counts(f0_gen, f0_ref, path: Optional[np.ndarray] = None, threshold: float = 0.2) -> Dict[str, int]:
    """Counts: frames, voicing_errors, gross_pitch_errors (see module docstring)."""
    g, r = aligned_pairs(f0_gen, f0_ref, path)
    vg, vr = g > 0, r > 0
    vde = int(np.sum(vg != vr))
    both = vg & vr
    gpe = int(np.sum(np.abs(g[both] / r[both] - 1.0) > threshold))
    return {"frames": int(len(g)), "voicing_errors": vde, "gross_pitch_errors": gpe}


def ffe(f0_gen, f0_ref, path: Optional[np.ndarray] = None, threshold: float = 0.2) -> float:
    """FFE in [0, 1] (NaN when there are no frames)."""
    c = ffe_counts(f0_gen, f0_ref, path, threshold)
    if c["frames"] == 0:
        return float("nan")
    return (c["voicing_errors"] + c["gross_pitch_errors"]) / c["frames"]


def mcep_path_to_f0_path(path: np.ndarray, n_fft: int, n_shift: int, hop_length: int) -> np.ndarray:
    """Map a DTW path on MCD frames (non-centred, centre at i*n_shift + n_fft/2) to F0 frames
    (centred, frame j at j*hop_length)."""
    centre = path.astype(np.float64) * n_shift + n_fft / 2.0
    return np.rint(centre / hop_length).astype(np.int64)
