"""What each system of the recipe's configs needs (SystemNeeds), against the rules svs.sh applied
before the systems declared it: config-name matching (``*single_stage*``), ``svs: hpmdubbing``
cases and ``conf_get`` of svs_conf keys."""

from pathlib import Path

import pytest

from espnet2_ext.svs.needs import SystemNeeds
from espnet2_ext.svs.performsinger import needs as ps_needs
from espnet2_ext.tasks.registry import SYSTEMS, needs_of_config, system_needs
from espnet2_ext.utils.config import get, load_config
from tests.support.paths import CONF

CONFIGS = sorted(CONF.glob("train_*.yaml")) + sorted((CONF / "tuning").glob("train_*.yaml"))


def shell_true(value) -> bool:
    """``[ "$(conf_get ...)" = True ]``: the key printed as Python's True."""
    return str(value) == "True"


def old_rules(path: Path) -> dict:
    """The decisions svs.sh took from a config before SystemNeeds."""
    conf = load_config(path)
    hpm = conf.get("svs") == "hpmdubbing"
    return dict(
        reads_lips=shell_true(get(conf, "svs_conf.use_visual")) or hpm,                   # train_system
        two_stage=not ("single_stage" in path.name or hpm),                                # stage 6, auto
        fit_lip_reader=shell_true(get(conf, "svs_conf.lip_reader_conf.freeze"))            # stage 6, auto
        and not get(conf, "svs_conf.lip_reader_conf.pretrained"),
        pretrain_lip_encoder=not get(conf, "svs_conf.lip_encoder_conf.pretrained"),        # stage 5, auto
        chooses_duration_source=shell_true(get(conf, "svs_conf.use_visual")),              # stage 7 extra configs
    )


def test_every_training_config_is_covered():
    names = {p.relative_to(CONF).as_posix() for p in CONFIGS}
    assert len(names) == 19 and "train_performsinger_single_stage.yaml" in names
    assert "tuning/train_hpmdubbing_p_paper.yaml" in names


@pytest.mark.parametrize("path", CONFIGS, ids=lambda p: p.relative_to(CONF).as_posix())
def test_needs_keep_the_old_decisions(path):
    got = needs_of_config(path).as_dict()
    want = old_rules(path)
    if not got["reads_lips"]:
        # The one change: the old rule also pretrained a lip encoder for a system that has none
        # (an audio-only --train_config); nothing loaded those weights.
        assert want["pretrain_lip_encoder"] and not got["pretrain_lip_encoder"]
        want["pretrain_lip_encoder"] = False
    assert {k: got[k] for k in want} == want


def test_the_demo_systems_by_name():
    def of(name):
        return needs_of_config(CONF / name)

    assert of("train_performsinger.yaml") == SystemNeeds(
        reads_lips=True, two_stage=True, fit_lip_reader=True, pretrain_lip_encoder=True,
        duration_sources=("predictor", "attention", "lipreader"), decode_options=("duration_source", "duration_prior"))
    single = of("train_performsinger_single_stage_ddpm.yaml")  # two_stage: false through base_config
    assert not single.two_stage and not single.fit_lip_reader and single.reads_lips
    assert of("train_performsinger_aligner.yaml").duration_sources == ("predictor", "attention", "aligner")
    hpm = of("train_hpmdubbing.yaml")
    assert hpm.reads_lips and not hpm.two_stage and hpm.decode_options == () and not hpm.chooses_duration_source
    one = of("train_stylesinger.yaml")
    assert not one.reads_lips and one.duration_sources == ("predictor",) and not one.chooses_duration_source


def test_weights_in_the_config_remove_the_preparation_steps():
    conf = load_config(CONF / "train_performsinger.yaml")["svs_conf"]
    conf = {**conf, "lip_encoder_conf": {**conf["lip_encoder_conf"], "pretrained": "enc.pth"},
            "lip_reader_conf": {**conf["lip_reader_conf"], "pretrained": "heads.pth"}}
    got = ps_needs.needs(conf)
    assert not got.pretrain_lip_encoder and not got.fit_lip_reader and got.reads_lips
    assert not ps_needs.needs({**conf, "lip_reader_conf": {"hidden": 8}}).fit_lip_reader  # trained, not frozen


def test_espnet_classes_declare_nothing_and_unknown_names_fail():
    assert system_needs("naive_rnn", {}) == SystemNeeds()
    with pytest.raises(ValueError, match=r"'nosuch' is not a registered SVS class.*performsinger"):
        system_needs("nosuch", {})


def test_bad_decode_option_names_are_refused():
    with pytest.raises(ValueError, match="unknown"):
        SystemNeeds(decode_options=("steps",))


def test_each_class_declares_through_its_needs_module():
    from espnet2_ext.tasks.registry import svs_classes

    conf = load_config(CONF / "train_performsinger.yaml")["svs_conf"]
    classes = svs_classes()
    assert set(classes) == set(SYSTEMS)
    for name, cls in classes.items():
        assert cls.needs(conf if name == "performsinger" else {}) == system_needs(name, conf if name == "performsinger" else {})


PERFORMSINGER_DEMO = [p for p in sorted(CONF.glob("train_*.yaml")) if load_config(p).get("svs") == "performsinger"]


@pytest.mark.parametrize("path", PERFORMSINGER_DEMO, ids=lambda p: p.name)
def test_declared_duration_sources_are_the_ones_the_built_model_takes(path):
    """performsinger/needs.py names a config's duration sources without torch (svs.sh asks it);
    duration_sources.py checks a built model. The two rules must give the same answer."""
    from espnet2_ext.svs.performsinger.duration_sources import DURATION_SOURCES
    from espnet2_ext.svs.performsinger.performsinger import PerformSinger

    svs_conf = load_config(path)["svs_conf"]
    model = PerformSinger(idim=61, odim=80, **svs_conf)
    declared = set(ps_needs.needs(svs_conf).duration_sources)
    assert "predictor" in declared and declared <= set(DURATION_SOURCES)
    for name in DURATION_SOURCES:
        if name in declared:
            model.set_duration_source(name)
            assert model.duration_source == name
        else:
            with pytest.raises(ValueError, match=name):
                model.set_duration_source(name)
