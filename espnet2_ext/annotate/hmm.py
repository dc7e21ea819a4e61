"""The song's lyrics as one left-to-right HMM, and its Viterbi / forward-backward passes (numba).

    lyric lines -> units: [rest?] line 1: syl 1 phones [rest?] syl 2 phones ... [rest?] line 2 ... [rest?]
      a phone unit: STATES_PER_PHONE states (left to right, so >= 30 ms), emission columns
        phone_index * STATES_PER_PHONE + k;
      a rest slot ("rest?"): silence (SP, column REST) then breath (AP, column BREATH), each a chain
        of REST_MIN_FRAMES[kind] states (so a rest inside a line lasts >= 60 ms: a stop's closure is
        no rest) and each optional: the path may skip either or both; entering one inside a line
        costs ``inner_rest_penalty`` (log), between lines and at the song's ends nothing
    emissions E (T, M) log-likelihoods (or scaled posteriors) per emission column
      --viterbi--> state per frame (T,), total score
      --forward_backward--> occupancy (T, M) of every emission column, log-likelihood

Transitions: a state loops on itself or moves to the next state; skippable (rest) units can be
jumped over. The path starts in the first unit's entry or any entry not behind a compulsory unit,
and ends likewise at the end. ``band``: an optional (lo, hi) state
range per frame outside which the path may not go; songs of more than FULL_BAND_CELLS frames x
states use one (diagonal_band before any alignment, band_around an alignment after), which keeps
the memory of a 5-minute song in tens of megabytes.
"""

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

import numpy as np
from numba import njit

from espnet2_ext.data.phones import FINALS, INITIALS

STATES_PER_PHONE = 3
SUNG_PHONES: Tuple[str, ...] = INITIALS + FINALS
PHONE_INDEX = {p: i for i, p in enumerate(SUNG_PHONES)}
REST = len(SUNG_PHONES) * STATES_PER_PHONE  # emission column of the silence state (SP)
BREATH = REST + 1  # emission column of the breath state (AP)
NUM_COLUMNS = REST + 2
NEG = -1e30


# phonetic voicing of each column: +1 voiced (finals, nasals, liquids), -1 voiceless (the other
# initials, silence, breath), 0 either (b d g: voiceless in Mandarin, but a sung release is often voiced)
VOICED_INITIALS = ("m", "n", "l", "r")
EITHER_INITIALS = ("b", "d", "g")


def column_voicing() -> np.ndarray:
    """(M,) +1 / -1 / 0 per emission column (see VOICED_INITIALS)."""
    out = np.zeros(NUM_COLUMNS)
    for p, i in PHONE_INDEX.items():
        v = 1.0 if (p in FINALS or p in VOICED_INITIALS) else 0.0 if p in EITHER_INITIALS else -1.0
        out[i * STATES_PER_PHONE:(i + 1) * STATES_PER_PHONE] = v
    out[REST] = out[BREATH] = -1.0
    return out


def voicing_prior(voiced: np.ndarray, weight: float = 3.0) -> np.ndarray:
    """(T, M) log-score added to the emissions: ``weight`` * log 0.9 where a frame's voicing (T,) bool
    agrees with the column's phonetic voicing, ``weight`` * log 0.1 where it does not, 0 for "either".
    It ties each phone's boundaries to the voicing onsets and offsets that the acoustic models alone
    may shift when two phones always occur together (p before iao, j before i) in a small corpus."""
    cv = column_voicing()[None]
    v = np.where(np.asarray(voiced, bool), 1.0, -1.0)[:, None]
    agree = cv * v
    return weight * np.where(agree > 0, np.log(0.9), np.where(agree < 0, np.log(0.1), 0.0))


PAUSE_FRAMES = 15  # a quiet stretch this long (150 ms) is a pause: longer than any stop's closure


def pause_prior(quiet: np.ndarray, weight: float = 2.0, min_frames: int = PAUSE_FRAMES) -> np.ndarray:
    """(T, M) log-score: -``weight`` for every sung phone's columns on the frames of quiet stretches of
    at least ``min_frames`` (pauses), 0 elsewhere and for SP / AP. With it the lyrics of a long song
    cannot spread over its pauses at the flat start, and a phone does not swallow a silence."""
    q = np.asarray(quiet, bool)
    pause = np.zeros(len(q), bool)
    k = 0
    while k < len(q):
        if q[k]:
            j = k
            while j < len(q) and q[j]:
                j += 1
            if j - k >= min_frames:
                pause[k:j] = True
            k = j
        else:
            k += 1
    out = np.zeros((len(q), NUM_COLUMNS))
    out[pause, :REST] = -weight
    return out


@dataclass
class Unit:
    """One phone or rest of the song's sequence."""

    phone: str  # the phone, or "SP" / "AP" for the states of a rest slot
    line: int  # index of the lyric line (-1 for a rest)
    syllable: int  # syllable index over the song (-1 for a rest)
    kind: str  # "phone", "inner" (rest inside a line), "gap" (between lines), "edge" (song start / end)


@dataclass
class Graph:
    units: List[Unit]
    column: np.ndarray  # (N,) int64 emission column of each state
    self_w: np.ndarray  # (N,) float64 log weight of staying in the state
    pred: np.ndarray  # (N, P) int64 predecessor states (-1: none)
    pred_w: np.ndarray  # (N, P) float64 log weight of each predecessor's transition
    succ: np.ndarray  # (N, P) int64 successor states (-1: none), the same transitions seen forwards
    succ_w: np.ndarray  # (N, P) float64
    start_w: np.ndarray  # (N,) float64 log weight of starting in the state (NEG: cannot)
    end_w: np.ndarray  # (N,) float64 log weight of ending in the state (NEG: cannot)
    unit_of: np.ndarray  # (N,) int64 unit index of each state
    optional: np.ndarray  # (U,) bool per unit: the path may skip it

    @property
    def num_states(self) -> int:
        return len(self.column)


REST_MIN_FRAMES = {"inner": 6, "gap": 2, "edge": 1}  # states (= frames at least) of a rest's SP / AP chain


INITIAL_LOOP = 0.75  # self-loop probability of an initial's states: a long initial costs log 0.75 a frame


def build_graph(lines: Sequence[Sequence[Sequence[str]]], inner_rest_penalty: float = -4.0,
                gap_rest_penalty: float = 0.0, rest_min_frames: Optional[dict] = None,
                initial_loop: float = INITIAL_LOOP, optional_lines: Sequence[int] = ()) -> Graph:
    """lines: per lyric line, per syllable, its phones -> the song's Graph (module docstring).
    optional_lines: lines whose phones the path may skip, wholly or in part (the lines at the edges of
    a training window of a long song, which may lie outside it)."""
    mins = dict(REST_MIN_FRAMES, **(rest_min_frames or {}))

    def rest(kind):
        return [Unit("SP", -1, -1, kind), Unit("AP", -1, -1, kind)]

    units: List[Unit] = rest("edge")
    k = 0
    for li, line in enumerate(lines):
        if li > 0:
            units += rest("gap")
        for si, phones in enumerate(line):
            if si > 0:
                units += rest("inner")
            for p in phones:
                units.append(Unit(p, li, k, "phone"))
            k += 1
    units += [Unit("SP", -1, -1, "edge")]
    column, unit_of, entry, exit_ = [], [], [], []
    for ui, u in enumerate(units):
        if u.phone in ("SP", "AP"):
            cols = [REST if u.phone == "SP" else BREATH] * mins[u.kind]
        else:
            cols = [PHONE_INDEX[u.phone] * STATES_PER_PHONE + s for s in range(STATES_PER_PHONE)]
        entry.append(len(column))
        column += cols
        unit_of += [ui] * len(cols)
        exit_.append(len(column) - 1)
    n, n_units = len(column), len(units)
    skippable = set(optional_lines)
    optional = np.array([u.phone in ("SP", "AP") or u.line in skippable for u in units])
    enter = np.array([inner_rest_penalty if u.kind == "inner" and optional[i] else
                      gap_rest_penalty if u.kind == "gap" and optional[i] else 0.0 for i, u in enumerate(units)])
    preds: List[List[Tuple[int, float]]] = [[] for _ in range(n)]
    for ui in range(n_units):
        for j in range(entry[ui] + 1, exit_[ui] + 1):
            preds[j].append((j - 1, 0.0))
        back = ui - 1
        while back >= 0:  # the exits of the previous unit and of those behind skippable ones
            preds[entry[ui]].append((exit_[back], float(enter[ui])))
            if not optional[back]:
                break
            back -= 1
    p_max = max(len(x) for x in preds)
    pred = np.full((n, p_max), -1, np.int64)
    pred_w = np.zeros((n, p_max))
    succs: List[List[Tuple[int, float]]] = [[] for _ in range(n)]
    for j, lst in enumerate(preds):
        for c, (i, w) in enumerate(lst):
            pred[j, c], pred_w[j, c] = i, w
            succs[i].append((j, w))
    s_max = max(max(len(x) for x in succs), 1)
    succ = np.full((n, s_max), -1, np.int64)
    succ_w = np.zeros((n, s_max))
    for i, lst in enumerate(succs):
        for c, (j, w) in enumerate(lst):
            succ[i, c], succ_w[i, c] = j, w
    start_w = np.full(n, NEG)
    end_w = np.full(n, NEG)
    for ui in range(n_units):  # start in any unit not behind a compulsory one
        start_w[entry[ui]] = float(enter[ui]) if ui else 0.0
        if not optional[ui]:
            break
    for ui in range(n_units - 1, -1, -1):
        end_w[exit_[ui]] = 0.0
        if not optional[ui]:
            break
    self_w = np.array([np.log(initial_loop) if units[u].phone in INITIALS else 0.0 for u in unit_of])
    return Graph(units, np.array(column, np.int64), self_w, pred, pred_w, succ, succ_w, start_w, end_w,
                 np.array(unit_of, np.int64), optional)


def full_band(t: int, n: int) -> Tuple[np.ndarray, np.ndarray]:
    return np.zeros(t, np.int64), np.full(t, n, np.int64)


FULL_BAND_CELLS = 30_000_000  # frames x states up to which the passes search every state (float64: 240 MB)


def diagonal_band(g: Graph, active: np.ndarray, margin: int) -> Tuple[np.ndarray, np.ndarray]:
    """(lo, hi) state range per frame for a song's first passes, when no alignment exists yet: the
    states whose share of the compulsory states is within ``margin`` frames (in active time) of the
    frame's share of the song's active (sung) frames. Long instrumental breaks do not move it."""
    comp = ~g.optional[g.unit_of]
    pos = (np.cumsum(comp) - comp) / max(int(comp.sum()), 1)  # (N,) non-decreasing
    act = np.cumsum(np.asarray(active, bool))
    total = max(int(act[-1]), 1)
    share = act / total
    m = margin / total
    lo = np.searchsorted(pos, share - m, side="left").astype(np.int64)
    hi = np.searchsorted(pos, share + m, side="right").astype(np.int64)
    lo = np.minimum(lo, g.num_states - 1)
    hi = np.maximum(hi, lo + 1)
    lo[0], hi[-1] = 0, g.num_states
    return np.minimum.accumulate(lo[::-1])[::-1], np.maximum.accumulate(hi)


def needs_band(t: int, g: Graph) -> bool:
    return t * g.num_states > FULL_BAND_CELLS


def band_around(path: np.ndarray, n: int, margin: int) -> Tuple[np.ndarray, np.ndarray]:
    """(lo, hi) state range per frame: the states a path visits within +/- ``margin`` frames."""
    t = len(path)
    lo = np.empty(t, np.int64)
    hi = np.empty(t, np.int64)
    for i in range(t):  # the path is non-decreasing: its min / max over a window are its ends
        lo[i] = path[max(0, i - margin)]
        hi[i] = path[min(t - 1, i + margin)] + 1
    lo = np.maximum(0, lo - 2)
    hi = np.minimum(n, hi + 2)
    hi[-1] = n
    lo[0] = 0
    return lo, hi


@njit(cache=True, nogil=True)
def _lse(a, b):
    if a < b:
        a, b = b, a
    if b < a - 37.0:  # exp(-37) is below float64's precision relative to 1: nothing to add
        return a
    return a + np.log1p(np.exp(b - a))


@njit(cache=True, nogil=True)
def _viterbi(E, column, self_w, pred, pred_w, start_w, end_w, lo, hi):
    t_len, n = E.shape[0], column.shape[0]
    p_max = pred.shape[1]
    width = 0
    for t in range(t_len):
        width = max(width, hi[t] - lo[t])
    back = np.full((t_len, width), -1, np.int8)
    prev = np.full(n, NEG)
    cur = np.full(n, NEG)
    for j in range(lo[0], hi[0]):
        if start_w[j] > NEG:
            prev[j] = start_w[j] + E[0, column[j]]
    for t in range(1, t_len):
        cur[:] = NEG
        for j in range(lo[t], hi[t]):
            best = prev[j] + self_w[j] if prev[j] > NEG else NEG
            b = -1
            for c in range(p_max):
                i = pred[j, c]
                if i < 0:
                    break
                if prev[i] > NEG:
                    v = prev[i] + pred_w[j, c]
                    if v > best:
                        best, b = v, c
            if best > NEG:
                cur[j] = best + E[t, column[j]]
            back[t, j - lo[t]] = b
        prev, cur = cur, prev
    j = -1
    score = NEG
    for i in range(n):
        if end_w[i] > NEG and prev[i] > NEG and prev[i] + end_w[i] > score:
            score, j = prev[i] + end_w[i], i
    path = np.zeros(t_len, np.int64)
    if j < 0:
        return path, NEG
    for t in range(t_len - 1, -1, -1):
        path[t] = j
        c = back[t, j - lo[t]]
        if c >= 0:
            j = pred[j, c]
    return path, score


@njit(cache=True, nogil=True)
def _forward_backward(E, column, self_w, pred, pred_w, succ, succ_w, start_w, end_w, lo, hi, num_columns):
    t_len, n = E.shape[0], column.shape[0]
    p_max, s_max = pred.shape[1], succ.shape[1]
    width = 0
    for t in range(t_len):
        width = max(width, hi[t] - lo[t])
    alpha = np.full((t_len, width), NEG, np.float64)
    for j in range(lo[0], hi[0]):
        if start_w[j] > NEG:
            alpha[0, j - lo[0]] = start_w[j] + E[0, column[j]]
    for t in range(1, t_len):
        l0, h0 = lo[t - 1], hi[t - 1]
        for j in range(lo[t], hi[t]):
            a = NEG
            if l0 <= j < h0 and alpha[t - 1, j - l0] > NEG:
                a = alpha[t - 1, j - l0] + self_w[j]
            for c in range(p_max):
                i = pred[j, c]
                if i < 0:
                    break
                if l0 <= i < h0:
                    a = _lse(a, alpha[t - 1, i - l0] + pred_w[j, c])
            if a > NEG:
                alpha[t, j - lo[t]] = a + E[t, column[j]]
    last = t_len - 1
    log_z = NEG
    beta_next = np.full(n, NEG)
    beta = np.full(n, NEG)
    for j in range(n):
        if end_w[j] > NEG:
            beta_next[j] = end_w[j]
            if lo[last] <= j < hi[last]:
                log_z = _lse(log_z, alpha[last, j - lo[last]] + end_w[j])
    occ = np.zeros((t_len, num_columns), np.float32)
    if log_z <= NEG:
        return occ, log_z
    for j in range(lo[last], hi[last]):
        g = alpha[last, j - lo[last]] + beta_next[j] - log_z
        if g > -50.0:
            occ[last, column[j]] += np.exp(g)
    for t in range(t_len - 2, -1, -1):
        beta[:] = NEG
        l1, h1 = lo[t + 1], hi[t + 1]
        for j in range(lo[t], hi[t]):
            b = NEG
            if l1 <= j < h1 and beta_next[j] > NEG:
                b = beta_next[j] + self_w[j] + E[t + 1, column[j]]
            for c in range(s_max):
                i = succ[j, c]
                if i < 0:
                    break
                if l1 <= i < h1 and beta_next[i] > NEG:
                    b = _lse(b, beta_next[i] + succ_w[j, c] + E[t + 1, column[i]])
            beta[j] = b
            g = alpha[t, j - lo[t]] + b - log_z
            if g > -50.0:
                occ[t, column[j]] += np.exp(g)
        beta_next, beta = beta, beta_next
    return occ, log_z


def viterbi(E: np.ndarray, g: Graph, band: Optional[Tuple[np.ndarray, np.ndarray]] = None) -> Tuple[np.ndarray, float]:
    """Best state path (T,) through ``g`` for emissions E (T, M), and its score; -inf score when the
    song is too short for its phones (fewer frames than the path's required states)."""
    lo, hi = band if band is not None else full_band(len(E), g.num_states)
    path, score = _viterbi(np.ascontiguousarray(E, np.float64), g.column, g.self_w, g.pred, g.pred_w, g.start_w,
                           g.end_w, lo, hi)
    return path, (float(score) if score > NEG / 2 else float("-inf"))


def forward_backward(E: np.ndarray, g: Graph, band: Optional[Tuple[np.ndarray, np.ndarray]] = None
                     ) -> Tuple[np.ndarray, float]:
    """Occupancy (T, M) of each emission column and the log-likelihood (-inf when no path exists).
    In the log domain: the emissions of GMMs on 39 dimensions differ by hundreds of nats a frame, and
    the probability domain with per-frame scaling drops hypotheses that a later frame needs (measured
    on the development songs: 77 nats of one song's likelihood lost at the second iteration)."""
    lo, hi = band if band is not None else full_band(len(E), g.num_states)
    occ, log_z = _forward_backward(np.ascontiguousarray(E, np.float64), g.column, g.self_w, g.pred, g.pred_w, g.succ,
                                   g.succ_w, g.start_w, g.end_w, lo, hi, E.shape[1])
    return occ, (float(log_z) if log_z > NEG / 2 else float("-inf"))


def min_frames(g: Graph) -> int:
    """Fewest frames any path through ``g`` needs (one per state of a compulsory unit)."""
    return int((~g.optional[g.unit_of]).sum())


def path_segments(path: np.ndarray, g: Graph) -> List[Tuple[int, int, int]]:
    """State path -> [(unit index, first frame, end frame (exclusive))] of the units it visits."""
    units = g.unit_of[path]
    change = np.flatnonzero(np.diff(units)) + 1
    starts = np.r_[0, change]
    ends = np.r_[change, len(path)]
    return [(int(units[a]), int(a), int(b)) for a, b in zip(starts, ends)]
