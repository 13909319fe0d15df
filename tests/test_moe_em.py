"""softlib.chapters.moe.em: EM recovers the truth, never lowers the likelihood, and refuses bad input."""

import numpy as np
import pytest

from softlib.chapters.moe import density_hellinger, fit_em, paper1_truth, start_near, topk_truth, voronoi_loss


def test_em_recovers_paper1_truth_on_large_n():
    truth = paper1_truth()
    x, y = truth.sample(50000, np.random.default_rng(0))
    fit = fit_em(x, y, k=2, n_starts=3, rng=np.random.default_rng(1))
    assert fit.converged
    # Parametric rate: errors of order n^-1/2 = 0.0045 times the parameters' scale.
    assert voronoi_loss(fit.model, truth) < 0.1
    order = np.argsort(fit.model.a[:, 0])
    assert np.allclose(fit.model.a[order, 0], truth.a[:, 0], atol=0.2)
    assert np.allclose(fit.model.b[order], truth.b, atol=0.1)
    assert np.allclose(fit.model.sigma[order], truth.sigma, rtol=0.05)
    # The likelihood of the fit is at least that of the truth (it is the maximiser).
    assert fit.log_likelihood >= truth.log_likelihood(x, y)


@pytest.mark.parametrize("accelerate", [False, True])
def test_likelihood_never_decreases(accelerate):
    truth = paper1_truth()
    rng = np.random.default_rng(5)
    x, y = truth.sample(3000, rng)
    start = start_near(truth, 3, rng, (0.3, 0.3), split=0)
    fit = fit_em(x, y, 3, init=start, max_iter=300, accelerate=accelerate)
    assert np.all(np.diff(fit.history) >= -1e-12)


def test_topk_em_recovers_topk_truth():
    truth = topk_truth()
    rng = np.random.default_rng(2)
    x, y = truth.sample(20000, rng)
    fit = fit_em(x, y, 3, top_k=2, init=start_near(truth, 3, rng, (0.2, 0.2)))
    # The search moves the selection boundary, so the fit beats the truth's likelihood.
    assert fit.log_likelihood >= truth.log_likelihood(x, y)
    assert np.allclose(fit.model.a[:, 0], truth.a[:, 0], atol=0.1)
    assert np.allclose(fit.model.b, truth.b, atol=0.1)
    # The gate's slopes are the hardest part (each pair of experts mixes over half the inputs only).
    assert voronoi_loss(fit.model, truth) < 1.0 and density_hellinger(fit.model, truth) < 0.03


def test_loose_tolerance_stops_early():
    truth = paper1_truth()
    rng = np.random.default_rng(7)
    x, y = truth.sample(5000, rng)
    start = start_near(truth, 3, rng, (0.3, 0.3), split=1)
    loose = fit_em(x, y, 3, init=start, tol=1e-6, accelerate=False)
    tight = fit_em(x, y, 3, init=start, tol=1e-10, max_iter=5000)
    assert loose.n_iter < tight.n_iter and loose.log_likelihood < tight.log_likelihood


def test_bad_input_is_refused():
    x = np.linspace(0, 1, 100)
    y = np.zeros(100)
    with pytest.raises(ValueError, match="k must"):
        fit_em(x, y, 0)
    with pytest.raises(ValueError, match="too few"):
        fit_em(x[:5], y[:5], 3)
    with pytest.raises(ValueError, match="finite"):
        fit_em(np.r_[x[:-1], np.nan], y, 2)
    with pytest.raises(ValueError, match="expected k=3"):
        fit_em(x, y, 3, init=paper1_truth())
    with pytest.raises(TypeError, match="GaussianMoE"):
        fit_em(x, y, 2, init=[1, 2])
