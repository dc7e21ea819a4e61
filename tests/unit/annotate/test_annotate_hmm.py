"""The song HMM: Viterbi finds the planted segmentation (optional rests used or skipped, the chain's
minimum durations), forward-backward's occupancies are probabilities that agree with it, and the
voicing prior's signs."""

import numpy as np
import pytest

from espnet2_ext.annotate.align import units_from_path
from espnet2_ext.annotate.hmm import (BREATH, NUM_COLUMNS, PHONE_INDEX, REST, REST_MIN_FRAMES, STATES_PER_PHONE,
                                      band_around, build_graph, diagonal_band, forward_backward, min_frames, viterbi,
                                      voicing_prior)

LINES = [[["n", "i"], ["h", "ao"]], [["uo"]]]


def planted(segments):
    """segments [(label, frames)] -> emissions (T, M): 0 on the label's columns (the phone's states in
    thirds), -8 elsewhere."""
    rows = []
    for label, n in segments:
        if label in ("SP", "AP"):
            cols = [[REST if label == "SP" else BREATH]] * n
        else:
            base = PHONE_INDEX[label] * STATES_PER_PHONE
            cols = [[base + min(STATES_PER_PHONE - 1, k * STATES_PER_PHONE // n)] for k in range(n)]
        for c in cols:
            r = np.full(NUM_COLUMNS, -8.0)
            r[c] = 0.0
            rows.append(r)
    return np.array(rows)


def labels(path, g, t):
    return [(u.phone, u.end - u.first) for u in units_from_path(path, g, t * 0.01)]


def test_viterbi_recovers_the_planted_segmentation_with_rests_used_and_skipped():
    g = build_graph(LINES)
    seg = [("SP", 20), ("n", 6), ("i", 15), ("SP", 10), ("h", 8), ("ao", 20), ("SP", 12), ("AP", 9), ("uo", 25),
           ("SP", 7)]
    e = planted(seg)
    path, score = viterbi(e, g)
    assert labels(path, g, len(e)) == seg and np.isfinite(score)
    seg2 = [("n", 6), ("i", 15), ("h", 8), ("ao", 20), ("uo", 25)]  # no rest at all: every one skipped
    path, _ = viterbi(planted(seg2), g)
    assert labels(path, g, 74) == seg2


def test_a_rest_inside_a_line_lasts_at_least_its_chain():
    g = build_graph(LINES)
    short = REST_MIN_FRAMES["inner"] - 2  # a stop's closure, not a rest
    seg = [("n", 6), ("i", 15), ("SP", short), ("h", 8), ("ao", 20), ("uo", 25)]
    e = planted(seg)
    e[21:21 + short] = np.maximum(e[21:21 + short], -1.0)  # a closure: silence, but no worse for the phones
    got = labels(viterbi(e, g)[0], g, len(e))
    assert "SP" not in [p for p, _ in got]
    rests = [n for p, n in labels(viterbi(planted(seg), g)[0], g, len(e)) if p == "SP"]
    assert all(n >= REST_MIN_FRAMES["inner"] for n in rests)


def test_too_few_frames_has_no_path():
    g = build_graph(LINES)
    assert min_frames(g) == 5 * STATES_PER_PHONE
    path, score = viterbi(np.zeros((min_frames(g) - 1, NUM_COLUMNS)), g)
    assert score == -np.inf


def test_forward_backward_occupancies_sum_to_one_and_peak_on_the_viterbi_path():
    g = build_graph(LINES)
    e = planted([("SP", 20), ("n", 6), ("i", 15), ("h", 8), ("ao", 20), ("SP", 12), ("uo", 25), ("SP", 7)])
    occ, ll = forward_backward(e, g)
    assert np.isfinite(ll)
    np.testing.assert_allclose(occ.sum(1), 1.0, atol=1e-4)
    path, score = viterbi(e, g)
    assert (occ.argmax(1) == g.column[path]).mean() > 0.97 and ll >= score - 1e-6


def test_banded_passes_find_the_path_of_the_full_ones():
    g = build_graph(LINES)
    seg = [("SP", 120), ("n", 6), ("i", 15), ("SP", 10), ("h", 8), ("ao", 20), ("SP", 90), ("AP", 9), ("uo", 25),
           ("SP", 7)]
    e = planted(seg)
    full, _ = viterbi(e, g)
    active = np.array([lab not in ("SP", "AP") for lab, n in seg for _ in range(n)])
    band = diagonal_band(g, active, margin=25)
    assert (band[1] - band[0]).max() < g.num_states  # a real band
    banded, _ = viterbi(e, g, band)
    np.testing.assert_array_equal(banded, full)
    around = band_around(full, g.num_states, 5)
    np.testing.assert_array_equal(viterbi(e, g, around)[0], full)
    occ_full, ll_full = forward_backward(e, g)
    occ, ll = forward_backward(e, g, around)
    assert abs(ll - ll_full) < 1e-3 and np.abs(occ - occ_full).max() < 1e-3


def test_voicing_prior_favours_voiced_finals_and_voiceless_initials():
    pri = voicing_prior(np.array([True, False]), weight=1.0)
    a, s, b = (PHONE_INDEX[p] * STATES_PER_PHONE for p in ("a", "s", "b"))
    assert pri[0, a] > pri[0, s] and pri[1, s] > pri[1, a] and pri[0, b] == pri[1, b] == 0.0
    assert pri[1, REST] > pri[0, REST]


@pytest.mark.parametrize("line", [[["a"]], [["zh", "uang"], ["a"]]])
def test_graph_units_follow_the_lyrics(line):
    g = build_graph([line])
    phones = [u.phone for u in g.units if u.line >= 0]
    assert phones == [p for syl in line for p in syl]
    assert g.units[0].phone == "SP" and g.units[-1].phone == "SP" and g.optional[0] and g.optional[-1]
