"""SyncNet layout, checkpoint loading and LSE-C / LSE-D offsets."""

import numpy as np
import pytest
import torch

from espnet2_ext.metrics.lse import lse, lse_from_distances, mfcc, offset_distances
from espnet2_ext.metrics.syncnet import SyncNet, load_syncnet

torch.set_num_threads(1)


def test_public_key_layout_and_roundtrip(tmp_path):
    torch.manual_seed(0)
    model = SyncNet().eval()
    keys = set(model.state_dict())
    for k in ("netcnnaud.0.weight", "netcnnaud.18.weight", "netcnnaud.19.running_var", "netfcaud.3.weight",
              "netcnnlip.0.weight", "netcnnlip.18.weight", "netfclip.1.running_mean"):
        assert k in keys
    assert model.state_dict()["netcnnlip.0.weight"].shape == (96, 3, 5, 7, 7)
    assert model.state_dict()["netfcaud.0.weight"].shape == (512, 512)
    path = tmp_path / "syncnet_v2.model"
    torch.save(model.state_dict(), path)
    loaded = load_syncnet(str(path))
    x = torch.randn(2, 1, 13, 20)
    assert torch.allclose(loaded.forward_aud(x), model.forward_aud(x))
    assert loaded.forward_lip(torch.randn(1, 3, 5, 224, 224)).shape == (1, 1024)
    # a wrong key is an error naming the file
    bad = dict(model.state_dict())
    bad["extra.weight"] = torch.zeros(1)
    del bad["netfclip.3.bias"]
    torch.save(bad, tmp_path / "bad.model")
    with pytest.raises(KeyError, match="bad.model"):
        load_syncnet(str(tmp_path / "bad.model"))


def test_offset_distances_min_at_shift():
    rng = np.random.default_rng(0)
    emb = torch.from_numpy(rng.standard_normal((60, 8)))
    k = 4
    audio = torch.cat([torch.zeros(k, 8, dtype=emb.dtype), emb])[:60]  # audio lags by k windows
    r = lse_from_distances(offset_distances(emb, audio, 15))
    assert r["offset"] == k and r["lse_d"] == pytest.approx(0.0) and r["lse_c"] > 0


class EnergyNet:
    """Patched SyncNet towers: both embed the (z-normalised) log energy of the 5 frames of a window,
    the video one from pixel intensity, the audio one from MFCC c0 (log frame energy)."""

    video_channels = 1

    @staticmethod
    def _z(x):
        return (x - x.mean(1, keepdim=True)) / (x.std(1, keepdim=True) + 1e-6)

    def forward_lip(self, x):  # (B, 1, 5, H, W)
        return self._z(torch.log(x.mean(dim=(1, 3, 4)) + 1e-3))

    def forward_aud(self, x):  # (B, 1, 13, 20)
        return self._z(x[:, 0, 0, 0::4])


@pytest.mark.parametrize("k", [0, 3, -2])
def test_lse_offset_follows_audio_shift(k):
    rng = np.random.default_rng(1)
    n_frames = 50
    amp = np.exp(rng.uniform(np.log(0.02), np.log(0.5), n_frames))
    audio = np.concatenate([a * rng.standard_normal(640) for a in amp]).astype(np.float32)  # 16 kHz, 40 ms/frame
    video = np.stack([np.full((224, 224), 255 * a / amp.max()) for a in amp]).astype(np.uint8)
    shifted = np.roll(audio, k * 640)  # audio lags the video by k frames
    r = lse(EnergyNet(), video, shifted, fs=16000)
    assert r["offset"] == k
    assert r["lse_c"] > 0.5


def test_lse_with_loaded_random_syncnet_runs(tmp_path):
    torch.manual_seed(0)
    torch.save(SyncNet().state_dict(), tmp_path / "s.model")
    model = load_syncnet(str(tmp_path / "s.model"))
    rng = np.random.default_rng(0)
    frames = rng.integers(0, 255, (22, 224, 224, 3), dtype=np.uint8)
    wav = rng.standard_normal(int(22 / 25 * 22050)).astype(np.float32) * 0.1
    r = lse(model, frames, wav, fs=22050)
    assert np.isfinite(r["lse_d"]) and r["lse_c"] >= 0 and -15 <= r["offset"] <= 15
    with pytest.raises(ValueError, match="too short"):
        lse(model, frames[:10], wav, fs=22050)
    # 96 x 96 grayscale mouth crops are not what SyncNet takes: an error saying what to pass
    with pytest.raises(ValueError, match="face_crops"):
        lse(model, frames[:, :96, :96, 0], wav, fs=22050)


def test_face_track_crops_match_the_network_geometry(tmp_path):
    """Stage 3's face track of a demo video -> face crops whose geometry is the network's: a
    5-frame window reduces to one 1 x 1 x 1 feature per channel in the video tower of a SyncNet
    loaded from a checkpoint written here."""
    pytest.importorskip("mediapipe")
    from espnet2_ext.data.synth_video import encode_mp4, frame_shapes, mouth_tracks, render_frames
    from espnet2_ext.lip.landmark_roi import LandmarkRoiExtractor
    from espnet2_ext.metrics.lse import face_crops

    segs = [("SP", 0.0, 0.3), ("b", 0.3, 0.4), ("a", 0.4, 0.9), ("SP", 0.9, 1.2)]
    frames, _ = render_frames(frame_shapes(mouth_tracks(segs, 1.2), 30), np.random.default_rng(0))
    encode_mp4(frames, tmp_path / "v.mp4")
    track = LandmarkRoiExtractor()(tmp_path / "v.mp4")
    assert track.face_track.shape == (30, 3)
    torch.manual_seed(0)
    torch.save(SyncNet().state_dict(), tmp_path / "syncnet_v2.model")
    model = load_syncnet(str(tmp_path / "syncnet_v2.model"))
    crops = face_crops(tmp_path / "v.mp4", track.face_track)
    assert crops.shape == (30, 224, 224, model.video_channels) and crops.dtype == np.uint8
    window = torch.from_numpy(crops[:5].astype(np.float32)).permute(3, 0, 1, 2)[None]  # (1, 3, 5, 224, 224)
    with torch.no_grad():
        assert model.netcnnlip(window).shape == (1, 512, 1, 1, 1)
    # the box holds the face: the mouth (dark when open) lies in the lower half of the crop
    cx, cy, s = track.face_track[15]
    assert 0.2 * 192 < 2 * s < 192 and abs(cx - 96) < 40
    wav = np.random.default_rng(0).standard_normal(int(1.2 * 16000)).astype(np.float32) * 0.1
    r = lse(model, crops, wav, fs=16000, min_windows=4, vshift=3)
    assert np.isfinite(r["lse_d"])


def test_mfcc_shape():
    assert mfcc(np.zeros(16000, np.float32)).shape == (13, 99)
