"""Griffin-Lim vocoder configured from the recipe's fbank parameters.

    mel (T, n_mels) log-mel (recipe log base) -> log10 -> espnet2 Spectrogram2Waveform
        (pseudo-inverse mel basis -> linear magnitude -> librosa Griffin-Lim) -> wav ((T-1)*hop,)

No training, no weights: the always-available fallback of ``build_vocoder``.
"""

import math
from typing import Any, Dict

import numpy as np
import torch

from espnet2_ext.vocoder.mel_conf import load_fbank_conf


class GriffinLimVocoder:
    """Callable mel -> wav using espnet's ``Spectrogram2Waveform``.

    Args:
        fbank_conf: LogMelFbank arguments (fs, n_fft, hop_length, win_length, n_mels, fmin, fmax,
            log_base); anything ``load_fbank_conf`` accepts.
        n_iter: Griffin-Lim iterations (espnet's default is 8; 32 sounds cleaner).
    """

    name = "griffin_lim"

    def __init__(self, fbank_conf: Dict[str, Any], n_iter: int = 32):
        from espnet2.utils.griffin_lim import Spectrogram2Waveform

        self.conf = load_fbank_conf(fbank_conf)
        c = self.conf
        self.fs = c["fs"]
        self.hop_length = c["hop_length"]
        base = c["log_base"]
        # Spectrogram2Waveform expects log10; convert from the conf's base.
        self._to_log10 = (1.0 / math.log(10.0)) if base is None else math.log(float(base)) / math.log(10.0)
        self.s2w = Spectrogram2Waveform(
            n_fft=c["n_fft"], n_shift=c["hop_length"], fs=c["fs"], n_mels=c["n_mels"],
            win_length=c["win_length"], window=c["window"], fmin=int(c["fmin"]), fmax=int(c["fmax"]),
            griffin_lim_iters=n_iter,
        )

    def __call__(self, mel) -> np.ndarray:
        """(T, n_mels) log-mel (torch or numpy) -> float32 wav ((T-1)*hop,)."""
        mel = torch.as_tensor(np.asarray(mel, dtype=np.float64) * self._to_log10)
        if mel.ndim != 2 or mel.shape[1] != self.conf["n_mels"]:
            raise ValueError(f"expected mel (T, {self.conf['n_mels']}), got {tuple(mel.shape)}")
        return self.s2w(mel).numpy().astype(np.float32)
