"""The reference voice of a performance: any audio file -> the style inputs of PerformSinger.inference.

    voice.wav (any rate, any channel count) --soundfile (else ffmpeg)--> (N, C) float
      --mean over channels, polyphase resampling to the model's fs (features/format_wav.py)--> (N',)
      --checks: at least ``min_seconds``, not silent-->
      ref_feats, ref_pitch = the model's feature extractor + normalisation of it (T_r, n_mels)
               and its F0 (T_r,): the style extractor's reference (sec. 3.5), computed by
               features/reference.py exactly as stage 7 computes it
      spembs = its GE2E d-vector (features/dvector.py, as stage 2)   (256,)

Stage 2 formats a wav the same way (mono, resampled to fs) before its d-vector, so a reference that
is already mono at fs gives the d-vector of the dump.
"""

import logging
from pathlib import Path
from typing import Dict, Optional, Union

import numpy as np
import torch

from espnet2_ext.api.errors import InputError
from espnet2_ext.features.format_wav import resample
from espnet2_ext.features.reference import read_audio, reference_from_wav


class ReferenceError(InputError):
    """A reference recording that cannot give a voice (unreadable, too short, silent)."""


def load_reference(path: Union[str, Path], fs: int, min_seconds: float = 1.0,
                   silence_rms: float = 1e-4) -> np.ndarray:
    """(N,) float32 mono waveform of ``path`` at ``fs``; ReferenceError naming the file when it is
    unreadable, shorter than ``min_seconds`` or silent (RMS below ``silence_rms``)."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceError(f"{path}: reference file not found")
    try:
        wav, rate = read_audio(path)
    except ValueError as e:
        raise ReferenceError(str(e)) from e
    wav = wav.mean(axis=1).astype(np.float32)
    if rate != fs:
        logging.info("%s: reference resampled from %d Hz to %d Hz", path, rate, fs)
        wav = resample(wav, rate, fs)
    seconds = len(wav) / fs
    if seconds < min_seconds:
        raise ReferenceError(f"{path}: the reference lasts {seconds:.2f} s; give at least {min_seconds:g} s of "
                             "the voice to sing with")
    rms = float(np.sqrt(np.mean(np.square(wav, dtype=np.float64))))
    if not np.isfinite(rms) or rms < silence_rms:
        raise ReferenceError(f"{path}: the reference is silent (RMS {rms:.2e}); give a recording of the voice")
    return wav


def reference_inputs(model, path: Union[str, Path], fs: int, min_seconds: float = 1.0,
                     f0_conf: Optional[dict] = None) -> Dict[str, torch.Tensor]:
    """``{"ref_feats": (T_r, n_mels), "ref_pitch": (T_r,), "spembs": (256,)}`` of a reference file,
    for ``model.inference``: the mel and F0 exactly as stage 7 computes them (features/reference.py);
    ``f0_conf``: extract_f0's range (features/f0.check_f0_conf; stage 2's by default)."""
    from espnet2_ext.features.dvector import dvector

    wav = load_reference(path, fs, min_seconds)
    ref = reference_from_wav(model, wav, fs, **(f0_conf or {}))
    return {"ref_feats": ref.mel, "ref_pitch": ref.f0, "spembs": torch.from_numpy(dvector(wav, fs, str(path)))}
