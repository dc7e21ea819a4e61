"""HiFi-GAN training: a couple of steps, checkpoints, resume, and loading the result as a vocoder."""

import numpy as np
import pytest
import soundfile as sf
import torch

from espnet2_ext.vocoder.build import build_vocoder
from espnet2_ext.vocoder.train import train

torch.set_num_threads(1)
CONF = "{fs: 22050, n_fft: 1024, hop_length: 256, win_length: 1024, n_mels: 80, fmin: 0, fmax: 8000}"


def test_train_resume_and_load(tmp_path):
    t = np.arange(22050) / 22050
    sf.write(tmp_path / "a.wav", (0.3 * np.sin(2 * np.pi * 220 * t)).astype(np.float32), 22050)
    (tmp_path / "wav.scp").write_text(f"a {tmp_path / 'a.wav'}\n")
    conf = {"batch_size": 1, "segment_frames": 8, "save_interval": 1}
    out = tmp_path / "voc"
    gen_path = train(str(tmp_path / "wav.scp"), CONF, str(out), max_steps=1, init="pretrained", train_conf=conf)
    ck = torch.load(out / "checkpoint.pth", map_location="cpu", weights_only=False)
    assert ck["step"] == 1 and ck["mel_transform"]["scale"] == pytest.approx(np.log(10))
    with pytest.raises(FileExistsError):
        train(str(tmp_path / "wav.scp"), CONF, str(out), max_steps=2, train_conf=conf)
    train(str(tmp_path / "wav.scp"), CONF, str(out), max_steps=2, resume=True, train_conf=conf)
    assert torch.load(gen_path, map_location="cpu", weights_only=False)["step"] == 2
    voc = build_vocoder("auto", CONF, checkpoint=str(gen_path))
    wav = voc(np.full((6, 80), -3.0, np.float32))
    assert voc.name == "hifigan" and len(wav) == 6 * 256 and np.all(np.isfinite(wav))
