"""Temporal smoothing of the mouth track: outliers, gap filling, noise reduction."""

import numpy as np

from espnet2_ext.lip.smoothing import fill_gaps, reject_outliers, smooth_track, DEFAULT_SMOOTH_CONF


def test_fill_gaps_interpolates_and_holds_ends():
    tr = np.array([[np.nan], [np.nan], [2.0], [np.nan], [np.nan], [8.0], [np.nan]])
    valid = ~np.isnan(tr[:, 0])
    out = fill_gaps(tr, valid)[:, 0]
    assert np.allclose(out, [2, 2, 2, 4, 6, 8, 8])


def test_outlier_is_rejected_and_replaced():
    n = 40
    t = np.arange(n, dtype=float)
    tr = np.stack([100 + 0.2 * t, 150 + 0.1 * t, np.full(n, 90.0)], 1)
    tr[20] = (140, 150, 90)  # centre jumps by 38 px (0.42 face widths)
    tr[30, 2] = 140  # width jumps by 55 %
    valid = np.ones(n, bool)
    acc = reject_outliers(tr, valid, DEFAULT_SMOOTH_CONF)
    assert not acc[20] and not acc[30] and acc.sum() == n - 2
    sm, acc2 = smooth_track(tr, valid)
    assert np.array_equal(acc, acc2)
    assert abs(sm[20, 0] - (100 + 0.2 * 20)) < 0.5 and abs(sm[30, 2] - 90) < 0.5


def test_smoothing_reduces_jitter_without_lag():
    rng = np.random.default_rng(0)
    n = 200
    t = np.arange(n)
    truth = np.stack([100 + 4 * np.sin(2 * np.pi * t / 60), 150 + 3 * np.cos(2 * np.pi * t / 45), np.full(n, 90.0)], 1)
    noisy = truth + rng.normal(0, [1.5, 1.5, 3.0], (n, 3))
    sm, acc = smooth_track(noisy, np.ones(n, bool))
    assert acc.all()
    raw_err = np.abs(noisy - truth)[:, :2].mean()
    sm_err = np.abs(sm - truth)[:, :2].mean()
    assert sm_err < 0.6 * raw_err, (sm_err, raw_err)


def test_no_accepted_frame_gives_nan_and_short_tracks_work():
    sm, acc = smooth_track(np.full((5, 3), np.nan), np.zeros(5, bool))
    assert not acc.any() and np.isnan(sm).all()
    sm, acc = smooth_track(np.array([[1.0, 2.0, 50.0], [1.5, 2.0, 50.0]]), np.ones(2, bool))
    assert sm.shape == (2, 3) and np.isfinite(sm).all()
