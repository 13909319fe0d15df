"""Hypothesis property tests of every kernel: sums to one, shift invariance, order preserved, agreement
with the reference; row lengths drawn around every kernel's tile (1 to 4 vectors of 16 floats and past)."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import softlib
from softlib.testing import ulp_error as ulps
from softlib import _core as core

PATHS = softlib.isas()
ALGORITHMS = core.algorithms()
BOUND = {np.float32: 3, np.float64: 4}
# Row lengths: every size up to 70 (tiles of 1, 4, 8, 16, 32, 64 lanes and their neighbours), and some
# larger ones around multiples of the 2-vector and 4-vector tiles.
LENGTHS = st.one_of(st.integers(1, 70), st.sampled_from([95, 96, 97, 127, 128, 129, 255, 256, 257, 1023]))
SETTINGS = settings(max_examples=40, deadline=None)


def rows(dtype, lo=-100.0, hi=100.0):
    return LENGTHS.flatmap(lambda n: hnp.arrays(
        dtype, (2, n), elements=st.floats(lo, hi, width=np.dtype(dtype).itemsize * 8)))


def kernel_softmax(x, path, algorithm):
    y = np.empty_like(x)
    core.softmax(x, y, ALGORITHMS.index(algorithm), 1, path)
    return y


def exact(x):
    xl = x.astype(np.longdouble)
    e = np.exp(xl - xl.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@SETTINGS
@given(data=st.data())
def test_sums_to_one_and_agrees_with_the_reference(path, dtype, data):
    x = data.draw(rows(dtype))
    ref = exact(x)
    for algorithm in ALGORITHMS:
        y = kernel_softmax(x, path, algorithm)
        # Each output within BOUND ULPs of the exact value, so the exact sum (math.fsum: NumPy's
        # float64 sum of float64 outputs adds its own roundings) within BOUND * eps of 1.
        sums = np.array([math.fsum(row) for row in y.astype(np.float64)])
        assert np.all(np.abs(sums - 1) <= BOUND[dtype] * np.finfo(dtype).eps * 1.01)
        normal = ref >= np.finfo(dtype).tiny
        assert np.all(ulps(y, ref, dtype)[normal] <= BOUND[dtype])
        # The NumPy reference rounds x - max in float64, which exp turns into a relative error of up
        # to |x - max| 2^-53, and sums in float64 (up to ~10 ULP near 1): the tolerance adds both.
        ref64 = softlib.softmax(x, algorithm="reference")
        spread = np.abs(x - x.max(axis=-1, keepdims=True)).astype(np.float64)
        tol = (BOUND[dtype] * np.finfo(dtype).eps + (spread + 16) * 2.0**-52) * ref64 + np.finfo(dtype).tiny
        assert np.all(np.abs(y - ref64) <= tol)


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(n=LENGTHS, data=st.data())
def test_shift_invariance(path, n, data):
    # Multiples of 1/8 in [-64, 64] shifted by an integer up to 1000: x + c is exact in float32.
    k = data.draw(hnp.arrays(np.int32, (n,), elements=st.integers(-512, 512)))
    c = data.draw(st.integers(-1000, 1000))
    x = (k / 8).astype(np.float32)[None, :]
    for algorithm in ALGORITHMS:
        a, b = kernel_softmax(x, path, algorithm), kernel_softmax(x + np.float32(c), path, algorithm)
        # Both within 3 ULP of the same exact value.
        assert np.all(np.abs(a - b) <= 6 * np.spacing(np.maximum(a, b)))


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(x=rows(np.float32, -30.0, 30.0))
def test_order_preserved(path, x):
    for algorithm in ALGORITHMS:
        y = kernel_softmax(x, path, algorithm)
        for r in range(x.shape[0]):
            order = np.argsort(x[r], kind="stable")
            ys = y[r, order]
            # Sorted inputs give sorted outputs, up to the error bound for (nearly) equal inputs...
            assert np.all(ys[:-1] <= ys[1:] * (1 + 6 * np.finfo(np.float32).eps))
            # ... and strictly where the exact outputs differ by more than twice the bound.
            xs = x[r, order].astype(np.float64)
            far = np.diff(xs) > 12 * np.finfo(np.float32).eps
            assert np.all(ys[1:][far] > ys[:-1][far])


@pytest.mark.parametrize("path", PATHS)
@SETTINGS
@given(x=rows(np.float32, -1000.0, 1000.0))
def test_log_softmax_and_logsumexp_agree_with_the_reference(path, x):
    xl = x.astype(np.longdouble)
    m = xl.max(axis=-1, keepdims=True)
    lse = m + np.log(np.exp(xl - m).sum(axis=-1, keepdims=True))
    for algorithm in ALGORITHMS:
        y = np.empty_like(x)
        core.log_softmax(x, y, ALGORITHMS.index(algorithm), 1, path)
        err = np.abs(y - (xl - lse)) / np.spacing(np.maximum(np.abs(xl - lse), 1).astype(np.float32))
        assert err.max() <= 3
    out = np.empty(x.shape[0], np.float32)
    core.logsumexp(x, out, 1, path)
    assert np.all(np.abs(out - lse[:, 0]) <= 3 * np.spacing(np.maximum(np.abs(lse[:, 0]), 1).astype(np.float32)))
