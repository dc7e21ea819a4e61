"""SyncNet (audio-visual sync embedding net) in the public ``syncnet_v2.model`` key layout.

    audio: (B, 1, 13, 20) MFCC (13 coeffs x 20 frames of 10 ms = 0.2 s)
      -> netcnnaud (Conv2d stack) -> (B, 512, 1, 1) -> netfcaud (Linear-BN-ReLU-Linear) -> (B, 1024)
    video: (B, C, 5, 224, 224) 5 frames of 25 fps (C = 3 RGB in the public weights, 1 = grayscale)
      -> netcnnlip (Conv3d stack) -> (B, 512, 1, 1, 1) -> netfclip -> (B, 1024)

Module indices follow the public checkpoint (``netcnnaud.0.weight`` ... ``netfclip.3.bias``) so
its state dict loads with strict key checking. Used by ``lse.py`` (LSE-C / LSE-D).
"""

from typing import Dict

import torch
from torch import nn

# (kind, args) lists: index positions reproduce the public layout (ReLU / pools take slots).
_AUDIO = [
    ("c2", 1, 64, (3, 3), (1, 1), (1, 1)), ("bn2", 64), ("relu",), ("mp2", (1, 1), (1, 1), 0),
    ("c2", 64, 192, (3, 3), (1, 1), (1, 1)), ("bn2", 192), ("relu",), ("mp2", (3, 3), (1, 2), 0),
    ("c2", 192, 384, (3, 3), (1, 1), (1, 1)), ("bn2", 384), ("relu",),
    ("c2", 384, 256, (3, 3), (1, 1), (1, 1)), ("bn2", 256), ("relu",),
    ("c2", 256, 256, (3, 3), (1, 1), (1, 1)), ("bn2", 256), ("relu",), ("mp2", (3, 3), (2, 2), 0),
    ("c2", 256, 512, (5, 4), (1, 1), (0, 0)), ("bn2", 512), ("relu",),
]


def _video_spec(in_channels: int):
    return [
        ("c3", in_channels, 96, (5, 7, 7), (1, 2, 2), 0), ("bn3", 96), ("relu",), ("mp3", (1, 3, 3), (1, 2, 2), 0),
        ("c3", 96, 256, (1, 5, 5), (1, 2, 2), (0, 1, 1)), ("bn3", 256), ("relu",),
        ("mp3", (1, 3, 3), (1, 2, 2), (0, 1, 1)),
        ("c3", 256, 256, (1, 3, 3), 1, (0, 1, 1)), ("bn3", 256), ("relu",),
        ("c3", 256, 256, (1, 3, 3), 1, (0, 1, 1)), ("bn3", 256), ("relu",),
        ("c3", 256, 256, (1, 3, 3), 1, (0, 1, 1)), ("bn3", 256), ("relu",), ("mp3", (1, 3, 3), (1, 2, 2), 0),
        ("c3", 256, 512, (1, 6, 6), 1, 0), ("bn3", 512), ("relu",),
    ]


def _layer(spec) -> nn.Module:
    kind, *a = spec
    if kind == "c2":
        return nn.Conv2d(a[0], a[1], kernel_size=a[2], stride=a[3], padding=a[4])
    if kind == "c3":
        return nn.Conv3d(a[0], a[1], kernel_size=a[2], stride=a[3], padding=a[4])
    if kind == "bn2":
        return nn.BatchNorm2d(a[0])
    if kind == "bn3":
        return nn.BatchNorm3d(a[0])
    if kind == "mp2":
        return nn.MaxPool2d(kernel_size=a[0], stride=a[1], padding=a[2])
    if kind == "mp3":
        return nn.MaxPool3d(kernel_size=a[0], stride=a[1], padding=a[2])
    return nn.ReLU()


def _fc(dim: int) -> nn.Sequential:
    return nn.Sequential(nn.Linear(512, 512), nn.BatchNorm1d(512), nn.ReLU(), nn.Linear(512, dim))


class SyncNet(nn.Module):
    """Audio and video embedding towers of SyncNet.

    Args:
        syncnet_conf: ``{"embed_dim": 1024, "video_channels": 3}`` (video_channels 1 for a
            grayscale-trained model).
    """

    def __init__(self, syncnet_conf: Dict = None):
        super().__init__()
        conf = {"embed_dim": 1024, "video_channels": 3}
        conf.update(syncnet_conf or {})
        self.video_channels = int(conf["video_channels"])
        self.netcnnaud = nn.Sequential(*[_layer(s) for s in _AUDIO])
        self.netfcaud = _fc(conf["embed_dim"])
        self.netfclip = _fc(conf["embed_dim"])
        self.netcnnlip = nn.Sequential(*[_layer(s) for s in _video_spec(self.video_channels)])

    def forward_aud(self, mfcc: torch.Tensor) -> torch.Tensor:
        """(B, 1, 13, 20) -> (B, D)."""
        return self.netfcaud(self.netcnnaud(mfcc).flatten(1))

    def forward_lip(self, frames: torch.Tensor) -> torch.Tensor:
        """(B, C, 5, 224, 224) -> (B, D)."""
        return self.netfclip(self.netcnnlip(frames).flatten(1))


def load_syncnet(path: str) -> SyncNet:
    """Load ``syncnet_v2.model``-layout weights (a state dict, or {"state_dict"/"model": ...});
    missing / unexpected / mis-shaped keys raise, naming the file."""
    obj = torch.load(path, map_location="cpu", weights_only=True)  # a state dict: tensors only
    if isinstance(obj, nn.Module):
        obj = obj.state_dict()
    for key in ("state_dict", "model"):
        if isinstance(obj, dict) and key in obj and isinstance(obj[key], dict):
            obj = obj[key]
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: not a SyncNet state dict")
    obj = {k[len("__S__."):] if k.startswith("__S__.") else k: v for k, v in obj.items()}
    w = obj.get("netcnnlip.0.weight")
    channels = int(w.shape[1]) if w is not None else 3
    emb = obj.get("netfcaud.3.weight")
    model = SyncNet({"video_channels": channels, "embed_dim": int(emb.shape[0]) if emb is not None else 1024})
    own = model.state_dict()
    missing = sorted(set(own) - set(obj))
    unexpected = sorted(set(obj) - set(own))
    bad = [k for k in set(own) & set(obj) if tuple(own[k].shape) != tuple(obj[k].shape)]
    if missing or unexpected or bad:
        raise KeyError(f"{path}: not the SyncNet layout: missing {missing[:5]}, unexpected {unexpected[:5]}, "
                       f"shape mismatch {sorted(bad)[:5]}")
    model.load_state_dict(obj, strict=True)
    return model.eval()
