"""Griffin-Lim vocoder configured from the recipe's fbank parameters.

    mel (T, n_mels) log-mel (recipe log base) -> 10 ** log10-mel -> pseudo-inverse mel basis
        -> linear magnitude (T, n_fft/2+1) -> librosa Griffin-Lim (seeded phases) -> wav ((T-1)*hop,)

No training, no weights: the always-available fallback of ``build_vocoder``. The magnitude and the
Griffin-Lim call are those of espnet2's ``Spectrogram2Waveform`` (``logmel2linear`` +
``librosa.griffinlim``), with two differences: the pseudo-inverse of the mel basis is computed once,
and the random initial phases come from ``seed`` on every call (espnet leaves them to librosa's
fresh generator), so one mel always gives the same wav and a decode can be reproduced.
"""

import math
from typing import Any, Dict

import numpy as np
import torch

from espnet2_ext.vocoder.mel_conf import load_fbank_conf

EPS = 1e-10  # floor of the linear magnitude, as espnet2.utils.griffin_lim


class GriffinLimVocoder:
    """Callable mel -> wav.

    Args:
        fbank_conf: LogMelFbank arguments (fs, n_fft, hop_length, win_length, n_mels, fmin, fmax,
            log_base); anything ``load_fbank_conf`` accepts.
        n_iter: Griffin-Lim iterations (espnet's default is 8; 32 sounds cleaner).
        seed: seed of the random initial phases, drawn afresh on every call.
    """

    name = "griffin_lim"

    def __init__(self, fbank_conf: Dict[str, Any], n_iter: int = 32, seed: int = 0):
        import librosa

        self.conf = load_fbank_conf(fbank_conf)
        c = self.conf
        self.fs = c["fs"]
        self.hop_length = c["hop_length"]
        self.n_iter = int(n_iter)
        self.seed = int(seed)
        base = c["log_base"]
        # the magnitude is 10 ** log10-mel; convert from the conf's base
        self._to_log10 = (1.0 / math.log(10.0)) if base is None else math.log(float(base)) / math.log(10.0)
        mel_basis = librosa.filters.mel(sr=c["fs"], n_fft=c["n_fft"], n_mels=c["n_mels"],
                                        fmin=float(c["fmin"]), fmax=float(c["fmax"]))
        self._inv_mel_basis = np.linalg.pinv(mel_basis)  # (n_fft/2+1, n_mels)

    def __call__(self, mel) -> np.ndarray:
        """(T, n_mels) log-mel (torch or numpy) -> float32 wav ((T-1)*hop,)."""
        import librosa

        if isinstance(mel, torch.Tensor):
            mel = mel.detach().cpu().numpy()
        mel = np.asarray(mel, dtype=np.float64)
        if mel.ndim != 2 or mel.shape[1] != self.conf["n_mels"]:
            raise ValueError(f"expected mel (T, {self.conf['n_mels']}), got {tuple(mel.shape)}")
        mag = np.maximum(EPS, self._inv_mel_basis @ np.power(10.0, mel * self._to_log10).T)  # (F, T)
        wav = librosa.griffinlim(
            mag, n_iter=self.n_iter, hop_length=self.hop_length, win_length=self.conf["win_length"],
            window=self.conf["window"], center=mag.shape[1] > 1, random_state=self.seed,
        )
        return wav.astype(np.float32)
