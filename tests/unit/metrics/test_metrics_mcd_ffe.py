"""MCD-DTW and FFE on signals whose answers are known by hand."""

import numpy as np
import pytest
import torch

from espnet2_ext.metrics.ffe import ffe, ffe_counts, mcep_path_to_f0_path
from espnet2_ext.metrics.mcd import mcd_dtw, mcep_params

torch.set_num_threads(1)
FS = 22050


def tone(f0: float, seconds: float = 0.8, fs: int = FS) -> np.ndarray:
    t = np.arange(int(seconds * fs)) / fs
    return (0.3 * sum(np.sin(2 * np.pi * f0 * k * t) / k for k in range(1, 6))).astype(np.float32)


def test_mcep_params_by_rate():
    assert mcep_params(22050) == (34, 0.45)
    assert mcep_params(24000) == (34, 0.46)
    assert mcep_params(44100) == (39, 0.53)
    assert mcep_params(48000) == (39, 0.55)


def test_mcd_identical_is_zero_and_different_is_positive():
    a = tone(220.0)
    assert mcd_dtw(a, a, FS) == pytest.approx(0.0, abs=1e-9)
    rng = np.random.default_rng(0)
    b = a + 0.05 * rng.standard_normal(len(a)).astype(np.float32)
    assert mcd_dtw(b, a, FS) > 1.0


def test_mcd_is_time_warp_tolerant():
    a = tone(220.0)
    # the same signal with 0.1 s of extra sustain: DTW absorbs it
    b = np.concatenate([a, a[-2205:]])
    c = tone(330.0)
    assert mcd_dtw(b, a, FS) < 0.5 * mcd_dtw(c, a, FS)


def test_mcd_without_c0_ignores_a_gain_and_c0_version_does_not():
    """A louder copy differs in c0 (log energy) alone: the headline MCD counts it, mcd_no_c0 does not."""
    from espnet2_ext.metrics.mcd import dtw_path, mcd_from_mceps, mel_cepstrum

    a = tone(220.0)
    ga, gb = mel_cepstrum(a, FS), mel_cepstrum(0.25 * a, FS)
    path = dtw_path(gb, ga)
    with_c0 = mcd_from_mceps(gb, ga, path)
    no_c0 = mcd_from_mceps(gb, ga, path, include_c0=False)
    assert with_c0 > 5.0  # 20 log10(4) = 12 dB of level
    assert no_c0 < 0.05 * with_c0
    c = mel_cepstrum(tone(330.0), FS)  # a different spectrum: both see it, and c0 only adds
    p2 = dtw_path(c, ga)
    assert mcd_from_mceps(c, ga, p2, include_c0=False) > 1.0
    assert mcd_from_mceps(c, ga, p2, include_c0=False) <= mcd_from_mceps(c, ga, p2)


def test_ffe_identical_tracks_zero():
    f0 = np.array([0, 0, 200, 210, 220, 0, 230.0])
    assert ffe(f0, f0) == 0.0


def test_ffe_thirty_percent_shift_is_all_errors():
    f0 = np.full(50, 200.0)
    assert ffe(f0 * 1.3, f0) == 1.0
    assert ffe(f0 * 1.1, f0) == 0.0  # within the 20 % tolerance


def test_ffe_half_unvoiced():
    ref = np.full(40, 180.0)
    gen = ref.copy()
    gen[::2] = 0.0  # half the frames unvoiced in the generated track
    c = ffe_counts(gen, ref)
    assert c == {"frames": 40, "voicing_errors": 20, "gross_pitch_errors": 0}
    assert ffe(gen, ref) == 0.5
    # plus a gross error on 10 of the remaining voiced frames -> (20 + 10) / 40
    gen[1:21:2] *= 1.5
    assert ffe(gen, ref) == pytest.approx(0.75)


def test_ffe_along_path_and_truncation():
    ref = np.array([100.0, 0, 100, 100])
    gen = np.array([100.0, 100.0, 0, 100, 100])
    path = np.array([[0, 0], [1, 0], [2, 1], [3, 2], [4, 3]])
    assert ffe(gen, ref, path) == 0.0
    assert ffe(gen, ref) == pytest.approx(2 / 4)  # truncated: frames 1 and 2 disagree
    assert mcep_path_to_f0_path(np.array([[0, 1]]), 1024, 256, 256).tolist() == [[2, 3]]


def test_ffe_through_the_f0_extractor():
    from espnet2_ext.features.f0 import extract_f0

    a = tone(220.0)
    f_a = extract_f0(a, FS, 256)[:, 0]
    f_b = extract_f0(tone(220.0 * 1.3), FS, 256)[:, 0]
    voiced = (f_a > 0) & (f_b > 0)
    assert voiced.sum() > 0.8 * len(f_a)
    assert ffe(f_a, f_a) == 0.0
    assert ffe(f_b[voiced], f_a[voiced]) == 1.0
