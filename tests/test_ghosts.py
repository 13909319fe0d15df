"""softlib.chapters.theory.ghosts and softlib.chapters.theory.mlp: Taylor radii, exact ghosts, safe steps,
slopes."""

import numpy as np
import pytest

from softlib.chapters.theory import (
    batch_taylor_radius,
    binary_radius,
    ghost_radius,
    loss_taylor_coefficients,
    mlp_init,
    mlp_logits,
    mlp_loss_grad,
    mlp_slopes,
    normalized_step,
    partition_zeros,
    safe_step,
    taylor_radius,
)


def polynomial_zeros(z, a, radius):
    """Zeros of sum_k exp(z_k + a_k tau) for integer slopes: logs of polynomial roots, all branches."""
    a = np.asarray(a, dtype=int)
    coef = np.zeros(a.max() - a.min() + 1)
    np.add.at(coef, a - a.min(), np.exp(z))
    roots = np.roots(coef[::-1])
    zeros = []
    for w in roots[np.abs(roots) > 0]:
        base = np.log(complex(w))
        m = int(np.ceil(radius / (2 * np.pi))) + 1
        zeros += [base + 2j * np.pi * k for k in range(-m, m + 1) if abs(base + 2j * np.pi * k) < radius]
    return np.array(sorted(zeros, key=lambda v: (round(abs(v), 9), np.angle(v))))


# --- taylor_radius, batch_taylor_radius, binary_radius -------------------------------------------

def test_taylor_radius_is_pi_over_spread_per_sample():
    a = np.array([[0.0, 1.0, -1.0], [2.0, 2.0, 2.0], [0.0, 0.0, 4.0]])
    np.testing.assert_allclose(taylor_radius(a), [np.pi / 2, np.inf, np.pi / 4])
    np.testing.assert_allclose(taylor_radius(a.T, axis=0), taylor_radius(a))
    assert batch_taylor_radius(a) == np.pi / 4


@pytest.mark.parametrize("bad, match", [([np.nan, 1.0], "finite"), ([], "no classes"), (1.0, "class axis")])
def test_taylor_radius_refuses_bad_input(bad, match):
    with pytest.raises(ValueError, match=match):
        taylor_radius(bad)


def test_binary_radius_formula_and_degenerate_slopes():
    assert binary_radius(0.0, 2.0) == np.pi / 2
    assert binary_radius(3.0, -1.0) == np.hypot(3.0, np.pi)
    assert np.isinf(binary_radius(1.0, 0.0))


# --- ghost_radius and partition_zeros ---------------------------------------------------------------

@pytest.mark.parametrize("delta, gap", [(0.0, 1.0), (2.0, 0.5), (-7.0, 3.0), (40.0, 1.0), (300.0, 2.0)])
def test_ghost_radius_equals_binary_formula(delta, gap):
    r = ghost_radius([delta, 0.0], [gap, 0.0])
    assert r == pytest.approx(float(binary_radius(delta, gap)), rel=1e-13)


def test_binary_zeros_are_the_closed_form_ladder():
    delta, gap = 1.5, 2.0
    zeros = partition_zeros([delta, 0.0], [gap, 0.0], 8.0)
    m = np.arange(-10, 10)
    exact = -(delta + 1j * np.pi * (2 * m + 1)) / gap
    exact = exact[np.abs(exact) < 8.0]
    assert zeros.size == exact.size
    for w in exact:
        assert np.min(np.abs(zeros - w)) < 1e-13 * abs(w)


def test_integer_slopes_match_polynomial_roots():
    rng = np.random.default_rng(1)
    for _ in range(40):
        k = int(rng.integers(2, 7))
        a = rng.integers(-3, 4, size=k).astype(float)
        if a.max() == a.min():
            continue
        z = rng.normal(0.0, 2.0, size=k)
        exact = polynomial_zeros(z, a, 12.0)
        assert ghost_radius(z, a) == pytest.approx(np.abs(exact).min(), rel=1e-12)
        zeros = partition_zeros(z, a, 12.0)
        assert zeros.size == exact.size
        for w in exact:
            assert np.min(np.abs(zeros - w)) < 1e-10 * max(abs(w), 1.0)


def test_spread_bound_holds_on_random_multiclass_cases():
    rng = np.random.default_rng(2)
    for _ in range(60):
        k = int(rng.integers(2, 12))
        z, a = rng.normal(0.0, 3.0, size=k), rng.normal(0.0, 1.0, size=k)
        rho = ghost_radius(z, a)
        assert rho >= taylor_radius(a) * (1 - 1e-12)
        # The nearest zero is a zero: F vanishes there to rounding.
        zero = partition_zeros(z, a, rho * (1 + 1e-6))[0]
        terms = np.exp(z + a * zero - np.max(z + a * zero.real))
        assert abs(terms.sum()) < 1e-12 * np.abs(terms).sum()


def test_ghost_radius_invariances_and_merged_classes():
    z, a = np.array([0.3, -1.0, 2.0, 0.0]), np.array([1.0, -0.5, 0.2, 0.7])
    rho = ghost_radius(z, a)
    assert ghost_radius(z + 1e4, a + 3.0) == pytest.approx(rho, rel=1e-12)   # shifts change no zero
    assert ghost_radius(z, 4.0 * a) == pytest.approx(rho / 4.0, rel=1e-12)   # zeros scale as 1 / a
    # Two classes with equal slopes act as one with logit log(e^z1 + e^z2).
    assert ghost_radius([0.0, 0.0, 1.0], [1.0, 1.0, 0.0]) == pytest.approx(
        float(binary_radius(np.log(2.0) - 1.0, 1.0)), rel=1e-13)
    assert np.isinf(ghost_radius([1.0, 2.0], [0.5, 0.5]))


def test_large_logits_three_classes_exact():
    # F = 1 + q + q^2 with q = exp(tau - L): zeros at tau = L +- 2 pi i / 3 + 2 pi i m.
    for L in (50.0, 500.0):
        r = ghost_radius([0.0, -L, -2 * L], [0.0, 1.0, 2.0])
        assert r == pytest.approx(np.hypot(L, 2 * np.pi / 3), rel=1e-13)


def test_partition_zeros_refuses_bad_input():
    with pytest.raises(ValueError, match="same length"):
        partition_zeros([0.0, 1.0], [1.0], 3.0)
    with pytest.raises(ValueError, match="radius"):
        partition_zeros([0.0, 1.0], [1.0, 0.0], -1.0)
    with pytest.raises(ValueError, match="finite"):
        ghost_radius([0.0, np.inf], [1.0, 0.0])


# --- Taylor coefficients -------------------------------------------------------------------------

def test_taylor_coefficients_match_derivatives_of_the_binary_loss():
    delta, gap = 0.7, 1.3
    c = loss_taylor_coefficients([delta, 0.0], [gap, 0.0], y=0, order=2)
    s = 1.0 / (1.0 + np.exp(delta))          # the probability of the wrong class
    np.testing.assert_allclose(c, [np.log1p(np.exp(-delta)), -gap * s, 0.5 * gap**2 * s * (1 - s)], rtol=1e-12)


def test_taylor_coefficients_root_test_sees_the_ghost():
    delta, gap = 1.0, 1.0
    rho = float(binary_radius(delta, gap))
    c = loss_taylor_coefficients([delta, 0.0], [gap, 0.0], y=0, order=80, radius=0.8 * rho)
    n = np.arange(40, 81)
    # n c_n ~ -2 Re(tau_0^-n): the envelope of |n c_n / 2|^(-1/n) tends to rho from above.
    estimate = np.min(np.abs(n * c[n] / 2) ** (-1.0 / n))
    assert abs(estimate / rho - 1) < 0.01
    with pytest.raises(ValueError, match="encloses a zero"):
        loss_taylor_coefficients([delta, 0.0], [gap, 0.0], y=0, order=4, radius=1.2 * rho)


# --- normalized_step and safe_step ---------------------------------------------------------------

def test_normalized_step_and_safe_step_on_parameter_blocks():
    update = [np.full((2, 2), 1.0), np.full(3, -1.0)]          # norm sqrt(7)
    a = np.array([[0.0, 0.5], [0.0, 2.0]])                     # rho_a = pi / 2
    r = normalized_step(update, a)
    assert r == pytest.approx(np.sqrt(7) * 2 / np.pi)
    capped = safe_step(update, a)
    assert isinstance(capped, list) and capped[0].shape == (2, 2)
    assert normalized_step(capped, a) == pytest.approx(1.0)
    assert normalized_step(safe_step(update, a, fraction=0.25), a) == pytest.approx(0.25)
    small = [0.01 * u for u in update]
    for s, u in zip(safe_step(small, a), small):
        np.testing.assert_array_equal(s, u)
    np.testing.assert_array_equal(safe_step(np.zeros(3), a), np.zeros(3))


def test_steps_refuse_bad_input():
    with pytest.raises(ValueError, match="finite"):
        safe_step(np.array([np.nan]), [[0.0, 1.0]])
    with pytest.raises(ValueError, match="fraction"):
        safe_step(np.ones(2), [[0.0, 1.0]], fraction=0.0)
    with pytest.raises(TypeError):
        normalized_step("step", [[0.0, 1.0]])


# --- the network: gradient and slopes -------------------------------------------------------------

def _mlp_case(sizes=(5, 7, 3), n=6, seed=0):
    rng = np.random.default_rng(seed)
    params = mlp_init(list(sizes), rng)
    X = rng.normal(size=(n, sizes[0]))
    y = rng.integers(0, sizes[-1], size=n)
    direction = [rng.normal(size=p.shape) for p in params]
    return params, X, y, direction


@pytest.mark.parametrize("sizes", [(5, 3), (5, 7, 3), (4, 6, 6, 3)])
def test_slopes_are_the_derivative_of_the_logits(sizes):
    params, X, _, v = _mlp_case(sizes)
    z, a = mlp_slopes(params, v, X)
    h = 1e-6
    plus = mlp_logits([p + h * d for p, d in zip(params, v)], X)
    minus = mlp_logits([p - h * d for p, d in zip(params, v)], X)
    np.testing.assert_allclose(z, mlp_logits(params, X))
    np.testing.assert_allclose(a, (plus - minus) / (2 * h), rtol=1e-6, atol=1e-8)


def test_softmax_regression_logits_are_exactly_linear_along_a_line():
    params, X, _, v = _mlp_case((5, 4))
    z, a = mlp_slopes(params, v, X)
    tau = 3.7
    np.testing.assert_allclose(mlp_logits([p + tau * d for p, d in zip(params, v)], X), z + tau * a, rtol=1e-12)


@pytest.mark.parametrize("temperature", [1.0, 0.5, 3.0])
def test_loss_gradient_matches_finite_differences(temperature):
    params, X, y, v = _mlp_case((5, 7, 3))
    loss, grad = mlp_loss_grad(params, X, y, temperature)
    h = 1e-6
    up = mlp_loss_grad([p + h * d for p, d in zip(params, v)], X, y, temperature)[0]
    down = mlp_loss_grad([p - h * d for p, d in zip(params, v)], X, y, temperature)[0]
    directional = sum(float(np.sum(g * d)) for g, d in zip(grad, v))
    assert directional == pytest.approx((up - down) / (2 * h), rel=1e-6)


def test_network_refuses_bad_input():
    params, X, y, v = _mlp_case()
    with pytest.raises(ValueError, match="shape"):
        mlp_logits(params, X[:, :2])
    with pytest.raises(ValueError, match="labels"):
        mlp_loss_grad(params, X, y + 10)
    with pytest.raises(ValueError, match="structure"):
        mlp_slopes(params, v[:2], X)


def test_single_class_and_small_discs_have_no_zeros():
    assert np.isinf(ghost_radius([3.0], [2.0]))
    assert partition_zeros([3.0], [2.0], 10.0).size == 0
    # Inside rho_a there are no zeros at all (the spread bound), whatever the logits.
    assert partition_zeros([0.0, 5.0, -2.0], [1.0, 0.0, -1.0], 0.99 * np.pi / 2).size == 0


def test_nearest_partition_zero_is_the_ghost_radius():
    z, a = np.array([0.5, -1.0, 0.0, 2.0]), np.array([0.3, 1.1, -0.7, 0.0])
    rho = ghost_radius(z, a)
    zeros = partition_zeros(z, a, 3 * rho)
    assert abs(np.abs(zeros).min() / rho - 1) < 1e-13
    np.testing.assert_allclose(np.sort_complex(zeros), np.sort_complex(zeros.conj()), rtol=1e-12)
