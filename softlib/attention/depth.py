r"""Attention at depth: rank collapse, shaped attention, and doubly stochastic attention by Sinkhorn.

The model simulated here (random weights, no training, no MLP blocks): m tokens of width n,
:math:`X_{\ell+1} = \lambda X_\ell + \gamma A_\ell X_\ell W_V / \sqrt n` with :math:`\lambda^2 + \gamma^2 = 1`,
:math:`W_Q, W_K, W_V` with N(0, 1) entries, fresh at every layer, and

- standard attention :math:`A = \mathrm{softmax}(X W_Q (X W_K)^\top / n^{3/2})` (the 1/sqrt(n) of the
  projections and the usual 1/sqrt(n_k) of the scores);
- shaped attention (Noci et al. 2023) :math:`A = I + \mathrm{softmax}(X W_Q (X W_K)^\top / (\tau_0 n^2))
  - \tfrac1m 1 1^\top`: the softmax centred at the identity, its logits divided by a width-dependent
  temperature (here :math:`\tau_0 \sqrt{n\, n_k}` with :math:`n_k = n`, on top of the 1/n of the two
  projections).
"""

from __future__ import annotations

import numpy as np

# SciPy is imported inside the functions that use it: importing softlib needs NumPy alone.

__all__ = ["initial_tokens", "token_correlation", "mean_correlation", "simulate_depth", "shaped_attention",
           "sinkhorn", "sinkhorn_sweeps"]


def initial_tokens(m, n, rho, rng):
    """m tokens of width n whose pairwise correlations are about rho (a shared direction plus noise).

    Examples
    --------
    >>> x = initial_tokens(4, 4096, 0.2, np.random.default_rng(0))
    >>> round(float(mean_correlation(x)), 1)
    0.2
    """
    common = rng.normal(size=(1, n))
    return np.sqrt(rho) * common + np.sqrt(1 - rho) * rng.normal(size=(m, n))


def token_correlation(x):
    """The m x m matrix of cosines between the tokens (rows of x); works on stacks (..., m, n).

    Examples
    --------
    >>> token_correlation(np.array([[1.0, 0.0], [1.0, 1.0]])).round(3).tolist()
    [[1.0, 0.707], [0.707, 1.0]]
    """
    g = x @ np.swapaxes(x, -1, -2)
    dg = np.sqrt(np.einsum("...ii->...i", g))
    return g / dg[..., :, None] / dg[..., None, :]


def mean_correlation(x):
    """The mean off-diagonal cosine between tokens: 1 when every token points the same way (collapse).

    Examples
    --------
    >>> round(float(mean_correlation(np.ones((3, 2)))), 12)
    1.0
    """
    c = token_correlation(x)
    m = c.shape[-1]
    return (c.sum(axis=(-1, -2)) - np.einsum("...ii->...", c)) / (m * (m - 1))


def shaped_attention(s, tau, causal=False):
    r"""Shaped attention :math:`A = I + \mathrm{softmax}(S / \tau) - C` (Noci et al. 2023).

    C is the uniform matrix :math:`\tfrac1m 1 1^\top`, or with ``causal`` row i uniform over its prefix
    (and S masked after the diagonal), so every row of A sums to 1; A tends to I as tau grows.

    Examples
    --------
    >>> a = shaped_attention(np.random.default_rng(0).normal(size=(4, 4)), 2.0, causal=True)
    >>> np.allclose(a.sum(axis=1), 1), np.allclose(np.triu(a, 1), 0)
    (True, True)
    """
    from scipy.special import softmax

    s = np.asarray(s, float) / tau
    m = s.shape[-1]
    eye = np.eye(m)
    if causal:
        mask = np.tril(np.ones((m, m), dtype=bool))
        p = softmax(np.where(mask, s, -np.inf), axis=-1)
        c = mask / mask.sum(axis=-1, keepdims=True)
    else:
        p = softmax(s, axis=-1)
        c = np.full((m, m), 1.0 / m)
    return eye + p - c


def simulate_depth(kind, *, width, depth, tokens=8, rho=0.2, lam2=0.5, tau0=1.0, seeds=range(1),
                   record=None):
    """Token correlations through ``depth`` random attention layers (see the module docstring).

    Parameters
    ----------
    kind : {"standard", "shaped"}
    width, depth : int
        n and the number of layers.
    tokens, rho : int, float
        m and the tokens' initial correlation.
    lam2 : float
        :math:`\\lambda^2` (the skip weight); :math:`\\gamma^2 = 1 - \\lambda^2`.
    tau0 : float
        Shaped attention's temperature constant.
    seeds : iterable of int
        One independent network per seed (run together as a batch).
    record : sequence of int, optional
        Layers after which to store the correlation matrices (0 = the input).

    Returns
    -------
    mean_corr : ndarray
        (len(seeds), depth + 1): mean off-diagonal correlation after each layer.
    mats : dict
        Layer -> (len(seeds), m, m) correlation matrices, for the layers in ``record``.

    Examples
    --------
    >>> mc, _ = simulate_depth("standard", width=16, depth=12, seeds=range(2))
    >>> bool(mc[:, -1].min() > 0.9)
    True
    """
    if kind not in ("standard", "shaped"):
        raise ValueError(f"kind must be 'standard' or 'shaped', got {kind!r}")
    from scipy.special import softmax

    seeds = list(seeds)
    rngs = [np.random.default_rng(s) for s in seeds]
    x = np.stack([initial_tokens(tokens, width, rho, r) for r in rngs])
    lam, gam = np.sqrt(lam2), np.sqrt(1 - lam2)
    record = set(record or ())
    out = np.empty((len(seeds), depth + 1))
    out[:, 0] = mean_correlation(x)
    mats = {0: token_correlation(x)} if 0 in record else {}
    for layer in range(1, depth + 1):
        w = np.stack([r.normal(size=(3, width, width)) for r in rngs])
        s = (x @ w[:, 0]) @ np.swapaxes(x @ w[:, 1], -1, -2)
        if kind == "standard":
            a = softmax(s / width ** 1.5, axis=-1)
        else:
            a = shaped_attention(s / width, tau0 * width)
        x = lam * x + gam * (a @ x @ w[:, 2]) / np.sqrt(width)
        x /= np.sqrt(np.mean(x * x, axis=(-1, -2), keepdims=True))  # keep the scale (cosines unaffected)
        out[:, layer] = mean_correlation(x)
        if layer in record:
            mats[layer] = token_correlation(x)
    return out, mats


def sinkhorn(logits, *, tol=None, max_iter=10000, return_history=False):
    r"""The doubly stochastic matrix nearest to exp(logits): Sinkhorn's alternate row and column
    normalisation, in the log domain, until every column sums to 1 within ``tol``.

    The first half-step (normalising the rows of exp(logits)) is softmax over each row. ``tol`` defaults
    to 1e-6 (float32 input) or 1e-12 (float64). Used as attention by Sinkformers and, as a quantum
    circuit's classical counterpart, by Born et al. (2025).

    Returns
    -------
    p : ndarray
        The matrix after the last row normalisation (rows sum to 1).
    sweeps : int
        Row + column sweeps done (``max_iter + 1`` if the tolerance was not reached).
    history : list of float, optional
        max ``|column sum - 1|`` after each sweep.

    Examples
    --------
    >>> p, sweeps = sinkhorn(np.random.default_rng(0).normal(size=(5, 5)))
    >>> bool(np.allclose(p.sum(0), 1) and np.allclose(p.sum(1), 1)), sweeps < 100
    (True, True)
    """
    from scipy.special import logsumexp

    z = np.asarray(logits)
    if z.ndim != 2 or z.shape[0] != z.shape[1]:
        raise ValueError(f"logits must be a square matrix, got shape {z.shape}")
    if tol is None:
        tol = 1e-6 if z.dtype == np.float32 else 1e-12
    z = z.astype(float)
    hist = []
    for sweep in range(1, max_iter + 1):
        z = z - logsumexp(z, axis=1, keepdims=True)  # rows sum to 1
        err = float(np.max(np.abs(np.exp(logsumexp(z, axis=0)) - 1)))
        hist.append(err)
        if err <= tol:
            break
        if sweep == max_iter:
            sweep = max_iter + 1  # not converged
            break
        z = z - logsumexp(z, axis=0, keepdims=True)  # columns sum to 1
    p = np.exp(z)
    return (p, sweep, hist) if return_history else (p, sweep)


def sinkhorn_sweeps(scale, *, size=64, tol=1e-6, seeds=range(3), max_iter=5000):
    """Sweeps Sinkhorn needs on N(0, scale^2) logits of a size x size matrix, one count per seed.

    Examples
    --------
    >>> sinkhorn_sweeps(1.0, size=16, seeds=[0]).tolist()[0] < 50
    True
    """
    return np.array([sinkhorn(scale * np.random.default_rng(s).normal(size=(size, size)), tol=tol,
                              max_iter=max_iter)[1] for s in seeds])
