"""PerformSinger's batch inputs: the phone sequence, its notes and durations, and the style reference.

    label["lab"] | text (B, N), melody["lab"] (B, N') --phone_inputs--> phones, lengths, MIDI (B, N)
    inference tensors without the batch axis --batch_of_one--> (1, ...)
    ref_feats (T_r, odim) + ref_pitch (T_r,) | none --reference--> ref (1, T_r, odim), F0, mask
        (none: the mean reference, StyleExtractor.mean_reference)
"""

from typing import Dict, Optional, Tuple

import torch

from espnet2_ext.svs.masks import fit_length
from espnet2_ext.svs.performsinger.style import StyleExtractor


def phone_inputs(text, text_lengths, label, melody, label_lengths=None, melody_lengths=None):
    """-> phones (B, N) long, lengths (B,) long, MIDI (B, N) long (0 = rest), from espnet's inputs."""
    phones = label["lab"] if isinstance(label, dict) and label.get("lab") is not None else text
    lengths = label_lengths["lab"] if isinstance(label_lengths, dict) and "lab" in label_lengths else text_lengths
    if not isinstance(melody, dict) or melody.get("lab") is None:
        raise ValueError("PerformSinger needs melody['lab'] (per-phone MIDI, 0 = rest)")
    midi = melody["lab"]
    if midi.shape[1] != phones.shape[1]:
        midi = fit_length(midi, phones.shape[1], dim=1)
    return phones.long(), lengths.long(), midi.long()


def training_durations(duration, pitch, n_phones: int) -> torch.Tensor:
    """GT durations (B, N) in mel frames from duration["lab"], checking the training inputs."""
    if not isinstance(duration, dict) or duration.get("lab") is None:
        raise ValueError("PerformSinger training needs duration['lab'] (GT phone durations in frames)")
    if pitch is None:
        raise ValueError("PerformSinger training needs pitch (F0): set pitch_extract (pitch.scp) in the config")
    return fit_length(duration["lab"].long(), n_phones, dim=1)


def batch_of_one(text, label, melody, spembs) -> Tuple[torch.Tensor, Dict, Dict, Optional[torch.Tensor]]:
    """One utterance's inputs with a batch axis: text (1, N), label/melody values (1, N), spembs (1, D)."""
    if text.dim() == 1:
        text = text[None]
    label = {k: (v[None] if v.dim() == 1 else v) for k, v in (label or {}).items() if v is not None}
    melody = {k: (v[None] if v.dim() == 1 else v) for k, v in (melody or {}).items() if v is not None}
    if spembs is not None and spembs.dim() == 1:
        spembs = spembs[None]
    return text, label, melody, spembs


def fixed_or_teacher_durations(fixed_durations, duration, use_teacher_forcing: bool, n_phones: int, device):
    """(1, N) durations given by the caller (fixed_durations, or GT with teacher forcing), else None."""
    if fixed_durations is not None:
        d = fixed_durations.reshape(1, -1).long().to(device)
        if d.shape[1] != n_phones:
            raise ValueError(f"fixed_durations has {d.shape[1]} phone durations for {n_phones} phones")
        return d
    if use_teacher_forcing:
        if duration is None or duration.get("lab") is None:
            raise ValueError("use_teacher_forcing needs duration['lab']")
        d = duration["lab"]
        return fit_length((d[None] if d.dim() == 1 else d).long(), n_phones, dim=1)
    return None


def reference(ref_feats, ref_pitch, odim: int, device, dtype):
    """The style reference: ref (1, T_r, odim), its F0 (1, T_r) or None, mask (1, T_r)."""
    if ref_feats is None:
        return StyleExtractor.mean_reference(1, odim, device, dtype)
    ref = ref_feats[None] if ref_feats.dim() == 2 else ref_feats
    ref_f0 = ref_pitch.reshape(1, -1)[:, : ref.shape[1]] if ref_pitch is not None else None
    if ref_f0 is not None:
        ref_f0 = fit_length(ref_f0.to(ref.dtype), ref.shape[1], dim=1)
    return ref, ref_f0, torch.ones(ref.shape[:2], dtype=torch.bool, device=ref.device)
