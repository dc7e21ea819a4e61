"""Two-stage training: initialise a stage-two PerformSinger from a stage-one (audio-only) checkpoint.

    stage-one file (espnet model state: keys "svs.<name>" plus e.g. "normalize.*", or a bare
    svs state dict)
      --keep "svs.*" keys, strip the prefix (or take all keys when none has it)-->
      --check: every key exists in the stage-two model with the same shape;
               every model tensor missing from the file belongs to the visual branch
               ("lip_encoder.", "fusion.", "lip_reader.")-->
      load into the model (visual branch untouched) -> list of loaded keys

A mismatch raises ``ValueError`` naming every offending key, never a half-initialised model.
"""

from pathlib import Path
from typing import Dict, List, Union

import torch

from espnet2_ext.utils.checkpoint_io import ESPNET_TRAINER_CHECKPOINT, load_checkpoint

VISUAL_PREFIXES = ("lip_encoder.", "fusion.", "lip_reader.")
WRAPPER_PREFIX = "svs."


def _read_state(ckpt: Union[str, Path, Dict[str, torch.Tensor]]) -> Dict[str, torch.Tensor]:
    if isinstance(ckpt, dict):
        return ckpt
    path = Path(ckpt)
    # a model file is a state dict; espnet's checkpoint.pth (resume file) also holds the reporter
    state = load_checkpoint(path, allow=ESPNET_TRAINER_CHECKPOINT, what="stage-one checkpoint")
    if isinstance(state, dict) and "model" in state and isinstance(state["model"], dict):
        state = state["model"]  # espnet's checkpoint.pth (resume file)
    if not isinstance(state, dict):
        raise ValueError(f"{path}: not a state dict (got {type(state).__name__})")
    return state


def _svs_part(state: Dict[str, torch.Tensor]) -> Dict[str, torch.Tensor]:
    """Keys of the SVS module: strip the espnet wrapper prefix "svs." when present."""
    if any(k.startswith(WRAPPER_PREFIX) for k in state):
        return {k[len(WRAPPER_PREFIX):]: v for k, v in state.items() if k.startswith(WRAPPER_PREFIX)}
    return dict(state)


def load_stage_one(svs_model: torch.nn.Module, ckpt_path: Union[str, Path, Dict[str, torch.Tensor]]) -> List[str]:
    """Load a stage-one checkpoint into ``svs_model`` (a stage-two PerformSinger); return the loaded keys.

    Raises ValueError listing keys unknown to the model, keys with a different shape, and
    non-visual model keys the checkpoint lacks.
    """
    name = str(ckpt_path) if not isinstance(ckpt_path, dict) else "<state dict>"
    ckpt = _svs_part(_read_state(ckpt_path))
    target = svs_model.state_dict()
    unknown = sorted(k for k in ckpt if k not in target)
    wrong_shape = sorted(
        f"{k}: checkpoint {tuple(ckpt[k].shape)} vs model {tuple(target[k].shape)}"
        for k in ckpt
        if k in target and tuple(ckpt[k].shape) != tuple(target[k].shape)
    )
    missing = sorted(k for k in target if k not in ckpt and not k.startswith(VISUAL_PREFIXES))
    problems = []
    if unknown:
        problems.append(f"keys not in the model: {unknown}")
    if wrong_shape:
        problems.append(f"shape mismatches: {wrong_shape}")
    if missing:
        problems.append(f"non-visual model keys missing from the checkpoint: {missing}")
    if problems:
        raise ValueError(f"{name} is not a stage-one checkpoint of this model; " + "; ".join(problems))
    result = svs_model.load_state_dict(ckpt, strict=False)
    assert not result.unexpected_keys  # checked above
    return sorted(ckpt)
