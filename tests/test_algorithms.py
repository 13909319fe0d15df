"""softlib.book.algorithms: the teaching versions of the three-pass, Two-Pass and online algorithms."""

from decimal import Decimal, getcontext

import numpy as np
import pytest
from hypothesis import given, settings, strategies as st
from hypothesis.extra import numpy as hnp

from softlib.book import algorithms as alg
from softlib import reference

RNG = np.random.default_rng(20260123)
U32 = 2.0 ** -24
U64 = 2.0 ** -53


def rows(dtype):
    """Rows that overflow without the max shift, wide ranges, ties and one dominant element."""
    cases = [
        RNG.uniform(90, 100, 1000),
        RNG.uniform(-1000, 1000, 257),
        RNG.normal(0, 3, 64),
        np.full(33, 7.5),
        np.r_[50.0, np.zeros(20)],
        np.array([1e4, 1e4 - 1, -1e4]),
    ]
    return [c.astype(dtype) for c in cases]


def relative_error_bound(x, u):
    """Theory bound on the relative error of each output of a float softmax, in units of u.

    x - max rounds to within |x - max| u; exp and the product add a few u; the sum of n terms adds
    at most (n - 1) u relative error. Inputs are rounded first, so the bound is relative to
    the softmax of the rounded inputs.
    """
    z = np.abs(x.astype(np.float64) - np.max(x))
    return (z + x.size + 8) * u


@pytest.mark.parametrize("dtype, u", [(np.float32, U32), (np.float64, U64)])
@pytest.mark.parametrize("method", ["reload", "recompute", "two_pass", "online"])
def test_every_teaching_version_agrees_with_the_reference(dtype, u, method):
    for x in rows(dtype):
        if method in ("reload", "recompute"):
            y = alg.three_pass_softmax(x, variant=method)
        else:
            y = getattr(alg, f"{method}_softmax")(x)
        exact = reference.softmax(x.astype(np.float64))
        assert y.dtype == dtype
        normal = exact >= np.finfo(dtype).tiny
        rel = np.abs(y[normal] - exact[normal]) / exact[normal]
        assert np.all(rel <= relative_error_bound(x, u)[normal]), (method, rel.max())


def test_naive_overflows_where_theory_says():
    limit32 = np.log(np.finfo(np.float32).max)  # 88.72
    below = np.array([limit32 - 0.01, 0.0], dtype=np.float32)
    above = np.array([limit32 + 0.01, 0.0], dtype=np.float32)
    assert np.all(np.isfinite(alg.naive_softmax(below)))
    assert np.isnan(alg.naive_softmax(above)[0])
    assert np.all(np.isfinite(alg.three_pass_softmax(above)))
    assert np.all(np.isfinite(alg.naive_softmax(above.astype(np.float64))))


def test_bytes_per_element_matches_the_sweep_counts():
    assert {a: alg.bytes_per_element(a) for a in alg.SWEEPS} == {
        "three_pass": 20, "three_pass_recompute": 16, "two_pass": 12, "online": 12, "pytorch": 24, "copy": 8,
    }
    assert alg.bytes_per_element("two_pass", 8, write_allocate=True) == 32
    with pytest.raises(ValueError, match="unknown algorithm"):
        alg.bytes_per_element("four_pass")
    with pytest.raises(ValueError, match="itemsize"):
        alg.bytes_per_element("copy", 3)


@given(hnp.arrays(np.float64, st.integers(1, 50), elements=st.floats(-2e4, 2e4)))
@settings(max_examples=200, deadline=None)
def test_extexp_pairs_are_bounded_and_exact(x):
    p, n = alg.extexp(x)
    assert np.all((p >= 2 ** -0.5 * (1 - 1e-12)) & (p <= 2 ** 0.5 * (1 + 1e-12)))
    finite = np.abs(x) < 700
    exact = np.exp(x[finite])
    assert np.allclose(np.ldexp(p[finite], n[finite].astype(np.int32)), exact, rtol=8 * U64, atol=0)


def test_extexp_refuses_what_it_cannot_pair():
    with pytest.raises(ValueError, match="finite"):
        alg.extexp(np.array([1.0, np.inf]))
    with pytest.raises(ValueError, match="handles"):
        alg.extexp(np.array([2e7]))
    with pytest.raises(TypeError, match="float32 or float64"):
        alg.extexp(np.array([1 + 2j]))


@pytest.mark.parametrize("dtype, u", [(np.float32, U32), (np.float64, U64)])
def test_two_pass_pairs_reproduce_the_exact_partial_sums(dtype, u):
    getcontext().prec = 40
    x = RNG.uniform(-200, 300, 40).astype(dtype)         # e^300 overflows float32
    trace = alg.two_pass_trace(x)
    exact, running = [], Decimal(0)
    for v in x.tolist():
        running += Decimal(v).exp()
        exact.append(running)
    for j, s in enumerate(exact):
        held = Decimal(float(trace.m[j])) * Decimal(2) ** int(trace.e[j])
        # p is rounded once (u) and each of the j additions adds at most u: (j + 2) u.
        assert abs(held - s) / s <= Decimal((j + 2) * u)
    assert np.all(trace.m <= np.sqrt(2) * np.arange(1, x.size + 1))
    assert np.allclose(trace.y, alg.two_pass_softmax(x), rtol=(x.size + 8) * u, atol=np.finfo(dtype).tiny)


def test_two_pass_trace_refuses_matrices():
    with pytest.raises(ValueError, match="1-D"):
        alg.two_pass_trace(np.zeros((2, 2)))


def test_online_trace_holds_the_shifted_partial_sums():
    x = RNG.normal(0, 5, 30)
    t = alg.online_trace(x)
    for j in range(x.size):
        assert t.m[j] == np.max(x[: j + 1])
        assert np.isclose(t.d[j], np.sum(np.exp(x[: j + 1] - t.m[j])), rtol=1e-13)


@given(st.lists(st.tuples(st.floats(-50, 50), st.floats(0.1, 100)), min_size=3, max_size=3))
def test_online_merge_is_associative_and_commutative(pairs):
    a, b, c = pairs
    left = alg.online_merge(alg.online_merge(a, b), c)
    right = alg.online_merge(a, alg.online_merge(b, c))
    assert left[0] == right[0] and np.isclose(left[1], right[1], rtol=1e-12)
    assert alg.online_merge(a, b) == pytest.approx(alg.online_merge(b, a), rel=1e-14)
    assert alg.online_merge((-np.inf, 0.0), a) == pytest.approx(a)


@pytest.mark.parametrize("blocks", [1, 2, 3, 5, 8, 17])
def test_merge_tree_root_is_the_sequential_normaliser(blocks):
    x = RNG.normal(0, 10, 17)
    start, stop, m, d = alg.online_merge_tree(x, blocks)[-1][0]
    t = alg.online_trace(x)
    assert (start, stop, m) == (0, 17, t.m[-1]) and np.isclose(d, t.d[-1], rtol=1e-13)
    with pytest.raises(ValueError, match="blocks"):
        alg.online_merge_tree(x, 18)


@pytest.mark.parametrize("k", [1, 3, 10, 40])
def test_softmax_topk_stream_equals_sorting_the_full_softmax(k):
    x = np.round(RNG.normal(0, 2, 40), 1)                # rounding makes ties
    probs, idx = alg.softmax_topk_stream(x, k)
    full = reference.softmax(x)
    order = np.argsort(-full, kind="stable")[:k]         # descending, ties to the lower index
    assert np.array_equal(idx, order)
    assert np.allclose(probs, full[order], rtol=1e-13, atol=0)


def test_softmax_topk_stream_refuses_bad_k():
    for k in (0, 5):
        with pytest.raises(ValueError, match="k must be"):
            alg.softmax_topk_stream(np.zeros(4), k)


@pytest.mark.parametrize("block", [1, 4, 7, 64])
def test_blockwise_attention_equals_full_attention(block):
    q, k, v = RNG.normal(size=(5, 8)), RNG.normal(size=(50, 8)) * 4, RNG.normal(size=(50, 3))
    scores = q @ k.T / np.sqrt(8)
    assert np.allclose(alg.blockwise_attention(q, k, v, block), reference.softmax(scores) @ v, rtol=1e-12)
    with pytest.raises(ValueError, match="shapes"):
        alg.blockwise_attention(q, k[:, :4], v, block)


def test_ulp_error_counts_units_in_the_last_place():
    one = np.float32(1.0)
    assert alg.ulp_error(np.nextafter(one, np.float32(2)), 1.0) == 1.0
    assert alg.ulp_error(np.float64(0.1), 0.1) == 0.0
    with pytest.raises(TypeError):
        alg.ulp_error(np.array([1], dtype=np.int32), 1.0)
