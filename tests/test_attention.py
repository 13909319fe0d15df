"""softlib.attention: the full-matrix reference, the blockwise schedule (NumPy and the C++ kernel on
every code path), and their errors on bad input."""

import os
import subprocess
import sys

import numpy as np
import pytest

import softlib
from softlib.attention import attention, blockwise_attention, blockwise_trace
from softlib.attention.core import _blockwise_numpy

try:
    from softlib import _core as core
except ImportError:  # pragma: no cover - without a build
    core = None

HAS_KERNEL = core is not None and hasattr(core, "attention_blockwise")
PATHS = softlib.isas() if HAS_KERNEL else []
DTYPES = [np.float32, np.float64]
TOL = {np.float32: 2e-6, np.float64: 1e-13}  # relative to max |v|: float rounding of a weighted mean


def exact(q, k, v, causal=False, scale=None):
    """Softmax attention in long double."""
    q, k, v = (np.asarray(a, dtype=np.longdouble) for a in (q, k, v))
    scale = 1 / np.sqrt(np.longdouble(q.shape[-1])) if scale is None else np.longdouble(scale)
    s = scale * np.einsum("...nd,...md->...nm", q, k)
    if causal:
        s = np.where(np.tril(np.ones(s.shape[-2:], dtype=bool)), s, -np.inf)
    e = np.exp(s - s.max(axis=-1, keepdims=True))
    return np.einsum("...nm,...mv->...nv", e / e.sum(axis=-1, keepdims=True), v)


def inputs(rng, shape_q, shape_k, dv, dtype, spread=3.0):
    q = (rng.normal(size=shape_q) * spread).astype(dtype)
    k = rng.normal(size=shape_k).astype(dtype)
    v = rng.normal(size=shape_k[:-1] + (dv,)).astype(dtype)
    return q, k, v


def close(y, ref, v, dtype, q=None, k=None):
    """|y - ref| / max |v| within TOL, plus, when q and k are given, the rounding of the scores
    themselves (up to sum_c |q_c k_c| / sqrt(d) * eps each, moving the weights by as much): large
    scores lose absolute precision in any float format, the full-matrix reference's included."""
    scale = max(1.0, float(np.abs(v).max()))
    err = float(np.max(np.abs(y.astype(np.longdouble) - ref))) / scale if y.size else 0.0
    tol = TOL[dtype]
    if q is not None:
        sabs = float((np.abs(q) @ np.swapaxes(np.abs(k), -1, -2)).max()) / np.sqrt(q.shape[-1])
        tol += 2 * sabs * np.finfo(dtype).eps
    return err <= tol, err


# ------------------------------------------------------------------------------ the full reference
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_full_softmax_matches_long_double(dtype, causal):
    rng = np.random.default_rng(1)
    q, k, v = inputs(rng, (33, 16), (33, 16), 5, dtype)
    y = attention(q, k, v, causal=causal)
    assert y.dtype == dtype and y.shape == (33, 5)
    ok, err = close(y, exact(q, k, v, causal), v, dtype)
    assert ok, err


def test_kinds_by_hand():
    q = np.array([[1.0, 0.0]])
    k = np.array([[1.0, 0.0], [0.0, 1.0], [-1.0, 0.0]])
    v = np.array([[1.0], [2.0], [4.0]])
    s = np.array([1.0, 0.0, -1.0])
    sig = 1 / (1 + np.exp(-s))
    sp = np.log1p(np.exp(s))
    np.testing.assert_allclose(attention(q, k, v, "sigmoid", scale=1.0), [[sig @ v[:, 0]]])
    np.testing.assert_allclose(attention(q, k, v, "softplus", scale=1.0), [[sp @ v[:, 0] / sp.sum()]])
    np.testing.assert_allclose(attention(q, k, v, "linear", scale=1.0), [[(1 + s) @ v[:, 0] / 3]])
    sm = np.exp(s) / np.exp(s).sum()
    np.testing.assert_allclose(attention(q, k, v, scale=1.0), [[sm @ v[:, 0]]])
    # bias: -log m for sigmoid; a scalar and an array give the same
    b = -np.log(3.0)
    np.testing.assert_allclose(attention(q, k, v, "sigmoid", scale=1.0, bias=b),
                               attention(q, k, v, "sigmoid", scale=1.0, bias=np.full((1, 3), b)))


def test_causal_masks_later_keys_every_kind():
    rng = np.random.default_rng(2)
    q, k, v = inputs(rng, (6, 4), (6, 4), 3, np.float64)
    for kind in ("softmax", "sigmoid", "softplus", "linear"):
        y = attention(q, k, v, kind, causal=True)
        for i in range(6):
            yi = attention(q[i:i + 1], k[: i + 1], v[: i + 1], kind)
            np.testing.assert_allclose(y[i], yi[0], rtol=1e-12, atol=1e-12, err_msg=kind)


def test_fully_masked_softmax_row_is_zero():
    q, k, v = np.ones((2, 2)), np.ones((3, 2)), np.ones((3, 1))
    bias = np.array([[0.0, 0.0, 0.0], [-np.inf, -np.inf, -np.inf]])
    y = attention(q, k, v, bias=bias)
    np.testing.assert_allclose(y, [[1.0], [0.0]])


def test_batch_axes_broadcast():
    rng = np.random.default_rng(3)
    q = rng.normal(size=(2, 3, 5, 4))
    k = rng.normal(size=(3, 7, 4))
    v = rng.normal(size=(1, 3, 7, 2))
    y = attention(q, k, v)
    assert y.shape == (2, 3, 5, 2)
    np.testing.assert_allclose(y[1, 2], attention(q[1, 2], k[2], v[0, 2]), rtol=1e-12)
    np.testing.assert_allclose(blockwise_attention(q, k, v, block=3), y, rtol=1e-12, atol=1e-14)


def test_mixed_dtypes_promote_and_empty_queries():
    q = np.ones((0, 4), np.float32)
    k, v = np.ones((3, 4), np.float32), np.ones((3, 2), np.float32)
    assert attention(q, k, v).shape == (0, 2) and blockwise_attention(q, k, v).dtype == np.float32
    y = attention(np.ones((1, 4), np.float32), k.astype(np.float64), v)
    assert y.dtype == np.float64


def test_nan_propagates():
    rng = np.random.default_rng(4)
    q, k, v = inputs(rng, (3, 4), (5, 4), 2, np.float64)
    q[1, 0] = np.nan
    for y in (attention(q, k, v), blockwise_attention(q, k, v, block=2)):
        assert np.all(np.isnan(y[1])) and np.all(np.isfinite(y[[0, 2]]))


# ------------------------------------------------------------------------- bad input fails early
@pytest.mark.parametrize("fn", [attention, blockwise_attention])
def test_bad_inputs(fn):
    q, k, v = np.ones((3, 4)), np.ones((5, 4)), np.ones((5, 2))
    with pytest.raises(ValueError, match="last axis"):
        fn(q, np.ones((5, 3)), v)
    with pytest.raises(ValueError, match="number of keys"):
        fn(q, k, np.ones((4, 2)))
    with pytest.raises(ValueError, match="causal"):
        fn(q, k, v, causal=True)
    with pytest.raises(TypeError, match="float32 or float64"):
        fn(q.astype(int), k, v)
    with pytest.raises(TypeError, match="float32 or float64"):
        fn(q, k.astype(np.complex128), v)
    with pytest.raises(TypeError, match="float32 or float64"):
        fn(q, k, v.astype(np.float16))
    with pytest.raises(ValueError, match="at least 2 dimensions"):
        fn(np.ones(4), k, v)
    with pytest.raises(ValueError, match="at least one key"):
        fn(q, np.ones((0, 4)), np.ones((0, 2)))
    with pytest.raises(ValueError, match="broadcast"):
        fn(np.ones((2, 3, 4)), np.ones((3, 5, 4)), np.ones((3, 5, 2)))
    with pytest.raises(ValueError, match="finite"):
        fn(q, k, v, scale=np.inf)
    with pytest.raises(TypeError, match="scale"):
        fn(q, k, v, scale="1")


def test_bad_kind_bias_block():
    q, k, v = np.ones((3, 4)), np.ones((5, 4)), np.ones((5, 2))
    with pytest.raises(ValueError, match="unknown kind"):
        attention(q, k, v, "relu")
    with pytest.raises(ValueError, match="broadcast"):
        attention(q, k, v, bias=np.ones((2, 5)))
    with pytest.raises(TypeError, match="bias"):
        attention(q, k, v, bias="x")
    for bad in (0, -3):
        with pytest.raises(ValueError, match="positive integer"):
            blockwise_attention(q, k, v, block=bad)
    for bad in (2.0, True, None):
        with pytest.raises(TypeError, match="positive integer"):
            blockwise_attention(q, k, v, block=bad)


# --------------------------------------------------------------- blockwise == full, every block
BLOCKS = [1, 2, 3, 5, 7, 8, 16, 31, 32, 33, 64, 100, 128, 129, 1000]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_numpy_blockwise_every_block(dtype, causal):
    rng = np.random.default_rng(5)
    n = m = 97
    q, k, v = inputs(rng, (n, 8), (m, 8), 3, dtype)
    ref = exact(q, k, v, causal)
    for block in BLOCKS:
        y = _blockwise_numpy(q, k, v, block, causal, 1 / np.sqrt(8))
        ok, err = close(y, ref, v, dtype)
        assert ok and y.dtype == dtype, (block, err)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_blockwise_every_block(dtype, causal):
    rng = np.random.default_rng(6)
    for n, m in ((97, 97), (1, 1), (2, 2), (40, 40)) if causal else ((97, 131), (1, 1), (5, 200), (64, 33)):
        q, k, v = inputs(rng, (n, 8), (m, 8), 3, dtype)
        ref = exact(q, k, v, causal)
        for block in BLOCKS:
            y = blockwise_attention(q, k, v, block=block, causal=causal)
            ok, err = close(y, ref, v, dtype)
            assert ok and y.dtype == dtype and y.shape == (n, 3), (n, m, block, err)


@pytest.mark.skipif(not HAS_KERNEL, reason="the compiled blockwise kernel is not built")
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("causal", [False, True])
def test_kernel_every_path_block_and_size(path, dtype, causal):
    rng = np.random.default_rng(7)
    # d and dv around the vector widths (1, 4, 8, 16 lanes); m around the blocks
    shapes = [(1, 1, 1, 1), (17, 17, 3, 5), (70, 70, 16, 8), (33, 33, 64, 17)] if causal else \
             [(1, 1, 1, 1), (9, 131, 3, 5), (70, 257, 16, 8), (4, 33, 64, 17), (2, 1, 5, 1)]
    for n, m, d, dv in shapes:
        q, k, v = inputs(rng, (2, n, d), (2, m, d), dv, dtype)
        ref = exact(q, k, v, causal)
        for block in BLOCKS:
            out = np.full((2, n, dv), np.nan, dtype)
            core.attention_blockwise(q, k, v, out, block, causal, 1 / np.sqrt(d), 1, path)
            ok, err = close(out, ref, v, dtype)
            assert ok, (path, n, m, d, dv, block, err)


@pytest.mark.skipif(not HAS_KERNEL, reason="the compiled blockwise kernel is not built")
@pytest.mark.parametrize("dtype", DTYPES)
def test_kernel_threads_large_scores_and_nan(dtype):
    rng = np.random.default_rng(8)
    q, k, v = inputs(rng, (3, 200, 32), (3, 300, 32), 16, dtype, spread=30.0)  # scores up to ~1e3
    ref = exact(q, k, v)
    for threads in (1, 2, 3, 7):
        out = np.empty((3, 200, 16), dtype)
        core.attention_blockwise(q, k, v, out, 64, False, 1 / np.sqrt(32), threads, "")
        assert close(out, ref, v, dtype, q, k)[0], threads
        full = attention(q, k, v)  # the NumPy reference has the same score rounding
        assert close(full, ref, v, dtype, q, k)[0]
    q[0, 5, 0] = np.nan
    out = np.empty((3, 200, 16), dtype)
    core.attention_blockwise(q, k, v, out, 64, False, 1 / np.sqrt(32), 2, "")
    assert np.all(np.isnan(out[0, 5])) and np.isfinite(np.delete(out[0], 5, axis=0)).all()


@pytest.mark.skipif(not HAS_KERNEL, reason="the compiled blockwise kernel is not built")
def test_kernel_rejects_bad_arrays():
    q, k, v = np.ones((1, 3, 4)), np.ones((1, 5, 4)), np.ones((1, 5, 2))
    out = np.empty((1, 3, 2))
    with pytest.raises(ValueError):
        core.attention_blockwise(q, k, np.ones((1, 4, 2)), out, 2, False, 0.5, 1, "")
    with pytest.raises(ValueError):
        core.attention_blockwise(q, k, v, np.empty((1, 3, 3)), 2, False, 0.5, 1, "")
    with pytest.raises(ValueError):
        core.attention_blockwise(q, k, v, out, 0, False, 0.5, 1, "")
    with pytest.raises(ValueError):
        core.attention_blockwise(q, k, v, out, 2, True, 0.5, 1, "")
    with pytest.raises(ValueError):
        core.attention_blockwise(q, k, v, out, 2, False, 0.5, 1, "avx1024")
    with pytest.raises(TypeError):
        core.attention_blockwise(q.astype(np.float32), k, v, out, 2, False, 0.5, 1, "")


@pytest.mark.skipif(not HAS_KERNEL, reason="the compiled blockwise kernel is not built")
@pytest.mark.parametrize("path", PATHS)
def test_blockwise_attention_under_softlib_isa(path):
    code = ("import numpy as np, softlib; from softlib.attention import attention, blockwise_attention\n"
            "r = np.random.default_rng(0); q, k, v = r.normal(size=(2, 50, 8)), r.normal(size=(2, 50, 8)), "
            "r.normal(size=(2, 50, 3))\n"
            "for dt in (np.float32, np.float64):\n"
            "  a = [x.astype(dt) for x in (q, k, v)]\n"
            "  for c in (False, True):\n"
            "    e = np.abs(blockwise_attention(*a, block=7, causal=c) - attention(*a, causal=c)).max()\n"
            "    assert e < (1e-5 if dt == np.float32 else 1e-12), e\n"
            "print(softlib.isa())")
    out = subprocess.run([sys.executable, "-c", code], env=dict(os.environ, SOFTLIB_ISA=path),
                         capture_output=True, text=True)
    assert out.returncode == 0, out.stderr
    assert out.stdout.strip() == path


def test_trace_ends_at_the_output():
    rng = np.random.default_rng(9)
    q, k, v = rng.normal(size=8), rng.normal(size=(23, 8)), rng.normal(size=(23, 2))
    t = blockwise_trace(q, k, v, block=5)
    assert t.ends.tolist() == [5, 10, 15, 20, 23]
    assert np.all(np.diff(t.m) >= 0)
    np.testing.assert_allclose(t.out[-1], attention(q[None], k, v)[0], rtol=1e-12)
    s = k @ q / np.sqrt(8)
    np.testing.assert_allclose(t.d[-1], np.exp(s - s.max()).sum(), rtol=1e-12)


# --------------------------------------------------------------- the chapters' helper modules
def test_helpers_reject_bad_input():
    from softlib.attention import depth, recurrent, softmax_free
    q = np.ones((4, 3))
    with pytest.raises(ValueError, match="order"):
        recurrent.taylor_attention(q, q, q, -1)
    with pytest.raises(ValueError, match="form"):
        recurrent.taylor_attention(q, q, q, 2, form="loop")
    with pytest.raises(ValueError, match="causal"):
        recurrent.taylor_attention(q, q, q, 2, form="recurrent", causal=False)
    with pytest.raises(ValueError, match="square"):
        depth.sinkhorn(np.ones((2, 3)))
    with pytest.raises(ValueError, match="kind"):
        depth.simulate_depth("plain", width=4, depth=2)
    with pytest.raises(ValueError, match="k must be"):
        softmax_free.statistical_topk_threshold(np.ones(8), 8)
    with pytest.raises(ValueError, match="m must be"):
        softmax_free.pool_landmarks(np.ones((4, 2)), 5)
    with pytest.raises(ValueError, match="unknown kind"):
        softmax_free.signal_weight("relu", 16)


def test_taylor_identities():
    from softlib.attention import recurrent
    rng = np.random.default_rng(10)
    x = rng.normal(size=(2, 3))
    f = recurrent.taylor_features(x, 4, scale=0.7)
    assert np.isclose(f[0] @ f[1], recurrent.taylor_exp(0.7 * x[0] @ x[1], 4))
    s = np.linspace(-30, 30, 601)
    for p in (2, 4, 6, 8):
        assert recurrent.taylor_exp(s, p).min() > 0
    assert recurrent.taylor_exp(-3.0, 3) < 0
    q, k, v = rng.normal(size=(3, 20, 3))
    for order in (0, 1, 3):
        a, da = recurrent.taylor_attention(q, k, v, order)
        b, db = recurrent.taylor_attention(q, k, v, order, form="recurrent")
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-9)
        np.testing.assert_allclose(da, db, rtol=1e-9)


def test_softmax_free_identities():
    from softlib.attention import softmax_free as sf
    rng = np.random.default_rng(11)
    x = rng.normal(size=(30, 4))
    a = sf.gaussian_kernel(x, x)
    # row-normalised Gaussian kernel = softmax(q.k / sqrt d - |k|^2 / (2 sqrt d))
    s = x @ x.T / 2 - (x * x).sum(1)[None, :] / 4
    w = np.exp(s - s.max(1, keepdims=True))
    np.testing.assert_allclose(a / a.sum(1, keepdims=True), w / w.sum(1, keepdims=True), rtol=1e-12)
    np.testing.assert_allclose(sf.newton_pinv(a[:5, :5] + np.eye(5), 60), np.linalg.inv(a[:5, :5] + np.eye(5)),
                               rtol=1e-10, atol=1e-12)
    # re-weighting in log form equals the power form where the power does not overflow
    w = rng.dirichlet(np.ones(16))
    x = np.maximum(16 * w - 1, 0) ** 15
    np.testing.assert_allclose(sf.reweight(w), x / x.sum(), rtol=1e-12, atol=1e-300)
    assert np.all(sf.reweight(np.full(8, 1 / 8)) == 1 / 8)  # no survivor: unchanged
    np.testing.assert_allclose(sf.signal_weights(64)["softmax"].sum(), 1)


def test_depth_helpers():
    from softlib.attention import depth
    a = depth.shaped_attention(np.random.default_rng(12).normal(size=(6, 6)), 3.0)
    np.testing.assert_allclose(a.sum(1), 1, atol=1e-14)
    p, sweeps, hist = depth.sinkhorn(np.random.default_rng(13).normal(size=(16, 16)), return_history=True)
    assert hist[-1] <= 1e-12 and sweeps == len(hist)
    np.testing.assert_allclose(p.sum(0), 1, atol=1e-11)
    _, stuck = depth.sinkhorn(10 * np.random.default_rng(14).normal(size=(16, 16)), max_iter=3)
    assert stuck == 4


@pytest.mark.skipif(not HAS_KERNEL, reason="the compiled blockwise kernel is not built")
def test_kernel_never_forms_the_score_matrix():
    # Peak resident memory grows by far less than one (n, m) float32 score matrix (16 MiB here) while
    # the kernel runs; the full-matrix reference, for contrast, grows by at least that much.
    code = ("import resource, sys, numpy as np\n"
            "from softlib.attention import attention, blockwise_attention\n"
            "r = np.random.default_rng(0)\n"
            "q, k, v = (r.standard_normal((2048, 16), dtype=np.float32) for _ in range(3))\n"
            "blockwise_attention(q[:8], k[:8], v[:8])\n"
            "fn = blockwise_attention if sys.argv[1] == 'kernel' else attention\n"
            # The peak since now: Linux's VmHWM, reset through clear_refs (ru_maxrss may start at the
            # size of the parent this process was forked from, a large pytest process in a long run).
            "def peak():\n"
            "    try:\n"
            "        status = open('/proc/self/status').read().split('VmHWM:')[1]\n"
            "        return int(status.split()[0]) * 1024\n"
            "    except (OSError, IndexError):\n"
            "        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024\n"
            "try:\n"
            "    open('/proc/self/clear_refs', 'w').write('5')\n"
            "except OSError:\n"
            "    pass\n"
            "base = peak()\n"
            "fn(q, k, v)\n"
            "print(peak() - base)")
    grew = {}
    for which in ("kernel", "full"):
        out = subprocess.run([sys.executable, "-c", code, which], capture_output=True, text=True)
        assert out.returncode == 0, out.stderr
        grew[which] = int(out.stdout.strip())
    score_matrix = 2048 * 2048 * 4
    assert grew["kernel"] < score_matrix / 4, grew
    assert grew["full"] >= score_matrix, grew
