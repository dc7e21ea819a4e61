"""Per-utterance decode inputs beside the data loader's streams: the reference recording and,
optionally, timing given from outside.

    <set>/ref_wav.scp   <utt> <wav of its reference recording>   (every decode set; setting 1: the
                        utterance's own recording, settings 2-4: another one, data/reference_sets.py)
    <set>/ref_utt       <utt> <reference utterance id>            (for readers: which recording it was)
      --features/reference.load_reference--> ref_feats (T_r, odim), ref_pitch (T_r,)
    <durations file>    <utt> d1 ... dN   (a decode dir's ``durations``)  --> fixed_durations (N,)

A decode set without reference recordings is an error naming the set: the style extractor never
falls back to the mean reference in the recipe's decoding.
"""

from pathlib import Path
from typing import Dict, Optional

import numpy as np
import torch

from espnet2_ext.utils.fileio import read_scp_dict, read_table

REF_WAV_SCP = "ref_wav.scp"
REF_UTT = "ref_utt"


def reference_scp_of(data_dir) -> str:
    """``<data_dir>/ref_wav.scp``; FileNotFoundError naming the dir when the set has none."""
    path = Path(data_dir) / REF_WAV_SCP
    if not path.is_file():
        raise FileNotFoundError(
            f"--data_dir {data_dir}: no reference recordings ({path} not found). Every decode set names its "
            f"reference per utterance: run stage 4 (a set it made before it wrote references: remove its .done "
            f"first), or python -m espnet2_ext.bin.make_reference_sets --dump_dir {data_dir} --setting 1 for "
            "the utterances' own recordings")
    return str(path)


def _durations(fields) -> np.ndarray:
    try:
        d = np.array([int(x) for x in fields], dtype=np.int64)
    except ValueError:
        raise ValueError("durations must be integers (mel frames)") from None
    if len(d) == 0 or (d < 0).any():
        raise ValueError("expected '<utt> d1 ... dN' with N >= 1 non-negative durations")
    return d


def read_fixed_durations(path) -> Dict[str, np.ndarray]:
    """``<utt> d1 ... dN`` (mel frames, integers >= 0) -> {utt: (N,) int64}; errors name file:line."""
    return read_table(path, 1, parse=_durations)


class UttInputs:
    """The extra ``model.inference`` keyword arguments of one set's utterances.

    Args:
        model: the ESPnetSVSModel (its feats_extract / normalize make the reference mel).
        ref_wav_scp: the set's ``<utt> <reference wav>`` table.
        durations: a ``durations`` file whose timing is imposed (None: the model's own).
    """

    def __init__(self, model, ref_wav_scp: str, durations: Optional[str] = None):
        self.model = model
        self.ref_wav_scp = ref_wav_scp
        self.refs = read_scp_dict(ref_wav_scp)
        self.durations_path = durations
        self.durations = read_fixed_durations(durations) if durations else None
        if durations:
            import inspect

            if "fixed_durations" not in inspect.signature(model.svs.inference).parameters:
                raise ValueError(f"--fixed_durations {durations}: {type(model.svs).__name__} cannot take given "
                                 "durations; drop the option")

    def timing(self) -> str:
        """Where the phone durations come from: the model's duration source, or fixed:<file>."""
        if self.durations_path:
            return f"fixed:{self.durations_path}"
        return str(getattr(self.model.svs, "duration_source", type(self.model.svs).__name__))

    def __call__(self, key: str, device) -> Dict[str, torch.Tensor]:
        from espnet2_ext.features.reference import load_reference

        if key not in self.refs:
            raise ValueError(f"{self.ref_wav_scp}: no reference recording for {key}")
        ref = load_reference(self.model, self.refs[key])
        extra = dict(ref_feats=ref.mel.to(device), ref_pitch=ref.f0.to(device))
        if self.durations is not None:
            if key not in self.durations:
                raise ValueError(f"{self.durations_path}: no durations for {key}")
            extra["fixed_durations"] = torch.from_numpy(self.durations[key]).to(device)
        return extra
