"""Lip encoder: mouth-crop video -> per-frame visual features VF (paper eq. 3).

    lip (B, T_v, 88, 88) normalised grayscale
      -> [area resize to input_size x input_size when input_size is set]
      -> (B, 1, T_v, S, S)                                              (S = 88 by default)
      -> frontend3D: Conv3d(1->C, k=(5,7,7), s=(1,2,2), p=(2,3,3)) -> BN3d -> PReLU
                     -> MaxPool3d((1,3,3), (1,2,2), (0,1,1))           (B, C, T_v, S/4, S/4)
      -> valid frames only, per frame: ResNet-18 trunk + global avg pool  (n_valid, 8w)
      -> [Linear(8w -> output_dim) when 8w != output_dim]                (n_valid, D)
      -> scattered back, padded frames = 0                               (B, T_v, D)

At inference (eval mode, no gradients: a frozen encoder always, any encoder under
``torch.inference_mode``) the same function runs cheaper (``_forward_folded``): the 3D front end
as a 2D convolution over each valid frame's 5-frame window stacked as channels (the temporal
kernel spans 5 frames of 1 channel), every BatchNorm folded into its convolution, channels-last
maps; the outputs agree with the module path to float rounding (tests/unit/svs/test_lip_encoder.py).

This is the TDAVSS / LRW lip-reading front end. Its parameter names match the public LRW models
so their weights load directly (see ``lip_checkpoint``). Padded input frames are zeroed before
the temporal convolution, and the 2D trunk runs on valid frames only (so padding neither costs
time nor enters the BatchNorm statistics).

``input_size`` trades resolution for speed: the compute of the front end and trunk scales with
S^2, so ``input_size: 44`` costs about a quarter of 88. It suits inputs whose mouth covers few
source pixels anyway (the demo corpus renders faces ~100 px wide, so the mouth spans ~40 px of
the 96 px crop); LRW weights expect 88.
"""

import logging
from typing import Optional

import torch
import torch.nn.functional as F

from espnet2_ext.svs.lip_checkpoint import load_lip_encoder
from espnet2_ext.svs.masks import lengths_to_mask
from espnet2_ext.svs.resnet import ResNetTrunk, fold_bn

DEFAULT_CONF = dict(
    output_dim=512,  # D, size of VF
    frontend_channels=64,  # C, channels of the 3D front end
    trunk_channels=64,  # w, ResNet-18 widths w-2w-4w-8w (64 = standard; 8/16 for CPU demos)
    act="prelu",  # "prelu" (LRW models) or "relu"
    input_size=None,  # S: area-resize the (H, W) crops to S x S first (None = as given, 88)
    pretrained=None,  # path to a checkpoint (this project's layout or the public LRW layout)
    freeze=False,  # no gradients, always in eval mode (BatchNorm statistics frozen)
)


class LipEncoder(torch.nn.Module):
    """Visual front end of eq. 3.

    Args:
        conf: options, see ``DEFAULT_CONF`` (unknown keys are an error).
    """

    def __init__(self, conf: Optional[dict] = None):
        super().__init__()
        conf = dict(conf or {})
        unknown = sorted(set(conf) - set(DEFAULT_CONF))
        if unknown:
            raise ValueError(f"unknown lip_encoder_conf keys {unknown}; known: {sorted(DEFAULT_CONF)}")
        self.conf = {**DEFAULT_CONF, **conf}
        c, w = int(self.conf["frontend_channels"]), int(self.conf["trunk_channels"])
        act = self.conf["act"]
        self.frontend3D = torch.nn.Sequential(
            torch.nn.Conv3d(1, c, (5, 7, 7), (1, 2, 2), (2, 3, 3), bias=False),
            torch.nn.BatchNorm3d(c),
            torch.nn.PReLU(num_parameters=c) if act == "prelu" else torch.nn.ReLU(inplace=True),
            torch.nn.MaxPool3d((1, 3, 3), (1, 2, 2), (0, 1, 1)),
        )
        self.trunk = ResNetTrunk(in_channels=c, width=w, act=act)
        self.output_dim = int(self.conf["output_dim"])
        self.proj = None
        if self.trunk.out_channels != self.output_dim:
            self.proj = torch.nn.Linear(self.trunk.out_channels, self.output_dim)
        self.input_size = self.conf["input_size"]
        if self.input_size is not None and not 16 <= int(self.input_size) <= 256:
            raise ValueError(f"lip_encoder_conf.input_size {self.input_size} outside [16, 256] (or null)")
        self.frozen = bool(self.conf["freeze"])
        if self.conf["pretrained"]:
            layout = load_lip_encoder(self, self.conf["pretrained"])
            if self.frozen and self.proj is not None and layout == "lrw":
                raise ValueError(
                    f"{self.conf['pretrained']}: a frozen LRW encoder with output_dim "
                    f"{self.output_dim} != {self.trunk.out_channels} would keep a random projection; "
                    f"set output_dim={self.trunk.out_channels}"
                )
        elif self.frozen:
            logging.warning("LipEncoder: freeze=True without pretrained weights freezes a random encoder")
        if self.frozen:
            for p in self.parameters():
                p.requires_grad_(False)
            super().train(False)

    def train(self, mode: bool = True):
        # A frozen encoder stays in eval mode: BatchNorm keeps its pretrained statistics.
        return super().train(False if self.frozen else mode)

    def forward(self, lip: torch.Tensor, lip_lengths: torch.Tensor) -> torch.Tensor:
        """lip (B, T_v, H, W) float, lip_lengths (B,) -> (B, T_v, output_dim), padded frames 0."""
        if lip.dim() != 4:
            raise ValueError(f"LipEncoder expects lip of shape (B, T_v, H, W), got {tuple(lip.shape)}")
        b, t = lip.shape[:2]
        valid = lengths_to_mask(lip_lengths.to(lip.device), t)  # (B, T_v)
        grad = torch.is_grad_enabled() and not self.frozen
        with torch.set_grad_enabled(grad):
            x = lip * valid[:, :, None, None]  # (B, T_v, H, W)
            if self.input_size is not None and tuple(x.shape[2:]) != (self.input_size,) * 2:
                s = int(self.input_size)
                x = torch.nn.functional.interpolate(x, size=(s, s), mode="area")  # (B, T_v, S, S)
            if self.training or grad:
                x = self.frontend3D(x.unsqueeze(1))  # (B, 1, T_v, S, S) -> (B, C, T_v, H', W')
                y = self.trunk(x.transpose(1, 2)[valid])  # (n_valid, C, H', W') -> (n_valid, 8w)
            else:
                y = self._forward_folded(x, valid)  # (n_valid, 8w)
            if self.proj is not None:
                y = self.proj(y)  # (n_valid, D)
            out = y.new_zeros(b, t, self.output_dim)
            out[valid] = y
        return out

    def _windows(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x (B, T_v, S, S) with padded frames zeroed -> (n_valid, kt, S, S): each valid frame's
        window of the temporal kernel (kt = 5 frames, zero-padded at the ends) as channels."""
        conv = self.frontend3D[0]
        kt, pt = conv.kernel_size[0], conv.padding[0]
        xp = F.pad(x, (0, 0, 0, 0, pt, pt))  # (B, T_v + 2 pt, S, S): the temporal zero padding
        windows = xp.unfold(1, kt, 1)  # (B, T_v, S, S, kt): frames t .. t + kt - 1 of xp
        return windows[valid].permute(0, 3, 1, 2).contiguous(memory_format=torch.channels_last)

    def _forward_folded(self, x: torch.Tensor, valid: torch.Tensor) -> torch.Tensor:
        """x (B, T_v, S, S) with padded frames zeroed, valid (B, T_v) -> trunk output (n_valid, 8w):
        the front end and trunk of ``forward`` in eval mode, computed for the valid frames only."""
        windows = self._windows(x, valid)  # (n_valid, kt, S, S)
        conv, bn, act, pool = self.frontend3D
        w, bias = fold_bn(conv, bn)  # (C, 1, kt, 7, 7), (C,)
        y = F.conv2d(windows, w[:, 0], bias, stride=conv.stride[1:], padding=conv.padding[1:])  # (n_valid, C, S/2, S/2)
        y = F.max_pool2d(act(y), pool.kernel_size[1:], pool.stride[1:], pool.padding[1:])  # (n_valid, C, S/4, S/4)
        return self.trunk.forward_folded(y)
