"""SMA fusion: masks, monotonic attention, diagonal focus loss."""

import pytest
import torch

torch.set_num_threads(1)

from espnet2_ext.svs.fusion.abs_fusion import AbsFusion  # noqa: E402
from espnet2_ext.svs.fusion.sma import SMAFusion, diagonal_focus_loss, stepwise_monotonic  # noqa: E402


def run(seed=0):
    torch.manual_seed(seed)
    f = SMAFusion(32, 48, dict(heads=2, dropout=0.0))
    c, v = torch.randn(2, 9, 32), torch.randn(2, 40, 48)
    nl, tl = torch.tensor([9, 5]), torch.tensor([40, 23])
    return f, f(c, nl, v, tl), c, v, nl, tl


def test_shapes_masks_and_rows():
    f, out, c, v, nl, tl = run()
    assert isinstance(f, AbsFusion)
    assert out.fused.shape == (2, 9, 32) and out.attn.shape == (2, 9, 40)
    assert out.fused[1, 5:].abs().sum() == 0
    assert out.attn[1, 5:].abs().sum() == 0 and out.attn[1, :, 23:].abs().sum() == 0
    assert torch.allclose(out.attn[0].sum(-1), torch.ones(9), atol=1e-4)
    assert torch.allclose(out.attn[1, :5].sum(-1), torch.ones(5), atol=1e-4)
    assert out.losses["diag"].dim() == 0 and torch.isfinite(out.losses["diag"])
    # the second utterance alone gives the same result (padding does not leak)
    alone = f(c[1:, :5], nl[1:], v[1:, :23], tl[1:])
    assert torch.allclose(alone.fused, out.fused[1:, :5], atol=1e-5)
    assert torch.allclose(alone.attn, out.attn[1:, :5, :23], atol=1e-5)


@pytest.mark.parametrize("seed", [0, 1, 2])
def test_attention_is_monotonic(seed):
    _, out, *_ = run(seed)
    for b, (n, t) in enumerate([(9, 40), (5, 23)]):
        centre = (out.attn[b, :n, :t] * torch.arange(t)).sum(-1)
        assert (centre[1:] - centre[:-1] > 0).all(), centre
        assert centre[0] < t / 3 and centre[-1] > 2 * t / 3  # spans the clip


def test_stepwise_recurrence_conserves_mass_and_moves_at_most_one_phone():
    stay = torch.rand(1, 1, 12, 4)
    alpha = stepwise_monotonic(stay, torch.tensor([4]))
    assert torch.allclose(alpha.sum(-1), torch.ones(1, 1, 12), atol=1e-5)
    assert alpha[0, 0, 1, 2:].abs().sum() == 0  # after one step at most phone 1 is reachable


def test_diagonal_loss_prefers_diagonal():
    n, t = 6, 30
    diag = torch.zeros(1, n, t)
    anti = torch.zeros(1, n, t)
    for i in range(n):
        diag[0, i, i * 5:(i + 1) * 5] = 0.2
        anti[0, n - 1 - i, i * 5:(i + 1) * 5] = 0.2
    nl, tl = torch.tensor([n]), torch.tensor([t])
    ld, la = diagonal_focus_loss(diag, nl, tl), diagonal_focus_loss(anti, nl, tl)
    assert ld < 0.05 and la > 0.5


def test_backward_and_diag_loss_can_be_reduced():
    f, out, c, v, nl, tl = run()
    opt = torch.optim.Adam(f.parameters(), lr=1e-2)
    first = float(out.losses["diag"].detach())
    for _ in range(15):
        out = f(c, nl, v, tl)
        opt.zero_grad()
        (out.losses["diag"] + 0 * out.fused.sum()).backward()
        opt.step()
    assert float(out.losses["diag"].detach()) < first
    assert all(torch.isfinite(p.grad).all() for p in f.parameters() if p.grad is not None)


def test_unknown_option_is_an_error():
    with pytest.raises(ValueError, match="unknown fusion_conf"):
        SMAFusion(32, 48, dict(head=2))
