"""softlib.chapters.moe.gates: gate functions, DSelect-k, the temperature/activation Gaussian MoE and its
fit."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from softlib.chapters.moe.gates import (
    GatedGaussianMoE, dselect_weights, fit_gated_gaussian, gate_logits, gate_probs, gated_parameter_errors,
    gated_replication, smooth_step, temperature_truth, topk_softmax, _negloglik_gated, _pack_gated,
)

X = np.linspace(-1, 1, 7)[:, None]
B0, B1 = np.array([1.0, -0.5, 0.0]), np.array([[3.0], [-1.0], [0.0]])


@pytest.mark.parametrize("act", ["linear", "tanh", "sigmoid"])
@pytest.mark.parametrize("inputs", ["identity", "tanh", "sigmoid"])
def test_gate_probs_are_distributions(act, inputs):
    p = gate_probs(B0, B1, X, 0.7, act, inputs)
    assert p.shape == (7, 3) and np.all(p > 0) and np.allclose(p.sum(axis=1), 1.0)


def test_linear_gate_has_the_scale_ridge_and_activations_do_not():
    for c in (0.3, 2.0, 10.0):
        assert np.allclose(gate_probs(c * B0, c * B1, X, c * 0.5), gate_probs(B0, B1, X, 0.5), atol=1e-14)
        for act in ("tanh", "sigmoid"):
            assert not np.allclose(gate_probs(c * B0, c * B1, X, c * 0.5, act), gate_probs(B0, B1, X, 0.5, act))


def test_input_transform_is_applied_before_the_linear_layer():
    assert np.allclose(gate_logits(B0, B1, X, inputs="tanh"), np.tanh(X) @ B1.T + B0)


def test_gate_rejects_bad_input():
    with pytest.raises(ValueError, match="temperature"):
        gate_logits(B0, B1, X, tau=0.0)
    with pytest.raises(ValueError, match="activation"):
        gate_logits(B0, B1, X, act="relu6")
    with pytest.raises(ValueError, match="transform"):
        gate_logits(B0, B1, X, inputs="cube")
    with pytest.raises(ValueError, match="shape"):
        gate_logits(B0, B1, np.zeros((4, 2)))


def test_topk_softmax_matches_a_masked_softmax():
    z = np.array([[0.3, 2.0, -1.0, 1.5]])
    p = topk_softmax(z, 2)
    e = np.exp([2.0, 1.5])
    assert np.allclose(p, [[0, e[0] / e.sum(), 0, e[1] / e.sum()]])
    with pytest.raises(ValueError):
        topk_softmax(z, 5)


def test_smooth_step_is_c1_and_saturates():
    g = 0.8
    t = np.linspace(-1, 1, 2001)
    s = smooth_step(t, g)
    assert s[0] == 0 and s[-1] == 1 and np.all(np.diff(s) >= 0)
    ds = np.gradient(s, t)
    assert np.max(np.abs(np.diff(ds))) < 0.01        # no jump in the derivative
    assert abs(ds[1000] - 1.5 / g) < 1e-3             # S'(0) = 3 / (2 gamma)
    with pytest.raises(ValueError):
        smooth_step(t, 0.0)


def test_dselect_is_a_distribution_and_sparse_outside_the_band():
    rng = np.random.default_rng(0)
    for n_experts, k in ((8, 2), (5, 3), (16, 4)):
        m = int(np.ceil(np.log2(n_experts)))
        z = rng.normal(size=(k, m))
        w = dselect_weights(z, rng.normal(size=k), n_experts, gamma=1.0)
        assert w.shape == (n_experts,) and np.all(w >= 0) and abs(w.sum() - 1) < 1e-12
        hard = np.sign(z) * 2.0                        # every |z| >= gamma / 2: binary selections
        w = dselect_weights(hard, rng.normal(size=k), n_experts, gamma=1.0)
        assert np.count_nonzero(w) <= k
    with pytest.raises(ValueError):
        dselect_weights(np.zeros((2, 2)), np.zeros(2), 8)


def test_gated_gradient_is_exact():
    t = temperature_truth("tanh")
    x, y = t.sample(300, np.random.default_rng(1))
    theta = _pack_gated(t, True) + 0.05
    args = (x, y, 2, 1, "tanh", True, 0.5)
    err = check_grad(lambda th: _negloglik_gated(th, *args)[0], lambda th: _negloglik_gated(th, *args)[1], theta)
    assert err < 1e-6


def test_fit_recovers_the_activation_gate_and_stays_on_the_ridge_for_linear():
    t = temperature_truth("tanh")
    x, y = t.sample(20000, np.random.default_rng(2))
    e = gated_parameter_errors(fit_gated_gaussian(x, y, t.replace(tau=0.7)).model, t)
    assert e["tau"] < 0.05 and e["a"] < 0.05
    lin = temperature_truth("linear")
    x, y = lin.sample(20000, np.random.default_rng(3))
    start = lin.replace(tau=1.0, beta0=[2.0, 0.0], beta1=[[6.0], [0.0]])    # on the ridge, c = 2
    e = gated_parameter_errors(fit_gated_gaussian(x, y, start).model, lin)
    assert e["tau"] > 0.2 and e["beta_over_tau"] < 0.3


def test_model_rejects_bad_parameters():
    with pytest.raises(ValueError, match="positive"):
        GatedGaussianMoE([0.0, 0.0], [[1.0], [0.0]], -1.0, [[0.0], [0.0]], [0.0, 0.0], [1.0, 1.0])
    with pytest.raises(ValueError):
        GatedGaussianMoE([0.0, 0.0], [[1.0], [0.0]], 1.0, [[0.0]], [0.0, 0.0], [1.0, 1.0])


def test_replication_returns_errors():
    e = gated_replication({"act": "linear", "noise": 0.3}, 500, 7)
    assert set(e) >= {"tau", "beta_over_tau", "converged"} and all(v >= 0 for v in e.values())
