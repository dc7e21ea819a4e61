"""Speaker similarity (Cos) between generated singing and the target voice.

    gen wav --resemblyzer GE2E (espnet2_ext.features.dvector)--> e_gen (256,)
    target: the reference set's spembs.scp entry (the d-vector of the target-timbre audio,
      which for the plain test sets is the ground-truth utterance itself) or a wav
    cos = e_gen . e_ref / (|e_gen| |e_ref|)

WavLM-SV (the paper's choice): ``WavLMSpeakerVerifier(model_dir)`` loads a local
``transformers`` WavLMForXVector directory (config.json + weights) and its feature extractor;
cosine of its x-vectors. Needs ``pip install transformers``; nothing is fetched from a hub.
"""

from typing import Optional

import numpy as np


def cosine(a: np.ndarray, b: np.ndarray) -> float:
    a = np.asarray(a, dtype=np.float64).reshape(-1)
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    na, nb = np.linalg.norm(a), np.linalg.norm(b)
    if na == 0 or nb == 0:
        return float("nan")
    return float(a @ b / (na * nb))


def dvector_of(wav: np.ndarray, fs: int, utt: str = "") -> np.ndarray:
    from espnet2_ext.features.dvector import dvector

    return dvector(wav, fs, utt)


class WavLMSpeakerVerifier:
    """x-vector embeddings of a local WavLMForXVector checkpoint directory.

    Args:
        model_dir: directory with ``config.json`` and the weights (``save_pretrained`` layout),
            plus ``preprocessor_config.json`` (a default 16 kHz extractor is used without it).
    """

    def __init__(self, model_dir: str):
        import os

        try:
            from transformers import Wav2Vec2FeatureExtractor, WavLMForXVector
        except ImportError as e:
            raise ImportError("WavLM-SV needs the 'transformers' package (pip install transformers)") from e
        if not os.path.isfile(os.path.join(model_dir, "config.json")):
            raise FileNotFoundError(f"{model_dir}/config.json: not a WavLMForXVector directory")
        self.model = WavLMForXVector.from_pretrained(model_dir, local_files_only=True).eval()
        if os.path.isfile(os.path.join(model_dir, "preprocessor_config.json")):
            self.extractor = Wav2Vec2FeatureExtractor.from_pretrained(model_dir, local_files_only=True)
        else:
            self.extractor = Wav2Vec2FeatureExtractor(feature_size=1, sampling_rate=16000, do_normalize=True)

    def embed(self, wav: np.ndarray, fs: int) -> np.ndarray:
        import torch

        from espnet2_ext.features.format_wav import resample

        wav = resample(np.asarray(wav, np.float32), fs, 16000) if fs != 16000 else np.asarray(wav, np.float32)
        inputs = self.extractor(wav, sampling_rate=16000, return_tensors="pt")
        with torch.no_grad():
            return self.model(**inputs).embeddings[0].numpy()

    def cos(self, gen: np.ndarray, ref: np.ndarray, fs: int) -> float:
        return cosine(self.embed(gen, fs), self.embed(ref, fs))


def speaker_cos(gen_wav: np.ndarray, fs: int, ref_emb: Optional[np.ndarray] = None,
                ref_wav: Optional[np.ndarray] = None) -> float:
    """d-vector cosine of a generated wav against a reference embedding or wav."""
    if ref_emb is None:
        if ref_wav is None:
            raise ValueError("speaker_cos needs ref_emb or ref_wav")
        ref_emb = dvector_of(ref_wav, fs)
    return cosine(dvector_of(gen_wav, fs), ref_emb)
