r"""Softmax attention token by token: Taylor features and the normalised linear-attention recurrence.

Since :math:`e^{s} = \sum_p s^p / p!` and :math:`(q \cdot k)^p = q^{\otimes p} \cdot k^{\otimes p}`, causal
softmax attention is a sum of linear-attention recurrences with states of size :math:`d^p \times d_v`
(Mongaras & Larson 2025). Truncating at order P gives a finite recurrence; in the state-space form of
the Dynamical Systems Framework (Sieber et al. 2024), :math:`h_t = \Lambda_t h_{t-1} + B_t u_t`, its
normalised version has the ratio of consecutive normalisers as the transition.
"""

from __future__ import annotations

import math
import numbers

import numpy as np

from .core import check_qkv

__all__ = ["taylor_exp", "taylor_features", "taylor_attention", "normalised_recurrence",
           "taylor_error_bound", "recall_task", "recall_accuracy"]


def _check_order(order):
    if isinstance(order, (bool, np.bool_)) or not isinstance(order, numbers.Integral) or order < 0:
        raise ValueError(f"order must be a non-negative integer, got {order!r}")
    return int(order)


def taylor_exp(s, order):
    r"""The order-P Taylor polynomial of the exponential, :math:`T_P(s) = \sum_{p=0}^{P} s^p / p!`.

    Even orders are positive for every real s (their minimum is :math:`s^P / P! > 0` at the point where
    :math:`T_P' = T_{P-1} = 0`); odd orders go negative for s below some negative root.

    Examples
    --------
    >>> taylor_exp(-3.0, 1), taylor_exp(-3.0, 2)
    (-2.0, 2.5)
    """
    order = _check_order(order)
    s = np.asarray(s, dtype=float)
    out = np.ones_like(s)
    term = np.ones_like(s)
    for p in range(1, order + 1):
        term = term * s / p
        out = out + term
    return out if out.ndim else float(out)


def taylor_features(x, order, scale=1.0):
    r"""Features :math:`\phi(x) = (\otimes^p (\sqrt{c}\, x) / \sqrt{p!})_{p=0..P}` with
    :math:`\phi(q) \cdot \phi(k) = T_P(c\, q \cdot k)`.

    Parameters
    ----------
    x : array_like
        Vectors (..., d).
    order : int
        P >= 0; the feature size is :math:`\sum_{p \le P} d^p`.
    scale : float
        c, the score scale.

    Returns
    -------
    ndarray
        (..., sum_p d^p).

    Examples
    --------
    >>> import numpy as np
    >>> q, k = np.array([0.3, -0.2]), np.array([0.5, 1.0])
    >>> f = taylor_features(np.stack([q, k]), 3)
    >>> bool(np.isclose(f[0] @ f[1], taylor_exp(q @ k, 3)))
    True
    """
    order = _check_order(order)
    x = np.asarray(x, dtype=float) * np.sqrt(scale)
    feats = [np.ones(x.shape[:-1] + (1,))]
    cur = np.ones(x.shape[:-1] + (1,))
    for p in range(1, order + 1):
        cur = (cur[..., :, None] * x[..., None, :]).reshape(x.shape[:-1] + (-1,))
        feats.append(cur / np.sqrt(math.factorial(p)))
    return np.concatenate(feats, axis=-1)


def normalised_recurrence(phi_q, phi_k, v):
    r"""Causal normalised linear attention, token by token, in state-space form.

    With :math:`\zeta_t = \phi(q_t) \cdot \sum_{s \le t} \phi(k_s)`, the state
    :math:`h_t = (\zeta_{t-1} / \zeta_t)\, h_{t-1} + \phi(k_t) v_t^\top / \zeta_t` gives
    :math:`y_t = \phi(q_t)^\top h_t = \sum_{s \le t} \phi(q_t)\cdot\phi(k_s)\, v_s / \zeta_t`, exactly
    normalised causal linear attention: the normaliser ratio is the transition :math:`\Lambda_t` of the
    form :math:`h_t = \Lambda_t h_{t-1} + B_t u_t` (Sieber et al. 2024). A running sum
    :math:`z_t = \sum_{s \le t} \phi(k_s)` is carried alongside to form :math:`\zeta_t`.

    Parameters
    ----------
    phi_q, phi_k : array_like
        Query and key features (n, F).
    v : array_like
        Values (n, dv).

    Returns
    -------
    y : ndarray
        (n, dv).
    zeta : ndarray
        (n,), the normalisers.

    Examples
    --------
    >>> import numpy as np
    >>> f = np.ones((3, 1)); v = np.array([[1.0], [2.0], [3.0]])
    >>> normalised_recurrence(f, f, v)[0].ravel().tolist()   # running means
    [1.0, 1.5, 2.0]
    """
    phi_q, phi_k, v = (np.asarray(a, dtype=float) for a in (phi_q, phi_k, v))
    n, f = phi_k.shape
    h = np.zeros((f, v.shape[1]))
    z = np.zeros(f)
    y = np.empty((n, v.shape[1]))
    zeta = np.empty(n)
    prev = 1.0
    for t in range(n):
        z += phi_k[t]
        zt = phi_q[t] @ z
        h = (prev / zt) * h + np.outer(phi_k[t], v[t]) / zt
        y[t] = phi_q[t] @ h
        zeta[t] = zt
        prev = zt
    return y, zeta


def taylor_attention(q, k, v, order, *, causal=True, form="parallel", scale=None):
    r"""Attention with :math:`e^{s}` replaced by its order-P Taylor polynomial :math:`T_P(s)`.

    ``form="parallel"`` forms the (n, m) matrix :math:`T_P(S)` and normalises its rows;
    ``form="recurrent"`` runs :func:`normalised_recurrence` on :func:`taylor_features` token by token
    (causal only; state size :math:`\sum_p d^p \times d_v`). Both compute the same thing. Order 1 is
    linear attention with features :math:`(1, \sqrt{c}\, x)`.

    Parameters
    ----------
    q, k, v : array_like
        (n, d), (m, d), (m, dv).
    order : int
        P >= 0.
    causal : bool
        Mask keys after each query (n == m).
    form : {"parallel", "recurrent"}
    scale : float, optional
        1 / sqrt(d) by default.

    Returns
    -------
    y : ndarray
        (n, dv).
    denominators : ndarray
        (n,), the row sums of :math:`T_P(S)`: an odd order can make them zero or negative.

    Examples
    --------
    >>> import numpy as np
    >>> r = np.random.default_rng(0); q, k, v = r.normal(size=(3, 6, 2))
    >>> a, _ = taylor_attention(q, k, v, 2); b, _ = taylor_attention(q, k, v, 2, form="recurrent")
    >>> bool(np.allclose(a, b))
    True
    """
    order = _check_order(order)
    if form not in ("parallel", "recurrent"):
        raise ValueError(f"form must be 'parallel' or 'recurrent', got {form!r}")
    q, k, v, scale = check_qkv(q, k, v, causal=causal, scale=scale)
    if q.ndim != 2:
        raise ValueError("taylor_attention takes one sequence: q (n, d), k (m, d), v (m, dv)")
    if form == "recurrent":
        if not causal:
            raise ValueError("the recurrent form is causal: pass causal=True")
        fq, fk = taylor_features(q, order, scale), taylor_features(k, order, scale)
        return normalised_recurrence(fq, fk, v)
    w = taylor_exp(scale * (q.astype(float) @ k.T.astype(float)), order)
    if causal:
        w = np.tril(w)
    den = w.sum(axis=1)
    return (w @ v) / den[:, None], den


def taylor_error_bound(radius, order):
    r"""A bound on the output error of order-P Taylor attention when every score has :math:`|s| \le R`.

    The remainder obeys :math:`|e^s - T_P(s)| \le \varepsilon e^{s}` with
    :math:`\varepsilon = R^{P+1} e^{2R} / (P+1)!` (Lagrange form, :math:`e^{\xi - s} \le e^{2R}`), so
    numerator and denominator are each within a factor :math:`1 \pm \varepsilon` of softmax's, and the
    output moves by at most :math:`2\varepsilon / (1 - \varepsilon) \max_j \lVert v_j \rVert` (for
    :math:`\varepsilon < 1`; infinite otherwise).

    Examples
    --------
    >>> round(taylor_error_bound(0.5, 4), 6)
    0.001417
    """
    order = _check_order(order)
    eps = radius ** (order + 1) * math.exp(2 * radius) / math.factorial(order + 1)
    return 2 * eps / (1 - eps) if eps < 1 else math.inf


def recall_task(n_pairs, d, *, seed):
    """An associative-recall instance: unit keys, unit values, every key queried once.

    Returns
    -------
    keys, values : ndarray
        (n_pairs, d), random unit vectors.

    Examples
    --------
    >>> k, v = recall_task(4, 8, seed=0)
    >>> k.shape, bool(np.allclose(np.linalg.norm(v, axis=1), 1))
    ((4, 8), True)
    """
    rng = np.random.default_rng(seed)
    keys = rng.normal(size=(n_pairs, d))
    values = rng.normal(size=(n_pairs, d))
    return (keys / np.linalg.norm(keys, axis=1, keepdims=True),
            values / np.linalg.norm(values, axis=1, keepdims=True))


def recall_accuracy(n_pairs, d, beta, order, *, seeds):
    r"""Associative recall by (Taylor) attention: the fraction of queries whose output is nearest to
    the right value.

    Each key is used as a query with scores :math:`\beta\, q \cdot k_j` over all ``n_pairs`` pairs
    (non-causal); the output is decoded to the value with the largest dot product. ``order=None``
    uses the exponential itself (softmax attention).

    Examples
    --------
    >>> recall_accuracy(8, 16, 4.0, None, seeds=range(2))
    1.0
    """
    hits = total = 0
    for seed in seeds:
        keys, values = recall_task(n_pairs, d, seed=seed)
        s = beta * keys @ keys.T
        w = np.exp(s - s.max(axis=1, keepdims=True)) if order is None else taylor_exp(s, order)
        out = (w @ values) / w.sum(axis=1, keepdims=True)
        hits += int(np.sum(np.argmax(out @ values.T, axis=1) == np.arange(n_pairs)))
        total += n_pairs
    return hits / total
