"""Lip-reading head (svs/lip_reading_head.py) and PerformSinger's duration_source: lipreader."""

import numpy as np
import pytest
import torch

from espnet2_ext.svs.lip_reading_head import LipReadingHead, lip_reading_loss, phone_logp
from espnet2_ext.svs.performsinger.duration_prior import durations_with_prior
from tests.unit.svs.test_performsinger_model import _infer_inputs, tiny_batch, tiny_model, video_timed_inference

FR, FPS = 100.0, 25.0  # 4 mel frames per video frame


def test_phone_logp_gathers_the_phone_classes_and_masks_padding():
    class_logp = torch.log_softmax(torch.randn(2, 5, 7), -1)  # (B, T_v, C)
    phones = torch.tensor([[3, 1, 3], [6, 0, 0]])
    pmask = torch.tensor([[True, True, True], [True, False, False]])
    vmask = torch.tensor([[True] * 5, [True, True, True, False, False]])
    out = phone_logp(class_logp, phones, pmask, vmask)
    assert out.shape == (2, 3, 5)
    assert torch.equal(out[0, 0], class_logp[0, :, 3]) and torch.equal(out[0, 2], class_logp[0, :, 3])
    assert torch.equal(out[0, 1], class_logp[0, :, 1])
    assert torch.equal(out[1, 0, :3], class_logp[1, :3, 6])
    assert (out[1, 1:] == 0).all() and (out[1, :, 3:] == 0).all()


def test_loss_prefers_the_true_classes():
    d = torch.tensor([[8.0, 4.0, 12.0]])  # mel frames -> video frames 2, 1, 3
    pmask = torch.ones(1, 3, dtype=torch.bool)
    vmask = torch.ones(1, 6, dtype=torch.bool)
    phones = torch.tensor([[1, 2, 3]])
    right = torch.full((1, 6, 4), -10.0)
    right[0, :2, 1], right[0, 2, 2], right[0, 3:, 3] = 0.0, 0.0, 0.0
    wrong = right.flip(1)  # the same frames in reverse order
    lr = lip_reading_loss(phone_logp(right, phones, pmask, vmask), d, pmask, vmask, FR, FPS)
    lw = lip_reading_loss(phone_logp(wrong, phones, pmask, vmask), d, pmask, vmask, FR, FPS)
    assert float(lr) < 1e-3 < float(lw)


def test_head_learns_visemes_and_the_forced_alignment_recovers_the_durations():
    """Frames show a noisy 'viseme' of their phone class; after training, forced alignment with the
    head's posteriors (no prior) must recover random durations to within a video frame."""
    torch.manual_seed(0)
    rng = np.random.default_rng(0)
    n_cls, dim = 6, 16
    protos = torch.randn(n_cls, dim)

    def sample():
        steps = rng.integers(1, n_cls - 1, 8)  # neighbours differ: a boundary must be visible
        phones = torch.from_numpy(1 + np.cumsum(steps) % (n_cls - 1))
        d_v = torch.from_numpy(rng.integers(2, 7, 8))  # video frames per phone
        cls = torch.repeat_interleave(phones, d_v)
        vf = protos[cls] + 0.3 * torch.randn(len(cls), dim)
        return phones, d_v, vf

    head = LipReadingHead(dim, n_cls, hidden=16)
    opt = torch.optim.Adam(head.parameters(), lr=1e-2)
    for _ in range(60):
        phones, d_v, vf = sample()
        pmask, vmask = torch.ones(1, 8, dtype=torch.bool), torch.ones(1, len(vf), dtype=torch.bool)
        lp = phone_logp(head(vf[None], torch.tensor([len(vf)])), phones[None], pmask, vmask)
        loss = lip_reading_loss(lp, d_v[None].float() * FR / FPS, pmask, vmask, FR, FPS)
        opt.zero_grad()
        loss.backward()
        opt.step()
    errs = []
    with torch.no_grad():
        for _ in range(5):
            phones, d_v, vf = sample()
            lp = phone_logp(head(vf[None], torch.tensor([len(vf)])), phones[None], torch.ones(1, 8, dtype=torch.bool),
                            torch.ones(1, len(vf), dtype=torch.bool))[0].numpy()
            n_mel = int(len(vf) * FR / FPS)
            d = durations_with_prior(lp, np.zeros(8), n_mel, FR, FPS, weight=0.0, sigma=0.5)
            errs += list(np.abs(np.cumsum(d) - np.cumsum(d_v.numpy() * FR / FPS)))
    assert float(loss.detach()) < 0.5
    assert np.mean(np.array(errs) <= FR / FPS) > 0.9  # boundaries within one video frame


def test_duration_source_lipreader_needs_the_head():
    with pytest.raises(ValueError, match="lip_reader_conf"):
        tiny_model(duration_source="lipreader")
    with pytest.raises(ValueError, match="use_visual"):
        tiny_model(use_visual=False, lip_reader_conf=dict(hidden=8))
    with pytest.raises(ValueError, match="unknown option"):
        tiny_model(lip_reader_conf=dict(hidden=8, layers=2))


@pytest.mark.parametrize("prior_weight,heads", [(0.0, 1), (3.0, 2)])
def test_lipreader_inference_is_duration_free_and_spans_the_video(prior_weight, heads):
    torch.manual_seed(0)
    model = tiny_model(lip_reader_conf=dict(hidden=8, heads=heads), duration_source="lipreader", frame_rate=FR,
                       video_fps=FPS, duration_prior=dict(weight=prior_weight, sigma=0.5))
    batch = tiny_batch()
    loss, stats, _ = model(**batch)
    assert "loss_L" in stats and torch.isfinite(stats["loss_L"])
    loss.backward()
    assert all(h.out.weight.grad.abs().sum() > 0 for h in model.lip_reader.heads)  # every head learns
    assert all(p.grad is None for p in model.lip_encoder.parameters())  # frozen encoder
    a = video_timed_inference(model, batch, FR, FPS)
    # the durations are those of the forced alignment through the head's posteriors
    model.set_duration_source("predictor")
    c = model.inference(**_infer_inputs(batch), steps=2, seed=1)
    assert not torch.equal(a["duration"], c["duration"])


def test_two_copies_of_one_head_read_and_learn_as_that_head():
    """L_L is the mean of the heads' own losses and the emission the mean posterior, so K copies of
    one head give the single head's loss and durations."""
    torch.manual_seed(0)
    one = tiny_model(lip_reader_conf=dict(hidden=8), duration_source="lipreader", frame_rate=FR, video_fps=FPS,
                     duration_prior=dict(weight=3.0, sigma=0.5))
    two = tiny_model(lip_reader_conf=dict(hidden=8, heads=2), duration_source="lipreader", frame_rate=FR,
                     video_fps=FPS, duration_prior=dict(weight=3.0, sigma=0.5))
    state = {k: v for k, v in one.state_dict().items() if not k.startswith("lip_reader.")}
    for j in range(2):
        state.update({f"lip_reader.heads.{j}.{k}": v for k, v in one.lip_reader.heads[0].state_dict().items()})
    two.load_state_dict(state)
    batch = tiny_batch()
    losses = []
    for m in (one, two):
        m.eval()
        torch.manual_seed(3)
        losses.append(m(**batch)[1]["loss_L"])
    assert torch.allclose(losses[0], losses[1], atol=1e-6)
    d = [video_timed_inference(m, batch, FR, FPS)["duration"] for m in (one, two)]
    assert torch.equal(d[0], d[1])


def test_single_head_checkpoints_from_before_heads_load_and_durations_only_stops_early():
    torch.manual_seed(0)
    model = tiny_model(lip_reader_conf=dict(hidden=8), duration_source="lipreader", frame_rate=FR, video_fps=FPS)
    old = {k.replace("lip_reader.heads.0.", "lip_reader."): v for k, v in model.state_dict().items()}
    assert "lip_reader.out.weight" in old
    other = tiny_model(lip_reader_conf=dict(hidden=8), duration_source="lipreader", frame_rate=FR, video_fps=FPS)
    other.load_state_dict(old)  # strict: every old key lands on head 0
    assert torch.equal(other.lip_reader.heads[0].out.weight, model.lip_reader.heads[0].out.weight)
    batch = tiny_batch()
    full = other.inference(**_infer_inputs(batch), steps=2, seed=1)
    short = other.inference(**_infer_inputs(batch), durations_only=True)
    # no mel, no F0: the durations and how surely the lips were read (confidence.py)
    assert set(short) == {"duration", "lip_confidence", "frame_confidence", "phone_confidence"}
    assert torch.equal(short["duration"], full["duration"])
    assert float(short["lip_confidence"]) == float(full["lip_confidence"])
