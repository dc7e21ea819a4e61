"""The corpus's own aligner: trained on the songs it aligns, from a flat start (docs/annotate.md).

    every song: lyric Graph (hmm.build_graph), features, voicing
    stage 1: GMMs on MFCC + deltas + delta-deltas (39), flat start (gmm.flat_start), Baum-Welch with
             components split 1 -> 8 (robust: the deltas keep whole lines and syllables in place)
      --Viterbi--> alignment
    stage 2: GMMs on the static MFCCs (13) re-estimated from that alignment, Baum-Welch 1 -> 8
             (precise: deltas smear boundaries by 20-40 ms, which stage 1's models learn as their own)
      --Viterbi--> alignment (audio alone)
    with the lips: a lip classifier trained on that alignment (lips.py); emissions + lip_weight * lip
      scores --Viterbi--> alignment (audio and lips)
    both stages add the voicing prior (hmm.voicing_prior) to the emissions.

Each E-step runs the songs in ``nj`` threads (numpy and the numba passes release the GIL).
"""

import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from typing import List, Optional, Sequence

import numpy as np

from espnet2_ext.annotate import gmm as G
from espnet2_ext.annotate.hmm import (Graph, band_around, diagonal_band, forward_backward, needs_band, viterbi,
                                      voicing_prior)

VOICING_WEIGHT = 3.0
FIRST_BAND_MARGIN = 3000  # frames (30 s of singing) around the diagonal, before any alignment (long songs)
BAND_MARGIN = 300  # frames (3 s) around the first stage's alignment


@dataclass
class AlignerConfig:
    stage1_iterations: int = 14
    stage1_splits: Sequence[int] = (4, 7, 10)
    stage2_iterations: int = 8
    stage2_splits: Sequence[int] = (1, 3, 5)
    voicing_weight: float = VOICING_WEIGHT
    nj: int = 1


def stage1_features(mfcc: np.ndarray) -> np.ndarray:
    return mfcc


def stage2_features(mfcc: np.ndarray) -> np.ndarray:
    return np.ascontiguousarray(mfcc[:, :13])


def _map(fn, items, nj):
    if nj <= 1:
        return [fn(x) for x in items]
    with ThreadPoolExecutor(nj) as pool:
        return list(pool.map(fn, items))


def baum_welch(gmm: G.DiagGMM, feats, graphs, priors, iterations, splits, nj, name, bands) -> G.DiagGMM:
    """Baum-Welch iterations over every song (E-steps in ``nj`` threads), splitting the components at
    ``splits``; bands: per song None or the (lo, hi) state range per frame."""
    for it in range(iterations):
        if it in splits:
            gmm = gmm.split()

        def e_step(k, gmm=gmm):
            occ, ll = forward_backward(gmm.loglik(feats[k]) + priors[k], graphs[k], bands[k])
            return occ, ll

        results = _map(e_step, range(len(feats)), nj)
        stats = G.GMMStats(*gmm.shape)
        total = frames = 0
        for k, (occ, ll) in enumerate(results):
            if np.isfinite(ll):
                stats.add(gmm, feats[k], occ)
                total, frames = total + ll, frames + len(feats[k])
        gmm = stats.update(gmm)
        logging.info("%s iteration %d/%d (%d Gaussians per state): log-likelihood per frame %.2f", name, it + 1,
                     iterations, gmm.shape[1], total / max(frames, 1))
    return gmm


@dataclass
class TrainedAligner:
    stage1: G.DiagGMM
    stage2: G.DiagGMM
    config: AlignerConfig
    bands: List  # per song: None (every state) or the (lo, hi) band around the first stage's alignment

    def emissions(self, mfcc: np.ndarray, voiced: np.ndarray) -> np.ndarray:
        """(T, M) stage-2 emissions of one song, voicing prior included."""
        return self.stage2.loglik(stage2_features(mfcc)) + voicing_prior(voiced, self.config.voicing_weight)


def train_aligner(mfccs: Sequence[np.ndarray], voiced: Sequence[np.ndarray], quiet: Sequence[np.ndarray],
                  breathy: Sequence[np.ndarray], graphs: Sequence[Graph],
                  config: Optional[AlignerConfig] = None) -> TrainedAligner:
    """Both GMM stages on every song (module docstring). A long song (hmm.needs_band) is searched in a
    band: around the diagonal of its sung frames in stage 1, around stage 1's alignment after."""
    c = config or AlignerConfig()
    priors = [voicing_prior(v, c.voicing_weight) for v in voiced]
    bands1 = [diagonal_band(g, ~q, FIRST_BAND_MARGIN) if needs_band(len(m), g) else None
              for m, g, q in zip(mfccs, graphs, quiet)]
    f1 = [stage1_features(m) for m in mfccs]
    g1 = baum_welch(G.flat_start(f1, quiet, breathy), f1, graphs, priors, c.stage1_iterations, c.stage1_splits, c.nj,
                    "aligner stage 1 (flat start, MFCC + deltas)", bands1)
    paths = _map(lambda k: viterbi(g1.loglik(f1[k]) + priors[k], graphs[k], bands1[k])[0], range(len(f1)), c.nj)
    bands2 = [band_around(p, g.num_states, BAND_MARGIN) if b is not None else None
              for p, g, b in zip(paths, graphs, bands1)]
    f2 = [stage2_features(m) for m in mfccs]
    g2 = baum_welch(G.from_alignment(f2, graphs, paths), f2, graphs, priors, c.stage2_iterations, c.stage2_splits,
                    c.nj, "aligner stage 2 (static MFCC)", bands2)
    return TrainedAligner(g1, g2, c, bands2)


def phone_log_posteriors(e: np.ndarray) -> np.ndarray:
    """(T, M) emissions -> (T, M) log posterior of each column's phone (its states summed), flat prior."""
    from espnet2_ext.annotate.hmm import NUM_COLUMNS, STATES_PER_PHONE, REST

    post = G.column_posteriors(e)
    p = np.exp(post)
    n_ph = REST // STATES_PER_PHONE
    ph = p[:, :REST].reshape(len(p), n_ph, STATES_PER_PHONE).sum(-1)  # (T, phones)
    out = np.empty_like(post)
    out[:, :REST] = np.repeat(np.log(ph + 1e-12), STATES_PER_PHONE, axis=1)
    out[:, REST:NUM_COLUMNS] = post[:, REST:NUM_COLUMNS]
    return out


def align_all(emissions: Sequence[np.ndarray], graphs: Sequence[Graph], nj: int = 1,
              bands: Optional[Sequence] = None) -> List[np.ndarray]:
    bands = bands or [None] * len(graphs)
    return _map(lambda k: viterbi(emissions[k], graphs[k], bands[k])[0], range(len(graphs)), nj)
