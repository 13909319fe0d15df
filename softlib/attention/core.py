"""Attention with softmax and its replacements: the full-matrix reference and the blockwise kernel.

``attention`` forms the (n, m) score matrix ``S = scale * q k^T + bias`` and maps it to weights by one
of four rules (softmax, sigmoid, normalised softplus, first-order Taylor "linear"); ``blockwise_attention``
computes softmax attention one key block at a time with the online normaliser's merge, never forming
``S`` (Milakov & Gimelshein's (m, d) recurrence, the idea behind FlashAttention, Dao et al. 2022).
"""

from __future__ import annotations

import numbers
from typing import NamedTuple

import numpy as np

from .._dispatch import core as _core

# SciPy is imported inside the functions that use it: importing softlib needs NumPy alone.

__all__ = ["KINDS", "attention", "blockwise_attention", "blockwise_trace", "check_qkv"]

#: The weight rules of :func:`attention`.
KINDS = ("softmax", "sigmoid", "softplus", "linear")


def _float_array(x, name):
    a = np.asarray(x)
    if a.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be a float32 or float64 array, got dtype {a.dtype}")
    return a


def check_qkv(q, k, v, *, causal=False, scale=None):
    """Validate ``q``, ``k``, ``v`` and broadcast their leading axes.

    Parameters
    ----------
    q, k, v : array_like
        Queries (..., n, d), keys (..., m, d) and values (..., m, dv), float32 or float64; leading
        (batch, head) axes broadcast against each other.
    causal : bool
        Whether a causal mask will be used (then n must equal m).
    scale : float, optional
        The score scale; 1 / sqrt(d) by default (1 when d = 0).

    Returns
    -------
    q, k, v : ndarray
        Of the common dtype (float64 if any input is float64), leading axes broadcast.
    scale : float
        The scale to use.

    Examples
    --------
    >>> import numpy as np
    >>> q, k, v, s = check_qkv(np.ones((2, 4)), np.ones((3, 4)), np.ones((3, 5)))
    >>> q.shape, k.shape, v.shape, s
    ((2, 4), (3, 4), (3, 5), 0.5)
    """
    q, k, v = _float_array(q, "q"), _float_array(k, "k"), _float_array(v, "v")
    for name, a in (("q", q), ("k", k), ("v", v)):
        if a.ndim < 2:
            raise ValueError(f"{name} must have at least 2 dimensions (..., rows, features), got shape {a.shape}")
    if q.shape[-1] != k.shape[-1]:
        raise ValueError(f"q and k must share their last axis d: q has {q.shape[-1]}, k has {k.shape[-1]}")
    if k.shape[-2] != v.shape[-2]:
        raise ValueError(f"k and v must have the same number of keys m: k has {k.shape[-2]}, v has {v.shape[-2]}")
    if k.shape[-2] == 0:
        raise ValueError("attention needs at least one key (m >= 1)")
    if causal and q.shape[-2] != k.shape[-2]:
        raise ValueError(f"causal=True needs as many queries as keys (n == m), got n = {q.shape[-2]}, "
                         f"m = {k.shape[-2]}")
    try:
        batch = np.broadcast_shapes(q.shape[:-2], k.shape[:-2], v.shape[:-2])
    except ValueError:
        raise ValueError(f"the leading (batch, head) axes of q {q.shape[:-2]}, k {k.shape[:-2]} and "
                         f"v {v.shape[:-2]} do not broadcast") from None
    dtype = np.result_type(q, k, v)
    q = np.broadcast_to(q.astype(dtype, copy=False), batch + q.shape[-2:])
    k = np.broadcast_to(k.astype(dtype, copy=False), batch + k.shape[-2:])
    v = np.broadcast_to(v.astype(dtype, copy=False), batch + v.shape[-2:])
    d = q.shape[-1]
    if scale is None:
        scale = 1.0 / np.sqrt(d) if d > 0 else 1.0
    else:
        if isinstance(scale, (bool, np.bool_)) or not isinstance(scale, numbers.Real):
            raise TypeError(f"scale must be a real number, got {type(scale).__name__}")
        if not np.isfinite(scale):
            raise ValueError(f"scale must be finite, got {scale}")
    return q, k, v, float(scale)


def _causal_mask(n):
    return np.tril(np.ones((n, n), dtype=bool))


def attention(q, k, v, kind="softmax", *, scale=None, bias=None, causal=False):
    r"""Attention of queries over keys, with softmax or one of its replacements.

    With scores :math:`S = \mathrm{scale}\, q k^\top + \mathrm{bias}` (shape (..., n, m)), the output is
    :math:`W v` where the weights :math:`W` are, row by row,

    - ``"softmax"``: :math:`W = \mathrm{softmax}(S)` (Vaswani et al. 2017);
    - ``"sigmoid"``: :math:`W = \sigma(S)` elementwise, no normalisation (Ramapuram et al. 2025;
      pass ``bias=-np.log(m)`` for their bias);
    - ``"softplus"``: :math:`W_{ij} = \mathrm{softplus}(S_{ij}) / \sum_j \mathrm{softplus}(S_{ij})`
      (the l1-normalised softplus of Gao & Spratling 2025, without their length scale);
    - ``"linear"``: :math:`W_{ij} = (1 + S_{ij}) / \sum_j (1 + S_{ij})`, the first-order Taylor
      truncation of softmax, i.e. linear attention with features :math:`(1, \sqrt{\mathrm{scale}}\,x)`
      (Mongaras & Larson 2025). Its denominator can be zero or negative.

    Parameters
    ----------
    q, k, v : array_like
        Queries (..., n, d), keys (..., m, d), values (..., m, dv); float32 or float64 (mixed inputs
        give float64); leading axes broadcast.
    kind : {"softmax", "sigmoid", "softplus", "linear"}
        The weight rule.
    scale : float, optional
        Multiplies ``q k^T``; 1 / sqrt(d) by default.
    bias : float or array_like, optional
        Added to the scaled scores; broadcastable to (..., n, m). ``-inf`` entries mask keys.
    causal : bool
        Mask keys after each query (key j > query i); needs n == m.

    Returns
    -------
    ndarray
        (..., n, dv), the common float dtype. A softmax row whose keys are all masked gives 0 (no key
        to attend to); NaN in q, k or v gives NaN in the rows it reaches.

    Examples
    --------
    >>> import numpy as np
    >>> q = np.array([[1.0, 0.0]]); k = np.array([[1.0, 0.0], [0.0, 1.0]]); v = np.array([[1.0], [0.0]])
    >>> np.round(attention(q, k, v, scale=1.0), 4)       # e / (e + 1)
    array([[0.7311]])
    >>> attention(q, k, v, "linear", scale=1.0)          # (1 + 1) / (2 + 1)
    array([[0.66666667]])
    """
    if not isinstance(kind, str) or kind not in KINDS:
        raise ValueError(f"unknown kind {kind!r}: use one of {', '.join(KINDS)}")
    q, k, v, scale = check_qkv(q, k, v, causal=causal, scale=scale)
    dtype = q.dtype
    s = scale * (q @ np.swapaxes(k, -1, -2))
    if bias is not None:
        b = np.asarray(bias)
        if b.dtype.kind not in "fiu":
            raise TypeError(f"bias must be real numbers, got dtype {b.dtype}")
        try:
            s = s + b.astype(dtype, copy=False)
        except ValueError:
            raise ValueError(f"bias of shape {b.shape} does not broadcast to the scores' shape {s.shape}") from None
    s = s.astype(dtype, copy=False)
    mask = _causal_mask(s.shape[-1]) if causal else None
    with np.errstate(invalid="ignore", over="ignore", divide="ignore"):
        if kind == "softmax":
            if mask is not None:
                s = np.where(mask, s, -np.inf)
            mx = np.max(s, axis=-1, keepdims=True)
            empty = ~np.isfinite(mx) & ~np.isnan(mx) & (mx < 0)  # every key masked
            mx = np.where(empty, 0, mx)
            e = np.exp(s - mx)
            w = e / np.sum(e, axis=-1, keepdims=True)
            w = np.where(empty, 0, w)
        elif kind == "sigmoid":
            from scipy.special import expit

            w = expit(s)
            if mask is not None:
                w = np.where(mask, w, 0)
        elif kind == "softplus":
            e = np.logaddexp(0, s)
            if mask is not None:
                e = np.where(mask, e, 0)
            w = e / np.sum(e, axis=-1, keepdims=True)
        else:  # linear
            e = 1 + s
            if mask is not None:
                e = np.where(mask, e, 0)
            w = e / np.sum(e, axis=-1, keepdims=True)
    return (w.astype(dtype, copy=False) @ v).astype(dtype, copy=False)


def _check_block(block):
    if isinstance(block, (bool, np.bool_)) or not isinstance(block, numbers.Integral):
        raise TypeError(f"block must be a positive integer, got {type(block).__name__}")
    if block < 1:
        raise ValueError(f"block must be a positive integer, got {block}")
    return int(block)


class BlockTrace(NamedTuple):
    """The running state of one query row after each key block (see :func:`blockwise_trace`)."""

    ends: np.ndarray  # keys processed after each block
    m: np.ndarray     # running max of the scores
    d: np.ndarray     # running sum of exp(score - m)
    out: np.ndarray   # running output (o / d), (blocks, dv)


def _blockwise_numpy(q, k, v, block, causal, scale):
    """The blockwise schedule in NumPy, one key block at a time for all queries at once."""
    n, m = q.shape[-2], k.shape[-2]
    dtype = q.dtype
    acc = np.zeros(q.shape[:-1] + (v.shape[-1],), dtype=dtype)
    run_m = np.full(q.shape[:-1] + (1,), -np.inf, dtype=dtype)
    run_d = np.zeros(q.shape[:-1] + (1,), dtype=dtype)
    rows = np.arange(n)[:, None]
    for j0 in range(0, m, block):
        j1 = min(j0 + block, m)
        if causal and j0 > n - 1:
            break
        s = (scale * (q @ np.swapaxes(k[..., j0:j1, :], -1, -2))).astype(dtype, copy=False)
        if causal:
            s = np.where(np.arange(j0, j1)[None, :] <= rows, s, -np.inf)
        new_m = np.maximum(run_m, np.max(s, axis=-1, keepdims=True))
        with np.errstate(invalid="ignore"):
            safe = np.where(np.isneginf(new_m), 0, new_m)  # rows with every key so far masked
            alpha = np.exp(run_m - safe)
            p = np.exp(s - safe)
        run_d = alpha * run_d + p.sum(axis=-1, keepdims=True)
        acc = alpha * acc + p @ v[..., j0:j1, :]
        run_m = new_m
    return (acc / run_d).astype(dtype, copy=False)


def blockwise_attention(q, k, v, *, block=128, causal=False, scale=None):
    r"""Softmax attention one key block at a time, never forming the (n, m) score matrix.

    For each block of ``block`` keys the scores of every query against that block are formed, and
    the running maximum :math:`m`, normaliser :math:`d` and unnormalised output :math:`o` of each
    query are merged with the block's (the online normaliser, Milakov & Gimelshein 2018):

    .. math::
        m' = \max(m, \max_j s_j),\quad d' = d\,e^{m - m'} + \sum_j e^{s_j - m'},\quad
        o' = o\,e^{m - m'} + \sum_j e^{s_j - m'} v_j,

    and the output is :math:`o / d` after the last block. This is FlashAttention's schedule (Dao et al.
    2022) on a CPU. With the compiled core it runs in C++ (the dispatched SIMD exponential, the GIL
    released, float32 or float64 throughout); memory O(n (d + dv) + block n).

    Parameters
    ----------
    q, k, v : array_like
        Queries (..., n, d), keys (..., m, d), values (..., m, dv); float32 or float64 (mixed give
        float64); leading axes broadcast.
    block : int
        Keys per block, >= 1 (need not divide m).
    causal : bool
        Mask keys after each query; needs n == m.
    scale : float, optional
        Multiplies ``q k^T``; 1 / sqrt(d) by default.

    Returns
    -------
    ndarray
        (..., n, dv), equal to ``attention(q, k, v, "softmax", scale=scale, causal=causal)`` within
        float rounding. NaN in q, k or v gives NaN in the rows it reaches; so does an infinite score
        in the compiled kernel (the reference may then give a finite row).

    Examples
    --------
    >>> import numpy as np
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(5, 8)), rng.normal(size=(7, 8)), rng.normal(size=(7, 3))
    >>> bool(np.allclose(blockwise_attention(q, k, v, block=3), attention(q, k, v)))
    True
    """
    block = _check_block(block)
    q, k, v, scale = check_qkv(q, k, v, causal=causal, scale=scale)
    n, d, dv, m = q.shape[-2], q.shape[-1], v.shape[-1], k.shape[-2]
    batch = q.shape[:-2]
    if n == 0 or dv == 0:
        return np.zeros(batch + (n, dv), dtype=q.dtype)
    if _core is None or not hasattr(_core, "attention_blockwise"):
        return _blockwise_numpy(q, k, v, block, causal, scale)
    b = int(np.prod(batch, dtype=np.int64))
    qc = np.ascontiguousarray(q).reshape(b, n, d)
    kc = np.ascontiguousarray(k).reshape(b, m, d)
    vc = np.ascontiguousarray(v).reshape(b, m, dv)
    out = np.empty((b, n, dv), dtype=q.dtype)
    _core.attention_blockwise(qc, kc, vc, out, block, bool(causal), scale, 0, "")
    return out.reshape(batch + (n, dv))


def blockwise_trace(q, k, v, *, block, scale=None):
    """The running (m, d) and output of one query after each key block (the schedule, step by step).

    Parameters
    ----------
    q : array_like
        One query, shape (d,).
    k, v : array_like
        Keys (m, d) and values (m, dv).
    block : int
        Keys per block.
    scale : float, optional
        Multiplies ``q k^T``; 1 / sqrt(d) by default.

    Returns
    -------
    BlockTrace
        ``ends`` (keys processed), ``m``, ``d`` and ``out`` (the output so far) after each block; the
        last ``out`` is the attention output.

    Examples
    --------
    >>> import numpy as np
    >>> t = blockwise_trace(np.zeros(2), np.zeros((5, 2)), np.arange(5.0)[:, None], block=2)
    >>> t.ends.tolist(), t.d.tolist(), t.out[-1].tolist()
    ([2, 4, 5], [2.0, 4.0, 5.0], [2.0])
    """
    block = _check_block(block)
    q = _float_array(q, "q")
    if q.ndim != 1:
        raise ValueError(f"q must be one query of shape (d,), got shape {q.shape}")
    q2, k, v, scale = check_qkv(q[None, :], k, v, scale=scale)
    s = scale * (k @ q2[0])
    ends, ms, ds, outs = [], [], [], []
    run_m, run_d, acc = -np.inf, 0.0, np.zeros(v.shape[-1])
    for j0 in range(0, s.size, block):
        sb = s[j0:j0 + block]
        new_m = max(run_m, float(sb.max()))
        alpha = np.exp(run_m - new_m)
        p = np.exp(sb - new_m)
        run_d = alpha * run_d + p.sum()
        acc = alpha * acc + p @ v[j0:j0 + block]
        run_m = new_m
        ends.append(min(j0 + block, s.size))
        ms.append(run_m)
        ds.append(run_d)
        outs.append(acc / run_d)
    return BlockTrace(np.array(ends), np.array(ms), np.array(ds), np.array(outs))
