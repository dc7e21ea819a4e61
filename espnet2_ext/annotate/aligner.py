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
from typing import List, Optional, Sequence, Tuple

import numpy as np

from espnet2_ext.annotate import gmm as G
from espnet2_ext.annotate.audio import FRAME_S
from espnet2_ext.annotate.hmm import (Graph, band_around, build_graph, diagonal_band, forward_backward, needs_band,
                                      pause_prior, viterbi, voicing_prior)

VOICING_WEIGHT = 3.0
LONG_SONG_SECONDS = 60.0  # longer songs: stage 1 trains on windows of them, their alignment runs in a band
WINDOW_FRAMES = 4000  # 40 s training windows
WINDOW_HOP = 2500  # every 25 s
WINDOW_SLACK = 800  # lines expected within 8 s of a window belong to it; those near its edges are optional
LONG_BAND_MARGIN = 3000  # frames (30 s of singing) around the diagonal: stage 1's alignment of a long song
BAND_MARGIN = 300  # frames (3 s) around stage 1's alignment: stage 2 and the final alignment


@dataclass
class AlignerConfig:
    stage1_iterations: int = 14
    stage1_splits: Sequence[int] = (4, 7, 10)
    stage2_iterations: int = 8
    stage2_splits: Sequence[int] = (1, 3, 5)
    voicing_weight: float = VOICING_WEIGHT
    pause_weight: float = 0.0  # hmm.pause_prior: measured no help (4-min song, banded flat start), off
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
            return forward_backward(gmm.loglik(feats[k]) + priors[k], graphs[k], bands[k])

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


def phonetic_prior(voiced: np.ndarray, quiet: np.ndarray, c: AlignerConfig) -> np.ndarray:
    """hmm.voicing_prior + hmm.pause_prior of one song."""
    return voicing_prior(voiced, c.voicing_weight) + pause_prior(quiet, c.pause_weight)


@dataclass
class TrainedAligner:
    stage1: G.DiagGMM
    stage2: G.DiagGMM
    config: AlignerConfig
    bands: List  # per song: None (every state) or the (lo, hi) band around the first stage's alignment

    def emissions(self, mfcc: np.ndarray, voiced: np.ndarray, quiet: np.ndarray) -> np.ndarray:
        """(T, M) stage-2 emissions of one song, the phonetic priors included."""
        return self.stage2.loglik(stage2_features(mfcc)) + phonetic_prior(voiced, quiet, self.config)


def expected_line_frames(g: Graph, active: np.ndarray) -> List[Tuple[int, int]]:
    """Where each lyric line should lie if the song's sung (active) frames were spread evenly over its
    compulsory states: (first frame, end frame) per line."""
    comp = ~g.optional[g.unit_of]
    pos = (np.cumsum(comp) - comp) / max(int(comp.sum()), 1)
    share = np.cumsum(np.asarray(active, bool)) / max(int(np.sum(active)), 1)
    lines = np.array([g.units[u].line for u in g.unit_of])
    out = []
    for li in range(lines.max() + 1):
        idx = np.flatnonzero(lines == li)
        a = int(np.searchsorted(share, pos[idx[0]], side="left"))
        b = int(np.searchsorted(share, pos[idx[-1]] + 1.0 / max(int(comp.sum()), 1), side="left"))
        out.append((a, max(b, a + 1)))
    return out


def training_windows(g: Graph, active: np.ndarray, length: int = WINDOW_FRAMES, hop: int = WINDOW_HOP,
                     slack: int = WINDOW_SLACK) -> List[Tuple[int, int, List[int], List[int]]]:
    """Overlapping windows of a long song for the flat start: (first frame, end frame, its lines, the
    lines among them that the path may skip). A window holds the lines expected (expected_line_frames)
    within ``slack`` frames of it; those not expected well inside it are optional."""
    t = len(active)
    spans = expected_line_frames(g, active)
    out, a = [], 0
    while True:
        b = min(t, a + length)
        lines = [li for li, (s, e) in enumerate(spans) if e > a - slack and s < b + slack]
        core = [li for li in lines if spans[li][0] >= a + slack and spans[li][1] <= b - slack]
        if a == 0:  # the song's first lines cannot lie before it
            core = sorted(set(core) | {li for li in lines if spans[li][1] <= b - slack})
        if b == t:
            core = sorted(set(core) | {li for li in lines if spans[li][0] >= a + slack})
        if core:
            out.append((a, b, lines, [li for li in lines if li not in core]))
        if b == t:
            return out
        a += hop


def train_aligner(mfccs: Sequence[np.ndarray], voiced: Sequence[np.ndarray], quiet: Sequence[np.ndarray],
                  breathy: Sequence[np.ndarray], song_lines: Sequence, graphs: Sequence[Graph],
                  config: Optional[AlignerConfig] = None) -> TrainedAligner:
    """Both GMM stages on every song (module docstring). song_lines: per song, per line, per syllable,
    its phones (the graphs' lyrics). A song over LONG_SONG_SECONDS is trained on in overlapping windows
    in stage 1 (a flat start spread over minutes of lyrics does not converge), then aligned whole in
    a band: around the diagonal of its sung frames, then around that alignment."""
    c = config or AlignerConfig()
    priors = [phonetic_prior(v, q, c) for v, q in zip(voiced, quiet)]
    long = [len(m) * FRAME_S > LONG_SONG_SECONDS or needs_band(len(m), g) for m, g in zip(mfccs, graphs)]
    f1 = [stage1_features(m) for m in mfccs]
    x1, p1, g1s, q1, b1 = [], [], [], [], []
    for k, (x, g) in enumerate(zip(f1, graphs)):
        if not long[k]:
            x1.append(x), p1.append(priors[k]), g1s.append(g), q1.append(quiet[k]), b1.append(breathy[k])
            continue
        for a, b, lines, optional in training_windows(g, ~quiet[k]):
            sub = [song_lines[k][li] for li in lines]
            x1.append(x[a:b]), p1.append(priors[k][a:b]), q1.append(quiet[k][a:b]), b1.append(breathy[k][a:b])
            g1s.append(build_graph(sub, optional_lines=[lines.index(li) for li in optional]))
    if any(long):
        logging.info("aligner stage 1: %d long songs in %d training windows", sum(long), len(x1) - long.count(False))
    g1 = baum_welch(G.flat_start(x1, q1, b1), x1, g1s, p1, c.stage1_iterations, c.stage1_splits, c.nj,
                    "aligner stage 1 (flat start, MFCC + deltas)", [None] * len(x1))
    bands1 = [diagonal_band(g, ~q, LONG_BAND_MARGIN) if lg else None for g, q, lg in zip(graphs, quiet, long)]
    paths = _map(lambda k: viterbi(g1.loglik(f1[k]) + priors[k], graphs[k], bands1[k])[0], range(len(f1)), c.nj)
    bands2 = [band_around(p, g.num_states, BAND_MARGIN) if lg else None for p, g, lg in zip(paths, graphs, long)]
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
