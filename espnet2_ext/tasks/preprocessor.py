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

from espnet2_ext.lipread.data import LIP_MEAN, LIP_STD, crop_normalise


class VisualSVSPreprocessor(SVSPreprocessor):
    """SVSPreprocessor that also turns stored mouth crops into normalised model input."""

    def __init__(
        self,
        *args,
        lip_name: str = "lip",
        lip_crop_size: int = 88,
        lip_mean: float = LIP_MEAN,
        lip_std: float = LIP_STD,
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
        # training: a generator drawn from numpy's global state, which espnet seeds
        rng = np.random.default_rng(np.random.randint(0, 2**31 - 1)) if self.train else None
        try:
            return crop_normalise(lip, self.lip_crop_size, self.train, rng, mean=self.lip_mean, std=self.lip_std)
        except ValueError as e:
            raise ValueError(f"{uid}: {e}") from None

    def __call__(self, uid: str, data: Dict[str, Union[str, np.ndarray, tuple]]) -> Dict[str, np.ndarray]:
        lip = data.pop(self.lip_name, None)
        data = super().__call__(uid, data)
        if lip is not None:
            data[self.lip_name] = self.lip_transform(uid, np.asarray(lip))
        return data
