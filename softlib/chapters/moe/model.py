"""The softmax-gated Gaussian mixture of experts, dense or with a top-K sparse gate.

The conditional density of {cite}`nguyen2023demystifying` (paper 1), with ``sigma`` a variance:

.. math::

    g(y \\mid x) = \\sum_{i=1}^{k} \\operatorname{softmax}_i(\\beta_{1}^\\top x + \\beta_{0})
                   \\, \\mathcal{N}(y \\mid a_i^\\top x + b_i, \\sigma_i),

and the top-K sparse version of {cite}`nguyen2024topk` (paper 2), where the softmax runs over the K
largest gate logits ``beta1_i . x + beta0_i`` only (the others are set to minus infinity).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

import numpy as np

__all__ = ["GaussianMoE", "paper1_truth", "topk_truth", "gate_logits", "gate_weights", "density_hellinger"]

_LOG_2PI = np.log(2.0 * np.pi)
_trapezoid = getattr(np, "trapezoid", None) or np.trapz  # NumPy 2 renamed trapz


def _as_x(x, d: int) -> np.ndarray:
    """Covariates as an (n, d) float array; a 1-D array is read as n points when d == 1."""
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1 and d == 1:
        x = x[:, None]
    if x.ndim != 2 or x.shape[1] != d:
        raise ValueError(f"x must have shape (n, {d}) (or (n,) when d == 1), got {x.shape}")
    return x


def gate_logits(beta0, beta1, x) -> np.ndarray:
    """The gate's affine logits ``x @ beta1.T + beta0``, shape (n, k)."""
    return x @ np.asarray(beta1).T + np.asarray(beta0)


def _topk_mask(logits: np.ndarray, top_k: int | None) -> np.ndarray | None:
    """Boolean (n, k) mask of the ``top_k`` largest logits per row (ties: the lower index wins)."""
    n, k = logits.shape
    if top_k is None or top_k >= k:
        return None
    # rank_i = #{j : l_j > l_i, or l_j == l_i and j < i}; expert i is kept when rank_i < top_k.
    # Column by column: the k experts are few, the n rows many.
    cols = [logits[:, j] for j in range(k)]
    keep = np.empty((n, k), dtype=bool)
    for i in range(k):
        rank = np.zeros(n, dtype=np.int16)
        for j in range(k):
            if j != i:
                rank += (cols[j] >= cols[i]) if j < i else (cols[j] > cols[i])
        keep[:, i] = rank < top_k
    return keep


_SHORT_AXIS = 16
"""Axes up to this length are reduced slice by slice in :func:`lse`; longer ones by softlib.logsumexp."""


def lse(z, axis: int = -1, keepdims: bool = True) -> np.ndarray:
    """``log sum exp(z)`` along ``axis`` (float64), computed the way that is fast for the axis's length.

    The axes reduced in ``softlib.chapters.moe`` are short: k experts or S classes, 2 to 8 entries, and n
    rows.
    NumPy's reductions and :func:`softlib.logsumexp` walk such an axis one row at a time, which costs
    5 to 10 times more than elementwise operations over its k slices (measured on 2 cores at
    n k = 48000: 2.8 ms for the slices, 26 ms for NumPy and 12 ms for softlib.logsumexp with k = 3),
    so an axis of at most 16 entries is folded slice by slice, and a longer one goes to
    :func:`softlib.logsumexp`, faster from about 32 entries on. A slice of only ``-inf`` gives ``-inf``.

    Examples
    --------
    >>> import numpy as np
    >>> z = np.array([[0.0, np.log(3.0)], [-np.inf, -np.inf]])
    >>> lse(z, axis=1)[:, 0].round(6).tolist()
    [1.386294, -inf]
    """
    z = np.asarray(z, dtype=np.float64)
    axis = axis % z.ndim
    if z.shape[axis] == 0 or z.shape[axis] > _SHORT_AXIS:
        from ...ops import logsumexp

        return logsumexp(z, axis=axis, keepdims=keepdims)
    parts = np.moveaxis(z, axis, 0)
    m = np.array(parts[0])  # a copy, an array also when z is 1-D
    for part in parts[1:]:
        np.maximum(m, part, out=m)
    shift = np.where(np.isfinite(m), m, 0.0)  # rows of -inf give -inf, and +inf gives +inf, not NaN
    total = np.exp(parts[0] - shift)
    for part in parts[1:]:
        total += np.exp(part - shift)
    with np.errstate(divide="ignore"):
        out = shift + np.log(total)
    return np.expand_dims(out, axis) if keepdims else out


def _log_gate(logits: np.ndarray, top_k: int | None) -> np.ndarray:
    """log of the (top-K) softmax gate; -inf for experts outside the top K."""
    mask = _topk_mask(logits, top_k)
    if mask is not None:
        logits = np.where(mask, logits, -np.inf)
    return logits - lse(logits, axis=1)


def gate_weights(beta0, beta1, x, top_k: int | None = None) -> np.ndarray:
    """Gate probabilities, shape (n, k): softmax of the logits, restricted to the top K when given.

    Examples
    --------
    >>> import numpy as np
    >>> w = gate_weights([0.0, 0.0, np.log(2)], np.zeros((3, 1)), np.zeros((1, 1)), top_k=2)
    >>> np.round(w, 3)
    array([[0.333, 0.   , 0.667]])
    """
    x = np.asarray(x, dtype=np.float64)
    return np.exp(_log_gate(gate_logits(beta0, beta1, x), top_k))


class GatedModel:
    """What the book's softmax-gated models share: ``k`` experts, ``d`` inputs, checked copies.

    A frozen dataclass with fields ``beta0`` (k,) and ``beta1`` (k, d) inherits it.
    """

    @property
    def k(self) -> int:
        """The number of experts."""
        return self.beta0.size

    @property
    def d(self) -> int:
        """The input dimension."""
        return self.beta1.shape[1]

    def replace(self, **changes):
        """A copy with some fields changed (checked like a new model)."""
        return dataclasses.replace(self, **changes)


def gate_arrays(beta0, beta1):
    """A softmax gate's intercepts and slopes as float64 arrays of shapes (k,) and (k, d), checked.

    A 1-D ``beta1`` is read as one input dimension. Finiteness is left to the caller, which checks it
    with the experts' parameters.

    Examples
    --------
    >>> beta0, beta1 = gate_arrays([0.0, 1.0], [2.0, 3.0])
    >>> beta0.shape, beta1.shape
    ((2,), (2, 1))
    """
    beta0 = np.atleast_1d(np.asarray(beta0, dtype=np.float64))
    if beta0.ndim != 1 or beta0.size < 1:
        raise ValueError(f"beta0 must be a non-empty 1-D array, got shape {beta0.shape}")
    k = beta0.size
    beta1 = np.asarray(beta1, dtype=np.float64)
    if beta1.ndim == 1:
        beta1 = beta1[:, None]
    if beta1.ndim != 2 or beta1.shape[0] != k or beta1.shape[1] < 1:
        raise ValueError(f"beta1 must have shape ({k}, d) with d >= 1, got {beta1.shape}")
    return beta0, beta1


def gaussian_moe_arrays(beta0, beta1, a, b, sigma):
    """The parameters of a softmax-gated Gaussian MoE as float64 arrays of shapes (k,), (k, d), (k, d),
    (k,), (k,), after checking them: ``sigma`` holds positive variances and everything is finite.

    A 1-D ``beta1`` (and a 1-D ``a`` when d = 1) is read as one input dimension.

    Examples
    --------
    >>> beta0, beta1, a, b, sigma = gaussian_moe_arrays([0, 1], [2, 3], [4, 5], [6, 7], [1, 1])
    >>> beta1.shape, a.shape, sigma.dtype
    ((2, 1), (2, 1), dtype('float64'))
    """
    beta0, beta1 = gate_arrays(beta0, beta1)
    k, d = beta1.shape
    a = np.asarray(a, dtype=np.float64)
    if a.ndim == 1 and d == 1:
        a = a[:, None]
    if a.shape != (k, d):
        raise ValueError(f"a must have shape ({k}, {d}), got {a.shape}")
    b = np.asarray(b, dtype=np.float64).reshape(-1)
    sigma = np.asarray(sigma, dtype=np.float64).reshape(-1)
    if b.shape != (k,) or sigma.shape != (k,):
        raise ValueError(f"b and sigma must have shape ({k},), got {b.shape} and {sigma.shape}")
    if not np.all(sigma > 0):
        raise ValueError("sigma holds variances and must be positive")
    for name, arr in (("beta0", beta0), ("beta1", beta1), ("a", a), ("b", b), ("sigma", sigma)):
        if not np.all(np.isfinite(arr)):
            raise ValueError(f"{name} must be finite")
    return beta0, beta1, a, b, sigma


@dataclass(frozen=True)
class GaussianMoE(GatedModel):
    """A softmax-gated Gaussian mixture of experts with k experts on inputs in R^d.

    Parameters
    ----------
    beta0 : array_like, shape (k,)
        Gate intercepts.
    beta1 : array_like, shape (k, d) (or (k,) when d == 1)
        Gate slopes.
    a : array_like, shape (k, d) (or (k,))
        Expert slopes: expert i predicts the mean ``a_i . x + b_i``.
    b : array_like, shape (k,)
        Expert intercepts.
    sigma : array_like, shape (k,)
        Expert **variances** (the paper's convention), all positive.
    top_k : int, optional
        Keep only the ``top_k`` largest gate logits before the softmax (paper 2); None (default) is
        the dense gate.
    x_range : (float, float)
        The covariate distribution used by :meth:`sample`: uniform on ``[low, high]^d``.

    Notes
    -----
    Adding the same ``(t0, t1)`` to every ``(beta0_i, beta1_i)`` leaves the gate, hence the density,
    unchanged (softmax is shift invariant, and so is the top-K ranking): the gate is identified up
    to this translation only. The losses in :mod:`softlib.chapters.moe.voronoi` take it into account.

    Examples
    --------
    >>> import numpy as np
    >>> truth = paper1_truth()
    >>> x, y = truth.sample(5, np.random.default_rng(0))
    >>> x.shape, y.shape, truth.k, truth.d
    ((5, 1), (5,), 2, 1)
    >>> bool(np.all(truth.density(x, y) > 0))
    True
    """

    beta0: np.ndarray
    beta1: np.ndarray
    a: np.ndarray
    b: np.ndarray
    sigma: np.ndarray
    top_k: int | None = None
    x_range: tuple = field(default=(0.0, 1.0))

    def __post_init__(self):
        beta0, beta1, a, b, sigma = gaussian_moe_arrays(self.beta0, self.beta1, self.a, self.b, self.sigma)
        k = beta0.size
        top_k = self.top_k
        if top_k is not None:
            if int(top_k) != top_k or not 1 <= top_k <= k:
                raise ValueError(f"top_k must be an integer in [1, {k}] or None, got {top_k!r}")
            top_k = int(top_k)
        lo, hi = (float(v) for v in self.x_range)
        if not lo < hi:
            raise ValueError(f"x_range must be (low, high) with low < high, got {self.x_range}")
        for name, value in (("beta0", beta0), ("beta1", beta1), ("a", a), ("b", b), ("sigma", sigma),
                            ("top_k", top_k), ("x_range", (lo, hi))):
            object.__setattr__(self, name, value)

    def gate(self, x) -> np.ndarray:
        """Gate probabilities at x, shape (n, k) (zero outside the top K)."""
        return gate_weights(self.beta0, self.beta1, _as_x(x, self.d), self.top_k)

    def means(self, x) -> np.ndarray:
        """Expert means ``a_i . x + b_i``, shape (n, k)."""
        return _as_x(x, self.d) @ self.a.T + self.b

    def _log_components_t(self, x, y) -> np.ndarray:
        """:meth:`log_components` transposed, shape (k, n): the layout NumPy reduces fast over k."""
        x = _as_x(x, self.d)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        if y.shape[0] != x.shape[0]:
            raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
        logits = self.beta1 @ x.T + self.beta0[:, None]
        mask = _topk_mask(logits.T, self.top_k)
        if mask is not None:
            logits = np.where(mask.T, logits, -np.inf)
        resid = y - (self.a @ x.T + self.b[:, None])
        log_normal = (-0.5 * (_LOG_2PI + np.log(self.sigma)))[:, None] - resid**2 * (0.5 / self.sigma)[:, None]
        return logits - lse(logits, axis=0) + log_normal

    def log_components(self, x, y) -> np.ndarray:
        """``log gate_i(x) + log N(y | mean_i(x), sigma_i)``, shape (n, k) (-inf outside the top K)."""
        return self._log_components_t(x, y).T

    def log_density(self, x, y) -> np.ndarray:
        """``log g(y | x)`` for each pair, shape (n,)."""
        return lse(self._log_components_t(x, y), axis=0, keepdims=False)

    def density(self, x, y) -> np.ndarray:
        """The conditional density ``g(y | x)`` for each pair, shape (n,)."""
        return np.exp(self.log_density(x, y))

    def log_likelihood(self, x, y) -> float:
        """Mean log-likelihood of the sample."""
        return float(np.mean(self.log_density(x, y)))

    def sample(self, n: int, rng: np.random.Generator, x=None):
        """Draw ``n`` pairs: x uniform on ``x_range^d`` (or the given x), then y from ``g(. | x)``.

        Returns
        -------
        x : ndarray, shape (n, d)
        y : ndarray, shape (n,)
        """
        if x is None:
            if int(n) != n or n < 1:
                raise ValueError(f"n must be a positive integer, got {n!r}")
            x = rng.uniform(self.x_range[0], self.x_range[1], size=(int(n), self.d))
        else:
            x = _as_x(x, self.d)
        w = self.gate(x)
        u = rng.random(x.shape[0])[:, None]
        expert = np.minimum((np.cumsum(w, axis=1) < u).sum(axis=1), self.k - 1)
        mean = np.take_along_axis(self.means(x), expert[:, None], axis=1)[:, 0]
        y = mean + np.sqrt(self.sigma[expert]) * rng.standard_normal(x.shape[0])
        return x, y

    def as_dict(self) -> dict:
        """Plain lists of every field (used for cache keys and printing)."""
        return dict(beta0=self.beta0.tolist(), beta1=self.beta1.tolist(), a=self.a.tolist(),
                    b=self.b.tolist(), sigma=self.sigma.tolist(), top_k=self.top_k,
                    x_range=list(self.x_range))


def paper1_truth() -> GaussianMoE:
    """The true model of paper 1's simulation {cite}`nguyen2023demystifying`.

    d = 1, k* = 2, beta0* = (-8, 0), beta1* = (25, 0), a* = (-20, 20), b* = (15, -5), standard
    deviations (0.3, 0.4) (variances 0.09, 0.16), x uniform on [0, 1].
    The gate switches from expert 2 to expert 1 where 25 x - 8 = 0, at x = 0.32.
    """
    return GaussianMoE(beta0=[-8.0, 0.0], beta1=[[25.0], [0.0]], a=[[-20.0], [20.0]], b=[15.0, -5.0],
                       sigma=[0.09, 0.16])


def topk_truth() -> GaussianMoE:
    """The top-2-of-3 truth simulated in the book's top-K chapter (our choice; see that chapter).

    d = 1, x uniform on [-1, 1]; gate logits (-4 x, 1, 4 x): the middle expert is always selected,
    together with expert 1 for x < 0 and expert 3 for x > 0.
    """
    return GaussianMoE(beta0=[0.0, 1.0, 0.0], beta1=[[-4.0], [0.0], [4.0]], a=[[-3.0], [0.0], [3.0]],
                       b=[-1.0, 1.5, -2.5], sigma=[0.09, 0.16, 0.09], top_k=2, x_range=(-1.0, 1.0))


def _density_grid(model: GaussianMoE, x, y) -> np.ndarray:
    """``g(y_j | x_i)`` on the grid of the inputs ``x`` (n_x, d) and responses ``y`` (n_y,): shape
    (n_x, n_y). The gate and the means are computed once per input, the normal densities per expert."""
    gate, means = model.gate(x), model.means(x)
    out = np.zeros((x.shape[0], y.size))
    for i in range(model.k):
        z = y - means[:, i:i + 1]
        out += (gate[:, i:i + 1] / np.sqrt(2.0 * np.pi * model.sigma[i])) * np.exp(z * z * (-0.5 / model.sigma[i]))
    return out


def density_hellinger(model: GaussianMoE, truth: GaussianMoE, n_x: int = 256, n_y: int = 801) -> float:
    """Hellinger distance between two conditional densities, averaged over the truth's x range.

    .. math::  h(g, g_*) = \\Big( \\tfrac12 \\, \\mathbb{E}_X \\int (\\sqrt{g(y|X)} - \\sqrt{g_*(y|X)})^2 dy \\Big)^{1/2}

    computed on a midpoint grid of ``n_x`` points per input dimension (d = 1 only for now) and a
    trapezoid rule over y on a range covering both models' experts by 8 standard deviations.

    Examples
    --------
    >>> t = paper1_truth()
    >>> density_hellinger(t, t)
    0.0
    >>> 0 < density_hellinger(t.replace(b=[15.0, -4.0]), t) < 1
    True
    """
    if model.d != truth.d:
        raise ValueError("the two models must have the same input dimension")
    if truth.d != 1:
        raise ValueError("density_hellinger integrates over x on a grid and supports d == 1 only")
    lo, hi = truth.x_range
    x = (lo + (np.arange(n_x) + 0.5) * (hi - lo) / n_x)[:, None]
    means = np.concatenate([model.means(x), truth.means(x)], axis=1)
    sd = np.sqrt(np.concatenate([model.sigma, truth.sigma]).max())
    y = np.linspace(means.min() - 8 * sd, means.max() + 8 * sd, n_y)
    diff = (np.sqrt(_density_grid(model, x, y)) - np.sqrt(_density_grid(truth, x, y))) ** 2
    h2 = 0.5 * _trapezoid(diff, y, axis=1).mean()
    return float(np.sqrt(max(h2, 0.0)))
