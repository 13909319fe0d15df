"""softlib.chapters.theory.comp_sum: the comp-sum losses, their gradients, conditional risks and
calibration."""

import math

import numpy as np
import pytest
from scipy.optimize import minimize

import softlib
from softlib.chapters.theory import (
    calibration_closed_form,
    calibration_envelope,
    calibration_numeric,
    calibration_two_class,
    comp_sum_loss,
    comp_sum_loss_grad,
    conditional_bayes_risk,
    conditional_risk,
    conditional_risk_grad,
    h_consistency_bound,
    minimizability_gap,
)
from softlib.chapters.theory.comp_sum import _regret_predicting

TAUS = [0.0, 0.5, 1.0, 1.5, 2.0, 3.0]


def phi(u, tau):
    """Phi^tau straight from its definition (Mao, Mohri & Zhong 2023); inf where it overflows."""
    with np.errstate(over="ignore"):
        return np.log1p(u) if tau == 1 else ((1 + u) ** (1 - tau) - 1) / (1 - tau)


# ----------------------------------------------------------------------------------------- losses

@pytest.mark.parametrize("tau", TAUS)
def test_loss_matches_the_definition(tau):
    rng = np.random.default_rng(0)
    h = rng.normal(size=(50, 7)) * 2
    y = rng.integers(7, size=50)
    u = np.exp(h - h[np.arange(50), y][:, None]).sum(axis=1) - 1.0  # sum over y' != y
    np.testing.assert_allclose(comp_sum_loss(h, y, tau), phi(u, tau), rtol=1e-12)


def test_named_members_of_the_family():
    rng = np.random.default_rng(1)
    h = rng.normal(size=(20, 5))
    y = rng.integers(5, size=20)
    s = softlib.softmax(h)[np.arange(20), y]
    np.testing.assert_allclose(comp_sum_loss(h, y, 0.0), 1 / s - 1, rtol=1e-12)
    np.testing.assert_allclose(comp_sum_loss(h, y, 1.0), -np.log(s), rtol=1e-12)
    np.testing.assert_allclose(comp_sum_loss(h, y, 1.5), (1 - s ** 0.5) / 0.5, rtol=1e-12)
    np.testing.assert_allclose(comp_sum_loss(h, y, 2.0), 1 - s, rtol=1e-12)


def test_loss_is_stable_for_huge_logits_and_continuous_at_tau_one():
    h = np.array([[1000.0, -1000.0, 0.0]])
    assert comp_sum_loss(h, [1], 1.0)[0] == pytest.approx(2000.0, rel=1e-15)
    assert comp_sum_loss(h, [1], 2.0)[0] == 1.0
    assert comp_sum_loss(h, [0], 0.0)[0] == 0.0 and np.isfinite(comp_sum_loss(h, [1], 1.5)[0])
    assert comp_sum_loss(h, [1], 0.0)[0] == np.inf  # e^2000 overflows: the true value does too
    g = np.log([[0.3, 0.7]])
    near = [comp_sum_loss(g, [0], 1 + d)[0] for d in (-1e-9, 1e-9)]
    np.testing.assert_allclose(near, -np.log(0.3), rtol=1e-8)


@pytest.mark.parametrize("tau", TAUS)
def test_gradient_against_central_differences(tau):
    rng = np.random.default_rng(2)
    h = rng.normal(size=(6, 5))
    y = rng.integers(5, size=6)
    grad = comp_sum_loss_grad(h, y, tau)
    step = 1e-6
    numeric = np.empty_like(h)
    for j in range(5):
        e = np.zeros(5)
        e[j] = step
        numeric[:, j] = (comp_sum_loss(h + e, y, tau) - comp_sum_loss(h - e, y, tau)) / (2 * step)
    # central differences: truncation ~ step^2 * |l'''| and rounding ~ 1e-16 / step = 1e-10
    np.testing.assert_allclose(grad, numeric, rtol=1e-6, atol=1e-8)


def test_gradient_in_the_tails_is_finite():
    h = np.array([[60.0, -60.0, 0.0]])
    for tau in (1.0, 1.5, 2.0):
        assert np.all(np.isfinite(comp_sum_loss_grad(h, [1], tau)))
    # tau = 1: softmax minus one-hot
    np.testing.assert_allclose(comp_sum_loss_grad(h, [1], 1.0), softlib.softmax(h) - [[0, 1, 0]], atol=1e-15)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 2.0])
def test_conditional_risk_and_its_gradient(tau):
    rng = np.random.default_rng(3)
    h = rng.normal(size=(4, 6))
    p = rng.dirichlet(np.ones(6), size=4)
    by_label = np.stack([comp_sum_loss(h, np.full(4, k), tau) for k in range(6)], axis=-1)
    np.testing.assert_allclose(conditional_risk(h, p, tau), (p * by_label).sum(-1), rtol=1e-12)
    grads = np.stack([comp_sum_loss_grad(h, np.full(4, k), tau) for k in range(6)], axis=1)
    np.testing.assert_allclose(conditional_risk_grad(h, p, tau), np.einsum("rk,rkj->rj", p, grads), atol=1e-13)


def test_bad_input_is_refused():
    h = np.zeros((3, 4))
    with pytest.raises(ValueError, match="tau"):
        comp_sum_loss(h, [0, 1, 2], -0.5)
    with pytest.raises(ValueError, match="tau"):
        comp_sum_loss(h, [0, 1, 2], float("nan"))
    with pytest.raises(ValueError, match=r"labels must lie in \[0, 3\]"):
        comp_sum_loss(h, [0, 1, 4], 1.0)
    with pytest.raises(TypeError, match="integers"):
        comp_sum_loss(h, [0.0, 1.0, 2.0], 1.0)
    with pytest.raises(ValueError, match="shape"):
        comp_sum_loss_grad(h, [0, 1], 1.0)
    with pytest.raises(ValueError, match="at least 2 classes"):
        comp_sum_loss(np.zeros((3, 1)), [0, 0, 0], 1.0)
    with pytest.raises(ValueError, match="sum to 1"):
        conditional_bayes_risk([0.5, 0.6], 1.0)
    with pytest.raises(ValueError, match="tau <= 2"):
        calibration_closed_form(0.5, 3.0, 4)
    with pytest.raises(ValueError, match="n_classes"):
        calibration_numeric(0.5, 1.0, 1)
    with pytest.raises(ValueError, match=r"\[0, 1\]"):
        calibration_numeric(1.5, 1.0, 3)
    with pytest.raises(ValueError, match="non-negative"):
        h_consistency_bound(-0.1, 1.0, 3)
    with pytest.raises(ValueError, match="below the pointwise infimum"):
        minimizability_gap(0.0, np.array([[0.5, 0.5]]), 1.0)
    with pytest.raises(ValueError, match="tau <= 2"):
        conditional_bayes_risk([0.5, 0.5], 3.0, score_bound=1.0)


# ---------------------------------------------------------------------------- conditional Bayes risk

def direct_infimum(p, tau, bound=None, starts=4, seed=0):
    """inf over scores by multi-start L-BFGS-B (the scores of the last class fixed at the top or 0)."""
    n = len(p)
    rng = np.random.default_rng(seed)

    def risk(z):  # plain NumPy here: this runs thousands of times on 4 classes
        logs = z - np.logaddexp.reduce(z)
        with np.errstate(over="ignore"):
            return float(p @ phi(np.expm1(-logs), tau))

    best = np.inf
    for _ in range(starts):
        z0 = rng.uniform(-1, 1, size=n) * (bound if bound else 3)
        res = minimize(risk, z0, method="L-BFGS-B", bounds=[(-bound, bound)] * n if bound else None,
                       options=dict(ftol=1e-15, gtol=1e-12, maxiter=5000))
        best = min(best, res.fun)
    return best


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0, 1.5])
def test_bayes_risk_closed_form_against_direct_minimisation(tau):
    rng = np.random.default_rng(4)
    for p in rng.dirichlet(np.ones(4) * 2, size=3):
        assert conditional_bayes_risk(p, tau) == pytest.approx(direct_infimum(p, tau), abs=1e-7)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 2.0])
def test_bounded_bayes_risk_against_direct_minimisation(tau):
    rng = np.random.default_rng(5)
    for p in rng.dirichlet(np.ones(4), size=3):
        for bound in (0.5, 2.0):
            value = float(conditional_bayes_risk(p, tau, score_bound=bound))
            direct = direct_infimum(p, tau, bound=bound)
            # the solver's value is attained by feasible scores, so it can only beat L-BFGS-B, and by little
            assert value <= direct + 1e-9 and value == pytest.approx(direct, abs=1e-6)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 2.0])
def test_bounded_bayes_risk_of_deterministic_labels(tau):
    # the paper's Section 4: inf over [-L, L] scores of a one-hot row is Phi((n - 1) e^{-2 L})
    for n, bound in [(3, 0.3), (10, 1.0), (100, 3.0)]:
        onehot = np.eye(n)[0]
        assert conditional_bayes_risk(onehot, tau, score_bound=bound) == pytest.approx(
            phi((n - 1) * math.exp(-2 * bound), tau), rel=1e-10)


def test_bounded_risk_decreases_to_the_bayes_risk():
    p = np.array([0.6, 0.3, 0.1])
    bounds = np.array([0.2, 0.4, 0.6, 0.8, 1.0, 2.0])
    values = np.array([float(conditional_bayes_risk(p, 1.0, score_bound=b)) for b in bounds])
    assert np.all(np.diff(values) <= 1e-12)
    # the Bayes scores log p fit in the box once 2 L >= log(0.6 / 0.1)
    fits = 2 * bounds >= math.log(6)
    assert np.all(np.diff(values[~fits]) < 0)
    np.testing.assert_allclose(values[fits], conditional_bayes_risk(p, 1.0), atol=1e-10)


def test_minimizability_gap():
    probs = np.array([[1.0, 0.0, 0.0], [0.2, 0.5, 0.3]])
    inner = conditional_bayes_risk(probs, 1.0, score_bound=1.0)
    assert minimizability_gap(inner.mean() + 0.1, probs, 1.0, score_bound=1.0) == pytest.approx(0.1)
    w = np.array([0.25, 0.75])
    assert minimizability_gap(w @ inner, probs, 1.0, score_bound=1.0, weights=w) == pytest.approx(0, abs=1e-12)


# ----------------------------------------------------------------------------------- calibration

@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 2.0, 3.0])
def test_exact_inner_infimum_against_direct_minimisation(tau):
    rng = np.random.default_rng(6)
    for _ in range(6):
        n = int(rng.integers(2, 6))
        p = rng.dirichlet(np.ones(n) * 0.7)
        k = int(rng.integers(n))
        others = [j for j in range(n) if j != k]

        def risk(v):  # scores with h_k on top: h_j = -softplus(v_j)
            h = np.zeros(n)
            h[others] = -np.logaddexp(0, v)
            with np.errstate(over="ignore"):
                return float(p @ phi(np.expm1(np.logaddexp.reduce(h) - h), tau))

        best = min(minimize(risk, rng.normal(size=n - 1) * 3, method="Nelder-Mead",
                            options=dict(xatol=1e-12, fatol=1e-15, maxiter=20000)).fun for _ in range(6))
        exact = _regret_predicting(p, k, tau)
        direct = best - float(conditional_bayes_risk(p, tau))
        # exact is never above what a search finds; for tau <= 2 (convex in s) the search finds it
        assert exact <= direct + 1e-9
        if tau <= 2:
            assert exact == pytest.approx(direct, abs=1e-9)


def brute_force_calibration(t, tau, n, rng, samples=600, starts=6):
    """Random points of the simplex and SLSQP from random starts, with the exact inner infimum."""
    best = np.inf
    for p in rng.dirichlet(np.ones(n) * rng.choice([0.3, 1.0, 3.0]), size=samples):
        for k in np.flatnonzero(p <= p.max() - t):
            best = min(best, _regret_predicting(p, k, tau))
    cons = [dict(type="eq", fun=lambda q: q.sum() - 1), dict(type="ineq", fun=lambda q: q[0] - q[-1] - t),
            dict(type="ineq", fun=lambda q: q[0] - q[1:])]
    for _ in range(starts):
        p = np.sort(rng.dirichlet(np.ones(n)))[::-1]
        p[0], p[-1] = p[0] + t, max(p[-1] - t, 0)
        p /= p.sum()
        res = minimize(lambda q: _regret_predicting(np.clip(q, 0, 1) / np.clip(q, 0, 1).sum(), n - 1, tau), p,
                       method="SLSQP", bounds=[(0, 1)] * n, constraints=cons, options=dict(ftol=1e-14, maxiter=300))
        q = np.clip(res.x, 0, 1)
        q /= q.sum()
        if q[0] - q[-1] >= t - 1e-12 and np.all(q[0] >= q - 1e-12):
            best = min(best, _regret_predicting(q, n - 1, tau))
    return best


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 1.8, 2.0, 3.0])
@pytest.mark.parametrize("n", [3, 4])
def test_numeric_calibration_is_never_beaten_by_a_global_search(tau, n):
    rng = np.random.default_rng(7)
    ts = np.array([0.05, 0.3, 0.6, 0.9])
    numeric = calibration_numeric(ts, tau, n)
    for t, value in zip(ts, numeric):
        brute = brute_force_calibration(t, tau, n, rng)
        # numeric is an attained regret (>= the infimum); the global search found nothing lower.
        # 1e-5 relative: the golden-section tolerance on the family's parameter, measured ~1e-8.
        assert value <= brute * (1 + 1e-5) + 1e-12


@pytest.mark.parametrize("tau", [0.0, 0.5, 1.0])
@pytest.mark.parametrize("n", [2, 3, 10, 100])
def test_closed_form_is_tight_up_to_cross_entropy(tau, n):
    t = np.linspace(0, 1, 41)
    np.testing.assert_allclose(calibration_numeric(t, tau, n), calibration_closed_form(t, tau, n),
                               rtol=1e-8, atol=1e-14)


@pytest.mark.parametrize("n", [3, 10, 100])
def test_generalized_cross_entropy_closed_form_is_valid_but_loose(n):
    t = np.linspace(0.01, 1, 34)
    numeric = calibration_numeric(t, 1.5, n)
    closed = calibration_closed_form(t, 1.5, n)
    assert np.all(closed <= numeric)
    # the truth is the two-class form, (n/2)^(tau - 1) times the recalled one
    np.testing.assert_allclose(numeric, calibration_two_class(t, 1.5), rtol=1e-8)
    np.testing.assert_allclose(numeric / closed, (n / 2) ** 0.5, rtol=1e-8)


def test_mean_absolute_error_closed_form_tight_only_for_small_regret():
    n = 10
    t = np.linspace(0.01, 1, 100)
    numeric, closed = calibration_numeric(t, 2.0, n), calibration_closed_form(t, 2.0, n)
    assert np.all(closed <= numeric + 1e-15)
    small = t <= 1 / (n - 1)  # p = ((1+t)/n, ..., (1+t)/n, (1+t)/n - t) is a distribution only there
    np.testing.assert_allclose(numeric[small], closed[small], rtol=1e-8)
    assert np.all(numeric[t > 0.3] > 2 * closed[t > 0.3])


def test_recalled_formula_fails_above_two():
    # tau = 3, two classes, p = (0.8, 0.2), tied scores: regret 0.275 < t / n = 0.3
    assert _regret_predicting(np.array([0.8, 0.2]), 1, 3.0) == pytest.approx(0.275, abs=1e-15)
    assert calibration_numeric(0.6, 3.0, 2) == pytest.approx(0.275, abs=1e-12)


@pytest.mark.parametrize("tau", [0.0, 1.0, 1.5, 2.0])
def test_envelope_and_bound(tau):
    n = 10
    t = np.linspace(0, 1, 501)
    env = calibration_envelope(t, tau, n)
    assert np.all(env <= calibration_numeric(t, tau, n) + 1e-15)
    assert np.all(np.diff(env) >= -1e-15) and np.all(np.diff(env, 2) >= -1e-12)  # non-decreasing, convex
    eps = np.linspace(1e-3, float(env[-1]) * 0.99, 50)
    gamma = h_consistency_bound(eps, tau, n, calibration="numeric")
    np.testing.assert_allclose(calibration_envelope(gamma, tau, n), eps, rtol=1e-9)
    if tau <= 1:  # closed form and numeric agree, up to the envelope's node spacing
        assert np.all(np.abs(gamma - h_consistency_bound(eps, tau, n)) < 0.01)


def test_closed_form_gamma():
    eps = np.array([0.0, 1e-4, 0.01, 0.3, 0.9])
    np.testing.assert_allclose(h_consistency_bound(eps, 0.0, 5), np.sqrt(2 * eps - eps ** 2), atol=1e-15)
    np.testing.assert_allclose(h_consistency_bound(0.01, 2.0, 10), 0.1)
    t = np.array([0.1, 0.5, 0.9])
    for tau in (0.5, 1.0, 1.5):
        np.testing.assert_allclose(h_consistency_bound(calibration_closed_form(t, tau, 7), tau, 7), t, rtol=1e-12)
