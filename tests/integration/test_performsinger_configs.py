"""The recipe's configs: every file resolves over its base_config chain, every training config
builds the model it describes, a paper config is its demo system at paper size and nothing else,
no file repeats what its bases give, the mel grid is derived, and the decode configs parse.

    conf/base/demo.yaml <- conf/train_stylesinger.yaml <- conf/train_performsinger.yaml <- ...
    conf/train_<system>.yaml + conf/base/paper_<model>*.yaml -> conf/tuning/train_<system>_paper.yaml
"""


import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2.tasks.svs import svs_choices
from espnet2_ext.svs.performsinger.performsinger import PerformSinger
from espnet2_ext.tasks.visual_svs import FRAME_GRID, derive_frame_grid
from espnet2_ext.utils.config import load_config, merge
from tests.support.paths import CONF

torch.set_num_threads(1)
IDIM = 61  # <blank>, <unk>, 56 phones, SP, AP, <sos/eos>
ALL = sorted(str(p.relative_to(CONF)) for p in CONF.rglob("*.yaml"))
SYSTEMS = sorted(str(p.relative_to(CONF)) for p in [*CONF.glob("train_*.yaml"), *CONF.glob("tuning/train_*.yaml")])
PAPER = [name for name in SYSTEMS if name.startswith("tuning/")]
PAIRS = [(name, name[len("tuning/"):].replace("_paper.yaml", ".yaml")) for name in PAPER]
# what a paper config may change besides what the paper overlays (base/paper*.yaml) set
PAPER_TRAINER_KEYS = {"batch_bins", "max_epoch", "optim_conf.lr"}
FS = {"demo": 22050, "paper": 48000}


def _flat(conf: dict, prefix: str = "") -> dict:
    """{"a": {"b": 1}} -> {"a.b": 1}; an empty mapping stays a leaf."""
    out = {}
    for key, value in conf.items():
        if isinstance(value, dict) and value:
            out.update(_flat(value, f"{prefix}{key}."))
        else:
            out[f"{prefix}{key}"] = value
    return out


def _bases(name: str) -> list:
    bases = yaml.safe_load((CONF / name).read_text()).get("base_config") or []
    return [bases] if isinstance(bases, str) else bases


def _build(name: str):
    conf = load_config(CONF / name)
    svs_conf = derive_frame_grid(conf["svs"], conf["svs_conf"], conf["feats_extract_conf"])
    return conf, svs_conf, svs_choices.get_class(conf["svs"])(idim=IDIM, odim=conf["feats_extract_conf"]["n_mels"],
                                                              **svs_conf)


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", ALL)
def test_every_config_resolves(name):
    conf = load_config(CONF / name)
    assert conf and "base_config" not in conf


@pytest.mark.parametrize("name", SYSTEMS)
def test_config_builds(name):
    conf, svs_conf, model = _build(name)
    fs = FS["paper" if name in PAPER else "demo"]
    fb = conf["feats_extract_conf"]
    assert (fb["fs"], fb["n_fft"], fb["hop_length"], fb["n_mels"]) == (fs, 1024, 256, 80)
    assert conf["optim_conf"]["betas"] == [0.9, 0.98]
    for key in ("score_feats_extract_conf", "pitch_extract_conf"):
        assert conf[key]["fs"] == fs and conf[key]["hop_length"] == 256
    total = _count(model)
    use_visual = svs_conf.get("use_visual", True)
    lip = _count(model.lip_encoder) if use_visual else 0
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"{name}: {total / 1e6:.2f} M parameters ({lip / 1e6:.2f} M lip encoder, {trainable / 1e6:.2f} M trainable)")
    if name in PAPER and use_visual:
        assert model.lip_encoder.output_dim == 512 and model.lip_encoder.conf["trunk_channels"] == 64
        assert 10e6 < lip < 13e6, "ResNet-18 lip encoder"
    elif name not in PAPER:
        assert total < 3e6, "demo configs must train on a CPU"
    if name in PAPER:  # the paper size changes widths and depths, never which parts a system has
        parts = {n for n, _ in model.named_children()} - {"postnet"}  # HPMDubbing's PostNet: paper size only
        assert parts == {n for n, _ in _build(dict(PAIRS)[name])[2].named_children()}
    if not isinstance(model, PerformSinger):
        return
    assert model.frame_rate == pytest.approx(fs / 256)
    if use_visual:
        assert svs_conf["lip_encoder_conf"]["freeze"] is True
        head = svs_conf.get("lip_reader_conf") or {}
        frozen = lip + (_count(model.lip_reader) if head.get("freeze") else 0)
        assert trainable == total - frozen
        # two-stage configs fit the heads before stage two; the single-stage ones train them with the rest
        assert bool(head.get("freeze")) is ("single_stage" not in name) or not head
    if name in PAPER:
        assert model.hidden == 256 and len(model.encoder.encoder.encoders) == 4
        assert model.decoder.conf["residual_layers"] == 20 and model.decoder.conf["residual_channels"] == 256
        assert model.style.conf["rvq_quantizers"] == 4 and model.style.conf["rvq_codebook"] == 128


def _own(name: str) -> dict:
    return {k: v for k, v in yaml.safe_load((CONF / name).read_text()).items() if k != "base_config"}


def _chain(name: str) -> list:
    """Every file ``name`` inherits from, paths relative to conf/."""
    out = []
    for base in _bases(name):
        rel = str(((CONF / name).parent / base).resolve().relative_to(CONF.resolve()))
        out += [rel, *_chain(rel)]
    return out


@pytest.mark.parametrize("paper,demo", PAIRS)
def test_paper_config_is_its_demo_system_at_paper_size(paper, demo):
    """A paper config inherits its demo system first (or is the same change as its demo system on
    the paper size of their common base, as the *_ddpm ones), and differs from it only in the
    settings the paper overlays set (sizes, 48 kHz, GPU batches) and the trainer's batch_bins /
    epochs / lr."""
    first = str(((CONF / paper).parent / _bases(paper)[0]).resolve().relative_to(CONF.resolve()))
    if first != demo:
        assert (first, _bases(demo)[0]) in PAIRS and _own(paper) == _own(demo), \
            f"{paper} must inherit {demo} first, or state the change {demo} makes on {first}"
    overlays = [b for b in _chain(paper) if b.startswith("base/paper")]
    assert overlays, f"{paper}: the paper size comes from base/paper*.yaml"
    assert all(b.startswith(("base/paper", "tuning/")) or b in {demo, *_chain(demo)} for b in _chain(paper)), paper
    sized = set().union(*(_flat(_own(b)) for b in overlays))
    p, d = _flat(load_config(CONF / paper)), _flat(load_config(CONF / demo))
    drift = sorted(k for k in set(p) | set(d) if p.get(k, "<absent>") != d.get(k, "<absent>")
                   and k not in sized | PAPER_TRAINER_KEYS)
    assert not drift, f"{paper} differs from {demo} beyond the paper size: {drift}"


@pytest.mark.parametrize("name", [n for n in ALL if _bases(n)])
def test_no_config_repeats_what_its_bases_give(name):
    """Each file states only how it differs: no value equals the one its base_config chain gives."""
    merged: dict = {}
    for base in _bases(name):
        merged = merge(merged, load_config((CONF / name).parent / base))
    own = _flat(_own(name))
    inherited = _flat(merged)
    repeated = sorted(k for k, v in own.items() if k in inherited and inherited[k] == v)
    assert not repeated, f"{name} repeats its bases: {repeated}"


@pytest.mark.parametrize("name", ALL)
def test_the_mel_grid_is_derived_not_written(name):
    svs_conf = yaml.safe_load((CONF / name).read_text()).get("svs_conf") or {}
    assert not set(svs_conf) & set(FRAME_GRID), f"{name}: {sorted(set(svs_conf) & set(FRAME_GRID))} are derived"


def test_sma_shares_the_lip_side_of_vcfm_t():
    """SMA inherits stage one (not VCFM-T, whose fusion_conf it does not take) and restates the lip side."""
    vcfm, sma = load_config(CONF / "train_performsinger.yaml")["svs_conf"], load_config(CONF / "train_sma.yaml")["svs_conf"]
    for key in ("use_visual", "lip_encoder_conf", "lip_reader_conf", "video_fps", "duration_source", "duration_prior"):
        assert sma[key] == vcfm[key], key


def test_stage_two_config_matches_stage_one():
    """Stage two must hold every stage-one tensor with the same shape (load_stage_one's contract)."""
    for one_name, two_name in [("train_stylesinger.yaml", "train_performsinger.yaml"),
                               ("train_stylesinger.yaml", "train_sma.yaml"),
                               ("train_stylesinger.yaml", "train_performsinger_aligner.yaml")]:
        s1, s2 = _build(one_name)[2].state_dict(), _build(two_name)[2].state_dict()
        assert all(k in s2 and s2[k].shape == v.shape for k, v in s1.items()), two_name
        assert all(k in s1 or k.startswith(("lip_encoder.", "fusion.", "lip_reader.")) for k in s2), two_name


@pytest.mark.parametrize("name,sampler", [("decode_fast.yaml", "auto"), ("decode_ddim10.yaml", "ddim"), ("decode_ddpm.yaml", "ddpm"),
                                          ("decode_predictor.yaml", "auto"), ("decode_attention.yaml", "auto")])
def test_decode_configs(name, sampler):
    from espnet2_ext.bin.visual_svs_inference import get_parser

    conf = load_config(CONF / name)
    assert conf["sampler"] == sampler and conf["steps"] >= 1 and "seed" in conf
    args = get_parser().parse_args(["--config", str(CONF / name), "--output_dir", "x", "--model_file", "m.pth",
                                    "--data_path_and_name_and_type", "a,b,c"])
    assert args.sampler == sampler and args.steps == conf["steps"]
    for key in ("duration_source", "duration_prior_weight", "duration_prior_sigma", "duration_prior_max_span_s",
                "f0_sampler", "f0_steps"):
        assert getattr(args, key) == conf.get(key)  # every key of the file reaches the decoder
    # the few-step decodes take bfloat16 where the hardware has it; the DDPM references stay float32
    assert args.precision == ("auto" if sampler == "auto" else "float32") == conf.get("precision", "float32")


def test_lip_pretraining_configs_fit_the_systems_that_load_them(capsys):
    from espnet2_ext.bin.check_lip_conf import lip_conf_mismatch, main

    for cfg in sorted(CONF.glob("train_*.yaml")):
        assert lip_conf_mismatch(str(CONF / "lip_pretrain.yaml"), str(cfg)) is None, cfg.name
    for cfg in sorted((CONF / "tuning").glob("train_*.yaml")):
        assert lip_conf_mismatch(str(CONF / "tuning" / "lip_pretrain_paper.yaml"), str(cfg)) is None, cfg.name
    msg = lip_conf_mismatch(str(CONF / "lip_pretrain.yaml"), str(CONF / "tuning" / "train_performsinger_paper.yaml"))
    assert "trunk_channels: 16 vs 64" in msg and "input_size: 44 vs None" in msg and "lip_pretrain_paper.yaml" in msg
    with pytest.raises(SystemExit) as e:
        main([str(CONF / "lip_pretrain.yaml"), str(CONF / "tuning" / "train_sma_paper.yaml")])
    assert e.value.code == 1 and "train_sma_paper.yaml" in capsys.readouterr().err
    # both pretraining configs and the head-fit config hold only options their trainers accept
    from espnet2_ext.lipread.head_fit import FIT_DEFAULTS
    from espnet2_ext.lipread.trainer import CONFIG_DEFAULTS

    for name in ("lip_pretrain.yaml", "tuning/lip_pretrain_paper.yaml"):
        assert set(load_config(CONF / name)) <= set(CONFIG_DEFAULTS), name
    assert set(load_config(CONF / "lip_reader_fit.yaml")) <= set(FIT_DEFAULTS)


def test_performs_default_decode_is_the_recipes():
    """perform (an exp dir without a pack's decode config) decodes as stage 7 does by default."""
    from espnet2_ext.api.performer import DEFAULT_DECODE_CONF

    assert DEFAULT_DECODE_CONF == load_config(CONF / "decode_fast.yaml")
    for script in ("run.sh", "svs.sh"):
        assert "\ninference_config=conf/decode_fast.yaml\n" in (CONF.parent / script).read_text(), script
