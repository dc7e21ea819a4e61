"""Frame-level phone targets for lip-reading pretraining.

    lip.scp  <utt> <path.npy>         (T_v, 96, 96) uint8 mouth crops at 25 fps
    label    <utt> st et ph st et ph ...  (seconds)
        -> frame i gets the phone whose interval holds its centre (i + 0.5) / fps
           (IGNORE when none does, or the phone is not in the vocabulary)
        -> training only, when ``augment`` asks: blur, the same for every frame (Gaussian, sigma
           drawn per utterance; the look of a small or defocused face)
        -> crop 88 (random + horizontal flip when training, centre otherwise), /255,
           (x - 0.421) / 0.165
        -> (T_v, 88, 88) float32, (T_v,) int64
"""

import os
from typing import Dict, List, Optional, Tuple

import cv2
import numpy as np
import torch

from espnet2_ext.utils.fileio import read_scp_dict, read_table

IGNORE = -100
LIP_MEAN, LIP_STD = 0.421, 0.165
AUGMENT_DEFAULTS = dict(
    blur_prob=0.0,  # fraction of training utterances blurred (0: none, and no random draw for it)
    blur_sigma=[0.5, 3.0],  # Gaussian sigma range in crop pixels, drawn uniformly per blurred utterance
)


def check_augment(augment: Optional[dict], where: str) -> dict:
    """AUGMENT_DEFAULTS updated by ``augment``; unknown keys or out-of-range values are errors naming ``where``."""
    unknown = sorted(set(augment or {}) - set(AUGMENT_DEFAULTS))
    if unknown:
        raise ValueError(f"{where}: unknown augment keys {unknown}; known: {sorted(AUGMENT_DEFAULTS)}")
    a = {**AUGMENT_DEFAULTS, **(augment or {})}
    lo, hi = (float(v) for v in a["blur_sigma"])
    if not 0.0 <= float(a["blur_prob"]) <= 1.0 or not 0.0 < lo <= hi:
        raise ValueError(f"{where}: augment needs 0 <= blur_prob <= 1 and 0 < blur_sigma[0] <= blur_sigma[1]; got {a}")
    return dict(blur_prob=float(a["blur_prob"]), blur_sigma=[lo, hi])


def blur_frames(lip: np.ndarray, sigma: float) -> np.ndarray:
    """(T_v, H, W) uint8 -> the same, each frame Gaussian-blurred with ``sigma`` (pixels)."""
    return np.stack([cv2.GaussianBlur(f, (0, 0), sigma, borderType=cv2.BORDER_REFLECT) for f in lip])


def _segments(rest: List[str]) -> List[Tuple[float, float, str]]:
    if len(rest) % 3:
        raise ValueError(f"expected '<utt> st et ph ...' triples, got {len(rest)} fields")
    try:
        return [(float(rest[j]), float(rest[j + 1]), rest[j + 2]) for j in range(0, len(rest), 3)]
    except ValueError as e:
        raise ValueError(f"bad time value ({e})") from None


def read_label(path: str) -> Dict[str, List[Tuple[float, float, str]]]:
    """``<utt> st et ph ...`` (seconds) -> {utt: [(st, et, ph)]}; errors name the file and line."""
    return read_table(path, 1, parse=_segments)


def frame_targets(segments, n_frames: int, vocab: Dict[str, int], fps: float = 25.0) -> np.ndarray:
    """(T_v,) class id per video frame, IGNORE where no interval / unknown phone."""
    y = np.full(n_frames, IGNORE, dtype=np.int64)
    centres = (np.arange(n_frames) + 0.5) / fps
    for st, et, ph in segments:
        if ph in vocab:
            y[(centres >= st) & (centres < et)] = vocab[ph]
    return y


def crop_normalise(lip: np.ndarray, size: int = 88, train: bool = False, rng: Optional[np.random.Generator] = None,
                   augment: Optional[dict] = None, mean: float = LIP_MEAN, std: float = LIP_STD) -> np.ndarray:
    """(T_v, H, W) uint8 -> (T_v, size, size) float32, same crop/flip (and, training with ``augment``
    from check_augment, blur) for every frame; /255, then (x - mean) / std."""
    _, h, w = lip.shape
    if h < size or w < size:
        raise ValueError(f"lip ROI {h}x{w} is smaller than the crop {size}x{size}")
    if train and augment and augment["blur_prob"] > 0 and rng.random() < augment["blur_prob"]:
        lip = blur_frames(lip, float(rng.uniform(*augment["blur_sigma"])))
    if train:
        top, left = int(rng.integers(0, h - size + 1)), int(rng.integers(0, w - size + 1))
    else:
        top, left = (h - size) // 2, (w - size) // 2
    x = lip[:, top : top + size, left : left + size].astype(np.float32) / 255.0
    if train and rng.random() < 0.5:
        x = x[:, :, ::-1]
    return np.ascontiguousarray((x - mean) / std, dtype=np.float32)


def load_lip(path: str, where: str) -> np.ndarray:
    """The (T_v, H, W) uint8 crops of one utterance; ``where`` (utt, or "scp: utt") names it in errors."""
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{where}: lip file {path} not found")
    lip = np.load(path)
    if lip.ndim != 3:
        raise ValueError(f"{path}: expected (T_v, H, W) mouth crops, got shape {lip.shape}")
    return lip


class LipFrameDataset(torch.utils.data.Dataset):
    """Utterances present in both ``lip_scp`` and ``label`` (others are reported and skipped)."""

    def __init__(self, lip_scp: str, label: str, vocab: Dict[str, int], train: bool, fps: float = 25.0, seed: int = 0,
                 augment: Optional[dict] = None):
        lips, labels = read_scp_dict(lip_scp), read_label(label)
        self.utts = sorted(set(lips) & set(labels))
        if not self.utts:
            raise ValueError(f"no utterance is in both {lip_scp} and {label}")
        self.skipped = sorted(set(lips) ^ set(labels))
        self.lips, self.labels, self.vocab = lips, labels, vocab
        self.train, self.fps, self.augment = train, fps, augment
        self.rng = np.random.default_rng(seed)

    def __len__(self) -> int:
        return len(self.utts)

    def __getitem__(self, i: int):
        utt = self.utts[i]
        lip = load_lip(self.lips[utt], utt)
        x = crop_normalise(lip, train=self.train, rng=self.rng, augment=self.augment)
        y = frame_targets(self.labels[utt], lip.shape[0], self.vocab, self.fps)
        return torch.from_numpy(x), torch.from_numpy(y)


def build_vocab(label: str) -> List[str]:
    return sorted({ph for segs in read_label(label).values() for _, _, ph in segs})


def collate(batch):
    """-> lip (B, T_v, 88, 88), lip_lengths (B,), targets (B, T_v) padded with IGNORE."""
    lens = torch.tensor([x.shape[0] for x, _ in batch])
    t = int(lens.max())
    lip = torch.zeros(len(batch), t, *batch[0][0].shape[1:])
    y = torch.full((len(batch), t), IGNORE, dtype=torch.long)
    for i, (x, yy) in enumerate(batch):
        lip[i, : len(x)] = x
        y[i, : len(yy)] = yy
    return lip, lens, y
