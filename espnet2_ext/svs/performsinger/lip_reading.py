"""PerformSinger's lip-reading heads (``svs_conf.lip_reader_conf``): built, loaded, frozen and read.

    lip_reader_conf --build_lip_reader--> LipReadingHeads (K heads over the token list) or None
    VF (B, T_v, H_v) --heads.per_head--> log p_k(class | frame) (K, B, T_v, C)
        --phone_logp at the utterance's phones--> log p_k(phone n's class | frame t) (K, B, N, T_v)
        training: L_L per head (loss.py); inference: their mean, the emission of the forced
        alignment of ``duration_source: lipreader`` (duration_sources.py)

The heads themselves live in ``espnet2_ext/svs/lip_reading_head.py`` (shared with the recipe's
head fitting, ``espnet2_ext/lipread/head_fit.py``).
"""

import logging
from typing import Optional

import torch

from espnet2_ext.svs.conf import merge_conf
from espnet2_ext.svs.lip_reading_head import LipReadingHeads, load_lip_reader, phone_logp
from espnet2_ext.svs.masks import lengths_to_mask

LIP_READER_DEFAULTS = dict(hidden=64, heads=1, pretrained=None, freeze=False)


def single_head_keys(module, state_dict, prefix, *args) -> None:
    """Load-state-dict pre-hook: checkpoints from before lip_reader_conf.heads kept their one head at
    lip_reader.{conv,gru,out}.*; read those keys as head 0 (a heads: 1 model)."""
    old = prefix + "lip_reader."
    for k in [k for k in state_dict if k.startswith(old) and not k.startswith(old + "heads.")]:
        state_dict[old + "heads.0." + k[len(old):]] = state_dict.pop(k)


def build_lip_reader(conf: Optional[dict], use_visual: bool, visual_dim: int, n_classes: int) -> Optional[LipReadingHeads]:
    """lip_reader_conf (None: no head) -> the heads, loaded from ``pretrained`` and frozen as it says."""
    if conf is None:
        return None
    c = merge_conf(LIP_READER_DEFAULTS, conf, "PerformSinger lip_reader_conf")
    if not use_visual:
        raise ValueError("PerformSinger lip_reader_conf needs use_visual: true (it reads the lip features); "
                         "set lip_reader_conf: null for the audio-only model")
    heads = LipReadingHeads(visual_dim, n_classes, int(c["hidden"]), int(c["heads"]))
    if c["pretrained"]:
        load_lip_reader(heads, c["pretrained"])
        logging.info(f"Lip-reading head loaded from {c['pretrained']}")
    elif c["freeze"]:
        logging.warning("PerformSinger: lip_reader_conf freeze=True without pretrained weights freezes a "
                        "random head (fit one with espnet2_ext.bin.fit_lip_reader)")
    if c["freeze"]:
        for p in heads.parameters():
            p.requires_grad_(False)
    return heads


def read_phones(heads: LipReadingHeads, vf: torch.Tensor, lip_lengths: torch.Tensor, phones: torch.Tensor,
                pmask: torch.Tensor) -> torch.Tensor:
    """vf (B, T_v, H_v), phones (B, N) -> log p_k(phone n's class | video frame t) (K, B, N, T_v)."""
    vmask = lengths_to_mask(lip_lengths, vf.shape[1])  # (B, T_v)
    k_logp = heads.per_head(vf, lip_lengths)  # (K, B, T_v, C)
    k, b = k_logp.shape[:2]
    return phone_logp(k_logp.flatten(0, 1), phones.repeat(k, 1), pmask.repeat(k, 1),
                      vmask.repeat(k, 1)).unflatten(0, (k, b))  # (K, B, N, T_v)
