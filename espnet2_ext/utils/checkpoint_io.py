"""The one place that reads torch checkpoints: tensors and plain containers, nothing that runs code.

    path --torch.load(weights_only=True), inside safe_globals(allow) for this one call--> object
      the file names a global outside torch's plain set and ``allow``
        --> CheckpointRefusedError naming the file, the refused type and how to re-save the file
      missing file --> FileNotFoundError; not a torch file --> CheckpointReadError (both name it)

With ``weights_only=True`` torch's unpickler builds only tensors, storages, dicts (OrderedDict
too), lists, tuples, sets and str/bytes/int/float/bool/None; any other global a pickle names is
refused before it is looked up, so a file cannot run code while it is read. A format that needs
more names exactly those types in ``allow`` (the constants below), for that call only: nothing is
added to torch's process-wide allow list.

Formats and what each allows (every loader of the package reads through ``load_checkpoint``):
    model files (<n>epoch.pth, valid.*.best.pth), SyncNet, HiFi-GAN generator, LRW / project lip
    encoder, lip-reading head, vocoder and lip-pretraining checkpoint.pth
                                          plain only (optimizer and scheduler states are plain)
    espnet trainer checkpoint.pth, and    ESPNET_TRAINER_CHECKPOINT: np.float64 and
    stage-one init (a model file or one)  datetime.timedelta of the reporter's statistics
"""

import datetime
import os
import pickle
import re
from typing import Any, Iterable, Optional, Union

import numpy as np
import torch

PathLike = Union[str, os.PathLike]


def _espnet_trainer_globals() -> tuple:
    """What espnet's reporter statistics name when pickled: np.float64 means (numpy's scalar
    reconstructor, np.dtype and its Float64DType class) and the epoch times (datetime.timedelta)."""
    try:
        from numpy._core.multiarray import scalar  # the module path numpy>=2 pickles
    except ImportError:  # numpy<2
        from numpy.core.multiarray import scalar
    return (scalar, np.dtype, type(np.dtype("float64")), datetime.timedelta)


# espnet's Trainer writes checkpoint.pth as {"model", "reporter", "optimizers", "schedulers",
# "scaler"}: all plain but the reporter's per-epoch statistics.
ESPNET_TRAINER_CHECKPOINT = _espnet_trainer_globals()

_REFUSED_RE = re.compile(r"GLOBAL ([\w.]+)|but got <class '([\w.]+)'>")


class CheckpointRefusedError(pickle.UnpicklingError):
    """A checkpoint names a type that is not a tensor or plain container (loading it could run code)."""


class CheckpointReadError(ValueError):
    """A file that is not a readable torch checkpoint."""


def _reason(err: Exception) -> str:
    """torch's own words on what it refused, without its advice to allow the type process-wide."""
    text = str(err)
    found = re.search(r"WeightsUnpickler error:(.*?)(Check the documentation|$)", text, re.S)
    reason = " ".join((found.group(1) if found else text).split())
    return reason.split(" Please use")[0]


def _refused(path: PathLike, what: str, err: Exception) -> Exception:
    found = _REFUSED_RE.search(str(err))
    if not found:  # no type named: not a pickle torch can read (a text file, a truncated download)
        return CheckpointReadError(f"{path}: cannot be read as a torch {what} ({_reason(err)})")
    return CheckpointRefusedError(
        f"{path}: refused to load this file ({what}): it holds {found.group(1) or found.group(2)}, and only "
        "tensors and plain containers (dict, list, tuple, str, numbers) are read from files, since "
        "unpickling other types can run code carried by the file. If you trust where the file comes "
        "from, re-save its tensors once in a separate Python: obj = torch.load(path, weights_only=False); "
        "torch.save(obj.state_dict() if hasattr(obj, 'state_dict') else <its dict of tensors>, new_path) "
        f"(torch: {_reason(err)})"
    )


def load_checkpoint(path: PathLike, *, allow: Iterable[Any] = (), map_location: Optional[Any] = "cpu",
                    what: str = "checkpoint") -> Any:
    """``torch.load(path, weights_only=True)`` allowing exactly the globals in ``allow`` (for this call).

    Args:
        path: the file.
        allow: classes / functions the format needs beyond tensors and plain containers
            (e.g. ``ESPNET_TRAINER_CHECKPOINT``); empty for state dicts.
        map_location: as for ``torch.load``.
        what: what the file should be ("SyncNet weights"), used in error messages.
    Raises:
        FileNotFoundError, CheckpointRefusedError, CheckpointReadError, all naming ``path``.
    """
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{what} not found: {path}")
    allow = list(allow)
    try:
        with torch.serialization.safe_globals(allow):
            return torch.load(path, map_location=map_location, weights_only=True)
    except pickle.UnpicklingError as e:
        raise _refused(path, what, e) from e
    except (RuntimeError, EOFError, OSError, ValueError) as e:
        raise CheckpointReadError(f"{path}: cannot be read as a torch {what} ({e})") from e
