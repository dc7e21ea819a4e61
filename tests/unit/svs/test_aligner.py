"""Lip-to-phone aligner (fusion/aligner.py, alignment.posterior_durations): loss, Viterbi path, sub-frame boundaries,
and duration-free inference with duration_source: aligner."""

import numpy as np
import pytest
import torch

from espnet2_ext.svs.alignment import monotonic_viterbi, posterior_durations, soft_counts, video_overlap
from espnet2_ext.svs.fusion.aligner import LipPhoneAligner, aligner_loss
from tests.unit.svs.test_performsinger_model import _infer_inputs, tiny_batch, tiny_model, video_timed_inference

FR, FPS = 100.0, 25.0  # 4 mel frames per video frame


def _posterior(d_mel, t_v):
    """Calibrated log p(n | t) (1, N, T_v) of GT durations d_mel: the frame-overlap fractions."""
    d = torch.tensor([d_mel], dtype=torch.float32)
    ov = video_overlap(d, torch.ones_like(d), t_v, FR, FPS)[0]  # (N, T_v)
    p = ov / ov.sum(0, keepdim=True).clamp(min=1e-6)
    return torch.log(p.clamp(min=1e-6))[None]


def test_viterbi_is_monotonic_and_covers_every_phone():
    rng = np.random.default_rng(0)
    logp = np.log(rng.dirichlet(np.ones(5), size=20).T)  # (5, 20) random posteriors
    path = monotonic_viterbi(logp)
    assert path[0] == 0 and path[-1] == 4
    assert set(np.diff(path)) <= {0, 1} and len(np.unique(path)) == 5


def test_calibrated_posteriors_give_sub_frame_boundaries():
    d_mel = [6, 10, 3, 13, 8]  # ends at 6, 16, 19, 32, 40 mel frames = 1.5, 4, 4.75, 8, 10 video frames
    logp = _posterior(d_mel, 10)
    counts = soft_counts(logp[0].numpy(), monotonic_viterbi(logp[0].numpy()))
    np.testing.assert_allclose(counts, np.array(d_mel) / 4.0, atol=1e-3)
    mask_c, mask_v = torch.ones(1, 5, dtype=torch.bool), torch.ones(1, 10, dtype=torch.bool)
    d = posterior_durations(logp, mask_c, mask_v, FR, FPS)
    assert d[0].tolist() == d_mel  # exact: the boundaries are read inside the 40 ms frames
    # a posterior that ignores the sub-frame split can only place boundaries on frame edges
    hard = torch.log(torch.nn.functional.one_hot(logp[0].argmax(0), 5).T.float().clamp(min=1e-6))[None]
    d_hard = posterior_durations(hard, mask_c, mask_v, FR, FPS)
    assert d_hard[0].sum() == 40 and d_hard[0].tolist() != d_mel


def test_loss_prefers_the_true_alignment_and_trains_the_aligner():
    torch.manual_seed(0)
    d = torch.tensor([[8, 12, 4, 16, 0], [10, 10, 10, 0, 0]])
    pmask = torch.tensor([[1, 1, 1, 1, 0], [1, 1, 1, 0, 0]], dtype=torch.bool)
    vmask = torch.tensor([[1] * 10, [1] * 8 + [0, 0]], dtype=torch.bool)
    true = torch.cat([_posterior([8, 12, 4, 16, 1e-3], 10), _posterior([10, 10, 10, 1e-3, 1e-3], 10)])
    wrong = true.flip(-1)
    assert aligner_loss(true, d, pmask, vmask, FR, FPS) < aligner_loss(wrong, d, pmask, vmask, FR, FPS)
    al = LipPhoneAligner(16, 12, conv_layers=1, kernel_size=3, dropout=0.0)
    cf, vf = torch.randn(2, 5, 16), torch.randn(2, 10, 12)
    logp = al(cf, pmask, vf, vmask)
    assert logp.shape == (2, 5, 10)
    p = logp.exp().masked_fill(~pmask[..., None], 0.0).sum(1)  # sums to 1 over valid phones per valid frame
    torch.testing.assert_close(p[vmask], torch.ones(int(vmask.sum())))
    opt = torch.optim.Adam(al.parameters(), lr=1e-2)
    first = None
    for _ in range(60):
        loss = aligner_loss(al(cf, pmask, vf, vmask), d, pmask, vmask, FR, FPS)
        first = float(loss.detach()) if first is None else first
        opt.zero_grad()
        loss.backward()
        opt.step()
    assert float(loss.detach()) < 0.5 * first


def test_duration_source_aligner_needs_the_aligner():
    with pytest.raises(ValueError, match="fusion_conf: {aligner: true}"):
        tiny_model(duration_source="aligner")
    with pytest.raises(ValueError, match="duration_source"):
        tiny_model(duration_source="oracle")


def test_aligner_inference_is_duration_free_and_spans_the_video():
    torch.manual_seed(0)
    model = tiny_model(fusion_conf=dict(blocks=1, aligner=True, aligner_layers=1, aligner_kernel=3),
                       duration_source="aligner", frame_rate=FR, video_fps=FPS)
    batch = tiny_batch()
    loss, stats, _ = model(**batch)
    assert "loss_V" in stats and torch.isfinite(stats["loss_V"])
    loss.backward()
    assert model.fusion.aligner.query.weight.grad.abs().sum() > 0
    video_timed_inference(model, batch, FR, FPS)  # runs end to end


@pytest.mark.parametrize("fusion", ["vcfm", "sma"])
def test_attention_durations_follow_the_fusion_attention(fusion):
    torch.manual_seed(0)
    conf = dict(blocks=1) if fusion == "vcfm" else dict(heads=2)
    model = tiny_model(fusion=fusion, fusion_conf=conf, duration_source="attention", frame_rate=FR, video_fps=FPS)
    with pytest.raises(ValueError, match="use_visual"):
        tiny_model(use_visual=False, duration_source="attention")
    batch = tiny_batch()
    _, stats, _ = model(**batch)  # L_V trains the attention normalised per video frame
    assert "loss_V" in stats and torch.isfinite(stats["loss_V"])
    model.eval()
    a = model.inference(**_infer_inputs(batch), steps=2, seed=1)
    b = model.inference(**_infer_inputs(batch, perturb_duration=True), steps=2, seed=1)
    assert torch.equal(a["duration"], b["duration"]) and torch.equal(a["feat_gen"], b["feat_gen"])
    n, t_v = a["attn"].shape
    logp = torch.log((a["attn"] / a["attn"].sum(0, keepdim=True)).clamp(min=1e-8))[None]
    expect = posterior_durations(logp, torch.ones(1, n, dtype=torch.bool), torch.ones(1, t_v, dtype=torch.bool), FR, FPS)[0]
    midi = batch["melody"]["lab"][0, :n]
    expect = torch.where(midi > 0, expect.clamp(min=1), expect)
    assert a["duration"].tolist() == expect.tolist()
    assert abs(int(a["duration"].sum()) - t_v * FR / FPS) <= n  # the song spans the video
