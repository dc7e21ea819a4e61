"""GE2E speaker d-vectors (stage 2) with resemblyzer's pretrained VoiceEncoder on CPU.

    (N,) wav at fs --resample 16 kHz, resemblyzer.preprocess_wav (normalise, trim silence;
      falls back to the untrimmed audio when trimming leaves < min_seconds)--> VoiceEncoder
      --mean of partial embeddings, L2-normalised--> (256,) float32
"""

import logging

import numpy as np

_ENCODER = None
DVECTOR_MODEL = "resemblyzer_ge2e"  # the speaker encoder of stage 2 (and of a reference at inference)


def dvector_model_id() -> dict:
    """What stage 2's d-vectors come from: the encoder, resemblyzer's version and the SHA-256 of its
    weights file (a pack records it; another encoder's d-vectors mean nothing to the model)."""
    import hashlib
    from importlib.metadata import version
    from pathlib import Path

    import resemblyzer

    weights = Path(resemblyzer.__file__).parent / "pretrained.pt"
    sha = hashlib.sha256(weights.read_bytes()).hexdigest() if weights.is_file() else None
    return {"model": DVECTOR_MODEL, "resemblyzer": version("resemblyzer"), "weights_sha256": sha}


def check_dvector_model(recorded: dict, where: str) -> None:
    """ValueError naming ``where`` when ``recorded`` (dvector_model_id of the training) is not the encoder here."""
    here = dvector_model_id()
    if recorded.get("model") != here["model"] or (recorded.get("weights_sha256") and here["weights_sha256"]
                                                  and recorded["weights_sha256"] != here["weights_sha256"]):
        raise ValueError(f"{where}: trained on d-vectors of {recorded.get('model')} (weights "
                         f"{str(recorded.get('weights_sha256'))[:12]}), but this installation has {here['model']} "
                         f"(weights {str(here['weights_sha256'])[:12]}): install resemblyzer=={recorded.get('resemblyzer')}")


def get_encoder():
    global _ENCODER
    if _ENCODER is None:
        import torch
        from resemblyzer import VoiceEncoder

        torch.set_num_threads(1)
        _ENCODER = VoiceEncoder(device="cpu", verbose=False)
    return _ENCODER


def dvector(wav: np.ndarray, fs: int, utt: str = "", min_seconds: float = 0.5) -> np.ndarray:
    """(256,) float32 unit-norm d-vector of a waveform."""
    from resemblyzer import preprocess_wav

    from espnet2_ext.features.format_wav import resample

    wav = np.asarray(wav, dtype=np.float32)
    if fs != 16000:  # resample here: resemblyzer would use librosa's much slower resampler
        wav, fs = resample(wav, fs, 16000), 16000
    # preprocess_wav divides by the RMS: skip it for all-zero audio
    trimmed = preprocess_wav(wav, source_sr=fs) if np.any(wav) else wav
    if len(trimmed) < min_seconds * 16000:
        logging.info("%s: silence trimming left %.2f s; using the untrimmed audio", utt, len(trimmed) / 16000)
        trimmed = wav
        peak = np.abs(trimmed).max()
        if peak > 0:
            trimmed = trimmed / peak * 0.5
    if len(trimmed) < 1600:
        trimmed = np.pad(trimmed, (0, 1600 - len(trimmed)))
    emb = get_encoder().embed_utterance(trimmed.astype(np.float32))
    if not np.all(np.isfinite(emb)):
        raise ValueError(f"{utt}: d-vector is not finite")
    return emb.astype(np.float32)
