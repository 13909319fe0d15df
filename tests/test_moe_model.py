"""softlib.chapters.moe.model: the Gaussian MoE density, its gate, sampling and bad input."""

import numpy as np
import pytest
from scipy import integrate

from softlib.chapters.moe import GaussianMoE, density_hellinger, gate_weights, paper1_truth, topk_truth


def test_density_integrates_to_one_over_y():
    for truth in (paper1_truth(), topk_truth()):
        for x0 in (truth.x_range[0] + 0.1, 0.3, truth.x_range[1] - 0.05):
            total, _ = integrate.quad(lambda y: truth.density([[x0]], [y])[0], -80, 80, limit=400, points=[-20, 0, 20])
            assert abs(total - 1) < 1e-8


def test_density_matches_the_formula_by_hand():
    m = GaussianMoE(beta0=[0.5, 0.0], beta1=[[1.0, -2.0], [0.0, 0.0]], a=[[1.0, 0.0], [0.0, 2.0]],
                    b=[0.0, 1.0], sigma=[0.5, 2.0])
    x = np.array([[0.3, -0.7]])
    y = np.array([0.4])
    logits = np.array([0.5 + 0.3 + 1.4, 0.0])
    w = np.exp(logits) / np.exp(logits).sum()
    mu = np.array([0.3, 1.0 - 1.4])
    var = np.array([0.5, 2.0])
    expected = np.sum(w * np.exp(-(y - mu) ** 2 / (2 * var)) / np.sqrt(2 * np.pi * var))
    assert np.isclose(m.density(x, y)[0], expected, rtol=1e-13)


def test_gate_is_invariant_under_translation():
    t = paper1_truth()
    x = np.linspace(0, 1, 11)[:, None]
    moved = t.replace(beta0=t.beta0 - 2.5, beta1=t.beta1 + 4.0)
    assert np.allclose(moved.gate(x), t.gate(x), rtol=1e-12, atol=0)
    tk = topk_truth()
    xk = np.linspace(-1, 1, 21)[:, None]
    assert np.allclose(tk.replace(beta0=tk.beta0 + 1.0, beta1=tk.beta1 - 3.0).gate(xk), tk.gate(xk), atol=1e-14)


def test_topk_gate_keeps_k_experts_and_renormalises():
    t = topk_truth()
    x = np.linspace(-1, 1, 41)[:, None]
    g = t.gate(x)
    assert np.all((g > 0).sum(axis=1) == 2) and np.allclose(g.sum(axis=1), 1)
    assert np.all(g[:, 1] > 0)                       # the middle expert is always selected
    assert np.all(g[x[:, 0] < -1e-9, 2] == 0) and np.all(g[x[:, 0] > 1e-9, 0] == 0)
    dense = gate_weights(t.beta0, t.beta1, x)
    assert np.all(dense > 0)


def test_sample_follows_the_model():
    t = paper1_truth()
    x, y = t.sample(40000, np.random.default_rng(3))
    assert x.shape == (40000, 1) and np.all((0 <= x) & (x <= 1))
    # Standardised by the mixture's conditional mean and variance, y has mean 0 and variance 1.
    w, mu = t.gate(x), t.means(x)
    mean = (w * mu).sum(axis=1)
    var = (w * (t.sigma + mu**2)).sum(axis=1) - mean**2
    z = (y - mean) / np.sqrt(var)
    assert abs(z.mean()) < 0.02 and abs(z.var() - 1) < 0.05   # 4 and 7 standard errors at n = 40000


def test_hellinger_is_zero_at_truth_and_grows_with_error():
    t = paper1_truth()
    assert density_hellinger(t, t) == 0.0
    h = [density_hellinger(t.replace(b=[15.0, -5.0 + e]), t) for e in (0.01, 0.1, 1.0)]
    assert 0 < h[0] < h[1] < h[2] < 1


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="variances"):
        GaussianMoE([0.0, 0.0], [[0.0], [0.0]], [[0.0], [0.0]], [0.0, 0.0], [1.0, -1.0])
    with pytest.raises(ValueError, match="beta1"):
        GaussianMoE([0.0, 0.0], [[0.0]], [[0.0], [0.0]], [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError, match="top_k"):
        paper1_truth().replace(top_k=3)
    with pytest.raises(ValueError, match="shape"):
        paper1_truth().density(np.zeros((3, 2)), np.zeros(3))
    with pytest.raises(ValueError, match="same length"):
        paper1_truth().density(np.zeros((3, 1)), np.zeros(2))
    with pytest.raises(ValueError, match="finite"):
        GaussianMoE([0.0, np.nan], [[0.0], [0.0]], [[0.0], [0.0]], [0.0, 0.0], [1.0, 1.0])
