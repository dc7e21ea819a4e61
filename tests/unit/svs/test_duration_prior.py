"""Explicit-duration Viterbi (video evidence x duration-predictor prior) and its use in PerformSinger."""

import numpy as np
import pytest
import torch

from espnet2_ext.svs.performsinger.duration_prior import durations_with_prior, mel_grid_logp, prior_viterbi
from tests.unit.svs.test_aligner import FPS, FR, _infer_inputs, tiny_batch, tiny_model


def block_emissions(durs, n_phones=None, sharp=5.0):
    """(N, T) log scores that favour phone n exactly on its block of frames."""
    n = n_phones or len(durs)
    t = int(sum(durs))
    e = np.full((n, t), -sharp)
    start = 0
    for k, d in enumerate(durs):
        e[k, start:start + d] = 0.0
        start += d
    return e


def test_without_prior_the_evidence_decides_and_lengths_sum_to_t():
    durs = [3, 1, 7, 2, 5]
    got = prior_viterbi(block_emissions(durs), mu=np.zeros(5), weight=0.0, sigma=0.5)
    assert got.tolist() == durs


def test_prior_decides_where_the_video_cannot_tell_two_phones_apart():
    # phones 1 and 2 look alike (same scores on their 12 frames): the evidence gives no boundary
    e = block_emissions([4, 12, 4], n_phones=4)
    e = np.concatenate([e[:1], e[1:2], e[1:2], e[2:3]])  # (4, 20): phone 2 copies phone 1
    e[3] = block_emissions([4, 12, 4])[2]
    short_then_long = prior_viterbi(e, mu=np.log1p([4, 2, 10, 4]), weight=10.0, sigma=0.5)
    long_then_short = prior_viterbi(e, mu=np.log1p([4, 10, 2, 4]), weight=10.0, sigma=0.5)
    assert short_then_long.tolist() == [4, 2, 10, 4]
    assert long_then_short.tolist() == [4, 10, 2, 4]


def test_every_phone_gets_a_frame_and_too_few_frames_raise():
    rng = np.random.default_rng(0)
    e = rng.normal(size=(6, 9))
    d = prior_viterbi(e, mu=np.log1p(rng.uniform(1, 20, 6)), weight=3.0, sigma=0.5)
    assert d.sum() == 9 and (d >= 1).all()
    with pytest.raises(ValueError, match="cannot hold"):
        prior_viterbi(e[:, :5], mu=np.zeros(6), weight=1.0, sigma=0.5)
    with pytest.raises(ValueError, match="sigma"):
        prior_viterbi(e, mu=np.zeros(6), weight=1.0, sigma=0.0)


def test_mel_grid_places_sub_video_frame_boundaries():
    # two phones, change between video frames 2 and 3 (of 5), on a 4x finer grid: the boundary
    # lands where the interpolated evidence crosses, mid-way between the two frames' centres
    logp = np.log(np.array([[0.99, 0.99, 0.99, 0.01, 0.01], [0.01, 0.01, 0.01, 0.99, 0.99]]))
    grid = mel_grid_logp(logp, 20, frame_rate=100.0, video_fps=25.0)
    assert grid.shape == (2, 20)
    assert np.allclose(grid[:, 0], logp[:, 0] / 4)  # one video frame of evidence counts once
    d = durations_with_prior(logp, np.zeros(2), 20, 100.0, 25.0, weight=0.0, sigma=0.5)
    assert d.tolist() == [12, 8]
    # a prior for a longer first phone moves the boundary inside a video frame (not a multiple of 4)
    d = durations_with_prior(logp, np.log1p([14, 6]), 20, 100.0, 25.0, weight=10.0, sigma=0.1)
    assert 12 < d[0] < 16 and d.sum() == 20


def test_performsinger_uses_the_prior_only_when_weighted_and_stays_duration_free():
    torch.manual_seed(0)
    base = tiny_model(fusion_conf=dict(blocks=1), duration_source="attention", frame_rate=FR, video_fps=FPS)
    batch = tiny_batch()
    base(**batch)  # initialise the RVQ codebooks
    base.eval()
    plain = base.inference(**_infer_inputs(batch), steps=2, seed=1)
    base.set_duration_prior(weight=50.0, sigma=0.1)
    a = base.inference(**_infer_inputs(batch), steps=2, seed=1)
    b = base.inference(**_infer_inputs(batch, perturb_duration=True), steps=2, seed=1)
    assert torch.equal(a["duration"], b["duration"]) and torch.equal(a["feat_gen"], b["feat_gen"])
    t_v = int(batch["lip_lengths"][0])
    assert int(a["duration"].sum()) == round(t_v * FR / FPS)  # the song spans the video
    assert (a["duration"] >= 1).all()
    assert not torch.equal(a["duration"], plain["duration"]), "a strong prior must move the boundaries"
    with pytest.raises(ValueError, match="duration_prior"):
        tiny_model(duration_prior={"weight": 1.0, "tau": 2.0})
    with pytest.raises(ValueError, match="sigma"):
        base.set_duration_prior(weight=1.0, sigma=0.0)
    with pytest.raises(ValueError, match="max_span_s"):
        base.set_duration_prior(weight=1.0, sigma=0.5, max_span_s=0.0)
    # a span bound longer than any phone of this line leaves the durations as they were
    base.set_duration_prior(weight=50.0, sigma=0.1, max_span_s=float(a["duration"].max()) / FR + 0.01)
    assert torch.equal(base.inference(**_infer_inputs(batch), steps=2, seed=1)["duration"], a["duration"])
    assert tiny_model(duration_prior={"weight": 1.0, "max_span_s": 2.0}).duration_prior["max_span_s"] == 2.0


def full_matrix_viterbi(emis, mu, weight, sigma):
    """Reference: the same recursion over every (start, end) pair, O(T^2) per phone."""
    n, t = emis.shape
    cum = np.concatenate([np.zeros((n, 1)), np.cumsum(emis, axis=1)], axis=1)
    span = np.arange(t + 1)[None, :] - np.arange(t + 1)[:, None]
    logd = np.log(np.maximum(span, 1) + 1.0)
    prev = np.full(t + 1, -np.inf)
    prev[0] = 0.0
    back = np.zeros((n, t + 1), dtype=np.int64)
    for k in range(n):
        score = prev[:, None] + (cum[k][None, :] - cum[k][:, None]) - 0.5 * weight * ((logd - mu[k]) / sigma) ** 2
        score = np.where(span >= 1, score, -np.inf)
        back[k] = np.argmax(score, axis=0)
        prev = score[back[k], np.arange(t + 1)]
    ends, e = np.zeros(n, dtype=np.int64), t
    for k in range(n - 1, -1, -1):
        ends[k], e = e, back[k, e]
    return np.diff(np.concatenate([[0], ends]))


@pytest.mark.parametrize("seed", range(6))
def test_banded_recursion_equals_the_full_matrix_one(seed):
    rng = np.random.default_rng(seed)
    n = int(rng.integers(2, 9))
    t = int(rng.integers(n, 60))
    emis = rng.normal(size=(n, t)) * 2.0
    mu = np.log1p(rng.uniform(1, 10, size=n))
    for weight in (0.0, 3.0):
        ref = full_matrix_viterbi(emis, mu, weight, 0.5)
        assert prior_viterbi(emis, mu, weight, 0.5).tolist() == ref.tolist()
        # a bound no shorter than the longest phone of the best path changes nothing
        assert prior_viterbi(emis, mu, weight, 0.5, max_span=int(ref.max())).tolist() == ref.tolist()


def test_max_span_bounds_every_phone_and_infeasible_bounds_raise():
    durs = [3, 20, 5]
    e = block_emissions(durs)
    assert prior_viterbi(e, np.zeros(3), 0.0, 0.5).tolist() == durs
    bounded = prior_viterbi(e, np.zeros(3), 0.0, 0.5, max_span=12)
    assert bounded.max() <= 12 and bounded.sum() == 28
    with pytest.raises(ValueError, match="cannot fill"):
        prior_viterbi(e, np.zeros(3), 0.0, 0.5, max_span=9)  # 3 x 9 < 28
    # in seconds, through durations_with_prior: raised to T / N when it could not fill the line
    lp = np.log(np.full((3, 40), 1.0 / 3))
    d = durations_with_prior(lp, np.zeros(3), 120, FR, FPS, weight=0.0, sigma=0.5, max_span_s=0.05)
    assert d.sum() == 120 and d.max() <= 40
