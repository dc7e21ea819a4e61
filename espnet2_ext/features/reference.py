"""The reference recording of a decode -> the style extractor's inputs (PerformSinger sec. 3.5, 5.1).

    <wav file> (any rate, any channel count)
      --format_wav.load_mono: mean over channels, polyphase resampling to the model's fs--> (N,)
      --model.feats_extract (the training's fbank)--> (T_r, odim) log-mel
      --model.normalize (the training's global MVN, when it has one)--> (T_r, odim) = Reference.mel
      --f0.extract_f0 (stage 2's F0 on the same mel frame grid)--> (T_r,) Hz = Reference.f0

This is what ``ESPnetSVSModel`` does to ``singing`` before a training step, so the style extractor
sees a reference exactly as it saw the target mel in training. The d-vector of the reference (the
speaker input, ``spembs``) is its GE2E embedding: in the recipe the ``spembs.scp`` entry that
stage 2 / ``make_reference_sets`` wrote for it, for any other recording ``reference_dvector``.
"""

from dataclasses import dataclass
from pathlib import Path
from typing import Optional, Union

import numpy as np
import torch


@dataclass
class Reference:
    """Style-extractor inputs of one reference recording."""

    mel: torch.Tensor  # (T_r, odim) normalised log-mel
    f0: torch.Tensor  # (T_r,) Hz, 0 = unvoiced


def model_rate(model) -> tuple:
    """(fs, hop_length) of the model's feature extractor; an error when it has none."""
    fe = getattr(model, "feats_extract", None)
    if fe is None or not hasattr(fe, "fs") or not hasattr(fe, "hop_length"):
        raise ValueError(f"{type(model).__name__} has no waveform feature extractor (feats_extract with fs and "
                         "hop_length): a reference recording cannot be turned into its mel")
    return int(fe.fs), int(fe.hop_length)


@torch.no_grad()
def reference_from_wav(model, wav: np.ndarray, fs: int, f0_min: Optional[float] = None,
                       f0_max: Optional[float] = None) -> Reference:
    """A waveform (N,) or (N, C) at ``fs`` Hz -> its Reference for ``model`` (an ESPnetSVSModel);
    ``f0_min`` / ``f0_max``: the F0 range (stage 2's, features/f0.DEFAULT_F0_CONF, by default)."""
    from espnet2_ext.features.f0 import extract_f0
    from espnet2_ext.features.format_wav import resample

    model_fs, hop = model_rate(model)
    wav = np.asarray(wav, dtype=np.float32)
    if wav.ndim == 2:
        wav = wav.mean(axis=1)
    if wav.ndim != 1 or len(wav) == 0:
        raise ValueError(f"reference audio must be a non-empty (N,) or (N, C) waveform, got shape {wav.shape}")
    if int(fs) != model_fs:
        wav = resample(wav, int(fs), model_fs)
    param = next(model.parameters())
    x = torch.from_numpy(np.ascontiguousarray(wav))[None].to(param.device)  # (1, N)
    lengths = torch.tensor([x.shape[1]], device=x.device)
    feats, feats_lengths = model.feats_extract(x, lengths)  # (1, T_r, odim)
    if getattr(model, "normalize", None) is not None:
        feats, feats_lengths = model.normalize(feats, feats_lengths)
    mel = feats[0, : int(feats_lengths[0])].to(param.dtype)
    rng = {k: v for k, v in (("f0_min", f0_min), ("f0_max", f0_max)) if v is not None}
    f0 = extract_f0(wav, model_fs, hop, **rng)[:, 0]
    f0 = np.pad(f0, (0, max(0, mel.shape[0] - len(f0))))[: mel.shape[0]]
    return Reference(mel=mel, f0=torch.from_numpy(f0).to(device=mel.device, dtype=mel.dtype))


def read_audio(path: Union[str, Path]) -> tuple:
    """(N, C) float32 and its rate: soundfile, else ffmpeg's decoder (mp3, m4a, a video's audio track).

    ValueError naming the file when neither can read it or it holds no samples.
    """
    import subprocess

    import soundfile as sf

    from espnet2_ext.utils.ffmpeg import ffmpeg_exe, ffmpeg_file

    try:
        wav, rate = sf.read(str(path), dtype="float32", always_2d=True)
    except Exception as sf_error:  # noqa: BLE001 - any soundfile failure: try ffmpeg
        rate = 48000
        proc = subprocess.run([ffmpeg_exe(), "-hide_banner", "-nostdin", "-loglevel", "error", "-i",
                               ffmpeg_file(path), "-vn", "-f", "f32le", "-ac", "1", "-ar", str(rate), "-"],
                              capture_output=True)
        if proc.returncode != 0 or not proc.stdout:
            raise ValueError(f"{path}: unreadable reference audio ({sf_error})") from sf_error
        wav = np.frombuffer(proc.stdout, np.float32)[:, None]
    if len(wav) == 0:
        raise ValueError(f"{path}: reference audio is empty")
    return wav, int(rate)


def load_reference(model, path: Union[str, Path]) -> Reference:
    """Read a reference recording (any rate / channel count) -> its Reference."""
    wav, fs = read_audio(path)
    return reference_from_wav(model, wav, fs)


def reference_dvector(path: Union[str, Path]) -> np.ndarray:
    """GE2E d-vector (256,) of a reference recording (what stage 2 writes to spembs.scp)."""
    from espnet2_ext.features.dvector import dvector

    wav, fs = read_audio(path)
    return dvector(wav.mean(axis=1), fs, str(path))
