"""How well the lips were read: the posterior of the chosen alignment, per video frame and per line.

    log p(phone n | video frame t) (N, T_v)   the frame posteriors the duration source aligned
                                              (the lip-reading heads' mean for ``lipreader``)
    durations d (N,) in mel frames            the timing chosen on them
      --alignment.video_overlap--> A (N, T_v): the fraction of frame t that phone n covers
      frame confidence  c_t = sum_n A[n, t] p(n | t)          (T_v,) in [0, 1]
      line confidence   C = mean_t c_t

c_t is the probability that the reader gives, at frame t, to the phone the timing puts there. On a
face the reader knows, the path follows its confident frames and C is high. Where the lips cannot be
read (a face unlike the training faces, a covered mouth, frames out of order) the posteriors either
spread over many phones or sit confidently on phones the monotonic path cannot follow, and C is low
in both cases. The threshold below which ``perform`` warns is chosen on dev (README, "Reading
confidence").
"""

from typing import Tuple

import numpy as np
import torch

from espnet2_ext.svs.alignment import video_overlap
from espnet2_ext.utils.frames import frame_ranges

LOW_FRAME = 0.5  # a frame whose confidence is below this is reported as not read
MIN_LIP_CONFIDENCE = 0.5  # a line below this gets perform's warning (chosen on dev: README, "Reading confidence")


def reading_confidence(logp: torch.Tensor, durations: torch.Tensor, frame_rate: float,
                       video_fps: float) -> Tuple[torch.Tensor, torch.Tensor]:
    """logp (N, T_v), durations (N,) mel frames -> (frame confidence (T_v,), line confidence ())."""
    n, t_v = logp.shape
    d = durations.reshape(1, n).to(logp.device)
    a = video_overlap(d, torch.ones_like(d, dtype=torch.float32), t_v, frame_rate, video_fps)[0]  # (N, T_v)
    frame = (a * logp.float().exp()).sum(0).clamp(0.0, 1.0)  # (T_v,)
    return frame, frame.mean() if t_v else frame.new_zeros(())


def low_frames(frame_conf: np.ndarray, threshold: float = LOW_FRAME) -> str:
    """'3-7, 12': the 0-based video frames whose confidence is below ``threshold``."""
    return frame_ranges(np.asarray(frame_conf) < threshold)
