"""What HPMDubbing(-P) needs from the recipe: lips, one stage, no decode options.

    svs_conf --needs--> SystemNeeds: reads lips; trains in one stage (no stage-one model);
        lip_encoder_conf without pretrained weights -> lip-reading pretraining in stage 5;
        its durations are read off the attention (nothing to choose at decode).
"""

from typing import Optional

from espnet2_ext.svs.needs import SystemNeeds, no_weights, sub_conf


def needs(svs_conf: Optional[dict]) -> SystemNeeds:
    return SystemNeeds(reads_lips=True, two_stage=False,
                       pretrain_lip_encoder=no_weights(sub_conf(svs_conf, "lip_encoder_conf")))


def configure_decode(model, **options) -> str:
    """No decode option applies (the entry point rejects them first); -> where durations come from."""
    given = sorted(k for k, v in options.items() if v is not None)
    if given:
        raise ValueError(f"HPMDubbing has no decode option {given}: its durations are read off the attention")
    return type(model).__name__
