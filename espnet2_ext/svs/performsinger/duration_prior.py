"""Video timing with a duration prior: an explicit-duration (semi-Markov) Viterbi.

    log p(phone n | video frame) (N, T_v)  [fusion attention or aligner, see aligner.py]
        --linear interpolation at mel-frame centres--> E (N, T) on the mel grid,
           scaled by fps / frame_rate so that one video frame of evidence counts once
    duration predictor (sec. 3.5) on the fused content: mu_n = log(d_n + 1) (N,)
    best[n, t] = max_{s < t} best[n - 1, s] + sum_{u = s}^{t - 1} E[n, u]
                             - w / 2 * ((log(t - s + 1) - mu_n) / sigma)^2
    best[-1, 0] = 0;  the path ends at (N - 1, T), T = the video's length in mel frames
    -> phone ends -> durations (N,) in mel frames, each >= 1, summing to T

Why: the plain monotonic path (aligner.monotonic_viterbi) gives every phone at least one whole
40 ms video frame and trusts the frame posteriors alone. Its errors on the demo corpus are few
but large: inside a syllable, a short initial and its final look alike on the lips, and the
path hands the final's frames to the initial (a 35 ms "z" read as 500 ms). The duration
predictor knows what the lips cannot show there, that initials are short, but it drifts over a
line. Here the video decides where the phones are (the likelihood) and the predictor how long
each phone tends to be (a log-normal prior), on the mel grid, so a boundary can fall inside a
video frame. weight 0 reduces to a (sub-frame) monotonic alignment of the posteriors; the
prior's strength is weight / sigma^2.
"""

from typing import Optional

import numpy as np


def mel_grid_logp(logp: np.ndarray, n_mel: int, frame_rate: float, video_fps: float) -> np.ndarray:
    """logp (N, T_v) -> (N, n_mel): linear interpolation at mel-frame centres, x fps / frame_rate."""
    t_v = logp.shape[1]
    centres = (np.arange(n_mel) + 0.5) / frame_rate * video_fps - 0.5  # in video-frame units
    centres = np.clip(centres, 0.0, t_v - 1.0)
    lo = np.floor(centres).astype(np.int64)
    hi = np.minimum(lo + 1, t_v - 1)
    frac = centres - lo
    out = logp[:, lo] * (1.0 - frac) + logp[:, hi] * frac
    return out * (video_fps / frame_rate)


def prior_viterbi(emis: np.ndarray, mu: np.ndarray, weight: float, sigma: float,
                  max_span: Optional[int] = None) -> np.ndarray:
    """emis (N, T) per-frame log scores, mu (N,) log(d + 1) -> durations (N,) int64 >= 1, sum T.

    Each phone's span d runs over 1..D, D = T - N + 1 (the other phones need a frame each), or
    ``max_span`` frames if smaller: the work is O(N D T) and the memory O(D T), so a bound keeps
    long lines at high frame rates tractable (exact whenever no phone is longer than it).
    Raises ValueError when T < N (every phone needs a frame) or N * max_span < T.
    """
    n, t = emis.shape
    if t < n:
        raise ValueError(f"{t} frames cannot hold {n} phones (each needs >= 1 frame)")
    if sigma <= 0:
        raise ValueError(f"duration prior sigma must be > 0, got {sigma}")
    d_max = t - n + 1
    if max_span is not None:
        if max_span < 1 or n * max_span < t:
            raise ValueError(f"{n} phones of at most {max_span} frames cannot fill {t} frames")
        d_max = min(d_max, int(max_span))
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(emis, axis=1)], axis=1)  # (N, T + 1)
    ends = np.arange(t + 1)  # e
    d = np.arange(1, d_max + 1)  # (D,) span lengths
    starts = ends[None, :] - d[:, None]  # (D, T + 1): s = e - d
    ok = starts >= 0
    starts = np.maximum(starts, 0)
    logd = np.log(d + 1.0)  # (D,)
    prev = np.full(t + 1, -np.inf)
    prev[0] = 0.0
    back = np.zeros((n, t + 1), dtype=np.int64)
    for k in range(n):
        prior = -0.5 * weight * ((logd - mu[k]) / sigma) ** 2  # (D,)
        score = prev[starts] + (cum[k][None, :] - cum[k][starts]) + prior[:, None]  # (D, T + 1)
        score = np.where(ok, score, -np.inf)
        best = np.argmax(score, axis=0)  # (T + 1,) index of the best span per end frame
        back[k] = ends - d[best]
        prev = score[best, ends]
    if not np.isfinite(prev[t]):
        raise ValueError("no monotonic path through the scores")
    out_ends = np.zeros(n, dtype=np.int64)
    e = t
    for k in range(n - 1, -1, -1):
        out_ends[k] = e
        e = back[k, e]
    return np.diff(np.concatenate([[0], out_ends]))


def durations_with_prior(logp: np.ndarray, mu: np.ndarray, n_mel: int, frame_rate: float, video_fps: float,
                         weight: float, sigma: float, max_span_s: Optional[float] = None) -> np.ndarray:
    """logp (N, T_v) frame posteriors + mu (N,) predictor log(d + 1) -> durations (N,) in mel frames.

    ``max_span_s``: longest phone considered, in seconds (None: any); raised to T / N when the
    phones could not fill the line otherwise."""
    max_span = None
    if max_span_s is not None:
        n = logp.shape[0]
        max_span = max(int(np.ceil(max_span_s * frame_rate)), -(-n_mel // n))
    return prior_viterbi(mel_grid_logp(logp, n_mel, frame_rate, video_fps), mu, weight, sigma, max_span)
