"""softlib.losses: invariances, gradients against finite differences, constant rows, bad inputs, dtypes."""

from __future__ import annotations

import numpy as np
import pytest

import softlib
from softlib import losses as L
from softlib.chapters import training_loops as tl

RNG = np.random.default_rng(20260)


def rows(n=6, k=5, scale=2.0, seed=0):
    rng = np.random.default_rng(seed)
    return scale * rng.standard_normal((n, k)), rng.integers(0, k, size=n)


def numeric_grad(f, z, h=1e-6):
    """Central differences of a per-sample loss f(z) -> (n,), row by row."""
    g = np.zeros_like(z)
    for idx in np.ndindex(z.shape):
        zp, zm = z.copy(), z.copy()
        zp[idx] += h
        zm[idx] -= h
        g[idx] = (f(zp)[idx[0]] - f(zm)[idx[0]]) / (2 * h)
    return g


# ------------------------------------------------------------------------------------------------
# Invariances
# ------------------------------------------------------------------------------------------------

def test_cross_entropy_is_shift_invariant_but_not_scale_invariant():
    z, y = rows()
    ce = L.cross_entropy(z, y)
    np.testing.assert_allclose(L.cross_entropy(z + 7.5, y), ce, rtol=1e-12, atol=1e-12)
    assert not np.allclose(L.cross_entropy(3 * z, y), ce)


@pytest.mark.parametrize("alpha,beta", [(0.01, 0.0), (3.0, -4.0), (250.0, 1e3)])
def test_z_loss_is_shift_and_scale_invariant(alpha, beta):
    z, y = rows()
    for a, b in [(1.0, 0.0), (3.0, 1.0)]:
        np.testing.assert_allclose(L.z_loss(alpha * z + beta, y, a, b), L.z_loss(z, y, a, b), rtol=1e-10)


def test_z_loss_negative_scale_is_not_invariant():
    z, y = rows()
    assert not np.allclose(L.z_loss(-z, y), L.z_loss(z, y))


def test_log_z_penalty_breaks_the_shift_invariance():
    z, _ = rows()
    lz = softlib.logsumexp(z, axis=-1)
    np.testing.assert_allclose(L.log_z_penalty(z - lz[:, None]), 0, atol=1e-24)
    np.testing.assert_allclose(L.log_z_penalty(z + 1.0), (lz + 1.0) ** 2, rtol=1e-12)


def test_z_loss_floor_and_moments():
    d = 7
    z = np.full((1, d), -1.0)
    z[0, 3] = 5.0  # the largest z_c a row can have: sqrt(D - 1)
    zc = L.z_normalize(z)[0, 3]
    assert abs(zc - np.sqrt(d - 1)) < 1e-12
    floor = np.logaddexp(0, 3.0 * (1.0 - np.sqrt(d - 1))) / 3.0
    assert abs(L.z_loss(z, [3], 3.0, 1.0)[0] - floor) < 1e-12
    o, y = rows(50, 11)
    direct = L.z_loss(o, y, 2.0, 0.5)
    moments = L.z_loss_from_moments(o.sum(-1), (o * o).sum(-1), o[np.arange(50), y], 11, 2.0, 0.5)
    np.testing.assert_allclose(moments, direct, rtol=1e-10)


# ------------------------------------------------------------------------------------------------
# Gradients
# ------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("eps", [0.0, 0.1])
def test_cross_entropy_grad(eps):
    z, y = rows()
    g = L.cross_entropy_grad(z, y, label_smoothing=eps)
    np.testing.assert_allclose(g, numeric_grad(lambda q: L.cross_entropy(q, y, label_smoothing=eps), z),
                               atol=1e-8)
    np.testing.assert_allclose(g.sum(-1), 0, atol=1e-14)
    np.testing.assert_allclose(L.cross_entropy_grad(z, y, label_smoothing=eps, reduction="mean"), g / len(y))


@pytest.mark.parametrize("a,b", [(1.0, 0.0), (3.0, 1.0), (0.5, -2.0)])
def test_z_loss_grad(a, b):
    z, y = rows()
    g = L.z_loss_grad(z, y, a, b)
    np.testing.assert_allclose(g, numeric_grad(lambda q: L.z_loss(q, y, a, b), z), atol=1e-8)
    np.testing.assert_allclose(g.sum(-1), 0, atol=1e-14)            # shift invariance
    np.testing.assert_allclose((g * z).sum(-1), 0, atol=1e-13)      # scale invariance (Euler)


def test_log_z_penalty_grad():
    z, _ = rows()
    np.testing.assert_allclose(L.log_z_penalty_grad(z), numeric_grad(L.log_z_penalty, z), atol=1e-7)


@pytest.mark.parametrize("m", [-np.inf, 0.0, 2.0])
def test_masked_cross_entropy_grad(m):
    z, _ = rows()
    allowed = np.array([False, True, True, False, True])
    y = np.array([1, 2, 4, 1, 2, 4])
    g = L.masked_cross_entropy_grad(z, y, allowed, m)
    np.testing.assert_allclose(g, numeric_grad(lambda q: L.masked_cross_entropy(q, y, allowed, m), z), atol=1e-8)
    assert np.all(g[:, ~allowed] == 0)
    masked_mass = 0.0 if m == -np.inf else softlib.softmax(np.where(allowed, z, m), axis=-1)[:, ~allowed].sum(-1)
    np.testing.assert_allclose(g.sum(-1), -masked_mass, atol=1e-14)
    with pytest.raises(ValueError, match="allowed class"):
        L.masked_cross_entropy(z, np.zeros(6, dtype=int), allowed)


@pytest.mark.parametrize("t", [0.5, 1.0, 4.0, 20.0])
def test_distillation_grad_and_loss(t):
    z, _ = rows()
    v, _ = rows(seed=1)
    g = L.distillation_grad(z, v, t)
    np.testing.assert_allclose(g, numeric_grad(lambda q: L.distillation_loss(q, v, t), z), atol=1e-7)
    assert np.all(L.distillation_loss(z, v, t) >= 0)
    np.testing.assert_allclose(L.distillation_loss(v, v, t), 0, atol=1e-12)


def test_distillation_scaled_gradient_levels_off():
    z, _ = rows(scale=1.0)
    v, _ = rows(scale=1.0, seed=1)
    limit = ((z - z.mean(-1, keepdims=True)) - (v - v.mean(-1, keepdims=True))) / z.shape[-1]
    for t in (100.0, 1000.0):
        err = np.abs(L.distillation_grad(z, v, t) - limit).max() / np.abs(limit).max()
        assert err < 5 / t


# ------------------------------------------------------------------------------------------------
# Constant rows, NaN, empty, dtypes
# ------------------------------------------------------------------------------------------------

def test_constant_rows_give_the_documented_value():
    z = np.full((3, 4), 2.5)
    y = np.array([0, 1, 3])
    np.testing.assert_allclose(L.z_loss(z, y), np.log(2))
    np.testing.assert_allclose(L.z_loss(z, y, a=3.0, b=1.0), np.logaddexp(0, 3.0) / 3.0)
    assert np.all(L.z_loss_grad(z, y) == 0)
    assert np.all(L.z_normalize(z) == 0)
    assert not np.isnan(L.z_loss(np.full((1, 2), 1e300), [0])).any()
    for value in (4.2, 0.1, 1 / 3, -7.3, 1e300):  # values whose computed mean is off by rounding
        for dtype in (np.float32, np.float64):
            row = np.full((1, 10), value).astype(dtype) if abs(value) < 1e30 or dtype == np.float64 else None
            if row is not None:
                assert L.z_loss(row, [3])[0] == dtype(np.log(2)), (value, dtype)
    np.testing.assert_allclose(L.cross_entropy(z, y), np.log(4))


def test_large_offsets_do_not_cancel():
    z, y = rows()
    np.testing.assert_allclose(L.z_loss(z + 1e9, y), L.z_loss(z, y), rtol=1e-6)


def test_nan_rows_give_nan():
    z, y = rows()
    z[2, 1] = np.nan
    out = L.z_loss(z, y)
    assert np.isnan(out[2]) and np.isfinite(np.delete(out, 2)).all()


def test_empty_batch():
    z = np.zeros((0, 4))
    y = np.zeros(0, dtype=int)
    assert L.cross_entropy(z, y).shape == (0,)
    assert L.z_loss(z, y).shape == (0,)
    assert np.isnan(L.z_loss(z, y, reduction="mean"))


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_dtypes_in_and_out(dtype):
    z, y = rows()
    z = z.astype(dtype)
    v = (z[::-1]).copy()
    for out in (L.cross_entropy(z, y), L.cross_entropy_grad(z, y), L.z_loss(z, y), L.z_loss_grad(z, y),
                L.log_z_penalty(z), L.log_z_penalty_grad(z), L.z_normalize(z), L.distillation_loss(z, v, 2.0),
                L.distillation_grad(z, v, 2.0), L.temper_probs(softlib.softmax(z, axis=-1), 2.0)):
        assert out.dtype == dtype
    assert isinstance(L.z_loss(z, y, reduction="mean"), dtype)
    ref = L.z_loss(z.astype(np.float64), y)
    np.testing.assert_allclose(L.z_loss(z, y), ref, rtol=1e-5 if dtype == np.float32 else 1e-14)
    assert L.cross_entropy(np.zeros((2, 3), dtype=int), [0, 1]).dtype == np.float64


def test_axis_argument():
    z, y = rows()
    np.testing.assert_allclose(L.z_loss(z.T, y, axis=0), L.z_loss(z, y))
    np.testing.assert_allclose(L.cross_entropy_grad(z.T, y, axis=0), L.cross_entropy_grad(z, y).T)
    np.testing.assert_allclose(L.distillation_grad(z.T, z[::-1].T, 3.0, axis=0),
                               L.distillation_grad(z, z[::-1], 3.0).T)


# ------------------------------------------------------------------------------------------------
# Bad inputs
# ------------------------------------------------------------------------------------------------

def test_bad_labels():
    z, y = rows()
    for f in (L.cross_entropy, L.z_loss, L.cross_entropy_grad, L.z_loss_grad):
        with pytest.raises(ValueError, match="labels must lie"):
            f(z, np.r_[y[:-1], 5])
        with pytest.raises(ValueError, match="labels must lie"):
            f(z, np.r_[y[:-1], -1])
        with pytest.raises(ValueError, match="shape"):
            f(z, y[:-1])
        with pytest.raises(TypeError, match="integers"):
            f(z, y.astype(float))


def test_bad_shapes_and_parameters():
    z, y = rows()
    with pytest.raises(ValueError, match="0-d"):
        L.cross_entropy(np.float64(1.0), np.int64(0))
    with pytest.raises(ValueError, match="no classes"):
        L.z_loss(np.zeros((3, 0)), np.zeros(3, dtype=int))
    with pytest.raises(np.exceptions.AxisError):
        L.z_loss(z, y, axis=2)
    with pytest.raises(TypeError):
        L.z_loss(z.astype(complex), y)
    with pytest.raises(ValueError, match="same shape"):
        L.distillation_loss(z, z[:, :3], 2.0)
    for t in (0.0, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="temperature"):
            L.distillation_loss(z, z, t)
        with pytest.raises(ValueError, match="temperature"):
            L.temper_probs(softlib.softmax(z, axis=-1), t)
    with pytest.raises(TypeError, match="temperature"):
        L.distillation_grad(z, z, "hot")
    for a in (0.0, -1.0, np.nan):
        with pytest.raises(ValueError, match="a must"):
            L.z_loss(z, y, a=a)
    with pytest.raises(ValueError, match="b must"):
        L.z_loss(z, y, b=np.inf)
    with pytest.raises(ValueError, match="label_smoothing"):
        L.cross_entropy(z, y, label_smoothing=1.5)
    with pytest.raises(ValueError, match="reduction"):
        L.cross_entropy(z, y, reduction="average")
    with pytest.raises(ValueError, match="bounds"):
        L.fit_temperature(z, y, bounds=(2.0, 1.0))


def test_bad_calibration_inputs():
    z, y = rows()
    p = softlib.softmax(z, axis=-1)
    for bins in (0, -3):
        with pytest.raises(ValueError, match="bins"):
            L.expected_calibration_error(p, y, bins=bins)
    for bins in (2.5, True, "15"):
        with pytest.raises(TypeError, match="bins"):
            L.expected_calibration_error(p, y, bins=bins)
    with pytest.raises(ValueError, match="sum to 1"):
        L.expected_calibration_error(0.5 * p, y)
    with pytest.raises(ValueError, match="probabilities"):
        L.reliability_diagram(-p, y)
    with pytest.raises(ValueError, match="labels must lie"):
        L.expected_calibration_error(p, y + 5)


# ------------------------------------------------------------------------------------------------
# Calibration and tempering
# ------------------------------------------------------------------------------------------------

def test_ece_matches_the_official_binning():
    rng = np.random.default_rng(3)
    z = 3 * rng.standard_normal((500, 6))
    y = rng.integers(0, 6, 500)
    p = softlib.softmax(z, axis=-1)
    conf, correct = p.max(-1), p.argmax(-1) == y
    edges = np.linspace(0, 1, 16)
    ece = 0.0
    for lo, hi in zip(edges[:-1], edges[1:]):  # Guo et al.'s loop: (lo, hi]
        inside = (conf > lo) & (conf <= hi)
        if inside.any():
            ece += inside.mean() * abs(correct[inside].mean() - conf[inside].mean())
    assert abs(L.expected_calibration_error(p, y) - ece) < 1e-12
    r = L.reliability_diagram(p, y)
    assert r.counts.sum() == 500 and np.isnan(r.accuracy[r.counts == 0]).all()


def test_fit_temperature_minimises_the_nll():
    rng = np.random.default_rng(4)
    y = rng.integers(0, 5, 3000)
    z = 1.5 * (rng.standard_normal((3000, 5)) + 1.5 * np.eye(5)[y])
    t = L.fit_temperature(2.5 * z, y)
    assert abs(t - 2.5) < 0.15
    nll = lambda s: L.cross_entropy(2.5 * z / s, y, reduction="mean")
    assert nll(t) <= min(nll(t * 1.01), nll(t / 1.01))
    # every example right: the NLL keeps falling as T -> 0, so the lower bound comes back
    assert L.fit_temperature(10 * np.eye(5)[y], y) == 0.01


def test_tempering_equals_softmax_of_scaled_logits_and_commutes_with_top_k():
    z, _ = rows(20, 9)
    p = softlib.softmax(z, axis=-1)
    for t in (0.3, 1.0, 2.0, 10.0):
        np.testing.assert_allclose(L.temper_probs(p, t), softlib.softmax(z / t, axis=-1), rtol=1e-12, atol=1e-15)
        for k in (1, 3, 9):
            np.testing.assert_allclose(L.top_k_renormalize(L.temper_probs(p, t), k),
                                       L.temper_probs(L.top_k_renormalize(p, k), t), rtol=1e-12, atol=1e-15)
    np.testing.assert_allclose(L.temper_probs(p, 1.0), p, rtol=1e-12)
    with pytest.raises(ValueError, match="k must"):
        L.top_k_renormalize(p, 0)


# ------------------------------------------------------------------------------------------------
# The training loops
# ------------------------------------------------------------------------------------------------

def test_forward_backward_matches_finite_differences():
    data = tl.load_digits_split(0.5, seed=0)
    X, y = data.X_train[:20], data.y_train[:20]
    params = tl.train(X, [64, 8, 10], lambda z, i: 0 * z, epochs=1, seed=1)

    def loss(ps):
        return L.cross_entropy(tl.logits(ps, X), y, reduction="mean")

    grads = tl.forward_backward(params, X, lambda z, i: L.cross_entropy_grad(z, y, reduction="mean"), None)
    for j in (0, 3):
        idx = (0,) * params[j].ndim
        plus = [p.copy() for p in params]
        minus = [p.copy() for p in params]
        plus[j][idx] += 1e-6
        minus[j][idx] -= 1e-6
        assert abs((loss(plus) - loss(minus)) / 2e-6 - grads[j][idx]) < 1e-7


def test_float32_probabilities_and_ties():
    z, y = rows(40, 6)
    p32 = softlib.softmax(z.astype(np.float32), axis=-1)
    assert abs(L.expected_calibration_error(p32, y) - L.expected_calibration_error(p32.astype(np.float64), y)) < 1e-6
    assert L.fit_temperature(z.astype(np.float32), y) > 0
    np.testing.assert_array_equal(L.top_k_renormalize([0.25, 0.25, 0.25, 0.25], 2), [0.5, 0.5, 0, 0])
    np.testing.assert_array_equal(L.temper_probs([0.0, 0.5, 0.5], 3.0), [0.0, 0.5, 0.5])
    with pytest.raises(ValueError, match="positive entry"):
        L.temper_probs([0.0, 0.0], 2.0)


def test_figures_update_in_place():
    from matplotlib.figure import Figure

    from softlib.book import losses_plots as LP

    z, y = rows(30, 10)
    draw = LP.reliability_figure(z, y, fitted=2.0)
    update = draw(Figure(), **{LP.TEMPERATURE: 1.0})
    assert len(update(**{LP.TEMPERATURE: 2.0})) > 30
    draw = LP.logit_scale_figure(z, y, example=1)
    update = draw(Figure(), **{LP.SCALE: 1.0})
    assert len(update(**{LP.SCALE: 3.0})) > 10
