"""A tiny out-of-tree fusion ablation, written into a directory as a plugin distribution.

    <dir>/tiny_fusion.py                          TinyFusion(AbsFusion): CF + Linear(mean of VF)
    <dir>/tiny_fusion-0.1.dist-info/METADATA      the distribution
    <dir>/tiny_fusion-0.1.dist-info/entry_points.txt
        [espnet2_ext.fusions]
        tiny = tiny_fusion:TinyFusion             the one registry line

With <dir> on PYTHONPATH every process resolves ``svs_conf.fusion: tiny`` through the entry point
(espnet2_ext/svs/fusion/__init__.py); nothing in the package changes.
"""

from pathlib import Path

TINY_FUSION = '''"""Tiny fusion: every phone gets the clip's mean lip feature, projected; uniform attention."""

import torch

from espnet2_ext.svs.fusion.abs_fusion import AbsFusion, FusionOutput
from espnet2_ext.svs.masks import lengths_to_mask


class TinyFusion(AbsFusion):
    def __init__(self, hidden, visual_dim, conf=None):
        super().__init__()  # conf: the base config's fusion_conf, which this fusion does not read
        self.proj = torch.nn.Linear(visual_dim, hidden)

    def forward(self, content, content_lengths, visual, visual_lengths):
        c_mask = lengths_to_mask(content_lengths, content.shape[1])  # (B, N)
        v_mask = lengths_to_mask(visual_lengths, visual.shape[1])  # (B, T_v)
        w = v_mask.to(visual.dtype) / v_mask.sum(-1, keepdim=True).clamp(min=1)  # (B, T_v)
        attn = w[:, None, :] * c_mask[..., None].to(w.dtype)  # (B, N, T_v)
        mean = torch.einsum("bt,btd->bd", w, visual)  # (B, H_v)
        fused = (content + self.proj(mean)[:, None, :]) * c_mask[..., None].to(content.dtype)
        return FusionOutput(fused=fused, attn=attn)
'''
ENTRY_POINTS = "[espnet2_ext.fusions]\ntiny = tiny_fusion:TinyFusion\n"


def write_fusion_plugin(root: Path) -> Path:
    """Write the tiny fusion and its entry point under ``root``; return ``root`` (for PYTHONPATH)."""
    root.mkdir(parents=True, exist_ok=True)
    (root / "tiny_fusion.py").write_text(TINY_FUSION)
    info = root / "tiny_fusion-0.1.dist-info"
    info.mkdir(exist_ok=True)
    (info / "METADATA").write_text("Metadata-Version: 2.1\nName: tiny_fusion\nVersion: 0.1\n")
    (info / "entry_points.txt").write_text(ENTRY_POINTS)
    return root
