"""softlib.chapters.moe.multinomial: the model, its gradient, ML and EM fits, Voronoi losses."""

import numpy as np
import pytest
from scipy.optimize import check_grad

from softlib.chapters.moe.multinomial import (
    MultinomialMoE, _Problem, _pack, fit_multinomial, multinomial_cells, multinomial_compensated_path,
    multinomial_fisher, multinomial_parameter_errors, multinomial_profile_kl, multinomial_replication,
    multinomial_split_point, multinomial_start_near, multinomial_truth, multinomial_voronoi_loss,
)


def truth(inputs="identity"):
    return MultinomialMoE([0.0, 0.0], [[3.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
                          [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]], inputs=inputs)


def test_probabilities_and_sampling_agree():
    t = truth()
    x = np.full((20000, 1), 0.3)
    rng = np.random.default_rng(1)
    cdf = np.cumsum(t.class_probs(x), axis=1)
    y = np.minimum((cdf < rng.random(x.shape[0])[:, None]).sum(axis=1), 2)
    freq = np.bincount(y, minlength=3) / y.size
    assert np.allclose(freq, t.class_probs(x[:1])[0], atol=0.015)   # 4 standard errors at n = 2e4


@pytest.mark.parametrize("inputs", ["identity", "tanh"])
def test_gradient_is_exact(inputs):
    t = truth(inputs)
    x, y = t.sample(300, np.random.default_rng(2))
    p = _Problem(x, y, 2, 3, inputs)
    th = _pack(t) + 0.1 * np.random.default_rng(3).standard_normal(_pack(t).size)
    assert check_grad(lambda v: p.negloglik(v)[0], lambda v: p.negloglik(v)[1], th) < 1e-6


def test_ml_and_em_reach_the_same_maximum_and_the_class_probabilities():
    t = truth()
    x, y = t.sample(2000, np.random.default_rng(4))
    start = multinomial_start_near(t, 2, np.random.default_rng(5), 0.1)
    ml = fit_multinomial(x, y, start)
    em = fit_multinomial(x, y, start, method="em", tol=1e-9, max_iter=300)
    assert ml.converged and ml.log_likelihood >= t.log_likelihood(x, y)      # the MLE beats the truth
    assert 0 <= ml.log_likelihood - em.log_likelihood < 1e-3
    # The class probabilities (the density) are estimated well even where the parameters are weakly
    # identified; 0.1 is 3 standard errors (sd <= 0.035) of a class frequency from the ~200 points that
    # fall in a tenth of the x range.
    grid = np.linspace(-1, 1, 11)[:, None]
    assert np.abs(ml.model.class_probs(grid) - t.class_probs(grid)).max() < 0.1


def test_voronoi_loss_is_translation_invariant_and_positive():
    t = truth()
    moved = t.replace(beta0=t.beta0 + 1.5, beta1=t.beta1 - 2.0)
    assert multinomial_voronoi_loss(moved, t) < 1e-12
    off = t.replace(eta0=t.eta0 + [[0.1, 0.0, 0.0], [0.0, 0.0, 0.0]])
    assert abs(multinomial_voronoi_loss(off, t) - 0.1) < 1e-9       # exp(beta0) = 1 times |d eta| = 0.1


def test_split_cells_and_d2():
    t = truth()
    s = multinomial_start_near(t, 3, np.random.default_rng(6), 0.0, split=[0])
    assert multinomial_cells(s, t).tolist() == [0, 1, 0]
    assert multinomial_voronoi_loss(s, t, "D2") < 1e-12                # the gate masses add up
    e = multinomial_parameter_errors(s, t)
    assert e["cell_size"].tolist() == [2, 1] and np.allclose(e["eta1"], 0)


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="S >= 3"):
        MultinomialMoE([0.0], [[0.0]], [[1.0, 0.0]], [[[0.0], [0.0]]])
    with pytest.raises(ValueError, match="pinned"):
        MultinomialMoE([0.0], [[0.0]], [[1.0, 0.0, 1.0]], [[[0.0], [0.0], [0.0]]])
    with pytest.raises(ValueError, match="labels"):
        truth().log_likelihood(np.zeros((2, 1)), [0, 3])
    with pytest.raises(ValueError, match="method"):
        fit_multinomial(np.zeros((5, 1)), [0, 1, 2, 0, 1], truth(), method="sgd")


def test_weighted_gradient_is_exact_and_scores_sum_to_it():
    t = multinomial_truth("tanh")
    x, y = t.sample(200, np.random.default_rng(7))
    w = np.random.default_rng(8).random(200)
    w /= w.sum()
    p = _Problem(x, y, 2, 3, "tanh", weights=w)
    th = _pack(t) + 0.1 * np.random.default_rng(9).standard_normal(_pack(t).size)
    assert check_grad(lambda v: p.negloglik(v)[0], lambda v: p.negloglik(v)[1], th) < 1e-6
    assert np.allclose(w @ p.scores(th), -p.negloglik(th)[1])


@pytest.mark.parametrize("inputs", ["identity", "tanh"])
def test_split_point_is_the_truth_and_is_far_in_voronoi_loss(inputs):
    t = multinomial_truth(inputs)
    s = multinomial_split_point(t, 1, [0.8, -0.8], share=0.3)
    x = np.random.default_rng(10).uniform(-2, 2, size=(300, 2))
    assert np.abs(s.class_probs(x) - t.class_probs(x)).max() < 1e-12
    assert multinomial_cells(s, t).tolist() == [0, 1, 1]
    assert multinomial_voronoi_loss(s, t, "D2") > 0.1


def test_split_point_refuses_bad_input():
    t = multinomial_truth()
    with pytest.raises(ValueError, match="vanishing slope"):
        multinomial_split_point(t, 0, [0.1, 0.1])
    with pytest.raises(ValueError, match="too large"):
        multinomial_split_point(t, 1, [0.0, 5.0])
    with pytest.raises(ValueError, match="share"):
        multinomial_split_point(t, 1, [0.1, 0.1], share=1.0)


def test_fisher_null_space_counts_follow_the_pde():
    # S + (S-1) d zero eigenvalues at a split point for the modified gate, d more for the standard gate
    # (eq. pde of the chapter); none exactly fitted.
    for inputs, expected in (("identity", 9), ("tanh", 7)):
        t = multinomial_truth(inputs)
        for point, zeros in ((t, 0), (multinomial_split_point(t, 1, [0.8, -0.8]), expected)):
            info = multinomial_fisher(point, m=3000)
            assert np.allclose(info, info.T)
            ev = np.linalg.eigvalsh(info)
            assert np.sum(ev < 1e-9 * ev.max()) == zeros, (inputs, point.k)


def test_compensated_path_and_profile_kl_orders():
    out = {}
    for inputs in ("identity", "tanh"):
        t = multinomial_truth(inputs)
        s = multinomial_split_point(t, 1, [0.8, -0.8])
        path, info = multinomial_compensated_path(s, 1, [1.0, 0.0], m=3000)
        assert np.allclose(path(0.0).class_probs(np.zeros((1, 2))), t.class_probs(np.zeros((1, 2))))
        kl = multinomial_profile_kl(t, s, 1, [1.0, 0.0], [0.0, 0.1, 0.2], hold=[1, 2], m=800)
        assert abs(kl[0]) < 1e-12
        out[inputs] = (info, kl[2] / kl[1])
    assert out["identity"][0] < 1e-12 < 1e-6 < out["tanh"][0]
    assert out["identity"][1] > 10 and 3 < out["tanh"][1] < 6      # t^4 doubles 16-fold, t^2 4-fold


def test_replication_returns_finite_errors():
    e = multinomial_replication({"inputs": "identity", "k": 3, "noise": 0.3}, 500, 1)
    assert e["converged"] in (0.0, 1.0) and all(np.isfinite(v) for v in e.values())
    with pytest.raises(ValueError, match="spec"):
        multinomial_replication({"inputs": "identity", "k": 4, "noise": 0.3}, 500, 1)
