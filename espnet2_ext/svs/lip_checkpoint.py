"""Loading and saving of lip-encoder weights (the pretrained visual front end of eq. 3).

    user path --utils.checkpoint_io.load_checkpoint (weights only)--> checkpoint
        (a) this project's layout: {"format": FORMAT, "conf": {...}, "state_dict": {...}}
            (written by ``save_lip_encoder``, e.g. by ``pretrain_lip_encoder``)
        (b) the public LRW lip-reading layout: a state dict, optionally wrapped in
            "model_state_dict" / "state_dict" and with a "module." prefix, holding
            frontend3D.{0,1,2}.* and trunk.layerK.* (+ tcn.* of the temporal back end, ignored)
        --key check (missing / unexpected / shape: all errors, listed)--> encoder.load_state_dict

The encoder's own parameter names equal the public ones, so no key renaming is needed; only
the back end is dropped. ``proj.*`` (the optional projection to output_dim) does not exist in
public models and is the one key allowed to be missing there (it stays randomly initialised).
"""

import logging
import os
from typing import Dict, List

import torch

from espnet2_ext.utils.checkpoint_io import CheckpointReadError, load_checkpoint
from espnet2_ext.utils.fileio import atomic_torch_save

FORMAT = "espnet2_ext.lip_encoder/1"
BACKEND_PREFIXES = ("tcn.",)


class LipCheckpointError(RuntimeError):
    """A lip-encoder checkpoint does not fit the configured encoder."""


def _unwrap(obj, path: str) -> Dict[str, torch.Tensor]:
    if not isinstance(obj, dict):
        raise LipCheckpointError(f"{path}: expected a dict checkpoint, got {type(obj).__name__}")
    for key in ("model_state_dict", "state_dict", "model"):
        if key in obj and isinstance(obj[key], dict):
            obj = obj[key]
            break
    if not obj or not all(torch.is_tensor(v) for v in obj.values()):
        raise LipCheckpointError(f"{path}: no state dict of tensors found (keys: {sorted(obj)[:10]})")
    if all(k.startswith("module.") for k in obj):
        obj = {k[len("module."):]: v for k, v in obj.items()}
    return obj


def read_checkpoint(path: str, what: str, error: type = LipCheckpointError):
    """Tensors and plain containers of ``path`` (utils.checkpoint_io); a missing file is
    FileNotFoundError naming ``what`` (e.g. "lip encoder"), an unreadable one ``error`` naming the
    path, one holding other types CheckpointRefusedError."""
    try:
        return load_checkpoint(path, what=f"{what} checkpoint")
    except CheckpointReadError as e:
        raise error(str(e)) from e


def save_checkpoint(obj: dict, path: str, overwrite: bool = False) -> None:
    """torch.save(obj) to ``path`` atomically (utils/fileio.py); an existing file is kept unless
    ``overwrite``."""
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; remove it or pass overwrite=True")
    atomic_torch_save(obj, path)


def read_lip_state(path: str):
    """Returns (state_dict, layout, conf): layout "project" or "lrw"; conf the encoder options the
    project layout saved with the weights ({} for LRW checkpoints)."""
    obj = read_checkpoint(path, "lip encoder")
    if isinstance(obj, dict) and obj.get("format") == FORMAT:
        return dict(obj["state_dict"]), "project", dict(obj.get("conf") or {})
    state = _unwrap(obj, path)
    dropped = [k for k in state if k.startswith(BACKEND_PREFIXES)]
    if dropped:
        logging.info(f"{path}: ignoring {len(dropped)} temporal back-end keys ({', '.join(BACKEND_PREFIXES)}*)")
    return {k: v for k, v in state.items() if not k.startswith(BACKEND_PREFIXES)}, "lrw", {}


def _fmt(keys: List[str], n: int = 20) -> str:
    more = f" ... (+{len(keys) - n} more)" if len(keys) > n else ""
    return ", ".join(keys[:n]) + more


def load_lip_encoder(encoder: torch.nn.Module, path: str) -> str:
    """Loads ``path`` into ``encoder`` after checking every key; returns the detected layout."""
    state, layout, saved_conf = read_lip_state(path)
    own = encoder.state_dict()
    optional = [k for k in own if k.endswith("num_batches_tracked")]
    if layout == "lrw":
        optional += [k for k in own if k.startswith("proj.")]
    missing = sorted(k for k in own if k not in state and k not in optional)
    unexpected = sorted(k for k in state if k not in own)
    mismatched = sorted(
        f"{k}: checkpoint {tuple(state[k].shape)} vs encoder {tuple(own[k].shape)}"
        for k in own
        if k in state and state[k].shape != own[k].shape
    )
    if layout == "project":
        # Weights trained at one input resolution read another one badly, with no shape error.
        saved = saved_conf.get("input_size")
        wanted = getattr(encoder, "input_size", None)
        if saved != wanted:
            raise LipCheckpointError(
                f"{path} was trained with lip_encoder_conf.input_size={saved}, the encoder has "
                f"input_size={wanted}: set input_size: {saved} in lip_encoder_conf (or retrain the encoder)"
            )
    if missing or unexpected or mismatched:
        msg = [f"{path} ({layout} layout) does not fit the lip encoder "
               f"(check trunk_channels / frontend_channels / output_dim / act):"]
        if missing:
            msg.append(f"  missing keys: {_fmt(missing)}")
        if unexpected:
            msg.append(f"  unexpected keys: {_fmt(unexpected)}")
        if mismatched:
            msg.append(f"  shape mismatches: {_fmt(mismatched)}")
        raise LipCheckpointError("\n".join(msg))
    absent = [k for k in optional if k not in state and not k.endswith("num_batches_tracked")]
    merged = dict(own)
    merged.update(state)
    encoder.load_state_dict(merged, strict=True)
    logging.info(f"loaded lip encoder weights from {path} ({layout} layout, {len(state)} tensors)")
    if absent:
        logging.warning(f"{path}: no weights for {_fmt(absent)}; they keep their random initialisation")
    return layout


def save_lip_encoder(encoder: torch.nn.Module, path: str, conf: dict, overwrite: bool = False) -> None:
    """Writes the encoder in this project's layout, atomically (temp file + rename)."""
    if os.path.exists(path) and not overwrite:
        raise FileExistsError(f"{path} exists; remove it or pass overwrite=True")
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    conf = {k: v for k, v in conf.items() if k not in ("pretrained", "freeze")}
    save_checkpoint({"format": FORMAT, "conf": conf, "state_dict": encoder.state_dict()}, path, overwrite=True)
