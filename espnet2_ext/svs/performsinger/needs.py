"""What PerformSinger needs from the recipe, and how decoding reconfigures it.

    svs_conf --needs--> SystemNeeds (espnet2_ext/svs/needs.py)
        use_visual (true)            reads lips; a lip encoder (pretrained when it names no weights)
        two_stage (true)             stage two starts from the stage-one model; false: VCFM-S
        lip_reader_conf.freeze       with no pretrained weights: the head is fitted before training
        duration sources             predictor; with video attention, lipreader (lip_reader_conf),
                                     aligner (fusion vcfm with fusion_conf.aligner)
    decode options --configure_decode--> PerformSinger.set_duration_source / set_duration_prior
"""

from typing import Optional

from espnet2_ext.svs.needs import SystemNeeds, no_weights, sub_conf


def needs(svs_conf: Optional[dict]) -> SystemNeeds:
    """The recipe's view of a PerformSinger ``svs_conf`` (constructor defaults where keys are absent)."""
    conf = dict(svs_conf or {})
    visual = bool(conf.get("use_visual", True))
    head = sub_conf(conf, "lip_reader_conf")
    sources = ["predictor"]
    if visual:
        sources.append("attention")
        if head is not None:
            sources.append("lipreader")
        if conf.get("fusion", "vcfm") == "vcfm" and (sub_conf(conf, "fusion_conf") or {}).get("aligner"):
            sources.append("aligner")
    return SystemNeeds(
        reads_lips=visual,
        two_stage=bool(conf.get("two_stage", True)),
        fit_lip_reader=visual and head is not None and head.get("freeze") is True and no_weights(head),
        pretrain_lip_encoder=visual and no_weights(sub_conf(conf, "lip_encoder_conf")),
        duration_sources=tuple(sources),
        decode_options=("duration_source", "duration_prior"),
    )


def configure_decode(model, duration_source: Optional[str] = None, duration_prior: Optional[dict] = None) -> str:
    """Override the training config's duration source and prior (keys of ``duration_prior`` not
    given keep their value); -> where durations come from, for the log."""
    if duration_source is not None:
        model.set_duration_source(duration_source)
    if duration_prior:
        model.set_duration_prior(**{**model.duration_prior, **duration_prior})
    return f"{model.duration_source}, duration prior {model.duration_prior}"
