"""Diagonal-covariance GMM emissions of the HMM's columns, trained from a flat start (as MFA / HTK do).

    every song's features X (T, D) and its Graph
      flat start: every phone column = the global mean / variance of the corpus's active frames, the
        silence column = its quiet frames (energy well below the song's singing, unvoiced, silero-vad
        < 0.5), the breath column = its breath-like frames (unvoiced, 10-30 dB down, away from voicing)
      --Baum-Welch (aligner.baum_welch: hmm.forward_backward occupancies (T, M) -> GMMStats)-->
        re-estimated means, variances (floored at 5 % of the corpus variance), weights;
        DiagGMM.split doubles the components
    from_alignment: one Gaussian per column from a state path (the second stage's start)
"""

from dataclasses import dataclass, field
from typing import Sequence

import numpy as np

from espnet2_ext.annotate.hmm import BREATH, NUM_COLUMNS, REST

LOG2PI = float(np.log(2 * np.pi))


@dataclass
class DiagGMM:
    means: np.ndarray  # (M, K, D)
    variances: np.ndarray  # (M, K, D)
    log_weights: np.ndarray  # (M, K), -inf for unused components
    var_floor: np.ndarray = field(default=None)  # (D,)

    @property
    def shape(self):
        return self.means.shape

    def component_loglik(self, x: np.ndarray) -> np.ndarray:
        """(T, D) -> (T, M, K) log w_k + log N(x; mu_k, var_k)."""
        m, k, d = self.means.shape
        inv = (1.0 / self.variances).reshape(m * k, d)
        mu = self.means.reshape(m * k, d)
        const = -0.5 * (d * LOG2PI + np.log(self.variances).sum(-1).reshape(m * k) + (mu * mu * inv).sum(-1))
        x = x.astype(np.float64)
        ll = -0.5 * ((x * x) @ inv.T) + x @ (mu * inv).T + const
        return ll.reshape(len(x), m, k) + self.log_weights[None]

    def loglik(self, x: np.ndarray) -> np.ndarray:
        """(T, D) -> (T, M) log p(x | column); the products and exponentials in float32, the result
        float64 (the features are normalised per song: on the development songs the float32 values are
        within 5e-4 of float64's)."""
        m, k, d = self.means.shape
        inv = (1.0 / self.variances).reshape(m * k, d)
        mu = self.means.reshape(m * k, d)
        const = (-0.5 * (d * LOG2PI + np.log(self.variances).sum(-1).reshape(m * k) + (mu * mu * inv).sum(-1))
                 + self.log_weights.reshape(m * k))
        x = x.astype(np.float32)
        ll = (-0.5 * ((x * x) @ inv.T.astype(np.float32)) + x @ (mu * inv).T.astype(np.float32)
              + const.astype(np.float32)).reshape(len(x), m, k)
        if k == 1:
            return ll[..., 0].astype(np.float64)
        top = ll.max(-1, keepdims=True)
        top = np.where(np.isfinite(top), top, np.float32(0.0))
        ll -= top
        np.exp(ll, out=ll)
        return (top[..., 0].astype(np.float64) + np.log(ll.sum(-1, dtype=np.float64) + 1e-300))

    def split(self) -> "DiagGMM":
        """Every component in two, means moved +/- 0.2 standard deviations (deterministic)."""
        sd = np.sqrt(self.variances)
        means = np.concatenate([self.means - 0.2 * sd, self.means + 0.2 * sd], axis=1)
        var = np.concatenate([self.variances, self.variances], axis=1)
        lw = np.concatenate([self.log_weights, self.log_weights], axis=1) - np.log(2.0)
        return DiagGMM(means, var, lw, self.var_floor)


class GMMStats:
    def __init__(self, m: int, k: int, d: int):
        self.n = np.zeros((m, k))
        self.s1 = np.zeros((m, k, d))
        self.s2 = np.zeros((m, k, d))

    def add(self, gmm: DiagGMM, x: np.ndarray, occ: np.ndarray, min_occ: float = 1e-4) -> None:
        """Accumulate the statistics of one song: frames x occupancy (T, M), responsibilities of each
        column's components; only the (frame, column) pairs with occupancy > ``min_occ`` (a handful
        per frame) are computed."""
        x = x.astype(np.float64)
        t_idx, m_idx = np.nonzero(occ > min_occ)
        order = np.argsort(m_idx, kind="stable")
        t_idx, m_idx = t_idx[order], m_idx[order]
        w = occ[t_idx, m_idx].astype(np.float64)
        bounds = np.flatnonzero(np.diff(m_idx)) + 1
        for a, b in zip(np.r_[0, bounds], np.r_[bounds, len(m_idx)]):
            if b <= a:
                continue
            m = int(m_idx[a])
            xs = x[t_idx[a:b]]
            single = DiagGMM(gmm.means[m:m + 1], gmm.variances[m:m + 1], gmm.log_weights[m:m + 1], gmm.var_floor)
            c = single.component_loglik(xs)[:, 0]  # (P, K)
            top = c.max(-1, keepdims=True)
            top = np.where(np.isfinite(top), top, 0.0)
            r = np.exp(c - top)
            r /= r.sum(-1, keepdims=True) + 1e-300
            wr = r * w[a:b, None]  # (P, K)
            self.n[m] += wr.sum(0)
            self.s1[m] += wr.T @ xs
            self.s2[m] += wr.T @ (xs * xs)

    def update(self, gmm: DiagGMM, min_count: float = 3.0) -> DiagGMM:
        means, var, lw = gmm.means.copy(), gmm.variances.copy(), gmm.log_weights.copy()
        ok = self.n > min_count
        mu = self.s1[ok] / self.n[ok][:, None]
        means[ok] = mu
        var[ok] = np.maximum(self.s2[ok] / self.n[ok][:, None] - mu * mu, gmm.var_floor[None])
        tot = self.n.sum(1, keepdims=True)
        has = tot[:, 0] > min_count
        with np.errstate(divide="ignore"):
            w = np.where(ok, self.n, 0.0) / np.maximum(tot, 1e-10)
            lw[has] = np.where(w[has] > 1e-4, np.log(np.maximum(w[has], 1e-300)), -np.inf)
        # a column whose components all died keeps its old ones
        dead = has & ~np.isfinite(lw).any(1)
        lw[dead] = gmm.log_weights[dead]
        return DiagGMM(means, var, lw, gmm.var_floor)


def flat_start(feats: Sequence[np.ndarray], quiet: Sequence[np.ndarray], breathy: Sequence[np.ndarray]) -> DiagGMM:
    """One Gaussian per column: phones = global statistics of the frames that are neither quiet nor
    breath-like, silence (SP) = the quiet ones, breath (AP) = the breath-like ones."""
    x = np.concatenate(feats).astype(np.float64)
    q, b = np.concatenate(quiet), np.concatenate(breathy)
    act, sil, br = x[~q & ~b], x[q], x[b]
    if len(sil) < 10 or len(act) < 10:
        act = sil = x
    if len(br) < 10:
        br = sil
    d = x.shape[1]
    floor = 0.05 * x.var(0) + 1e-6
    means = np.tile(act.mean(0), (NUM_COLUMNS, 1, 1))
    var = np.tile(np.maximum(act.var(0), floor), (NUM_COLUMNS, 1, 1))
    means[REST, 0] = sil.mean(0)
    var[REST, 0] = np.maximum(sil.var(0), floor)
    means[BREATH, 0] = br.mean(0)
    var[BREATH, 0] = np.maximum(br.var(0), floor)
    return DiagGMM(means.reshape(NUM_COLUMNS, 1, d), var.reshape(NUM_COLUMNS, 1, d), np.zeros((NUM_COLUMNS, 1)),
                   floor)


def from_alignment(feats: Sequence[np.ndarray], graphs: Sequence, paths: Sequence[np.ndarray]) -> DiagGMM:
    """One Gaussian per column estimated from state paths (one-hot occupancies)."""
    d = feats[0].shape[1]
    x_all = np.concatenate(feats).astype(np.float64)
    floor = 0.05 * x_all.var(0) + 1e-6
    gmm = DiagGMM(np.tile(x_all.mean(0), (NUM_COLUMNS, 1, 1)), np.tile(x_all.var(0), (NUM_COLUMNS, 1, 1)),
                  np.zeros((NUM_COLUMNS, 1)), floor)
    stats = GMMStats(NUM_COLUMNS, 1, d)
    for x, g, path in zip(feats, graphs, paths):
        occ = np.zeros((len(x), NUM_COLUMNS), np.float32)
        occ[np.arange(len(x)), g.column[path]] = 1.0
        stats.add(gmm, x, occ)
    return stats.update(gmm)


def quiet_frames(energy: np.ndarray, vad: np.ndarray, f0: np.ndarray) -> np.ndarray:
    """(T,) bool: frames 30 dB or more below the song's loud frames, unvoiced, and not speech for the VAD."""
    loud = np.percentile(energy, 95)
    return (energy < loud - 30.0) & (f0 <= 0) & (vad < 0.5)


def breathy_frames(energy: np.ndarray, f0: np.ndarray, away: int = 8) -> np.ndarray:
    """(T,) bool: breath-like frames: unvoiced, 10-30 dB below the song's loud frames, and at least
    ``away`` frames from any voiced frame (fricatives and aspiration sit next to a vowel)."""
    loud = np.percentile(energy, 95)
    voiced = (f0 > 0).astype(np.float64)
    near = np.convolve(voiced, np.ones(2 * away + 1), mode="same") > 0
    return (energy > loud - 30.0) & (energy < loud - 10.0) & ~near


def column_posteriors(ll: np.ndarray) -> np.ndarray:
    """(T, M) log-likelihoods -> (T, M) log posteriors under a flat prior."""
    top = ll.max(1, keepdims=True)
    return ll - (top + np.log(np.exp(ll - top).sum(1, keepdims=True)))
