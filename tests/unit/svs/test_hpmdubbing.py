"""HPMDubbing(-P): forward/backward, video-tied inference length, never reads durations."""

import pytest
import torch

torch.set_num_threads(1)

from espnet2_ext.svs.hpmdubbing import HPMDubbing  # noqa: E402
from espnet2_ext.svs.alignment import monotonic_path  # noqa: E402
from espnet2_ext.svs.hpmdubbing.alignment import durations_from_attention  # noqa: E402
from espnet2_ext.svs.hpmdubbing.length import mel_length_from_video  # noqa: E402

FFT = dict(layers=1, heads=2, linear_units=32, kernel_size=3, dropout=0.0)


class Trap(dict):
    """A duration dict that fails the test when the model reads it."""

    def __getitem__(self, k):
        raise AssertionError(f"model read duration[{k!r}]")

    def get(self, k, d=None):
        raise AssertionError(f"model read duration[{k!r}]")


def model(use_pitch=True, postnet=False):
    torch.manual_seed(0)
    return HPMDubbing(
        idim=30, odim=20, hidden=16, use_pitch=use_pitch, text_encoder_conf=FFT, lip_fft_conf=FFT,
        decoder_conf=FFT, lip_encoder_conf=dict(frontend_channels=4, trunk_channels=4, output_dim=16),
        cross_heads=2, use_postnet=postnet, fs=22050, hop_length=256, video_fps=25,
    )


def batch():
    torch.manual_seed(1)
    lab = torch.randint(1, 30, (2, 6))
    ll = torch.tensor([6, 4])
    lab[1, 4:] = 0
    mid = torch.randint(50, 70, (2, 6))
    return dict(
        text=lab, text_lengths=ll, feats=torch.randn(2, 60, 20), feats_lengths=torch.tensor([60, 45]),
        label={"lab": lab}, label_lengths={"lab": ll}, melody={"lab": mid}, melody_lengths={"lab": ll},
        duration=Trap(), duration_lengths=Trap(), spembs=torch.randn(2, 256),
        lip=torch.randn(2, 18, 88, 88), lip_lengths=torch.tensor([18, 13]), flag_IsValid=False, slur=None,
    )


@pytest.mark.parametrize("use_pitch,postnet", [(False, False), (True, True)])
def test_forward_backward_finite(use_pitch, postnet):
    m = model(use_pitch, postnet)
    loss, stats, weight = m(**batch())
    assert torch.isfinite(loss).all() and int(weight) == 2
    assert {"l1_loss", "ctc_loss", "loss"} <= set(stats)
    assert ("postnet_l1_loss" in stats) == postnet
    loss.sum().backward()
    assert m.lip_encoder.frontend3D[0].weight.grad.abs().sum() > 0
    assert m.phone_embed.weight.grad.abs().sum() > 0
    if use_pitch:
        assert m.pitch_embed.weight.grad.abs().sum() > 0


def test_padding_does_not_change_the_loss_of_a_single_utterance():
    m = model().eval()
    b = batch()
    full, _, _ = m(**b)
    b1 = batch()
    b1["lip"][1, 13:] = 50.0  # garbage in padded video frames
    b1["feats"][1, 45:] = 50.0  # and in padded mel frames
    again, _, _ = m(**b1)
    assert torch.allclose(full, again, atol=1e-5)


def test_pitch_embedding_changes_output_only_for_p_variant():
    for use_pitch in (False, True):
        m = model(use_pitch).eval()
        b = batch()
        b2 = batch()
        b2["melody"] = {"lab": b["melody"]["lab"] + 5}
        diff = (m(**b)[0] - m(**b2)[0]).abs().item()
        assert (diff > 0) == use_pitch


def test_inference_length_follows_video_and_ignores_durations():
    m = model().eval()
    b = batch()
    for t_v in (18, 25, 31):
        out = m.inference(
            text=b["text"][0], label={"lab": b["text"][0]}, melody={"lab": b["melody"]["lab"][0]},
            duration=Trap(), spembs=b["spembs"][0], lip=torch.randn(t_v, 88, 88),
        )
        t = round(t_v * 22050 / 256 / 25)
        assert out["feat_gen"].shape == (t, 20) and mel_length_from_video(t_v, 22050, 256, 25) == t
        assert out["attn"].shape == (6, t_v)
        assert out["duration"].shape == (6,) and int(out["duration"].sum()) == t
        assert (out["duration"] >= 1).all()


def test_monotonic_path_and_durations():
    attn = torch.full((3, 10), 0.01)
    attn[0, :2] = 1
    attn[1, 2:7] = 1
    attn[2, 7:] = 1
    attn[0, 8] = 5  # a stray late peak on phone 0 must not break monotonicity
    path = monotonic_path(attn.numpy())
    assert path.tolist() == [0, 0, 1, 1, 1, 1, 1, 2, 2, 2]
    d = durations_from_attention(attn, 75)
    assert d.tolist() == [15, 37, 23]  # boundaries 2, 7, 10 video frames * 7.5 (round half to even) and int(d.sum()) == 75


def test_missing_lip_is_a_clear_error():
    b = batch()
    b["lip"] = None
    with pytest.raises(ValueError, match="lip"):
        model()(**b)
