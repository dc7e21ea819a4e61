"""Content-visual fusion modules of PerformSinger and their registry (``svs_conf.fusion``).

    CF (B, N, H) phone content + VF (B, T_v, H_v) lip features
        --fusion_choices[svs_conf.fusion](H, H_v, svs_conf.fusion_conf)-->
        FusionOutput: fused (B, N, H), attn (B, N, T_v), aux losses (abs_fusion.py)

    vcfm  vcfm.py     Visual Complementary Fusion Module, eq. 4-6 (+ the lip-to-phone aligner, aligner.py)
    sma   sma.py      stepwise monotonic multi-head attention, the "+SMA" ablation of table 3

A fusion is an ``AbsFusion`` built as ``Class(hidden, visual_dim, conf)``, ``conf`` being the
config's ``fusion_conf`` (merged over the base config's, so a fusion with other options states
``fusion_conf`` too). Its ``FusionOutput.losses`` enter eq. 7 with ``lambda_F``; ``attn`` feeds
the guided alignment loss (``lambda_A``) and ``duration_source: attention``.

Adding a fusion ablation:

- in this package: one module here, one line in ``fusion_choices`` below, one config
  (``base_config: train_performsinger.yaml`` plus ``svs_conf: {fusion: <name>}``);
- outside it (nothing here changes): one entry point in the group ``espnet2_ext.fusions``,
  ``<name> = <module>:<Class>``, in the ``entry_points.txt`` of the distribution that ships the
  module (``[project.entry-points."espnet2_ext.fusions"]`` in its pyproject.toml). Every process
  that builds the model (the recipe's training and decoding, ``perform`` on a pack) resolves
  ``fusion: <name>`` through ``importlib.metadata`` when it builds it, so an installed plugin,
  or a ``*.dist-info`` directory next to its module on ``PYTHONPATH`` (path.sh keeps it), is
  seen by all of them: tests/support/fusion_plugin.py is such a plugin, and the recipe e2e test
  trains and decodes it. ``fusion: <module>:<Class>`` spelt out in the config works without any
  registration, but names the code's location in every experiment's config.yaml.

A name resolves in that order: the built-in choices, then the entry points, then
``module:Class``; anything else is an error listing what there is.
"""

import importlib
from importlib.metadata import entry_points
from typing import Optional

from espnet2.train.class_choices import ClassChoices

from espnet2_ext.svs.fusion.abs_fusion import AbsFusion, FusionOutput
from espnet2_ext.svs.fusion.sma import SMAFusion
from espnet2_ext.svs.fusion.vcfm import VCFM

ENTRY_POINT_GROUP = "espnet2_ext.fusions"

fusion_choices = ClassChoices(
    "fusion",
    classes=dict(
        vcfm=VCFM,
        sma=SMAFusion,
    ),
    type_check=AbsFusion,
    default="vcfm",
)


def _plugin(name: str) -> Optional[type]:
    """The class an ``espnet2_ext.fusions`` entry point names ``name`` (None when there is none)."""
    found = [ep for ep in entry_points(group=ENTRY_POINT_GROUP) if ep.name == name]
    return found[0].load() if found else None


def _spelt_out(name: str) -> type:
    module, _, attr = name.partition(":")
    try:
        return getattr(importlib.import_module(module), attr)
    except (ImportError, AttributeError) as e:
        raise ValueError(f"svs_conf.fusion {name!r}: cannot load {attr} from module {module} ({e})") from e


def fusion_class(name: str) -> type:
    """The AbsFusion subclass ``svs_conf.fusion`` names (see the module docstring for the lookup)."""
    if name.lower() in fusion_choices.classes:
        return fusion_choices.get_class(name.lower())
    cls = _plugin(name)
    if cls is None and ":" in name:
        cls = _spelt_out(name)
    if cls is None:
        plugins = sorted(ep.name for ep in entry_points(group=ENTRY_POINT_GROUP))
        raise ValueError(f"unknown fusion {name!r} (svs_conf.fusion); choose one of {list(fusion_choices.classes)}, "
                         f"an {ENTRY_POINT_GROUP} entry point {plugins}, or module:Class")
    if not (isinstance(cls, type) and issubclass(cls, AbsFusion)):
        raise ValueError(f"svs_conf.fusion {name!r} resolves to {cls!r}, which is not an AbsFusion subclass "
                         "(espnet2_ext.svs.fusion.abs_fusion)")
    return cls


def build_fusion(name: str, hidden: int, visual_dim: int, conf: Optional[dict]) -> AbsFusion:
    """Content-visual fusion module ``name`` for content width H = hidden and lip features of visual_dim."""
    return fusion_class(name)(hidden, visual_dim, conf)


__all__ = ["AbsFusion", "FusionOutput", "VCFM", "SMAFusion", "fusion_choices", "fusion_class", "build_fusion"]
