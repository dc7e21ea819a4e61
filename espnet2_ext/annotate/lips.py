"""The lips' phone posteriors, learnt on the corpus itself from the audio alignment.

    <song>.mp4 --lip front end (lip/front_end.build_extractor: face mesh, or Haar cascades)-->
      (T_v, 96, 96) mouth crops at 25 fps (NoFaceError: the song has no usable face)
      --centre 88, area-resized to 22 x 22, /255--> --PCA over the corpus (LIP_DIMS)--> mean / variance
      normalised per song (appearance and lighting)--> lip features (T_v, LIP_DIMS)
    audio alignment --the class under each video frame's centre (phone, SP, AP)--> targets (T_v,)
    features of +/- CONTEXT video frames --MLP (torch, a few epochs)--> log p(class | lips) - log prior
      --linear interpolation between video frame centres--> (T, C) on the audio frames
      --the column's class--> (T, M) lip scores, added with weight ``lip_weight`` to the audio emissions
"""

import logging
from dataclasses import dataclass
from typing import List, Sequence

import numpy as np

from espnet2_ext.annotate.align import AlignedUnit
from espnet2_ext.annotate.audio import FRAME_S
from espnet2_ext.annotate.hmm import BREATH, NUM_COLUMNS, PHONE_INDEX, REST, STATES_PER_PHONE, SUNG_PHONES

VIDEO_FPS = 25.0
LIP_SIZE = 22
LIP_DIMS = 40
CONTEXT = 3
CLASSES = SUNG_PHONES + ("SP", "AP")
CLASS_INDEX = {c: i for i, c in enumerate(CLASSES)}


def crop_features(crops: np.ndarray) -> np.ndarray:
    """(T_v, 96, 96) uint8 mouth crops -> (T_v, LIP_SIZE ** 2) float32 (centre 88, area-resized)."""
    import cv2

    t, h, w = crops.shape
    top, left = (h - 88) // 2, (w - 88) // 2
    out = np.empty((t, LIP_SIZE * LIP_SIZE), np.float32)
    for i in range(t):
        c = crops[i, top:top + 88, left:left + 88]
        out[i] = cv2.resize(c, (LIP_SIZE, LIP_SIZE), interpolation=cv2.INTER_AREA).reshape(-1) / 255.0
    return out


@dataclass
class LipPCA:
    mean: np.ndarray
    basis: np.ndarray  # (D, LIP_DIMS)

    def __call__(self, x: np.ndarray) -> np.ndarray:
        z = (x - self.mean) @ self.basis
        return ((z - z.mean(0)) / (z.std(0) + 1e-5)).astype(np.float32)


def fit_pca(raw: Sequence[np.ndarray], dims: int = LIP_DIMS) -> LipPCA:
    """PCA of every song's per-song-centred crop features."""
    x = np.concatenate([r - r.mean(0) for r in raw]).astype(np.float64)
    _, _, vt = np.linalg.svd(x[:: max(1, len(x) // 20000)], full_matrices=False)
    return LipPCA(np.concatenate(raw).mean(0), vt[:dims].T.astype(np.float32))


def stack_context(z: np.ndarray, context: int = CONTEXT) -> np.ndarray:
    t = len(z)
    idx = np.clip(np.arange(t)[:, None] + np.arange(-context, context + 1)[None], 0, t - 1)
    return z[idx].reshape(t, -1)


def video_targets(units: Sequence[AlignedUnit], n_video: int) -> np.ndarray:
    """(T_v,) class of the unit under each video frame's centre (i + 0.5) / 25 s."""
    y = np.zeros(n_video, np.int64)
    centres = (np.arange(n_video) + 0.5) / VIDEO_FPS
    for u in units:
        y[(centres >= u.st) & (centres < u.et)] = CLASS_INDEX[u.phone]
    return y


def class_of_columns() -> np.ndarray:
    """(M,) lip class of every emission column."""
    out = np.zeros(NUM_COLUMNS, np.int64)
    for p, i in PHONE_INDEX.items():
        out[i * STATES_PER_PHONE:(i + 1) * STATES_PER_PHONE] = CLASS_INDEX[p]
    out[REST], out[BREATH] = CLASS_INDEX["SP"], CLASS_INDEX["AP"]
    return out


class LipClassifier:
    """MLP over CONTEXT frames of lip features -> class log posteriors; trained with cross-entropy."""

    def __init__(self, in_dim: int, hidden: int = 256, seed: int = 0):
        import torch

        torch.manual_seed(seed)
        self.net = torch.nn.Sequential(torch.nn.Linear(in_dim, hidden), torch.nn.ReLU(), torch.nn.Dropout(0.1),
                                       torch.nn.Linear(hidden, hidden), torch.nn.ReLU(),
                                       torch.nn.Linear(hidden, len(CLASSES)))
        self.log_prior = np.zeros(len(CLASSES), np.float32)
        self.seed = seed

    def fit(self, xs: Sequence[np.ndarray], ys: Sequence[np.ndarray], epochs: int = 8, batch: int = 128,
            lr: float = 1e-3) -> "LipClassifier":
        import torch

        x = torch.from_numpy(np.concatenate(xs))
        y = torch.from_numpy(np.concatenate(ys))
        counts = np.bincount(y.numpy(), minlength=len(CLASSES)).astype(np.float64) + 1.0
        self.log_prior = np.log(counts / counts.sum()).astype(np.float32)
        opt = torch.optim.Adam(self.net.parameters(), lr=lr)
        rng = np.random.default_rng(self.seed)
        self.net.train()
        for ep in range(epochs):
            perm = torch.from_numpy(rng.permutation(len(x)))
            tot = 0.0
            for i in range(0, len(x), batch):
                b = perm[i:i + batch]
                loss = torch.nn.functional.cross_entropy(self.net(x[b]), y[b])
                opt.zero_grad()
                loss.backward()
                opt.step()
                tot += float(loss.detach()) * len(b)
            logging.info("lip classifier epoch %d/%d: loss %.3f", ep + 1, epochs, tot / len(x))
        self.net.eval()
        return self

    def log_scores(self, x: np.ndarray) -> np.ndarray:
        """(T_v, in_dim) -> (T_v, C) log p(class | lips) - log prior."""
        import torch

        with torch.no_grad():
            lp = torch.log_softmax(self.net(torch.from_numpy(x)), -1).numpy()
        return lp - self.log_prior[None]


def to_audio_frames(v: np.ndarray, n_frames: int) -> np.ndarray:
    """(T_v, C) per video frame -> (T, C) on the audio frames (centres j * 10 ms), interpolated
    linearly between video frame centres."""
    pos = np.arange(n_frames) * FRAME_S * VIDEO_FPS - 0.5  # in video frame indices
    pos = np.clip(pos, 0, len(v) - 1)
    i0 = np.floor(pos).astype(int)
    i1 = np.minimum(i0 + 1, len(v) - 1)
    w = (pos - i0)[:, None]
    return (1 - w) * v[i0] + w * v[i1]


def lip_emissions(scores_v: np.ndarray, n_frames: int, weight: float) -> np.ndarray:
    """(T_v, C) lip log scores -> (T, M) term added to the audio emissions."""
    return weight * to_audio_frames(scores_v, n_frames)[:, class_of_columns()]


def train_lips(feats: Sequence[np.ndarray], units: Sequence[List[AlignedUnit]], epochs: int = 8,
               seed: int = 0) -> LipClassifier:
    """The lip classifier of every song's context-stacked lip features and its audio alignment."""
    xs = [stack_context(z) for z in feats]
    ys = [video_targets(u, len(z)) for u, z in zip(units, feats)]
    return LipClassifier(xs[0].shape[1], seed=seed).fit(xs, ys, epochs)
