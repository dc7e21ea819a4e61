"""How well the lips were read: the posterior of the chosen alignment, per video frame and per line.

    log p(phone n | video frame t) (N, T_v)   the frame posteriors the duration source aligned
                                              (the lip-reading heads' mean for ``lipreader``)
    durations d (N,) in mel frames            the timing chosen on them
      --alignment.video_overlap--> A (N, T_v): the fraction of frame t that phone n covers
      frame confidence  c_t = sum_n A[n, t] p(n | t)                  (T_v,) in [0, 1]
      phone confidence  c_n = sum_t A[n, t] p(n | t) / sum_t A[n, t]  (N,): the mean posterior of a
                        phone over the video it is given (0 for a phone given none)
      line confidence   C = mean_n c_n

c_t is the probability that the reader gives, at frame t, to the phone the timing puts there; c_n
averages it over each phone's own frames, and C weighs every phone alike. On a face the reader
knows, the path follows its confident frames and every phone is read. Where the lips cannot be
read (a face unlike the training faces, a covered mouth, frames out of order) the posteriors
spread over many phones, or sit on a few phones (often the rest) that the path then stretches
while it squeezes the sung phones into a frame or two: a mean over frames would still be high
there, a mean over phones is not. The threshold below which ``perform`` warns is chosen on dev
(README, "Reading confidence").
"""

from typing import Tuple

import numpy as np
import torch

from espnet2_ext.svs.alignment import video_overlap
from espnet2_ext.utils.frames import frame_ranges

LOW_FRAME = 0.5  # a frame whose confidence is below this is reported as not read
# perform warns below this: on dev, the midpoint between the lowest demo line (0.47) and the highest
# shuffled, covered or real-face control (0.20) (bench/bench_confidence.py, README "Reading confidence")
MIN_LIP_CONFIDENCE = 0.33


def reading_confidence(logp: torch.Tensor, durations: torch.Tensor, frame_rate: float,
                       video_fps: float) -> Tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """logp (N, T_v), durations (N,) mel frames -> frame confidence (T_v,), phone confidence (N,),
    line confidence () (the module docstring)."""
    n, t_v = logp.shape
    d = durations.reshape(1, n).to(logp.device)
    a = video_overlap(d, torch.ones_like(d, dtype=torch.float32), t_v, frame_rate, video_fps)[0]  # (N, T_v)
    p = logp.float().exp()
    frame = (a * p).sum(0).clamp(0.0, 1.0)  # (T_v,)
    phone = ((a * p).sum(1) / a.sum(1).clamp(min=1e-6)).clamp(0.0, 1.0)  # (N,)
    phone = torch.where(a.sum(1) > 0, phone, torch.zeros_like(phone))  # a phone given no video time: not read
    return frame, phone, phone.mean() if n else phone.new_zeros(())


def low_frames(frame_conf: np.ndarray, threshold: float = LOW_FRAME) -> str:
    """'3-7, 12': the 0-based video frames whose confidence is below ``threshold``."""
    return frame_ranges(np.asarray(frame_conf) < threshold)
