"""Preprocessor of VisualSVSTask: espnet's SVSPreprocessor plus lip-ROI normalisation.

    lip (T_v, 96, 96) uint8  --crop 88 (random + flip in training, centre otherwise)-->
        /255 -> (x - mean) / std -> (T_v, 88, 88) float32

The random crop and flip are the standard augmentation of lip-reading front ends; both are
applied identically to every frame of an utterance so that motion is preserved. Their draws come
from numpy's global random state, which espnet's trainer seeds from ``--seed`` at every epoch (and
torch's DataLoader per worker), so that a training run is repeatable from its seed.
"""

from typing import Dict, Union

import numpy as np
from espnet2.train.preprocessor import SVSPreprocessor


class VisualSVSPreprocessor(SVSPreprocessor):
    """SVSPreprocessor that also turns stored mouth crops into normalised model input."""

    def __init__(
        self,
        *args,
        lip_name: str = "lip",
        lip_crop_size: int = 88,
        lip_mean: float = 0.421,
        lip_std: float = 0.165,
        **kwargs,
    ):
        super().__init__(*args, **kwargs)
        self.lip_name = lip_name
        self.lip_crop_size = lip_crop_size
        self.lip_mean = lip_mean
        self.lip_std = lip_std

    def lip_transform(self, uid: str, lip: np.ndarray) -> np.ndarray:
        if lip.ndim != 3:
            raise ValueError(
                f"{uid}: lip ROI must have shape (T_v, H, W), got {lip.shape} "
                "(re-run stage 3 to extract mouth crops)"
            )
        _, h, w = lip.shape
        c = self.lip_crop_size
        if h < c or w < c:
            raise ValueError(f"{uid}: lip ROI {h}x{w} is smaller than the crop {c}x{c}")
        if self.train:
            rng = np.random.default_rng(np.random.randint(0, 2**31 - 1))  # from the seeded global state
            top = int(rng.integers(0, h - c + 1))
            left = int(rng.integers(0, w - c + 1))
        else:
            top, left = (h - c) // 2, (w - c) // 2
        crop = lip[:, top : top + c, left : left + c].astype(np.float32) / 255.0
        if self.train and rng.random() < 0.5:
            crop = crop[:, :, ::-1]
        return np.ascontiguousarray((crop - self.lip_mean) / self.lip_std, dtype=np.float32)

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray, tuple]]) -> Dict[str, np.ndarray]:
        lip = data.pop(self.lip_name, None)
        data = super().__call__(uid, data)
        if lip is not None:
            data[self.lip_name] = self.lip_transform(uid, np.asarray(lip))
        return data
