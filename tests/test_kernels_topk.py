"""softmax_topk on every code path: equal to sorting the full softmax (ties to the lower index),
accuracy as softmax, sizes around the tiles, k around the fused limit, threads, errors."""

import numpy as np
import pytest

import softlib
from softlib.testing import ulp_error as ulps
from softlib import _core as core

PATHS = softlib.isas()


def expected(x, k):
    """Indices by value descending, ties to the lower index; exact probabilities in long double."""
    order = np.lexsort((np.broadcast_to(np.arange(x.shape[-1]), x.shape), -x.astype(np.float64)), axis=-1)[..., :k]
    xl = x.astype(np.longdouble)
    p = np.exp(xl - xl.max(axis=-1, keepdims=True))
    p /= p.sum(axis=-1, keepdims=True)
    return np.take_along_axis(p, order, -1), order


def run(x, k, path, threads=1):
    probs = np.empty((x.shape[0], k), x.dtype)
    idx = np.empty((x.shape[0], k), np.int64)
    core.softmax_topk(x, k, probs, idx, threads, path)
    return probs, idx


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_equals_the_sorted_softmax(path, dtype):
    rng = np.random.default_rng(4)
    bound = 3
    for n in [1, 2, 3, 15, 16, 17, 31, 32, 33, 63, 64, 65, 100, 257, 5000]:
        x = rng.normal(0, 3, (3, n)).astype(dtype)
        x[1] = np.round(x[1])  # many ties
        x[2, : n // 2] = -np.inf  # fewer finite entries than k, sometimes
        for k in sorted({1, 2, 5, 16, 17, 64, 65, n} & set(range(1, n + 1))):
            probs, idx = run(x, k, path)
            want_p, want_i = expected(x, k)
            np.testing.assert_array_equal(idx, want_i, err_msg=f"n={n} k={k}")
            normal = want_p >= np.finfo(dtype).tiny
            assert ulps(probs, want_p, dtype)[normal].max(initial=0) <= bound
            assert np.all(probs[~normal] <= np.finfo(dtype).tiny)
            if k == n:  # the whole row: the sorted softmax itself
                full = softlib.softmax(x)
                np.testing.assert_allclose(probs, np.take_along_axis(full, idx, -1), rtol=8 * np.finfo(dtype).eps)


@pytest.mark.parametrize("path", PATHS)
def test_ties_non_finite_and_errors(path):
    x = np.array([[1.0, 3.0, 3.0, 2.0, 3.0]], np.float32)
    assert run(x, 2, path)[1].tolist() == [[1, 2]]
    for row in ([np.nan, 1.0, 2.0], [1.0, np.inf, 2.0], [-np.inf, -np.inf, -np.inf]):
        p, i = run(np.array([row * 20], np.float32), 3, path)
        assert np.isnan(p).all() and i.tolist() == [[0, 1, 2]]
    p, i = run(np.array([[-np.inf, 0.0, -np.inf, -np.inf]], np.float32), 3, path)
    assert i.tolist() == [[1, 0, 2]] and p.tolist() == [[1.0, 0.0, 0.0]]


@pytest.mark.parametrize("threads", [2, 3])
def test_threads_split_a_long_row(threads):
    x = np.random.default_rng(5).normal(0, 3, (1, 300_001)).astype(np.float32)
    for k in (1, 16, 100):
        p1, i1 = softlib.softmax_topk(x, k, threads=1)
        pt, it = softlib.softmax_topk(x, k, threads=threads)
        np.testing.assert_array_equal(it, i1)
        np.testing.assert_allclose(pt, p1, rtol=4 * np.finfo(np.float32).eps)


def test_public_api():
    x = np.random.default_rng(6).normal(size=(4, 7, 5))
    p, i = softlib.softmax_topk(x, 3, axis=1)
    assert p.shape == (4, 3, 5) and i.shape == (4, 3, 5) and i.dtype == np.int64
    full = softlib.softmax(x, axis=1)
    np.testing.assert_allclose(p, np.take_along_axis(full, i, 1), rtol=1e-14)
    assert np.all(np.diff(p, axis=1) <= 0)
    assert softlib.softmax_topk(np.array([1, 2, 3], np.int8), 1)[0].dtype == np.float16
    assert softlib.softmax_topk(np.zeros((0, 4)), 2)[0].shape == (0, 2)
    with pytest.raises(ValueError, match="k must"):
        softlib.softmax_topk(x, 0)
    with pytest.raises(ValueError, match="k must"):
        softlib.softmax_topk(x, 6)
    with pytest.raises(TypeError, match="k must"):
        softlib.softmax_topk(x, 2.5)
    with pytest.raises(np.exceptions.AxisError):
        softlib.softmax_topk(x, 1, axis=3)
