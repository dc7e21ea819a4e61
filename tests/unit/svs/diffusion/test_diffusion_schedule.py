"""Schedule tables, q_sample statistics, posterior consistency and the sampling grid."""

import pytest
import torch

from espnet2_ext.svs.diffusion.samplers import timestep_grid
from espnet2_ext.svs.diffusion.schedule import DiffusionSchedule, make_betas

torch.set_num_threads(1)


@pytest.mark.parametrize("kind", ["linear", "cosine"])
def test_alphas_cumprod_monotone(kind):
    s = DiffusionSchedule(kind, 100, 1e-4, 0.06)
    abar = s.alphas_cumprod
    assert abar.shape == (100,)
    assert torch.all(abar[1:] < abar[:-1])
    assert 0.0 < float(abar[-1]) and float(abar[0]) < 1.0


def test_linear_betas_endpoints_and_final_signal():
    b = make_betas("linear", 100, 1e-4, 0.06)
    assert float(b[0]) == pytest.approx(1e-4) and float(b[-1]) == pytest.approx(0.06)
    s = DiffusionSchedule("linear", 100, 1e-4, 0.06)
    # DiffSinger's schedule leaves ~5 % of the signal power at the last step
    assert 0.03 < float(s.alphas_cumprod[-1]) < 0.07


def test_bad_schedule_arguments_raise():
    with pytest.raises(ValueError, match="beta_schedule"):
        make_betas("quadratic", 10)
    with pytest.raises(ValueError):
        make_betas("linear", 10, 0.1, 0.01)
    with pytest.raises(ValueError):
        make_betas("linear", 0)


def test_q_sample_statistics():
    s = DiffusionSchedule("linear", 100)
    g = torch.Generator().manual_seed(0)
    n = 200_000
    for t in (0, 30, 99):
        x0 = torch.full((n, 1), 0.7)
        tb = torch.full((n,), t, dtype=torch.long)
        xt = s.q_sample(x0, tb, torch.randn(n, 1, generator=g))
        abar = float(s.alphas_cumprod[t])
        assert float(xt.mean()) == pytest.approx(0.7 * abar ** 0.5, abs=0.01)
        assert float(xt.std()) == pytest.approx((1 - abar) ** 0.5, rel=0.02, abs=0.002)


def test_predict_x0_inverts_q_sample():
    s = DiffusionSchedule("linear", 100)
    x0, eps = torch.randn(4, 5, 3), torch.randn(4, 5, 3)
    t = torch.tensor([0, 10, 50, 99])
    xt = s.q_sample(x0, t, eps)
    torch.testing.assert_close(s.predict_x0(xt, t, eps), x0, atol=1e-3, rtol=1e-4)
    torch.testing.assert_close(s.predict_eps(xt, t, x0), eps, atol=2e-2, rtol=1e-3)


def test_posterior_preserves_marginals():
    """x_t ~ q(x_t | x0) then x_{t-1} ~ q(x_{t-1} | x_t, x0) must be distributed as q(x_{t-1} | x0)."""
    s = DiffusionSchedule("linear", 100)
    g = torch.Generator().manual_seed(1)
    n, t = 200_000, 40
    x0 = torch.full((n, 1), -0.5)
    tb = torch.full((n,), t, dtype=torch.long)
    xt = s.q_sample(x0, tb, torch.randn(n, 1, generator=g))
    mean, log_var = s.q_posterior(x0, xt, tb)
    x_prev = mean + (0.5 * log_var).exp() * torch.randn(n, 1, generator=g)
    abar_prev = float(s.alphas_cumprod[t - 1])
    assert float(x_prev.mean()) == pytest.approx(-0.5 * abar_prev ** 0.5, abs=0.01)
    assert float(x_prev.var()) == pytest.approx(1 - abar_prev, rel=0.02)


def test_posterior_at_step_zero_is_x0():
    s = DiffusionSchedule("linear", 100)
    x0, xt = torch.randn(2, 4, 3), torch.randn(2, 4, 3)
    mean, _ = s.q_posterior(x0, xt, torch.zeros(2, dtype=torch.long))
    torch.testing.assert_close(mean, x0)


def test_timestep_grid():
    assert timestep_grid(99, 10)[0] == 99 and timestep_grid(99, 10)[-1] == 0
    assert len(timestep_grid(99, 10)) == 10
    assert timestep_grid(99, 1) == [99]
    assert timestep_grid(4, 10) == [4, 3, 2, 1, 0]
    g = timestep_grid(59, 7)
    assert g == sorted(set(g), reverse=True)
    with pytest.raises(ValueError):
        timestep_grid(99, 0)


def test_logsnr_grid_spreads_log_snr_evenly():
    from espnet2_ext.svs.diffusion.samplers import logsnr_grid

    s = DiffusionSchedule("linear", 100)
    g = logsnr_grid(s, 99, 10)
    assert g[0] == 99 and g[-1] == 0 and g == sorted(set(g), reverse=True) and len(g) == 10
    abar = s.alphas_cumprod.double()
    lam = 0.5 * torch.log(abar / (1 - abar))

    def max_over_mean_gap(grid):
        gaps = torch.diff(lam[grid])
        return float(gaps.max() / gaps.mean())

    # the even-in-t grid crams most of the log-SNR range into its last interval
    assert max_over_mean_gap(g) < 2.0 < max_over_mean_gap(timestep_grid(99, 10))
