"""What a system needs from the recipe, declared by its SVS class from its ``svs_conf``.

    config (svs, svs_conf) --registry (tasks/registry.py)--> <class>.needs(svs_conf) -> SystemNeeds
        reads_lips             training and decoding read dump/raw/<set>/lip.scp (stage 3)
        two_stage              stage 6 starts from the stage-one model (--stage_one_checkpoint)
        fit_lip_reader         a frozen lip-reading head without weights: fit it before stage 6
        pretrain_lip_encoder   a lip encoder without weights: pretrain it by lip reading in stage 5
        duration_sources       where decoding can take durations from (decode option duration_source)
        decode_options         the options of espnet2_ext.bin.visual_svs_inference that apply

The recipe asks through ``python -m espnet2_ext.bin.system_needs`` (no config names are matched in
svs.sh); decoding asks ``decode_options`` before it calls ``model.svs.configure_decode``. Nothing
here imports torch: the shell asks in a fraction of a second.
"""

from dataclasses import asdict, dataclass
from typing import Any, Dict, Optional, Tuple

# visual_svs_inference options a system may accept (see SystemNeeds.decode_options)
DECODE_OPTIONS = ("duration_source", "duration_prior")


@dataclass(frozen=True)
class SystemNeeds:
    """A system's requirements on the recipe's stages (defaults: an audio-only one-stage system).

    Args:
        reads_lips: the model reads the ``lip`` stream (training and decoding get lip.scp).
        two_stage: its training starts from the stage-one (no video) model.
        fit_lip_reader: it freezes a lip-reading head it has no weights for; the head is fitted on
            the frozen lip encoder before training (espnet2_ext.bin.fit_lip_reader).
        pretrain_lip_encoder: it has a lip encoder without weights (``lip_encoder_conf.pretrained``
            empty); the recipe pretrains one by lip reading (espnet2_ext.bin.pretrain_lip_encoder).
        duration_sources: the duration sources decoding may choose (empty: none to choose).
        decode_options: the decode options it accepts, a subset of DECODE_OPTIONS.
    """

    reads_lips: bool = False
    two_stage: bool = False
    fit_lip_reader: bool = False
    pretrain_lip_encoder: bool = False
    duration_sources: Tuple[str, ...] = ()
    decode_options: Tuple[str, ...] = ()

    def __post_init__(self):
        unknown = sorted(set(self.decode_options) - set(DECODE_OPTIONS))
        if unknown:
            raise ValueError(f"SystemNeeds decode_options: unknown {unknown}; valid: {list(DECODE_OPTIONS)}")

    @property
    def chooses_duration_source(self) -> bool:
        """More than one duration source: the recipe decodes it with each --extra_inference_configs too."""
        return len(self.duration_sources) > 1

    def as_dict(self) -> Dict[str, Any]:
        """Every field and property by name (what ``system_needs --field`` answers)."""
        return {**asdict(self), "chooses_duration_source": self.chooses_duration_source}


def sub_conf(svs_conf: Optional[dict], key: str) -> Optional[dict]:
    """``svs_conf[key]`` when it is a mapping, else None (absent or null)."""
    value = (svs_conf or {}).get(key)
    return value if isinstance(value, dict) else None


def no_weights(conf: Optional[dict]) -> bool:
    """A component conf (``*_conf`` with ``pretrained``) that names no weights."""
    return not (conf or {}).get("pretrained")
