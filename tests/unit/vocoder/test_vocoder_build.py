"""Vocoders: Griffin-Lim and pretrained HiFi-GAN output lengths, auto choice, strict checkpoint loading."""

import logging

import numpy as np
import pytest
import torch

from espnet2_ext.vocoder.build import build_vocoder
from espnet2_ext.vocoder.hifigan import build_generator, map_reference_keys, pretrained_weight_path
from espnet2_ext.vocoder.mel_conf import load_fbank_conf, matches_pretrained

torch.set_num_threads(1)
CONF = "{fs: 22050, n_fft: 1024, hop_length: 256, win_length: 1024, n_mels: 80, fmin: 0, fmax: 8000}"
T = 40


def demo_mel():
    from espnet2.tts.feats_extract.log_mel_fbank import LogMelFbank

    fs = 22050
    t = np.arange((T - 1) * 256) / fs
    wav = 0.3 * np.sin(2 * np.pi * 220 * t) * np.minimum(1, t * 20)
    with torch.no_grad():
        mel, _ = LogMelFbank(**load_fbank_conf(CONF))(torch.from_numpy(wav.astype(np.float32))[None])
    assert mel.shape[1] == T
    return mel[0].numpy()


def test_conf_parsing_and_match(tmp_path):
    c = load_fbank_conf(CONF)
    assert c["fs"] == 22050 and c["log_base"] == 10.0 and matches_pretrained(c)
    assert not matches_pretrained(dict(c, fmax=11025))
    (tmp_path / "fbank.yaml").write_text("fs: 48000\nn_fft: 1024\nhop_length: 256\n")
    c48 = load_fbank_conf(str(tmp_path / "fbank.yaml"))
    assert c48["fs"] == 48000 and c48["win_length"] == 1024 and not matches_pretrained(c48)
    with pytest.raises(ValueError, match="unknown fbank keys"):
        load_fbank_conf({"fs": 22050, "hop": 3})


def test_griffin_lim_length_and_finite():
    mel = demo_mel()
    wav = build_vocoder("griffin_lim", CONF)(mel)
    assert wav.dtype == np.float32 and np.all(np.isfinite(wav))
    assert abs(len(wav) - T * 256) <= 256
    assert np.abs(wav).max() > 0.01


def test_griffin_lim_is_reproducible_and_matches_espnet():
    from espnet2.utils.griffin_lim import Spectrogram2Waveform

    from espnet2_ext.vocoder.griffin_lim import GriffinLimVocoder

    mel = demo_mel()
    voc = build_vocoder("griffin_lim", CONF)
    first = voc(mel)
    np.random.rand(1000)  # whatever the process drew before, the same mel gives the same wav
    np.testing.assert_array_equal(voc(torch.from_numpy(mel)), first)
    assert not np.array_equal(GriffinLimVocoder(load_fbank_conf(CONF), seed=1)(mel), first)
    # espnet's Spectrogram2Waveform (random phases): same length, and converged to a similar magnitude
    c = load_fbank_conf(CONF)
    ref = Spectrogram2Waveform(n_fft=c["n_fft"], n_shift=c["hop_length"], fs=c["fs"], n_mels=c["n_mels"],
                               win_length=c["win_length"], window=c["window"], fmin=int(c["fmin"]),
                               fmax=int(c["fmax"]), griffin_lim_iters=32)(
        torch.from_numpy(mel.astype(np.float64) / np.log(10.0) * np.log(c["log_base"]))).numpy()
    assert len(ref) == len(first)

    def mag(w):
        return np.abs(np.fft.rfft(w[: len(w) // 256 * 256].reshape(-1, 256), axis=1)).mean(0)

    assert np.corrcoef(mag(ref), mag(first))[0, 1] > 0.99


def test_pretrained_hifigan_length_and_finite(caplog):
    mel = demo_mel()
    with caplog.at_level(logging.INFO):
        voc = build_vocoder("auto", CONF)
    assert voc.name == "hifigan_pretrained"
    assert "auto -> hifigan_pretrained" in caplog.text
    wav = voc(torch.from_numpy(mel))
    assert wav.dtype == np.float32 and len(wav) == T * 256 and np.all(np.isfinite(wav))
    assert 0.01 < np.abs(wav).max() <= 1.0


def test_auto_falls_back_to_griffin_lim_for_other_mel():
    voc = build_vocoder("auto", "{fs: 48000, n_fft: 2048, hop_length: 256, win_length: 2048, n_mels: 80, fmin: 0, fmax: 24000}")
    assert voc.name == "griffin_lim"
    with pytest.raises(ValueError, match="needs the mel config"):
        build_vocoder("hifigan_pretrained", "{fs: 48000}")


def test_reference_key_map_is_complete():
    ref = torch.load(pretrained_weight_path(), map_location="cpu", weights_only=False)["generator"]
    mapped = map_reference_keys(ref)
    assert set(mapped) == set(build_generator().state_dict())


def test_user_checkpoint_roundtrip_and_bad_keys(tmp_path):
    gen = build_generator({"channels": 32})
    state = gen.state_dict()
    torch.save({"generator": state, "generator_conf": {"channels": 32},
                "mel_transform": {"scale": 1.0, "floor": None}}, tmp_path / "ok.pth")
    voc = build_vocoder("hifigan", CONF, checkpoint=str(tmp_path / "ok.pth"))
    assert len(voc(np.zeros((5, 80), np.float32) - 4)) == 5 * 256
    bad = dict(state)
    bad["unexpected.weight"] = torch.zeros(1)
    torch.save({"generator": bad, "generator_conf": {"channels": 32}}, tmp_path / "bad.pth")
    with pytest.raises(KeyError, match="bad.pth.*unexpected keys: unexpected.weight"):
        build_vocoder("hifigan", CONF, checkpoint=str(tmp_path / "bad.pth"))
    missing = {k: v for k, v in state.items() if not k.startswith("output_conv")}
    torch.save(missing, tmp_path / "missing.pth")  # bare state dict, V1 channels assumed -> shape + missing errors
    with pytest.raises(KeyError, match="missing keys: output_conv"):
        build_vocoder("hifigan", CONF, checkpoint=str(tmp_path / "missing.pth"))
    torch.save({"generator": state, "generator_conf": {"channels": 32},
                "fbank_conf": {"fs": 48000, "n_fft": 1024, "hop_length": 256}}, tmp_path / "other_mel.pth")
    with pytest.raises(ValueError, match="another mel config"):
        build_vocoder("hifigan", CONF, checkpoint=str(tmp_path / "other_mel.pth"))
