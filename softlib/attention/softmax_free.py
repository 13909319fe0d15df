r"""Attention without softmax: sigmoid, softplus with length re-weighting, the Gaussian kernel with its
Nystrom approximation, and a statistical top-k threshold.

What each replacement keeps of softmax's two parts, the exponential and the l1 normaliser:

- sigmoid attention (Ramapuram et al. 2025) keeps a positive map and drops the normaliser; a bias
  :math:`b = -\log n` stands in for it;
- softplus attention (Gao & Spratling 2025) keeps the normaliser and swaps the exponential for
  softplus, with a length-dependent scale and a sharpening re-weighting;
- SOFT (Lu et al. 2021) uses a Gaussian kernel with no normaliser, so that the attention matrix is
  positive semi-definite and a Nystrom low-rank approximation applies.
"""

from __future__ import annotations

import numbers

import numpy as np

from .core import attention

# SciPy is imported inside the functions that use it: importing softlib needs NumPy alone.

__all__ = ["sigmoid_row_sums", "signal_keys", "signal_weight", "signal_weights", "lssa_weights", "reweight",
           "gaussian_kernel", "newton_pinv", "nystrom", "pool_landmarks", "smooth_tokens",
           "best_rank_error", "statistical_topk_threshold"]


def sigmoid_row_sums(sigma, n_keys, *, n_rows=32, d=64, seed=0, bias=None):
    r"""Row sums of sigmoid attention with Gaussian logits of standard deviation ``sigma``.

    Keys are N(0, I_d), queries have norm :math:`\sigma \sqrt d`, so with the 1/sqrt(d) scale every
    row's logits are N(0, sigma^2) across keys. The values are all ones, so the output is the row sum
    :math:`\sum_j \sigma(s_j + b)`; ``bias`` defaults to :math:`-\log n` (Ramapuram et al. 2025), for
    which the row sum tends to :math:`E[e^s] = e^{\sigma^2/2}` as n grows, not 1.

    Returns
    -------
    ndarray
        (n_rows,), one row sum per query.

    Examples
    --------
    >>> s = sigmoid_row_sums(1.0, 4096, n_rows=8)
    >>> bool(abs(s.mean() / np.exp(0.5) - 1) < 0.05)
    True
    """
    rng = np.random.default_rng(seed)
    q = rng.normal(size=(n_rows, d))
    q *= sigma * np.sqrt(d) / np.linalg.norm(q, axis=1, keepdims=True)
    k = rng.normal(size=(n_keys, d))
    b = -np.log(n_keys) if bias is None else bias
    return attention(q, k, np.ones((n_keys, 1)), "sigmoid", bias=b)[:, 0]


def signal_keys(n_keys, *, d=64, cosine=0.5, seed=0):
    """One query and ``n_keys`` keys of norm sqrt(d): key 0 at the given cosine with the query, the rest
    random directions.

    Examples
    --------
    >>> q, k = signal_keys(10, d=16, cosine=0.5)
    >>> round(float(q @ k[0] / 16), 6)
    0.5
    """
    rng = np.random.default_rng(seed)
    q = rng.normal(size=d)
    q /= np.linalg.norm(q)
    k = rng.normal(size=(n_keys, d))
    k /= np.linalg.norm(k, axis=1, keepdims=True)
    u = rng.normal(size=d)
    u -= (u @ q) * q
    u /= np.linalg.norm(u)
    k[0] = cosine * q + np.sqrt(1 - cosine ** 2) * u
    return q * np.sqrt(d), k * np.sqrt(d)


def lssa_weights(q, k):
    r"""Length-scaled softplus attention weights of one query over all its keys (non-causal).

    :math:`a_j = \mathrm{softplus}(\log d \,\log N\, \cos(q, k_j))`, l1-normalised, with N the number of
    keys. This is the model this module simulates: the paper scales the logits by a factor growing with
    log N (its "invariance entropy" argument, Gao & Spratling 2025); the product of log d and log N on
    cosines is one such choice.

    Examples
    --------
    >>> q, k = signal_keys(16, d=8)
    >>> w = lssa_weights(q, k); bool(np.isclose(w.sum(), 1))
    True
    """
    q, k = np.asarray(q, float), np.asarray(k, float)
    cos = (k @ q) / (np.linalg.norm(k, axis=1) * np.linalg.norm(q))
    c = np.log(q.size) * np.log(max(k.shape[0], 1))
    a = np.logaddexp(0, c * cos)
    return a / a.sum()


def reweight(a, p=15, offset=1.0):
    r"""Re-weighting that sharpens normalised weights: :math:`a'_j \propto \mathrm{ReLU}(N a_j - O)^p`.

    Computed in log form, :math:`a' = \mathrm{softmax}(p \log \mathrm{ReLU}(N a - O))`, so that the
    power never overflows (:math:`x^{15}` passes float32's range once :math:`x > 370`). A row where no
    weight exceeds O/N (a uniform row, for one) has no survivor and is returned unchanged.

    Examples
    --------
    >>> np.round(reweight(np.array([0.4, 0.35, 0.15, 0.1]), p=2), 4)
    array([0.6923, 0.3077, 0.    , 0.    ])
    """
    a = np.asarray(a, float)
    x = a.shape[-1] * a - offset
    with np.errstate(divide="ignore"):
        logx = np.where(x > 0, np.log(np.where(x > 0, x, 1.0)), -np.inf)
    z = p * logx
    top = np.max(z, axis=-1, keepdims=True)
    if not np.all(np.isfinite(top)):
        return a
    e = np.exp(z - top)
    return e / e.sum(axis=-1, keepdims=True)


def signal_weights(n_keys, *, d=64, cosine=0.5, seed=0):
    """One query's row of weights under each kind, with its relevant key (key 0) at the given cosine.

    Kinds: "softmax"; "sigmoid" (bias -log n, unnormalised); "lssa" (:func:`lssa_weights`); "lssar"
    (:func:`reweight` of LSSA with p = 15, O = 1).

    Returns
    -------
    dict
        kind -> (n_keys,) weights.

    Examples
    --------
    >>> w = signal_weights(256)
    >>> sorted(w), bool(np.isclose(w["softmax"].sum(), 1))
    (['lssa', 'lssar', 'sigmoid', 'softmax'], True)
    """
    q, k = signal_keys(n_keys, d=d, cosine=cosine, seed=seed)
    s = k @ q / np.sqrt(d)
    soft = np.exp(s - s.max())
    lssa = lssa_weights(q, k)
    return {"softmax": soft / soft.sum(), "sigmoid": 1 / (1 + np.exp(-(s - np.log(n_keys)))),
            "lssa": lssa, "lssar": reweight(lssa)}


def signal_weight(kind, n_keys, *, d=64, cosine=0.5, seed=0):
    """The share of one query's attention on its relevant key (weight of key 0 / row sum) under one kind
    of :func:`signal_weights`, and the row of weights.

    Examples
    --------
    >>> share, w = signal_weight("softmax", 256)
    >>> bool(0 < share < 1), bool(np.isclose(w.sum(), 1))
    (True, True)
    """
    rows = signal_weights(n_keys, d=d, cosine=cosine, seed=seed)
    if kind not in rows:
        raise ValueError(f"unknown kind {kind!r}: softmax, sigmoid, lssa or lssar")
    w = rows[kind]
    return float(w[0] / w.sum()), w


# ------------------------------------------------------------------------------- SOFT and Nystrom
def gaussian_kernel(x, y, scale=None):
    r"""The Gaussian kernel :math:`\exp(-\lVert x_i - y_j \rVert^2 / (2 \sqrt d))` of SOFT (Lu et al. 2021).

    ``scale`` replaces :math:`2\sqrt d` when given. The squared distance is clipped at 0 (rounding can
    make :math:`\lVert x\rVert^2 + \lVert y\rVert^2 - 2 x\cdot y` slightly negative).

    Examples
    --------
    >>> x = np.array([[0.0, 0.0], [1.0, 1.0]])
    >>> np.round(gaussian_kernel(x, x), 4)
    array([[1.    , 0.4931],
           [0.4931, 1.    ]])
    """
    x, y = np.asarray(x, float), np.asarray(y, float)
    scale = 2 * np.sqrt(x.shape[-1]) if scale is None else scale
    d2 = (x * x).sum(-1)[:, None] + (y * y).sum(-1)[None, :] - 2 * x @ y.T
    return np.exp(-np.maximum(d2, 0) / scale)


def newton_pinv(a, iters=20, *, alpha=None, return_residuals=False):
    r"""The Moore-Penrose pseudo-inverse by Newton-Schulz iteration :math:`V_{k+1} = 2V_k - V_k A V_k`.

    Starts from :math:`V_0 = \alpha A^\top` with :math:`0 < \alpha < 2/\sigma_{\max}^2` (Ben-Israel &
    Cohen 1966); the default :math:`\alpha = 1 / (\lVert A\rVert_1 \lVert A\rVert_\infty)` satisfies it.
    Convergence is quadratic once :math:`\lVert I - AV\rVert < 1`; from the start it needs about
    :math:`\log_2 \mathrm{cond}(A)^2` steps.

    Returns
    -------
    V : ndarray
    residuals : list of float, optional
        :math:`\lVert A V A - A\rVert_F / \lVert A\rVert_F` after each step.

    Examples
    --------
    >>> a = np.array([[2.0, 1.0], [1.0, 3.0]])
    >>> bool(np.allclose(newton_pinv(a, 30), np.linalg.inv(a)))
    True
    """
    a = np.asarray(a, float)
    if alpha is None:
        alpha = 1.0 / (np.abs(a).sum(0).max() * np.abs(a).sum(1).max())
    v = alpha * a.T
    res = []
    na = np.linalg.norm(a)
    for _ in range(iters):
        v = 2 * v - v @ a @ v
        if return_residuals:
            res.append(float(np.linalg.norm(a @ v @ a - a) / na))
    return (v, res) if return_residuals else v


def nystrom(x, landmarks, *, iters=None, scale=None):
    r"""The Nystrom approximation :math:`A \approx A_{nm} A_{mm}^{+} A_{mn}` of the Gaussian kernel matrix.

    ``iters=None`` uses NumPy's pinv; an integer uses :func:`newton_pinv` with that many steps, as SOFT
    does.

    Examples
    --------
    >>> x = smooth_tokens(64, 4, seed=0)
    >>> a = gaussian_kernel(x, x)
    >>> bool(np.allclose(nystrom(x, x), a))          # every token a landmark: exact
    True
    """
    a_nm = gaussian_kernel(x, landmarks, scale)
    a_mm = gaussian_kernel(landmarks, landmarks, scale)
    pinv = np.linalg.pinv(a_mm, hermitian=True) if iters is None else newton_pinv(a_mm, iters)
    return a_nm @ pinv @ a_nm.T


def pool_landmarks(x, m):
    """Landmarks by average pooling of consecutive tokens into m groups (n need not divide evenly).

    Examples
    --------
    >>> pool_landmarks(np.arange(6.0)[:, None], 3).ravel().tolist()
    [0.5, 2.5, 4.5]
    """
    x = np.asarray(x, float)
    if not 1 <= m <= x.shape[0]:
        raise ValueError(f"m must be between 1 and n = {x.shape[0]}, got {m}")
    groups = np.array_split(np.arange(x.shape[0]), m)
    return np.stack([x[g].mean(axis=0) for g in groups])


def smooth_tokens(n, d, *, seed, length=3.0):
    """Tokens along a smooth random curve in R^d (random Fourier series of a few low frequencies).

    Examples
    --------
    >>> smooth_tokens(5, 3, seed=0).shape
    (5, 3)
    """
    rng = np.random.default_rng(seed)
    t = np.linspace(0, 1, n)[:, None]
    out = np.zeros((n, d))
    for f in range(1, 5):
        a, b = rng.normal(size=(2, d)) * length / f
        out += a * np.sin(2 * np.pi * f * t) + b * np.cos(2 * np.pi * f * t)
    return out


def best_rank_error(a, ranks):
    r"""The smallest relative Frobenius error of a rank-r approximation of a symmetric matrix, for each r
    (Eckart-Young: the tail of its squared singular values, here the absolute eigenvalues).

    Examples
    --------
    >>> best_rank_error(np.diag([3.0, 4.0]), [1, 2]).tolist()
    [0.6, 0.0]
    """
    sv = np.sort(np.abs(np.linalg.eigvalsh(np.asarray(a, float))))[::-1]
    tail = np.cumsum((sv ** 2)[::-1])[::-1]
    tot = tail[0]
    return np.array([np.sqrt(tail[r] / tot) if r < sv.size else 0.0 for r in ranks])


def statistical_topk_threshold(x, k, axis=-1):
    r"""A top-k threshold without sorting: :math:`\mu + \sigma\, \Phi^{-1}(1 - k/d)` of the entries.

    If the d entries along ``axis`` were Gaussian, about k of them would exceed it. This is the Gaussian
    quantile estimate in the spirit of Spark Transformer's statistical top-k (You et al. 2025): mean and
    standard deviation in one linear pass, no sort.

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=4096)
    >>> int((x > statistical_topk_threshold(x, 256)).sum())
    271
    """
    x = np.asarray(x, float)
    d = x.shape[axis]
    if not isinstance(k, numbers.Integral) or not 0 < k < d:
        raise ValueError(f"k must be an integer with 0 < k < {d}, got {k!r}")
    from scipy.special import ndtri

    mu = x.mean(axis=axis, keepdims=True)
    sd = x.std(axis=axis, keepdims=True)
    return mu + sd * ndtri(1 - k / d)
