"""Duration MAE and boundary hit rate on hand examples."""

import numpy as np
import pytest

from espnet2_ext.metrics.duration import duration_scores, label_to_frames


def test_perfect_prediction():
    d = duration_scores([3, 5, 2], [3, 5, 2], fs=22050, hop_length=256)
    assert d["dur_mae_frames"] == 0.0 and d["boundary_hit_40ms"] == 1.0


def test_hand_example():
    # hop/fs = 10 ms per frame -> 40 ms = 4 frames
    pred = [10, 10, 10, 10]
    true = [12, 5, 10, 13]
    # |diffs| = 2, 5, 0, 3 -> MAE 2.5; cumulative: 10/12 (2), 20/17 (3), 30/27 (3), 40/40 (0) -> all hit
    d = duration_scores(pred, true, fs=100 * 256, hop_length=256)
    assert d["dur_mae_frames"] == 2.5
    assert d["boundary_hit_40ms"] == 1.0
    # cumulative 15/25/35/45 vs 12/17/27/40: errors 3, 8, 8, 5 frames -> only the first within 4
    d = duration_scores([15, 10, 10, 10], true, fs=100 * 256, hop_length=256)
    assert d["boundary_hit_40ms"] == pytest.approx(1 / 3)  # inner: 1 of 3
    assert d["boundary_hit_40ms_all"] == pytest.approx(1 / 4)  # inner + final: 1 of 4
    d = duration_scores([12, 5, 15, 8], true, fs=100 * 256, hop_length=256)
    assert d["boundary_hit_40ms"] == pytest.approx(2 / 3)  # third boundary 5 frames late
    assert d["boundary_hit_40ms_all"] == pytest.approx(3 / 4)
    assert d["num_boundaries"] == 3


def test_inner_rate_does_not_credit_the_fixed_final_boundary():
    """Timing that only gets the total length right (as the video gives it) scores 0 inner hits."""
    true = [10, 10, 10, 10]
    d = duration_scores([25, 5, 5, 5], true, fs=100 * 256, hop_length=256)  # cum 25/30/35/40 vs 10/20/30/40
    assert d["boundary_hit_40ms"] == 0.0
    assert d["boundary_hit_40ms_all"] == pytest.approx(1 / 4)
    one = duration_scores([7], [9], fs=100 * 256, hop_length=256)  # one phone: no inner boundary
    assert one["boundary_hit_40ms"] is None and one["boundary_hit_40ms_all"] == 1.0


def test_length_mismatch_raises():
    with pytest.raises(ValueError, match="3 predicted"):
        duration_scores([1, 2, 3], [1, 2], fs=22050, hop_length=256)


def test_label_to_frames():
    fields = "0.0 0.1 SP 0.1 0.25 a 0.25 0.3 SP".split()
    d = label_to_frames(fields, fs=25600, hop_length=256)  # 100 frames/s
    assert d.tolist() == [10, 15, 5]
    assert np.sum(d) == 30
