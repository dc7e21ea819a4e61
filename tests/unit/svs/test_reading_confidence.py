"""svs/performsinger/confidence.py: the posterior of the chosen alignment, per frame and per line."""

import numpy as np
import torch

from espnet2_ext.svs.performsinger.confidence import low_frames, reading_confidence
from espnet2_ext.utils.frames import frame_ranges

FPS, RATE = 25.0, 86.1328125  # video frames and mel frames per second (22050 / 256)


def _logp(assign, n, sure=0.9):
    """(N, T_v) log posteriors giving ``sure`` to phone assign[t] at frame t, the rest spread."""
    t_v = len(assign)
    p = np.full((n, t_v), (1 - sure) / max(n - 1, 1))
    p[assign, np.arange(t_v)] = sure
    return torch.log(torch.tensor(p, dtype=torch.float32))


def _durations(frames_per_phone):
    """Video frames per phone -> mel frames that end on the same video-frame edges."""
    edges = np.round(np.cumsum(frames_per_phone) / FPS * RATE).astype(int)
    return torch.tensor(np.diff(np.concatenate([[0], edges])))


def test_a_timing_that_follows_the_reader_is_confident():
    per_phone = [4, 6, 5]
    assign = np.repeat(np.arange(3), per_phone)
    frame, phone, line = reading_confidence(_logp(assign, 3), _durations(per_phone), RATE, FPS)
    assert frame.shape == (15,) and phone.shape == (3,) and float(line) > 0.85


def test_a_reader_that_disagrees_with_every_possible_timing_is_not():
    """Confident on one phone all the way through (the held fricative of a face it cannot read): any
    timing that sings every phone puts the others on frames the reader gives ~0.03."""
    assign = np.zeros(15, int)
    frame, _, line = reading_confidence(_logp(assign, 4), _durations([4, 4, 4, 3]), RATE, FPS)
    assert float(line) < 0.35 and low_frames(frame.numpy()) == "4-14"


def test_a_timing_that_stretches_the_rest_and_squeezes_the_sung_phones_is_not():
    """The reader sure of the rest on every frame (a covered mouth): the path gives the rest 18 of 20
    frames and squeezes the three sung phones into the last two. Frames alone would read 0.8
    confident; phones do not."""
    assign = np.zeros(20, int)
    logp = _logp(assign, 4, sure=0.9)
    frame, phone, line = reading_confidence(logp, _durations([18, 1, 0.5, 0.5]), RATE, FPS)
    assert float(frame.mean()) > 0.75 and float(line) < 0.5 and float(phone[0]) > 0.85


def test_spread_posteriors_are_not_confident():
    logp = torch.log(torch.full((5, 20), 0.2))
    _, _, line = reading_confidence(logp, _durations([4, 4, 4, 4, 4]), RATE, FPS)
    assert abs(float(line) - 0.2) < 1e-5


def test_frame_ranges():
    assert frame_ranges(np.array([0, 1, 1, 1, 0, 1, 0, 0, 1, 1], bool)) == "1-3, 5, 8-9"
    assert frame_ranges(np.zeros(4, bool)) == ""
