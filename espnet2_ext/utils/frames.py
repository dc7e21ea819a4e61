"""Frame-number ranges for messages: which frames of a video a warning or an error is about."""

import numpy as np


def frame_ranges(mask) -> str:
    """'3-7, 12' for the True entries of a (T,) mask (0-based frame numbers); '' when there are none."""
    idx = np.flatnonzero(np.asarray(mask, bool))
    if not len(idx):
        return ""
    runs, st = [], idx[0]
    for a, b in zip(idx[:-1], idx[1:]):
        if b != a + 1:
            runs.append((st, a))
            st = b
    runs.append((st, idx[-1]))
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in runs)
