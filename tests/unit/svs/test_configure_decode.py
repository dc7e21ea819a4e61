"""Decode options reach the model through one method (``svs.configure_decode``), and the
inference entry point refuses those the system does not declare (SystemNeeds.decode_options)."""

import argparse

import pytest
import torch

from espnet2_ext.bin.visual_svs_inference import configure_decode
from espnet2_ext.svs.hpmdubbing import HPMDubbing
from espnet2_ext.svs.performsinger.performsinger import PerformSinger
from espnet2_ext.utils.config import load_config
from tests.support.configs import shrunk_config

torch.set_num_threads(1)


@pytest.fixture(scope="module")
def performsinger(tmp_path_factory):
    conf = load_config(shrunk_config("train_performsinger.yaml", tmp_path_factory.mktemp("conf")))["svs_conf"]
    return PerformSinger(idim=12, odim=8, **conf)


def opts(source=None, weight=None, sigma=None, span=None):
    return argparse.Namespace(duration_source=source, duration_prior_weight=weight, duration_prior_sigma=sigma,
                              duration_prior_max_span_s=span)


def test_performsinger_takes_source_and_partial_prior(performsinger):
    train = argparse.Namespace(svs="performsinger", svs_conf={})
    assert performsinger.duration_source == "lipreader" and performsinger.duration_prior["weight"] == 3.0
    said = configure_decode(performsinger, train, opts(source="predictor", weight=1.5))
    assert performsinger.duration_source == "predictor"
    assert performsinger.duration_prior == {"weight": 1.5, "sigma": 0.5, "max_span_s": None}  # sigma kept
    assert said == "predictor, duration prior {'weight': 1.5, 'sigma': 0.5, 'max_span_s': None}"
    assert configure_decode(performsinger, train, opts()).startswith("predictor, ")  # nothing given: unchanged
    with pytest.raises(ValueError, match="aligner needs"):
        performsinger.configure_decode(duration_source="aligner")


def test_hpmdubbing_has_no_decode_options():
    ff = dict(layers=1, heads=2, linear_units=16, kernel_size=3, dropout=0.0)
    model = HPMDubbing(idim=12, odim=8, hidden=16, text_encoder_conf=ff, lip_fft_conf=ff, decoder_conf=ff,
                       lip_encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16))
    train = argparse.Namespace(svs="hpmdubbing", svs_conf={})
    assert configure_decode(model, train, opts()) == "HPMDubbing"
    with pytest.raises(ValueError, match="--duration_source lipreader: HPMDubbing has no duration source to choose"):
        configure_decode(model, train, opts(source="lipreader"))
    with pytest.raises(ValueError, match=r"--duration_prior_\*: HPMDubbing has no duration prior"):
        configure_decode(model, train, opts(sigma=0.3))
    with pytest.raises(ValueError, match="no decode option"):
        model.configure_decode(duration_source="predictor")


def test_espnet_classes_take_no_decode_option():
    class Foreign:  # an SVS class registered into espnet2 without declaring anything
        pass

    train = argparse.Namespace(svs="naive_rnn", svs_conf={})
    assert configure_decode(Foreign(), train, opts()) == "Foreign"
    with pytest.raises(ValueError, match="Foreign has no duration source to choose"):
        configure_decode(Foreign(), train, opts(source="predictor"))
