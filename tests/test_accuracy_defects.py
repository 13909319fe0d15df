"""Regression tests for the six defects of issue 15, on every code path and algorithm.

Errors are in ULP of the exact value itself (softlib.testing.ulp_error with no floor): a
log-probability of -1e-17 returned as 0 or +1e-17 is wrong by many ULP, as a user sees it.
"""

import numpy as np
import pytest

import softlib
from softlib import _core as core
from softlib.testing import exact_softmax, ulp_error

PATHS = softlib.isas()
KERNEL_ALGS = list(core.algorithms())
ALGS = KERNEL_ALGS + ["reference"]
DTYPES = [np.float32, np.float64]


def kernel(op, x, algorithm, path, threads=1):
    x = np.ascontiguousarray(x)[None, :] if x.ndim == 1 else x
    y = np.empty_like(x)
    getattr(core, op)(x, y, KERNEL_ALGS.index(algorithm), threads, path)
    return y[0] if y.shape[0] == 1 else y


# 1. float32 log_softmax for large logits: m + log d in double lost log d once |m| was large.
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("algorithm", KERNEL_ALGS)
@pytest.mark.parametrize("big", [1e10, 1e16, 1e30, 3e38])
def test_log_softmax_float32_large_logits(path, algorithm, big):
    x = np.array([big, big], np.float32)
    y = kernel("log_softmax", x, algorithm, path)
    assert ulp_error(y, -np.log(np.longdouble(2)), np.float32).max() <= 1, y
    x = np.array([big, np.float32(big) * np.float32(1 - 2**-20), big / 2], np.float32)
    _, exact, _ = exact_softmax(x)
    assert (
        ulp_error(kernel("log_softmax", x, algorithm, path), exact, np.float32).max()
        <= 2
    )


def test_log_softmax_float32_large_logits_public_and_split():
    assert np.allclose(
        softlib.log_softmax(np.array([1e30, 1e30], np.float32)), -np.log(2), rtol=1e-7
    )
    x = np.full(1 << 17, 1e30, np.float32)  # one long row, split across two threads
    y = softlib.log_softmax(x, threads=2)
    assert ulp_error(y, -np.log(np.longdouble(x.size)), np.float32).max() <= 1


# 2. log_softmax never above 0 (online and two_pass could give +1e-16); near 0 it is exact.
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("algorithm", KERNEL_ALGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_log_softmax_never_positive(path, algorithm, dtype):
    x = np.full(40000, -1000.0)
    x[0], x[1] = 0.1, 38.8
    cases = [
        x,
        np.array([5.0]),
        np.array([0.3, -50.0, -60.0]),
        np.array([1e5, 1e5 - 40]),
    ]
    for x in cases:
        x = x.astype(dtype)
        y = kernel("log_softmax", x, algorithm, path)
        assert (y <= 0).all(), (x[:3], y.max())
        _, exact, _ = exact_softmax(x)
        assert ulp_error(y, exact, dtype).max() <= 3, (x[:3], y[:3], exact[:3])


@pytest.mark.parametrize("algorithm", ALGS)
def test_log_softmax_never_positive_public(algorithm):
    x = np.full(40000, -1000.0)
    x[0], x[1] = 0.1, 38.8
    assert softlib.log_softmax(x, algorithm=algorithm)[1] <= 0
    assert softlib.log_softmax(np.array([5.0]), algorithm=algorithm)[0] == 0
    y = softlib.log_softmax(np.full(1 << 17, 3.0), threads=2)  # the split-row path
    assert (y <= 0).all()


# 3. logsumexp keeps its relative accuracy near 0 (SciPy gh-18295).
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_logsumexp_relative_accuracy_near_zero(path, dtype):
    for x in (
        [0.0, -40.0],
        [0.0, -20.0, -30.0],
        [-60.0, 0.0, -15.5],
        [0.0] + [-25.0] * 1000,
    ):
        x = np.array(x, dtype)[None, :]
        out = np.empty(1, dtype)
        core.logsumexp(x, out, 1, path)
        _, _, exact = exact_softmax(x)
        assert ulp_error(out, exact, dtype).max() <= 2, (x[0, :3], out, exact)


def test_logsumexp_gh18295():
    assert softlib.logsumexp(np.array([0.0, -40.0]), axis=-1) == pytest.approx(
        4.248354255291589e-18, rel=1e-15
    )
    assert softlib.logsumexp(np.array([0.0, -40.0]), axis=-1) == np.logaddexp(
        0.0, -40.0
    )
    x = np.zeros(1 << 17)
    x[1:] = -60.0
    assert softlib.logsumexp(x, axis=-1, threads=2) == pytest.approx(
        131071 * np.exp(-60.0), rel=1e-14
    )


# 4. long double input is computed in long double, as SciPy (NumPy) computes it.
@pytest.mark.parametrize("func", ["softmax", "log_softmax", "logsumexp"])
def test_longdouble_input(func):
    ld = np.longdouble
    x = np.log(np.array([1, 2, 3, 4], ld))
    y = getattr(softlib, func)(x, axis=-1)
    assert np.asarray(y).dtype == ld
    exact = {
        "softmax": np.array([1, 2, 3, 4], ld) / 10,
        "log_softmax": x - np.log(ld(10)),
        "logsumexp": np.log(ld(10)),
    }[func]
    rel = np.abs((np.asarray(y, ld) - exact) / exact).max()
    # float64 would leave ~1e-16; long double (64-bit significand where the platform has one) 1e-18.
    assert rel <= 8 * np.finfo(ld).eps, rel


# 5. Subnormal outputs are computed, not flushed to 0 (as SciPy gives them).
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("algorithm", KERNEL_ALGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_subnormal_outputs(path, algorithm, dtype):
    low = -720.0 if dtype == np.float64 else -95.0
    rng = np.random.default_rng(5)
    for x in (
        [0.0, low],
        [0.0, -744.0 if dtype == np.float64 else -103.0],
        np.concatenate([[0.0], rng.uniform(low - 7, low + 7, 100)]),
    ):
        x = np.asarray(x, dtype)
        y = kernel("softmax", x, algorithm, path)
        exact, _, _ = exact_softmax(x)
        assert (y[1:] > 0).all(), (x[:3], y[:3])
        # one ULP of the subnormal spacing for the exponential, one for the scaling by 1/sum
        assert ulp_error(y, exact, dtype).max() <= 2, (x[:3], y[:3], exact[:3])


def test_subnormal_outputs_public():
    y = softlib.softmax(np.array([0.0, -720.0]))
    assert y[1] == pytest.approx(2.03e-313, rel=1e-2)
    assert softlib.softmax(np.array([0.0, -100.0], np.float32))[1] > 0


# 6. What the docstrings promise holds for every algorithm, "reference" included.
@pytest.mark.parametrize("algorithm", ALGS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_documented_bounds_hold(algorithm, dtype):
    assert "3 ULP (float32 and float64)" in " ".join(softlib.softmax.__doc__.split())
    rng = np.random.default_rng(1)
    bound = 3
    for _ in range(20):
        x = rng.uniform(-700 if dtype == np.float64 else -87, 0, 257).astype(dtype)
        x[0] = 0.3
        sm, lsm, _ = exact_softmax(x)
        y = softlib.softmax(x, algorithm=algorithm)
        normal = sm >= np.finfo(dtype).smallest_normal
        assert ulp_error(y, sm, dtype)[normal].max() <= bound
        assert (
            ulp_error(softlib.log_softmax(x, algorithm=algorithm), lsm, dtype).max()
            <= bound
        )
