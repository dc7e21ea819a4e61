"""The reference voice of a performance: any audio file -> the style inputs of PerformSinger.inference.

    voice.wav (any rate, any channel count) --soundfile (else ffmpeg)--> (N, C) float
      --mean over channels, polyphase resampling to the model's fs (features/format_wav.py)--> (N',)
      --checks: at least ``min_seconds``, not silent-->
      feats  = the model's feature extractor + normalisation of it   (T_r, n_mels), the style
               extractor's reference mel (sec. 3.5)
      spembs = its GE2E d-vector (features/dvector.py, as stage 2)   (256,)

Stage 2 formats a wav the same way (mono, resampled to fs) before its d-vector, so a reference that
is already mono at fs gives the d-vector of the dump.
"""

import logging
from pathlib import Path
from typing import Dict, Union

import numpy as np
import torch

from espnet2_ext.api.errors import InputError
from espnet2_ext.features.format_wav import resample


class ReferenceError(InputError):
    """A reference recording that cannot give a voice (unreadable, too short, silent)."""


def _read_any(path: Path):
    """(N, C) float32 and its rate: soundfile, else ffmpeg's decoder (mp3, m4a, a video's track)."""
    import subprocess

    import soundfile as sf

    from espnet2_ext.utils.media import ffmpeg_exe

    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
        return wav, int(rate)
    except Exception as sf_error:  # noqa: BLE001 - any soundfile failure: try ffmpeg
        rate = 48000
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                               str(path.absolute()), "-vn", "-f", "f32le", "-ac", "1", "-ar", str(rate), "-"],
                              capture_output=True)
        if proc.returncode != 0 or not proc.stdout:
            raise ReferenceError(f"{path}: unreadable reference audio ({sf_error})") from sf_error
        return np.frombuffer(proc.stdout, np.float32)[:, None], rate


def load_reference(path: Union[str, Path], fs: int, min_seconds: float = 1.0,
                   silence_rms: float = 1e-4) -> np.ndarray:
    """(N,) float32 mono waveform of ``path`` at ``fs``; ReferenceError naming the file when it is
    unreadable, shorter than ``min_seconds`` or silent (RMS below ``silence_rms``)."""
    path = Path(path)
    if not path.is_file():
        raise ReferenceError(f"{path}: reference file not found")
    wav, rate = _read_any(path)
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


def reference_mel(model, wav: np.ndarray) -> torch.Tensor:
    """(T_r, n_mels) reference mel as the model sees its training targets: its feature extractor,
    then its normalisation (global_mvn), if any. ``model`` is espnet's SVS model wrapper."""
    x = torch.from_numpy(np.ascontiguousarray(wav, dtype=np.float32))[None]
    lengths = torch.tensor([x.shape[1]])
    with torch.no_grad():
        feats, feats_lengths = model.feats_extract(x, lengths)
        if model.normalize is not None:
            feats, feats_lengths = model.normalize(feats, feats_lengths)
    return feats[0, : int(feats_lengths[0])]


def reference_inputs(model, path: Union[str, Path], fs: int, min_seconds: float = 1.0) -> Dict[str, torch.Tensor]:
    """``{"feats": (T_r, n_mels), "spembs": (256,)}`` of a reference file, for ``model.inference``."""
    from espnet2_ext.features.dvector import dvector

    wav = load_reference(path, fs, min_seconds)
    return {"feats": reference_mel(model, wav), "spembs": torch.from_numpy(dvector(wav, fs, str(path)))}
