"""The output head: the V-way softmax at the end of a language model, and what replaces it.

The chapter *The output head* uses these functions:

- :func:`head_cost`: parameters and multiply-adds per token of a full, sampled, two-level
  (hierarchical) and VQ-Logits head; :func:`time_full_head` times the full one;
- :func:`numerical_rank`, :func:`fit_low_rank_softmax`: the softmax bottleneck of Yang et al. (2018):
  the log-probabilities of a softmax over ``d``-dimensional features form a matrix of rank at most
  ``d + 1``;
- :func:`sampled_softmax_loss`: the sampled softmax of Jean et al. (2015), with the ``log(k q)``
  correction of its logits;
- :func:`two_level_log_softmax`: a class-based (two-level hierarchical) softmax (Goodman 2001;
  Morin & Bengio 2005 build a deeper tree);
- :func:`vq_logits`, :func:`tied_softmax`, :func:`tying_penalty`, :func:`kmeans`: VQ-Logits
  (Shao et al. 2025), which ties every token to one of ``K`` codes, and the least cross-entropy that
  a tying costs;
- :func:`fourier_pdf`, :func:`fourier_pmf`, :func:`fit_fourier_pmf`, :func:`smoothed_histogram`,
  :func:`kl_divergence`: the Fourier head of Gillman et al. (2024);
- :func:`plot_fourier_fit`: the chapter's interactive figure.

Everything is NumPy, float64, and small: the chapter's models are toys that run in seconds.
"""

from __future__ import annotations

from contextlib import nullcontext
import time

import numpy as np

__all__ = [
    "head_cost",
    "time_full_head",
    "log_softmax_np",
    "numerical_rank",
    "fit_low_rank_softmax",
    "mixture_of_softmaxes_log_probs",
    "sampled_softmax_loss",
    "two_level_log_softmax",
    "vq_logits",
    "tied_softmax",
    "tying_penalty",
    "kmeans",
    "fourier_autocorrelation",
    "fourier_pdf",
    "fourier_pmf",
    "fit_fourier_pmf",
    "smoothed_histogram",
    "kl_divergence",
    "bimodal_bin_probs",
    "plot_fourier_fit",
]


def _one_blas_thread():
    """A context with the BLAS thread pool limited to one thread, where threadpoolctl is installed.

    The fits below multiply small matrices thousands of times; on a busy machine a multi-threaded
    BLAS spends more time waking and spinning its threads than computing (measured: 80 s instead of
    9 s for the chapter on a loaded 2-core machine).
    """
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover (an optional dependency)
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _positive_int(value, name, minimum=1) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)):
        raise TypeError(f"{name} must be an integer, not {type(value).__name__}")
    if value < minimum:
        raise ValueError(f"{name} must be >= {minimum}, got {value}")
    return int(value)


def _float_array(x, name, ndim=None) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be float32 or float64, not {x.dtype}")
    if ndim is not None and x.ndim != ndim:
        raise ValueError(f"{name} must have {ndim} dimensions, got shape {x.shape}")
    return x.astype(np.float64)


# --------------------------------------------------------------------------------------------------
# Cost
# --------------------------------------------------------------------------------------------------

def head_cost(vocab_size: int, d_model: int, method: str = "full", *, n_samples: int | None = None,
              n_clusters: int | None = None, n_codes: int | None = None) -> dict:
    """Parameters and multiply-adds per token of an output head over ``V`` tokens.

    - ``"full"``: logits ``h W^T`` for all ``V`` tokens: ``V d`` parameters, ``V d`` multiply-adds,
      ``V`` exponentials.
    - ``"sampled"``: training only: the target's and ``k = n_samples`` sampled tokens' logits,
      ``(k + 1) d`` multiply-adds (inference still needs the full head).
    - ``"two_level"``: a softmax over ``C = n_clusters`` clusters, then over the target's cluster
      (``V / C`` tokens if balanced): ``(C + V/C) d`` multiply-adds for one target's probability,
      smallest at ``C = sqrt(V)``; ``(V + C) d`` parameters.
    - ``"vq"``: VQ-Logits, ``K = n_codes`` code vectors: ``K d`` multiply-adds and parameters
      (plus the ``V``-entry token-to-code map), and a scatter of ``K`` logits to ``V``.

    Returns
    -------
    dict
        ``{"parameters": ..., "multiply_adds": ..., "exponentials": ...}`` per token.

    Examples
    --------
    >>> head_cost(50_000, 768)["multiply_adds"]
    38400000
    >>> head_cost(50_000, 768, "vq", n_codes=500)["parameters"]
    384000
    """
    V = _positive_int(vocab_size, "vocab_size")
    d = _positive_int(d_model, "d_model")
    if method == "full":
        return {"parameters": V * d, "multiply_adds": V * d, "exponentials": V}
    if method == "sampled":
        k = _positive_int(n_samples, "n_samples")
        return {"parameters": V * d, "multiply_adds": (k + 1) * d, "exponentials": k + 1}
    if method == "two_level":
        C = _positive_int(n_clusters, "n_clusters")
        per = -(-V // C)
        return {"parameters": (V + C) * d, "multiply_adds": (C + per) * d, "exponentials": C + per}
    if method == "vq":
        K = _positive_int(n_codes, "n_codes")
        return {"parameters": K * d, "multiply_adds": K * d, "exponentials": K}
    raise ValueError(f"unknown method {method!r}; expected 'full', 'sampled', 'two_level' or 'vq'")


def time_full_head(vocab_sizes, d_model: int = 256, batch: int = 32, *, repeats: int = 5,
                   seed: int = 0) -> np.ndarray:
    """Milliseconds of a full head, ``softlib.softmax(h @ W.T)``, for each vocabulary size.

    float32, ``batch`` positions, the best of ``repeats`` runs, with the BLAS limited to one thread
    (where threadpoolctl is installed) so that a busy machine's thread scheduling does not hide the
    linear growth in ``V``. A timing to show, never to assert.

    Examples
    --------
    >>> ms = time_full_head([100, 200], d_model=8, batch=2, repeats=1)
    >>> ms.shape, bool(np.all(ms > 0))
    ((2,), True)
    """
    from . import softmax

    rng = np.random.default_rng(seed)
    d = _positive_int(d_model, "d_model")
    h = rng.normal(size=(_positive_int(batch, "batch"), d)).astype(np.float32)
    out = []
    with _one_blas_thread():
        for v in vocab_sizes:
            W = rng.normal(size=(_positive_int(v, "vocab size"), d)).astype(np.float32)
            best = np.inf
            for _ in range(max(1, repeats)):
                start = time.perf_counter()
                softmax(h @ W.T, axis=-1)
                best = min(best, time.perf_counter() - start)
            out.append(1e3 * best)
    return np.array(out)


# --------------------------------------------------------------------------------------------------
# The softmax bottleneck
# --------------------------------------------------------------------------------------------------

def log_softmax_np(logits, axis=-1) -> np.ndarray:
    """``logits - logsumexp(logits)`` along ``axis``, in float64 (a plain NumPy helper).

    Examples
    --------
    >>> np.exp(log_softmax_np(np.log([[1.0, 3.0]])))
    array([[0.25, 0.75]])
    """
    z = np.asarray(logits, dtype=np.float64)
    m = np.max(z, axis=axis, keepdims=True)
    return z - m - np.log(np.sum(np.exp(z - m), axis=axis, keepdims=True))


def numerical_rank(matrix, rtol: float = 1e-9) -> int:
    """The number of singular values above ``rtol`` times the largest.

    Examples
    --------
    >>> numerical_rank(np.outer([1.0, 2.0, 3.0], [1.0, -1.0]))
    1
    """
    a = _float_array(matrix, "matrix", ndim=2)
    if not np.all(np.isfinite(a)):
        raise ValueError("matrix contains NaN or inf")
    s = np.linalg.svd(a, compute_uv=False)
    return int(np.sum(s > rtol * s[0])) if s.size and s[0] > 0 else 0


def mixture_of_softmaxes_log_probs(features, weights, mixture_logits) -> np.ndarray:
    """Log-probabilities of a mixture of softmaxes (Yang et al. 2018, eq. 4).

    ``P(y | x) = sum_m pi_m(x) softmax(h_m(x) W^T)_y`` with ``features`` of shape (M, N, d),
    ``weights`` (V, d) and ``mixture_logits`` (N, M) giving ``pi = softmax(mixture_logits)``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lp = mixture_of_softmaxes_log_probs(rng.normal(size=(2, 5, 3)), rng.normal(size=(4, 3)),
    ...                                     rng.normal(size=(5, 2)))
    >>> np.allclose(np.exp(lp).sum(-1), 1)
    True
    """
    H = _float_array(features, "features", ndim=3)
    W = _float_array(weights, "weights", ndim=2)
    pi = _float_array(mixture_logits, "mixture_logits", ndim=2)
    if H.shape[2] != W.shape[1] or pi.shape != (H.shape[1], H.shape[0]):
        raise ValueError(f"shapes do not fit: features {H.shape}, weights {W.shape}, "
                         f"mixture_logits {pi.shape} (expected (N, M) = {(H.shape[1], H.shape[0])})")
    comp = log_softmax_np(H @ W.T, axis=-1)                       # (M, N, V)
    log_pi = log_softmax_np(pi, axis=-1).T[:, :, None]            # (M, N, 1)
    z = comp + log_pi
    m = z.max(axis=0)
    return m + np.log(np.exp(z - m).sum(axis=0))


def fit_low_rank_softmax(target_probs, d: int, *, seed: int = 0, maxiter: int = 500):
    """The softmax over ``d``-dimensional features closest in KL to every row of ``target_probs``.

    Minimises ``mean_x KL(P*_x || softmax(h_x W^T))`` over ``H`` (N, d) and ``W`` (V, d) with L-BFGS
    (nonconvex: a local minimum from a small random start). The log-probabilities of any such model
    have rank at most ``d + 1`` (Yang et al. 2018), so a target of higher rank leaves a floor.

    Returns
    -------
    kl : float
        The mean KL (nats) reached.
    log_probs : ndarray (N, V)
        The fitted model's log-probabilities.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> P = np.exp(log_softmax_np(rng.normal(size=(30, 6)) * 2))
    >>> kl_full, _ = fit_low_rank_softmax(P, 5)
    >>> kl_full < 1e-6
    True
    """
    from scipy.optimize import minimize

    P = _float_array(target_probs, "target_probs", ndim=2)
    d = _positive_int(d, "d")
    N, V = P.shape
    rng = np.random.default_rng(seed)
    x0 = 0.1 * rng.normal(size=(N + V) * d)
    with np.errstate(divide="ignore"):
        neg_entropy = np.sum(np.where(P > 0, P * np.log(np.where(P > 0, P, 1)), 0.0)) / N

    def loss(theta):
        H, W = theta[:N * d].reshape(N, d), theta[N * d:].reshape(V, d)
        lp = log_softmax_np(H @ W.T)
        G = (np.exp(lp) - P) / N
        return neg_entropy - np.sum(P * lp) / N, np.concatenate([(G @ W).ravel(), (G.T @ H).ravel()])

    with _one_blas_thread():
        res = minimize(loss, x0, jac=True, method="L-BFGS-B", options={"maxiter": maxiter, "gtol": 1e-10})
    H, W = res.x[:N * d].reshape(N, d), res.x[N * d:].reshape(V, d)
    return float(res.fun), log_softmax_np(H @ W.T)


# --------------------------------------------------------------------------------------------------
# Sampled and two-level softmax
# --------------------------------------------------------------------------------------------------

def sampled_softmax_loss(logits, targets, n_samples: int, proposal, rng, *, correct: bool = True):
    """The sampled softmax loss of each row, from ``k`` tokens drawn from a proposal ``q``.

    Cross-entropy is ``-o_t + log Z`` with ``Z = sum_j exp(o_j)`` over all ``V`` tokens. The sampled
    softmax (Bengio & Senecal 2008; Jean et al. 2015) replaces ``Z`` by an importance-sampling
    estimate from ``k = n_samples`` tokens ``S`` drawn from ``q`` with replacement, each logit
    corrected by ``-log(k q_j)``; draws that hit the target are dropped (its term is exact):

    .. math:: \\tilde\\ell = -o_t + \\log\\Big(e^{o_t} + \\sum_{j \\in S,\\ j \\ne t} e^{o_j - \\log(k q_j)}\\Big).

    The sum inside the logarithm is then an unbiased estimate of ``Z``, so the loss approaches the
    full cross-entropy as ``k`` grows, from below on average (Jensen's inequality). With
    ``correct=False`` the sampled logits are used as they are (a softmax over the target and the
    samples only), which is biased however large ``k`` is. Only ``k + 1`` logits are needed: ``(k + 1) d``
    multiply-adds in a real head (here all logits are given, for the toy).

    Parameters
    ----------
    logits : ndarray (B, V)
    targets : ndarray (B,) of int
    n_samples : int
    proposal : ndarray (V,)
        A distribution with no zero entries.
    rng : numpy.random.Generator

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> z = rng.normal(size=(4, 50)); t = np.array([0, 1, 2, 3]); q = np.full(50, 1 / 50)
    >>> full = -log_softmax_np(z)[np.arange(4), t]
    >>> approx = sampled_softmax_loss(z, t, 20000, q, rng)
    >>> bool(np.allclose(approx, full, atol=0.02))
    True
    """
    z = _float_array(logits, "logits", ndim=2)
    t = np.asarray(targets)
    if t.dtype.kind not in "iu" or t.shape != (z.shape[0],):
        raise ValueError(f"targets must be {z.shape[0]} integers, got {t.dtype} of shape {t.shape}")
    if t.size and (t.min() < 0 or t.max() >= z.shape[1]):
        raise ValueError(f"targets must lie in [0, {z.shape[1]})")
    k = _positive_int(n_samples, "n_samples")
    q = _float_array(proposal, "proposal", ndim=1)
    if q.shape[0] != z.shape[1] or np.any(q <= 0) or not np.isclose(q.sum(), 1.0):
        raise ValueError("proposal must be a positive distribution over the V columns of logits")
    B = z.shape[0]
    S = rng.choice(z.shape[1], size=(B, k), p=q)
    shift = np.log(k * q) if correct else np.zeros_like(q)
    o_t = z[np.arange(B), t]
    o_s = np.take_along_axis(z, S, axis=1) - shift[S]
    o_s = np.where(S == t[:, None], -np.inf, o_s)                # accidental hits of the target
    allv = np.concatenate([o_t[:, None], o_s], axis=1)
    m = allv.max(axis=1)
    return -o_t + m + np.log(np.exp(allv - m[:, None]).sum(axis=1))


def two_level_log_softmax(features, cluster_weights, token_weights, clusters) -> np.ndarray:
    """Log-probabilities of every token under a two-level (class-based) softmax.

    ``P(y | h) = softmax(h U^T)_{c(y)} * softmax_{y' in c(y)}(h w_{y'})_y``: first the cluster
    ``c(y)`` (``C`` clusters, weights ``U``), then the token within it. Each row sums to one
    exactly, and one target's probability costs ``C + |c(y)|`` dot products instead of ``V``.
    (This function computes all ``V`` for checking; a training step computes only the target's.)

    Parameters
    ----------
    features : ndarray (B, d)
    cluster_weights : ndarray (C, d)
    token_weights : ndarray (V, d)
    clusters : ndarray (V,) of int in [0, C)

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> lp = two_level_log_softmax(rng.normal(size=(3, 4)), rng.normal(size=(2, 4)),
    ...                            rng.normal(size=(6, 4)), np.array([0, 0, 1, 1, 1, 0]))
    >>> np.allclose(np.exp(lp).sum(-1), 1)
    True
    """
    h = _float_array(features, "features", ndim=2)
    U = _float_array(cluster_weights, "cluster_weights", ndim=2)
    W = _float_array(token_weights, "token_weights", ndim=2)
    c = np.asarray(clusters)
    if c.dtype.kind not in "iu" or c.shape != (W.shape[0],) or c.min() < 0 or c.max() >= U.shape[0]:
        raise ValueError(f"clusters must give each of the {W.shape[0]} tokens a cluster in [0, {U.shape[0]})")
    log_pc = log_softmax_np(h @ U.T)                      # (B, C)
    z = h @ W.T                                           # (B, V)
    out = np.empty_like(z)
    for j in range(U.shape[0]):
        members = np.flatnonzero(c == j)
        if members.size:
            out[:, members] = log_pc[:, [j]] + log_softmax_np(z[:, members])
    return out


# --------------------------------------------------------------------------------------------------
# VQ-Logits
# --------------------------------------------------------------------------------------------------

def _check_mapping(mapping, n_codes=None) -> np.ndarray:
    m = np.asarray(mapping)
    if m.dtype.kind not in "iu" or m.ndim != 1 or m.size == 0 or m.min() < 0:
        raise ValueError("mapping must be a non-empty 1-d array of non-negative integer codes")
    if n_codes is not None and m.max() >= n_codes:
        raise ValueError(f"mapping refers to code {m.max()} but there are only {n_codes} codes")
    return m.astype(np.intp)


def vq_logits(features, codebook, mapping) -> np.ndarray:
    """VQ-Logits' vocabulary logits: code logits ``L_c = h C^T`` scattered by the map ``M``.

    ``L_v[:, i] = L_c[:, M(i)]`` (Shao et al. 2025): ``K d`` multiply-adds instead of ``V d``.

    Examples
    --------
    >>> vq_logits(np.array([[1.0, 0.0]]), np.array([[2.0, 0.0], [0.0, 1.0]]), np.array([1, 0, 0]))
    array([[0., 2., 2.]])
    """
    h = _float_array(features, "features", ndim=2)
    C = _float_array(codebook, "codebook", ndim=2)
    m = _check_mapping(mapping, C.shape[0])
    return (h @ C.T)[:, m]


def tied_softmax(code_logits, mapping) -> np.ndarray:
    """``softmax(L_c[:, M])`` over the vocabulary, computed from the ``K`` code logits alone.

    With ``n_j`` tokens tied to code ``j``,

    .. math:: \\operatorname{softmax}(L_v)_i = \\frac{\\operatorname{softmax}(L_c + \\log n)_{M(i)}}{n_{M(i)}}:

    tied tokens always get equal probability; the code's probability is shared out evenly.
    Codes with no token (``n_j = 0``) get probability 0.

    Examples
    --------
    >>> tied_softmax(np.array([[0.0, 0.0]]), np.array([0, 1, 1]))
    array([[0.33333333, 0.33333333, 0.33333333]])
    """
    Lc = _float_array(code_logits, "code_logits", ndim=2)
    m = _check_mapping(mapping, Lc.shape[1])
    n = np.bincount(m, minlength=Lc.shape[1]).astype(np.float64)
    with np.errstate(divide="ignore"):
        code_lp = log_softmax_np(Lc + np.log(n))
    return np.exp(code_lp[:, m]) / n[m]


def tying_penalty(probs, mapping) -> np.ndarray:
    """The least extra cross-entropy (nats) of any model whose tied tokens share probability.

    If the true next-token distribution of a context is ``p`` and the model must give every token of
    a code ``j`` the same probability, the best it can do is ``q_i = P(M(i)) / n_{M(i)}`` (the code's
    mass shared evenly), and its expected cross-entropy exceeds the entropy of ``p`` by

    .. math:: \\mathrm{KL}(p \\,\\|\\, q) = \\sum_j P(j)\\, \\mathrm{KL}\\big(p(\\cdot \\mid j) \\,\\|\\,
              \\mathrm{uniform}_j\\big) \\ge 0,

    zero exactly when ``p`` is uniform within every code. ``exp(mean penalty)`` is the least factor by
    which the perplexity grows.

    Parameters
    ----------
    probs : ndarray (N, V)
        The true distributions, one row per context.
    mapping : ndarray (V,)
        The code of each token.

    Returns
    -------
    ndarray (N,)
        The penalty of each context.

    Examples
    --------
    >>> float(tying_penalty(np.array([[0.5, 0.25, 0.25]]), np.array([0, 1, 1]))[0])
    0.0
    >>> round(float(tying_penalty(np.array([[0.5, 0.5, 0.0]]), np.array([0, 0, 1]))[0]), 6)
    0.0
    """
    P = _float_array(probs, "probs", ndim=2)
    m = _check_mapping(mapping)
    if m.shape[0] != P.shape[1]:
        raise ValueError(f"mapping has {m.shape[0]} tokens, probs has {P.shape[1]} columns")
    K = m.max() + 1
    n = np.bincount(m, minlength=K).astype(np.float64)
    code_mass = np.zeros((P.shape[0], K))
    np.add.at(code_mass.T, m, P.T)
    q = code_mass[:, m] / n[m]
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(P > 0, P * (np.log(P) - np.log(q)), 0.0)
    return np.maximum(terms.sum(axis=1), 0.0)


def kmeans(points, n_clusters: int, *, iters: int = 25, seed: int = 0):
    """Lloyd's k-means: ``(centres, labels)``; empty clusters are re-seeded on the farthest points.

    Examples
    --------
    >>> X = np.array([[0.0], [0.1], [5.0], [5.1]])
    >>> c, lab = kmeans(X, 2)
    >>> sorted(np.round(c.ravel(), 2).tolist()), len(set(lab[:2])), bool(lab[0] != lab[2])
    ([0.05, 5.05], 1, True)
    """
    X = _float_array(points, "points", ndim=2)
    K = _positive_int(n_clusters, "n_clusters")
    if K > X.shape[0]:
        raise ValueError(f"n_clusters ({K}) exceeds the number of points ({X.shape[0]})")
    with _one_blas_thread():
        return _lloyd(X, K, iters, np.random.default_rng(seed))


def _lloyd(X, K, iters, rng):
    centres = X[rng.choice(X.shape[0], K, replace=False)].copy()
    sq = np.sum(X ** 2, axis=1)
    for _ in range(iters):
        dist = sq[:, None] - 2 * X @ centres.T + np.sum(centres ** 2, axis=1)[None, :]
        labels = dist.argmin(axis=1)
        counts = np.bincount(labels, minlength=K)
        sums = np.zeros_like(centres)
        np.add.at(sums, labels, X)
        empty = counts == 0
        centres[~empty] = sums[~empty] / counts[~empty, None]
        if empty.any():
            far = np.argsort(dist[np.arange(X.shape[0]), labels])[::-1][:empty.sum()]
            centres[empty] = X[far]
    dist = sq[:, None] - 2 * X @ centres.T + np.sum(centres ** 2, axis=1)[None, :]
    return centres, dist.argmin(axis=1)


# --------------------------------------------------------------------------------------------------
# The Fourier head
# --------------------------------------------------------------------------------------------------

def fourier_autocorrelation(a) -> np.ndarray:
    """``c_k = sum_j a_{j+k} conj(a_j)`` for ``k = 0..N`` (the Fourier head's coefficients).

    Examples
    --------
    >>> fourier_autocorrelation(np.array([1.0, 1.0j]))
    array([2.+0.j, 0.+1.j])
    """
    a = np.asarray(a)
    if a.dtype.kind not in "fc":
        raise TypeError(f"a must be real or complex floating point, not {a.dtype}")
    a = a.astype(np.complex128)
    N = a.shape[-1] - 1
    return np.stack([np.sum(a[..., k:] * np.conj(a[..., :N + 1 - k]), axis=-1) for k in range(N + 1)],
                    axis=-1)


def fourier_pdf(a, x) -> np.ndarray:
    """The Fourier head's density on ``[-1, 1]`` (Gillman et al. 2024, Sec. 2):

    .. math:: f(x) = \\tfrac12 + \\operatorname{Re}\\sum_{k=1}^{N} \\frac{c_k}{c_0} e^{i\\pi k x}
              = \\frac{\\big|\\sum_{k=0}^{N} a_k e^{i\\pi k x}\\big|^2}{2 \\sum_k |a_k|^2},

    with ``c`` from :func:`fourier_autocorrelation`. The second form shows that ``f >= 0`` and,
    since the ``e^{i pi k x}`` are orthogonal on ``[-1, 1]``, that it integrates to one. It is
    unchanged when ``a`` is multiplied by any non-zero complex number.

    Parameters
    ----------
    a : array_like (..., N + 1), complex
    x : array_like (m,), points in [-1, 1]

    Returns
    -------
    ndarray (..., m)

    Examples
    --------
    >>> fourier_pdf(np.array([1.0, 0.0]), np.array([-0.5, 0.5]))
    array([0.5, 0.5])
    """
    a = np.asarray(a).astype(np.complex128)
    x = np.asarray(x, dtype=np.float64)
    k = np.arange(a.shape[-1])
    amp = np.exp(1j * np.pi * np.outer(x, k)) @ a[..., None]      # (..., m, 1)
    return np.abs(amp[..., 0]) ** 2 / (2 * np.sum(np.abs(a) ** 2, axis=-1, keepdims=True))


def _bin_centres(n_bins: int) -> np.ndarray:
    edges = np.linspace(-1.0, 1.0, n_bins + 1)
    return (edges[:-1] + edges[1:]) / 2


def fourier_pmf(a, n_bins: int) -> np.ndarray:
    """The Fourier head's categorical distribution: the density at ``m`` bin centres, renormalised.

    The official code then returns ``log(pmf + 1e-5)`` as logits, so a softmax of its output is
    ``(pmf + 1e-5) / (1 + m 1e-5)``, not exactly the pmf; this function returns the pmf itself.

    Examples
    --------
    >>> fourier_pmf(np.array([1.0, 0.0]), 4)
    array([0.25, 0.25, 0.25, 0.25])
    """
    m = _positive_int(n_bins, "n_bins", 2)
    f = fourier_pdf(a, _bin_centres(m))
    return f / f.sum(axis=-1, keepdims=True)


def fit_fourier_pmf(counts, n_freqs: int, *, restarts: int = 4, seed: int = 0) -> np.ndarray:
    """The maximum-likelihood Fourier-head pmf with ``N = n_freqs`` frequencies for binned counts.

    Maximises ``sum_m counts_m log pmf_m`` over the ``N + 1`` complex coefficients ``a`` with
    L-BFGS and an exact gradient, from ``restarts`` random starts (the problem is nonconvex); the
    best fit is returned. Unconditional: the head's input is a constant, as in a density fit.

    Examples
    --------
    >>> counts = np.array([1, 5, 20, 5, 1, 0, 0, 0], dtype=float)
    >>> pmf = fit_fourier_pmf(counts, 2)
    >>> bool(np.isclose(pmf.sum(), 1.0)) and int(pmf.argmax()) == 2
    True
    """
    from scipy.optimize import minimize

    c = _float_array(counts, "counts", ndim=1)
    if np.any(c < 0) or c.sum() <= 0:
        raise ValueError("counts must be non-negative with a positive total")
    N = _positive_int(n_freqs, "n_freqs", 0) if n_freqs != 0 else 0
    m = c.size
    E = np.exp(1j * np.pi * np.outer(_bin_centres(m), np.arange(N + 1)))  # (m, N + 1)
    total = c.sum()

    def nll(theta):
        a = theta[:N + 1] + 1j * theta[N + 1:]
        A = E @ a
        f = np.abs(A) ** 2 + 1e-300
        F = f.sum()
        val = -np.sum(c * np.log(f)) + total * np.log(F)
        w = -c / f + total / F                              # d val / d f_m
        g = 2 * (np.conj(E).T @ (w * A))                    # d val / d Re a + i d val / d Im a
        return val / total, np.concatenate([g.real, g.imag]) / total

    rng = np.random.default_rng(seed)
    best = None
    with _one_blas_thread():
        for _ in range(max(1, restarts)):
            x0 = rng.normal(size=2 * (N + 1))
            res = minimize(nll, x0, jac=True, method="L-BFGS-B", options={"maxiter": 500})
            if best is None or res.fun < best.fun:
                best = res
    a = best.x[:N + 1] + 1j * best.x[N + 1:]
    return fourier_pmf(a, m)


def smoothed_histogram(counts, pseudo_count: float = 0.5) -> np.ndarray:
    """A plain softmax head's fit of binned counts: the frequencies, with ``pseudo_count`` per bin.

    The maximum-likelihood softmax over ``m`` free logits is the histogram itself, which gives
    probability 0 (a logit of ``-inf``) to every empty bin; ``pseudo_count`` (0.5: the Jeffreys
    prior) keeps it finite so that KL divergences from the truth exist.

    Examples
    --------
    >>> smoothed_histogram(np.array([3.0, 0.0, 1.0]), 0.5)
    array([0.63636364, 0.09090909, 0.27272727])
    """
    c = _float_array(counts, "counts", ndim=1)
    if pseudo_count < 0 or np.any(c < 0):
        raise ValueError("counts and pseudo_count must be non-negative")
    s = c + pseudo_count
    if s.sum() <= 0:
        raise ValueError("no counts and no pseudo-count")
    return s / s.sum()


def kl_divergence(p, q, axis=-1) -> np.ndarray:
    """``KL(p || q) = sum p log(p / q)`` in nats (``0 log 0 = 0``; ``inf`` where q = 0 < p).

    Examples
    --------
    >>> round(float(kl_divergence(np.array([0.5, 0.5]), np.array([0.25, 0.75]))), 6)
    0.143841
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.asarray(q, dtype=np.float64)
    with np.errstate(divide="ignore", invalid="ignore"):
        terms = np.where(p > 0, p * (np.log(p) - np.log(q)), 0.0)
    return terms.sum(axis=axis)


def bimodal_bin_probs(n_bins: int, means=(-0.45, 0.35), sds=(0.12, 0.2), weights=(0.45, 0.55)) -> np.ndarray:
    """Bin probabilities on ``[-1, 1]`` of a two-component Gaussian mixture (renormalised to the interval).

    Examples
    --------
    >>> p = bimodal_bin_probs(50)
    >>> p.shape, bool(np.isclose(p.sum(), 1.0))
    ((50,), True)
    """
    from math import erf, sqrt

    m = _positive_int(n_bins, "n_bins", 2)
    edges = np.linspace(-1.0, 1.0, m + 1)
    cdf = np.zeros(m + 1)
    for mu, sd, w in zip(means, sds, weights):
        cdf += w * np.array([0.5 * (1 + erf((e - mu) / (sd * sqrt(2)))) for e in edges])
    p = np.diff(cdf)
    return p / p.sum()


def plot_fourier_fit(fig, truth, counts, fits: dict, frequencies, histogram=None):
    """Draw the fit with ``frequencies`` frequencies against the truth and the histogram.

    ``fits`` maps a frequency count to its fitted pmf. For :func:`softlib.book.viz.explore` (a control
    named ``frequencies``): the returned ``update(frequencies)`` moves the Fourier curve and the
    title in place and returns what it changed.
    """
    m = truth.size
    x = _bin_centres(m)
    width = 2.0 / m
    ax = fig.subplots()
    ax.bar(x, counts / counts.sum() / width, width=width, color="0.85", label=f"samples (n = {int(counts.sum())})")
    ax.plot(x, truth / width, color="k", lw=2, label="true density")
    if histogram is not None:
        ax.step(x, histogram / width, where="mid", color="C3", lw=1, alpha=0.7, label="softmax head (histogram)")
    (line,) = ax.plot(x, fits[frequencies] / width, color="C0", lw=2.2, label="Fourier head")
    top = max(float(np.max(truth)), float(np.max(counts / counts.sum())),
              max(float(np.max(f)) for f in fits.values())) / width
    ax.set(xlabel="value (bin centre on [-1, 1])", ylabel="density", ylim=(0, 1.1 * top), xlim=(-1, 1))
    legend = ax.legend(fontsize="small", loc="upper left")

    def update(frequencies):
        pmf = fits[frequencies]
        line.set_ydata(pmf / width)
        ax.set_title(f"N = {frequencies} frequencies: KL(truth || fit) = {float(kl_divergence(truth, pmf)):.3f} nats",
                     fontsize="small")
        return [line, *ax.spines.values(), ax.title, legend]

    update(frequencies)
    fig.tight_layout()
    return update
