"""Per-frame ResNet-18 trunk of the lip-reading front end (paper eq. 3, the TDAVSS/LRW encoder).

    x (B*T_v, C_in, 22, 22)  --layer1 (w)--layer2 (2w, /2)--layer3 (4w, /2)--layer4 (8w, /2)-->
      (B*T_v, 8w, 3, 3)  --global average pool-->  (B*T_v, 8w)

Two BasicBlocks per stage ([2, 2, 2, 2]); ``w`` (``width``) is 64 for the standard ResNet-18
(64-128-256-512) and smaller for CPU demos. There is no stem convolution: the 3D front end of
:class:`~espnet2_ext.svs.lip_encoder.LipEncoder` plays that role. Parameter names follow the
public LRW lip-reading models (``layer1.0.conv1.weight``, ``layer1.0.relu1.weight`` for PReLU,
``layer2.0.downsample.0/1``) so their weights load without a key map.
"""

from typing import List, Tuple

import torch
import torch.nn.functional as F


def fold_bn(conv: torch.nn.Module, bn: torch.nn.Module) -> Tuple[torch.Tensor, torch.Tensor]:
    """Weight and bias of ``conv`` followed by ``bn`` in eval mode, as one convolution:
    w' = w * g / sqrt(var + eps), b' = beta - mean * g / sqrt(var + eps) (per output channel)."""
    scale = bn.weight * torch.rsqrt(bn.running_var + bn.eps)  # (C_out,)
    w = conv.weight * scale.reshape(-1, *([1] * (conv.weight.dim() - 1)))
    b = bn.bias - bn.running_mean * scale
    if conv.bias is not None:
        b = b + conv.bias * scale
    return w, b


def _act(kind: str, channels: int) -> torch.nn.Module:
    if kind == "prelu":
        return torch.nn.PReLU(num_parameters=channels)
    if kind == "relu":
        return torch.nn.ReLU(inplace=True)
    raise ValueError(f"unknown activation '{kind}' (expected 'prelu' or 'relu')")


class BasicBlock(torch.nn.Module):
    """conv3x3-BN-act-conv3x3-BN + shortcut -> act."""

    def __init__(self, in_ch: int, out_ch: int, stride: int = 1, act: str = "prelu"):
        super().__init__()
        self.conv1 = torch.nn.Conv2d(in_ch, out_ch, 3, stride, 1, bias=False)
        self.bn1 = torch.nn.BatchNorm2d(out_ch)
        self.relu1 = _act(act, out_ch)
        self.conv2 = torch.nn.Conv2d(out_ch, out_ch, 3, 1, 1, bias=False)
        self.bn2 = torch.nn.BatchNorm2d(out_ch)
        self.relu2 = _act(act, out_ch)
        self.downsample = None
        if stride != 1 or in_ch != out_ch:
            self.downsample = torch.nn.Sequential(
                torch.nn.Conv2d(in_ch, out_ch, 1, stride, bias=False), torch.nn.BatchNorm2d(out_ch)
            )

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        res = x if self.downsample is None else self.downsample(x)
        y = self.relu1(self.bn1(self.conv1(x)))
        y = self.bn2(self.conv2(y))
        return self.relu2(y + res)

    def forward_folded(self, x: torch.Tensor) -> torch.Tensor:
        """As ``forward`` in eval mode, each BatchNorm folded into its convolution (fold_bn)."""
        if self.downsample is None:
            res = x
        else:
            conv, bn = self.downsample
            res = F.conv2d(x, *fold_bn(conv, bn), stride=conv.stride)
        y = self.relu1(F.conv2d(x, *fold_bn(self.conv1, self.bn1), stride=self.conv1.stride, padding=1))
        y = F.conv2d(y, *fold_bn(self.conv2, self.bn2), padding=1)
        return self.relu2(y + res)


class ResNetTrunk(torch.nn.Module):
    """ResNet-18 stages without stem.

    Args:
        in_channels: channels of the incoming feature map (the 3D front end's output).
        width: channels of the first stage; stages use width * (1, 2, 4, 8).
        layers: BasicBlocks per stage.
        act: "prelu" (LRW models) or "relu".
    """

    def __init__(self, in_channels: int = 64, width: int = 64, layers: List[int] = (2, 2, 2, 2), act: str = "prelu"):
        super().__init__()
        self.out_channels = width * 8
        ch = in_channels
        for i, n in enumerate(layers):
            out = width * (2**i)
            blocks = []
            for j in range(n):
                blocks.append(BasicBlock(ch, out, stride=2 if (i > 0 and j == 0) else 1, act=act))
                ch = out
            self.add_module(f"layer{i + 1}", torch.nn.Sequential(*blocks))
        self.n_layers = len(layers)
        self.avgpool = torch.nn.AdaptiveAvgPool2d(1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        # x: (N, C_in, H, W) -> (N, 8w)
        for i in range(self.n_layers):
            x = getattr(self, f"layer{i + 1}")(x)
        return self.avgpool(x).flatten(1)

    def forward_folded(self, x: torch.Tensor) -> torch.Tensor:
        """Inference (eval mode, no gradients): the same function with BatchNorm folded into the
        convolutions and the maps channels-last (oneDNN's fast layout on CPU). (N, C_in, H, W) -> (N, 8w)."""
        x = x.contiguous(memory_format=torch.channels_last)
        for i in range(self.n_layers):
            for block in getattr(self, f"layer{i + 1}"):
                x = block.forward_folded(x)
        return x.mean(dim=(2, 3))
