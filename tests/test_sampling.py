"""Tests of softlib.sampling: exactness of the samplers, the Concrete density, the masks' rules and
the numerics (open-interval noise, small tau, -inf logits, float32/float64, bad input)."""

import math

import numpy as np
import pytest
from scipy import stats
from scipy.special import softmax as sp_softmax

from softlib import sampling as sm

DTYPES = [np.float32, np.float64]


def rng(seed=0):
    return np.random.default_rng(seed)


# ---------------------------------------------------------------- noise
def test_gumbel_moments_and_dtype():
    g = sm.gumbel((200_000,), rng=rng())
    assert g.dtype == np.float64 and np.isfinite(g).all()
    assert abs(g.mean() - np.euler_gamma) < 0.01
    assert abs(g.var() - np.pi**2 / 6) < 0.03
    assert stats.kstest(g[:20_000], stats.gumbel_r.cdf).pvalue > 1e-3
    assert sm.gumbel((3, 4), rng=rng(), dtype=np.float32).dtype == np.float32


def test_gumbel_open_interval_uniforms():
    class ZeroFirst(np.random.Generator):
        """A generator whose first draws are exactly 0 and its largest value below 1."""

        def __init__(self):
            super().__init__(np.random.PCG64(0))
            self.calls = 0

        def random(self, size=None, dtype=np.float64, out=None):
            self.calls += 1
            if self.calls == 1:
                u = np.zeros(size)
                u[0] = 1.0 - 2.0**-53
                return u
            return super().random(size)

    g = sm.gumbel(5, rng=ZeroFirst())
    assert np.isfinite(g).all()
    assert g[0] == pytest.approx(-math.log(-math.log1p(-(2.0**-53))))  # the float64 cap, 36.7
    assert 36.0 < g[0] < 37.0


def test_gumbel_float32_draws_float64_noise():
    # the same seed gives the float64 draws rounded once: noise is drawn in float64, cast after.
    a = sm.gumbel(1000, rng=rng(3), dtype=np.float32)
    b = sm.gumbel(1000, rng=rng(3))
    assert np.array_equal(a, b.astype(np.float32))


# ---------------------------------------------------------------- exact sampling
def test_gumbel_max_chi_square():
    logits = np.array([1.0, 0.0, -1.0, 2.0, -np.inf])
    draws = sm.gumbel_max(np.tile(logits, (50_000, 1)), rng=rng(1))
    counts = np.bincount(draws, minlength=5)
    assert counts[4] == 0
    p = sp_softmax(logits[:4])
    assert stats.chisquare(counts[:4], 50_000 * p).pvalue > 1e-3


def test_gumbel_max_axis():
    logits = np.array([[0.0, 50.0], [50.0, 0.0]])
    assert np.array_equal(sm.gumbel_max(logits, axis=0, rng=rng()), [1, 0])
    assert np.array_equal(sm.gumbel_max(logits, axis=1, rng=rng()), [1, 0])


@pytest.mark.parametrize("tau", [0.1, 1.0, 3.0])
def test_argmax_of_relaxed_sample_is_exact(tau):
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4]))
    y = sm.gumbel_softmax(np.tile(logits, (40_000, 1)), tau, rng=rng(2))
    counts = np.bincount(y.argmax(axis=-1), minlength=4)
    assert stats.chisquare(counts, 40_000 * np.exp(logits)).pvalue > 1e-3


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("tau", [1e-3, 1e-2, 0.5, 10.0])
def test_gumbel_softmax_small_tau_finite(dtype, tau):
    logits = np.array([[1e4, -1e4, 0.0, -np.inf], [0.0, 0.0, 0.0, 0.0], [88.0, 89.0, -300.0, 5.0]], dtype=dtype)
    y = sm.gumbel_softmax(logits, tau, rng=rng())
    assert y.dtype == dtype and np.isfinite(y).all()
    assert np.allclose(y.sum(axis=-1), 1.0, atol=1e-6)
    assert np.all(y[0, 3] == 0)


def test_extreme_logits_and_small_temperatures_stay_finite():
    x = np.array([[1.7e308, -1.7e308, 0.0, -np.inf], [1e300, 1e300, -5.0, 3.0]])
    for tau in (1e-3, 1e-6):
        y = sm.gumbel_softmax(x, tau, rng=rng())
        assert np.isfinite(y).all() and np.allclose(y.sum(-1), 1.0)
    assert sm.top_p_mask(x, 0.5, temperature=1e-3)[:, 0].all()
    assert sm.sample(x, rng=rng(), temperature=1e-3)[0] == 0
    assert np.isfinite(sm.concrete_logpdf([0.999, 0.001], [300.0, -300.0], 1e-3))


def test_gumbel_softmax_hard_and_axis():
    logits = np.log(np.array([[0.2, 0.8], [0.5, 0.5], [0.9, 0.1]]))
    h = sm.gumbel_softmax(logits, 0.5, axis=0, rng=rng(), hard=True)
    assert h.shape == (3, 2) and np.array_equal(h.sum(axis=0), [1.0, 1.0])
    soft = sm.gumbel_softmax(logits, 0.5, axis=0, rng=rng(7))
    hard = sm.gumbel_softmax(logits, 0.5, axis=0, rng=rng(7), hard=True)
    assert np.array_equal(soft.argmax(axis=0), hard.argmax(axis=0))


# ---------------------------------------------------------------- the Concrete density
def test_concrete_k2_matches_cdf_derivative():
    # binary case: P(y1 <= x) = sigmoid(tau logit(x) - a), a = l1 - l2 (derived from the logistic law)
    a, tau = 0.7, 0.6
    x = np.linspace(0.01, 0.99, 50)
    pts = np.stack([x, 1 - x], axis=-1)
    dens = np.exp(sm.concrete_logpdf(pts, [a, 0.0], tau))
    s = 1 / (1 + np.exp(-(tau * np.log(x / (1 - x)) - a)))
    expected = s * (1 - s) * tau / (x * (1 - x))
    assert np.allclose(dens, expected, rtol=1e-10)


def test_concrete_k3_integrates_to_one():
    logits, tau = np.log([0.2, 0.3, 0.5]), 0.7
    z = np.linspace(-40, 40, 1201)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    y = sp_softmax(np.stack([z1, z2, np.zeros_like(z1)], -1), axis=-1)
    dens = np.exp(sm.concrete_logpdf(y, logits, tau)) * y.prod(-1)  # Jacobian of z -> y
    assert abs(dens.sum() * (z[1] - z[0]) ** 2 - 1) < 1e-6


def test_concrete_logpdf_errors_and_boundary():
    assert sm.concrete_logpdf([1.0, 0.0], [0.0, 0.0], 0.5) == -np.inf
    with pytest.raises(ValueError, match="simplex"):
        sm.concrete_logpdf([0.5, 0.6], [0.0, 0.0], 0.5)
    with pytest.raises(ValueError, match="tau"):
        sm.concrete_logpdf([0.5, 0.5], [0.0, 0.0], 0.0)
    with pytest.raises(ValueError, match="finite"):
        sm.concrete_logpdf([0.5, 0.5], [0.0, -np.inf], 1.0)
    v = sm.concrete_logpdf(np.array([0.5, 0.5], dtype=np.float32), np.zeros(2, np.float32), 1e-3)
    assert np.isfinite(v)


# ---------------------------------------------------------------- masks
def test_top_k_ties_and_inf():
    x = np.array([3.0, 1.0, 2.0, 2.0, -np.inf])
    assert sm.top_k_mask(x, 2).tolist() == [True, False, True, True, False]
    assert sm.top_k_mask(x, 10).tolist() == [True, True, True, True, False]
    assert sm.top_k_mask(x[None, :], 1, axis=1).tolist() == [[True, False, False, False, False]]


def test_top_p_rule_and_ties():
    x = np.log([0.4, 0.2, 0.2, 0.1, 0.1])
    assert sm.top_p_mask(x, 0.5).tolist() == [True, True, True, False, False]   # the tie is kept
    assert sm.top_p_mask(x, 0.3).tolist() == [True, False, False, False, False]
    assert sm.top_p_mask(x, 1.0).all()
    assert sm.top_p_mask(np.append(x, -np.inf), 1.0).tolist() == [True] * 5 + [False]
    # higher temperature flattens: more tokens are needed to reach p
    assert sm.top_p_mask(x, 0.7, temperature=5.0).sum() >= sm.top_p_mask(x, 0.7).sum()


def test_min_p_and_top_n_sigma_identity():
    r = rng(5)
    for dtype in DTYPES:
        x = (r.normal(0, 2, (20, 300))).astype(dtype)
        x[:, :3] += 15
        sigma = x.astype(np.float64).std(-1, keepdims=True)
        for n in (0.5, 1.0, 2.0):
            ref = sm.top_n_sigma_mask(x, n)
            assert np.array_equal(ref, x >= x.max(-1, keepdims=True) - n * sigma.astype(dtype))
            for t in np.geomspace(0.05, 20, 9):
                assert np.array_equal(sm.top_n_sigma_mask(x, n, temperature=t), ref)
                assert np.array_equal(sm.top_n_sigma_mask(x + 7.5, n, temperature=t), ref)
                rows = [sm.min_p_mask(x[i], math.exp(-n * sigma[i, 0] / t), temperature=t) for i in range(20)]
                assert np.array_equal(np.array(rows), ref)


def test_top_n_sigma_ignores_masked_tokens():
    x = np.array([5.0, 4.0, 3.0, 0.0, -np.inf, -np.inf])
    sigma = np.std(x[:4])
    assert sm.top_n_sigma_mask(x, 1.0).tolist() == (x >= 5.0 - sigma).tolist()
    assert sm.top_n_sigma_mask(x, 0.0).tolist() == [True] + [False] * 5


@pytest.mark.parametrize("mask_fn,arg", [(sm.top_k_mask, 1), (sm.top_p_mask, 1e-9), (sm.min_p_mask, 1.0),
                                         (sm.top_n_sigma_mask, 0.0)])
@pytest.mark.parametrize("dtype", DTYPES)
def test_argmax_always_kept_and_ties(mask_fn, arg, dtype):
    x = rng(1).normal(size=(50, 40)).astype(dtype)
    x[:, 7] = x.max(-1) + 1
    m = mask_fn(x, arg)
    assert m.dtype == np.bool_ and m.shape == x.shape and m[:, 7].all()
    x2 = x.copy()
    x2[:, 9] = x2[:, 7]  # a tie at the top is kept with it
    assert mask_fn(x2, arg)[:, 9].all()


# ---------------------------------------------------------------- adaptive temperature, dispersion
def test_adaptive_temperature_rules():
    assert np.polyval(sm.ADAPTIVE_POLY, 2.0) == pytest.approx(2.099)
    r = rng(2)
    logits = r.normal(0, 1, (200, 64)) * r.uniform(0.1, 20, (200, 1))
    p, beta = sm.adaptive_temperature(logits)
    h = sm.entropy(logits)
    assert p.shape == logits.shape and np.allclose(p.sum(-1), 1.0)
    assert np.all(beta >= 1) and np.all(beta[h <= 0.5] == 1)
    assert np.all(sm.entropy(np.log(p)) <= h + 1e-9)  # the entropy never rises
    p32, b32 = sm.adaptive_temperature(logits.astype(np.float32))
    assert p32.dtype == np.float32 and np.allclose(b32, beta, rtol=1e-5)


def test_dispersion_bounds_hold():
    x = rng(0).uniform(-1, 1, (5, 1000))
    lo, hi = sm.dispersion_bounds(x, temperature=0.3)
    p = sp_softmax(x / 0.3, axis=-1)
    assert np.all(p.min(-1) >= lo) and np.all(p.max(-1) <= hi)


# ---------------------------------------------------------------- sample
def test_sample_with_mask_and_temperature():
    logits = np.log([0.5, 0.3, 0.15, 0.05])
    draws = sm.sample(np.tile(logits, (30_000, 1)), rng=rng(4), mask=sm.top_k_mask(logits, 2))
    counts = np.bincount(draws, minlength=4)
    assert counts[2:].sum() == 0
    assert stats.chisquare(counts[:2], 30_000 * np.array([5, 3]) / 8).pvalue > 1e-3
    draws = sm.sample(np.tile(logits, (30_000, 1)), rng=rng(4), temperature=2.0)
    q = sp_softmax(logits / 2)
    assert stats.chisquare(np.bincount(draws, minlength=4), 30_000 * q).pvalue > 1e-3


# ---------------------------------------------------------------- bad input
def test_bad_inputs():
    x = np.zeros(4)
    g = rng()
    with pytest.raises(TypeError, match="Generator"):
        sm.gumbel(3, rng=np.random.RandomState(0))
    with pytest.raises(TypeError, match="Generator"):
        sm.sample(x, rng=0)
    with pytest.raises(TypeError, match="dtype"):
        sm.gumbel(3, rng=g, dtype=np.float16)
    for bad in (x.astype(np.float16), x.astype(complex), x.astype(bool), np.array(["a", "b"])):
        with pytest.raises(TypeError):
            sm.gumbel_max(bad, rng=g)
    for tau in (0.0, -1.0, np.nan, np.inf):
        with pytest.raises(ValueError, match="tau"):
            sm.gumbel_softmax(x, tau, rng=g)
    with pytest.raises(TypeError):
        sm.gumbel_softmax(x, "hot", rng=g)
    for k in (0, -1):
        with pytest.raises(ValueError, match="k"):
            sm.top_k_mask(x, k)
    for k in (1.5, True, None):
        with pytest.raises(TypeError, match="k"):
            sm.top_k_mask(x, k)
    for p in (0.0, -0.1, 1.1, np.nan):
        with pytest.raises(ValueError, match="p"):
            sm.top_p_mask(x, p)
    for p in (-0.1, 1.5):
        with pytest.raises(ValueError, match="p_base"):
            sm.min_p_mask(x, p)
    for n in (-1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="n"):
            sm.top_n_sigma_mask(x, n)
    for t in (0.0, -2.0, np.inf):
        for f, a in ((sm.top_p_mask, 0.9), (sm.min_p_mask, 0.1), (sm.top_n_sigma_mask, 1.0)):
            with pytest.raises(ValueError, match="temperature"):
                f(x, a, temperature=t)
        with pytest.raises(ValueError, match="temperature"):
            sm.sample(x, rng=g, temperature=t)
    with pytest.raises(np.exceptions.AxisError):
        sm.top_k_mask(x, 1, axis=1)
    with pytest.raises(TypeError, match="axis"):
        sm.gumbel_max(x, axis=0.5, rng=g)
    for bad in ([0.0, np.nan], [0.0, np.inf], [-np.inf, -np.inf], []):
        with pytest.raises(ValueError):
            sm.gumbel_max(np.array(bad), rng=g)
    with pytest.raises(ValueError, match="0-d"):
        sm.top_k_mask(np.float64(1.0), 1)
    with pytest.raises(ValueError, match="every token"):
        sm.sample(x, rng=g, mask=np.zeros(4, bool))
    with pytest.raises(TypeError, match="boolean"):
        sm.sample(x, rng=g, mask=np.ones(4))
