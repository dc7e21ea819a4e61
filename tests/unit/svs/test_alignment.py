"""Guided phone-to-video alignment and timing readout of the fusion attention."""

import torch

from espnet2_ext.svs.alignment import attention_moments, guided_alignment_loss, video_overlap
from espnet2_ext.svs.fusion.vcfm import VCFM

RATE, FPS = 86.1328125, 25.0


def _durations():
    # three phones of 0.2 s, 0.4 s, 0.2 s in mel frames -> 5, 10, 5 video frames
    return torch.tensor([[0.2, 0.4, 0.2]]) * RATE


def test_video_overlap_covers_each_frame_once():
    d = _durations()
    ov = video_overlap(d, torch.ones(1, 3), 20, RATE, FPS)  # (1, 3, 20)
    assert torch.allclose(ov.sum(1), torch.ones(1, 20), atol=1e-4)
    assert torch.allclose(ov.sum(-1), torch.tensor([[5.0, 10.0, 5.0]]), atol=1e-3)


def _diagonal_attention(spans, t_v):
    attn = torch.zeros(1, len(spans), t_v)
    for n, (a, b) in enumerate(spans):
        attn[0, n, a:b] = 1.0 / (b - a)
    return attn


def test_guided_loss_prefers_the_true_alignment():
    d = _durations()
    pmask, vmask = torch.ones(1, 3, dtype=torch.bool), torch.ones(1, 20, dtype=torch.bool)
    right = _diagonal_attention([(0, 5), (5, 15), (15, 20)], 20)
    wrong = _diagonal_attention([(15, 20), (5, 15), (0, 5)], 20)
    uniform = torch.full((1, 3, 20), 1 / 20)
    l_right = guided_alignment_loss(right, d, pmask, vmask, RATE, FPS)
    l_wrong = guided_alignment_loss(wrong, d, pmask, vmask, RATE, FPS)
    l_uniform = guided_alignment_loss(uniform, d, pmask, vmask, RATE, FPS)
    assert l_right < 1e-4 < l_uniform < l_wrong


def test_attention_moments_recover_phone_length():
    attn = _diagonal_attention([(0, 5), (5, 15), (15, 20)], 20)
    centre, spread = attention_moments(attn, torch.ones(1, 20, dtype=torch.bool))
    assert torch.allclose(centre, torch.tensor([[2.5, 10.0, 17.5]]))
    lengths = torch.sqrt(12 * spread ** 2 + 1)
    assert torch.allclose(lengths, torch.tensor([[5.0, 10.0, 5.0]]), rtol=0.02)


def test_vcfm_position_and_readout_make_output_depend_on_timing():
    torch.manual_seed(0)
    vcfm = VCFM(16, 8, dict(blocks=1, heads=2, dropout=0.0)).eval()
    content = torch.randn(1, 3, 16)
    visual = torch.randn(1, 12, 8)
    lengths_c, lengths_v = torch.tensor([3]), torch.tensor([12])
    out = vcfm(content, lengths_c, visual, lengths_v).fused
    # the same frames in another order: with positional encoding the fused content must change
    perm = torch.randperm(12)
    out_perm = vcfm(content, lengths_c, visual[:, perm], lengths_v).fused
    assert not torch.allclose(out, out_perm, atol=1e-4)
    plain = VCFM(16, 8, dict(blocks=1, heads=2, dropout=0.0, pos_enc=False, rel_pos_enc=False, time_readout=False)).eval()
    a = plain(content, lengths_c, visual, lengths_v).fused
    b = plain(content, lengths_c, visual[:, perm], lengths_v).fused
    assert torch.allclose(a, b, atol=1e-5)  # eq. 4-6 alone are blind to frame order


def test_vcfm_path_prior_covers_the_video():
    torch.manual_seed(0)
    vcfm = VCFM(16, 8, dict(blocks=1, heads=2, dropout=0.0, path_readout=True)).eval()
    out = vcfm(torch.randn(2, 5, 16), torch.tensor([5, 3]), torch.randn(2, 12, 8), torch.tensor([12, 7]))
    assert out.duration_prior.shape == (2, 5) and out.duration_gate.shape == (2, 5)
    # every video frame goes to exactly one phone on the monotonic path; padding gets nothing
    assert out.duration_prior.sum(1).tolist() == [12.0, 7.0]
    assert (out.duration_prior[1, 3:] == 0).all() and (out.duration_prior[:, :3] >= 1).all()
