"""Registration of this project's classes into espnet2's SVS registries.

espnet2 keeps its choices in module-level ``ClassChoices`` objects; adding a lowercase key makes
the class selectable from YAML (``svs: performsinger``) in any task that reads them, including
DDP worker processes, which re-import this package.

    SYSTEMS: name -> (module of the class, class name, module of its needs)
        svs_classes()        the classes (imports torch and espnet)
        system_needs(name, svs_conf)
                             what the system needs from the recipe (SystemNeeds, espnet2_ext/svs/needs.py),
                             from the light needs module the class's ``needs`` classmethod delegates to,
                             so that the recipe asks without importing the model
        needs_of_config(path)
                             the same for a training config (base_config chain merged); errors name the file
"""

import contextlib
import importlib
import sys
from typing import Dict, Optional

from espnet2_ext.svs.needs import SystemNeeds
from espnet2_ext.utils.config import ConfigError, load_config

SYSTEMS = {
    "performsinger": ("espnet2_ext.svs.performsinger.performsinger", "PerformSinger",
                      "espnet2_ext.svs.performsinger.needs"),
    "hpmdubbing": ("espnet2_ext.svs.hpmdubbing.hpmdubbing", "HPMDubbing", "espnet2_ext.svs.hpmdubbing.needs"),
}


def svs_classes() -> Dict[str, type]:
    """Name -> class of every SVS model this project provides."""
    return {name: getattr(importlib.import_module(module), cls) for name, (module, cls, _) in SYSTEMS.items()}


def system_needs(name: str, svs_conf: Optional[dict]) -> SystemNeeds:
    """What ``svs: <name>`` with ``svs_conf`` needs from the recipe.

    espnet2's own SVS classes (naive_rnn, xiaoice, ...) declare nothing: an audio-only system in one
    stage. ValueError naming the choices for any other name.
    """
    if name in SYSTEMS:
        return importlib.import_module(SYSTEMS[name][2]).needs(svs_conf)
    # seconds to import: only for espnet's own classes. espnet prints import notices (flash-attn
    # missing) to stdout, which the recipe reads ($(need ...)): they go to stderr
    with contextlib.redirect_stdout(sys.stderr):
        from espnet2.tasks import svs as svs_task

    if name in svs_task.svs_choices.classes:
        return SystemNeeds()
    raise ValueError(f"svs: {name!r} is not a registered SVS class; choose one of "
                     f"{sorted(set(SYSTEMS) | set(svs_task.svs_choices.classes))}")


def needs_of_config(path: str) -> SystemNeeds:
    """The needs of the system a training config (or an exp dir's config.yaml) describes."""
    conf = load_config(path)
    name = conf.get("svs")
    if not isinstance(name, str) or not name:
        raise ConfigError(f"{path}: no 'svs:' (the SVS class, e.g. svs: performsinger)")
    svs_conf = conf.get("svs_conf")
    if svs_conf is not None and not isinstance(svs_conf, dict):
        raise ConfigError(f"{path}: svs_conf must be a mapping, got {type(svs_conf).__name__}")
    try:
        return system_needs(name, svs_conf)
    except ValueError as e:
        raise ConfigError(f"{path}: {e}") from e


def register_all(svs_task=None) -> None:
    """Add our SVS classes and the lip-aware model wrapper to espnet2's registries.

    ``svs_task`` is the module ``espnet2.tasks.svs`` (passed in by the import hook while that
    module finishes importing; imported here otherwise).
    """
    if svs_task is None:
        from espnet2.tasks import svs as svs_task
    from espnet2_ext.svs.visual_model import VisualESPnetSVSModel

    for name, cls in svs_classes().items():
        svs_task.svs_choices.classes[name] = cls
    svs_task.model_type_choices.classes["visual_svs"] = VisualESPnetSVSModel
