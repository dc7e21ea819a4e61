"""Every PerformSinger training config builds the model it describes, and the decode configs parse."""


import pytest
import torch
import yaml

import espnet2_ext  # noqa: F401
from espnet2_ext.svs.performsinger.performsinger import PerformSinger
from espnet2_ext.utils.config import load_config
from tests.support.paths import REPO_ROOT

torch.set_num_threads(1)
CONF = REPO_ROOT / "egs2" / "visualsinger" / "svs1" / "conf"
IDIM = 61  # <blank>, <unk>, 56 phones, SP, AP, <sos/eos>
CONFIGS = {
    "train_stylesinger.yaml": (False, 22050),
    "train_performsinger.yaml": (True, 22050),
    "train_performsinger_single_stage.yaml": (True, 22050),
    "tuning/train_stylesinger_paper.yaml": (False, 48000),
    "tuning/train_performsinger_paper.yaml": (True, 48000),
    "tuning/train_performsinger_single_stage_paper.yaml": (True, 48000),
}


def _count(module) -> int:
    return sum(p.numel() for p in module.parameters())


@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_config_builds(name):
    use_visual, fs = CONFIGS[name]
    conf = load_config(CONF / name)
    assert conf["svs"] == "performsinger"
    fb = conf["feats_extract_conf"]
    assert (fb["fs"], fb["n_fft"], fb["hop_length"], fb["n_mels"]) == (fs, 1024, 256, 80)
    assert conf["optim_conf"]["betas"] == [0.9, 0.98]
    for key in ("score_feats_extract_conf", "pitch_extract_conf"):
        assert conf[key]["fs"] == fs and conf[key]["hop_length"] == 256
    svs_conf = conf["svs_conf"]
    assert svs_conf["use_visual"] is use_visual
    model = PerformSinger(idim=IDIM, odim=fb["n_mels"], **svs_conf)
    total = _count(model)
    lip = _count(model.lip_encoder) if use_visual else 0
    trainable = sum(p.numel() for p in model.parameters() if p.requires_grad)
    print(f"{name}: {total / 1e6:.2f} M parameters ({lip / 1e6:.2f} M lip encoder, {trainable / 1e6:.2f} M trainable)")
    if use_visual:
        assert svs_conf["lip_encoder_conf"]["freeze"] is True
        head = svs_conf.get("lip_reader_conf") or {}
        frozen = lip + (_count(model.lip_reader) if head.get("freeze") else 0)
        assert trainable == total - frozen
        # two-stage configs fit the head before stage two; the single-stage one trains it with the rest
        assert bool(head.get("freeze")) is ("single_stage" not in name) or not head
    if "paper" in name:
        assert model.hidden == 256 and len(model.encoder.encoder.encoders) == 4
        assert model.decoder.conf["residual_layers"] == 20 and model.decoder.conf["residual_channels"] == 256
        assert model.style.conf["rvq_quantizers"] == 4 and model.style.conf["rvq_codebook"] == 128
        if use_visual:
            assert model.lip_encoder.output_dim == 512 and model.lip_encoder.conf["trunk_channels"] == 64
            assert 10e6 < lip < 13e6, "ResNet-18 lip encoder"
    else:
        assert total < 3e6, "demo configs must train on a CPU"


def test_stage_two_config_matches_stage_one():
    """Stage two must hold every stage-one tensor with the same shape (load_stage_one's contract)."""
    one_conf = yaml.safe_load((CONF / "train_stylesinger.yaml").read_text())["svs_conf"]
    two_conf = yaml.safe_load((CONF / "train_performsinger.yaml").read_text())["svs_conf"]
    one = PerformSinger(idim=IDIM, odim=80, **one_conf)
    two = PerformSinger(idim=IDIM, odim=80, **two_conf)
    s1, s2 = one.state_dict(), two.state_dict()
    assert all(k in s2 and s2[k].shape == v.shape for k, v in s1.items())
    assert all(k in s1 or k.startswith(("lip_encoder.", "fusion.", "lip_reader.")) for k in s2)


@pytest.mark.parametrize("name,sampler", [("decode_ddim.yaml", "ddim"), ("decode_ddim10.yaml", "ddim"), ("decode_ddpm.yaml", "ddpm"),
                                          ("decode_ddim_predictor.yaml", "ddim"), ("decode_ddim_attention.yaml", "ddim"),
                                          ("decode_reflow.yaml", "euler")])
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
    # the paper-size pretraining config is one the trainer accepts
    from espnet2_ext.lipread.trainer import CONFIG_DEFAULTS

    paper = yaml.safe_load((CONF / "tuning" / "lip_pretrain_paper.yaml").read_text())
    assert set(paper) <= set(CONFIG_DEFAULTS)
