"""Sampling from softmax: Gumbel noise, relaxed samples, truncation rules and adaptive temperature.

Every function takes logits as a NumPy array and works along ``axis`` (default: the last), with the
conventions of :mod:`softlib.ops`:

- **dtypes**: float32 and float64 logits (integers are read as float64); results that are
  probabilities or relaxed samples come back in the input's float dtype, computed in float64.
  Other dtypes (bool, float16, complex, object) raise ``TypeError``.
- **masked tokens**: a logit of ``-inf`` is a token with probability zero: it is never sampled and
  never kept by a mask. NaN and ``+inf`` logits raise ``ValueError``, and so does a row with no
  finite logit (there is nothing to sample).
- **randomness**: the keyword ``rng`` must be a :class:`numpy.random.Generator`; noise is always
  drawn in float64 from uniforms on the open interval (0, 1) and cast afterwards, so a Gumbel draw is
  finite (at most 36.7, the float64 cap; a float32 uniform would cap it at 16.6).
- **small temperatures**: relaxed samples are computed as a max-subtracted softmax of
  ``(logits + G) / tau`` in float64, so any finite logits and any ``tau > 0`` (1e-3 and below) give
  finite results on the simplex.

The truncation rules return boolean masks of the kept tokens. Each keeps the argmax, and keeps every
token tied with the last one it keeps (a threshold is a value, not a count).

References: Gumbel-max and the Gumbel-softmax / Concrete distribution (Jang, Gu & Poole 2017;
Maddison, Mnih & Teh 2017), top-p (Holtzman et al. 2020), min-p (Nguyen et al. 2025), top-nσ
(Tang et al. 2025), adaptive temperature (Veličković et al. 2025).
"""

from __future__ import annotations

import math
import operator

import numpy as np
from .ops import log_softmax, logsumexp, softmax

__all__ = ["gumbel", "gumbel_max", "gumbel_softmax", "concrete_logpdf", "gumbel_logpdf",
           "top_k_mask", "top_p_mask", "min_p_mask", "top_n_sigma_mask", "adaptive_temperature",
           "ADAPTIVE_POLY", "entropy", "dispersion_bounds", "sample"]

#: The degree-4 fit of the inverse temperature beta against the entropy H (nats) of Veličković et
#: al. (2025, the JAX listing of adaptive temperature), highest degree first as ``np.polyval`` takes it.
ADAPTIVE_POLY = np.array([-0.037, 0.481, -2.3, 4.917, -1.791])


# --------------------------------------------------------------------------------------------------
# Input checks
# --------------------------------------------------------------------------------------------------

def _check_rng(rng) -> np.random.Generator:
    if not isinstance(rng, np.random.Generator):
        raise TypeError(f"rng must be a numpy.random.Generator (np.random.default_rng(seed)), "
                        f"got {type(rng).__name__}")
    return rng


def _float_dtype(x: np.ndarray, name: str) -> np.dtype:
    """The result dtype for an input array: float32 or float64 (integers give float64)."""
    if x.dtype in (np.float32, np.float64):
        return x.dtype
    if x.dtype.kind in "iu":
        return np.dtype(np.float64)
    raise TypeError(f"{name} must be float32 or float64 (or integers); got dtype {x.dtype}")


def _axis(axis, ndim: int) -> int:
    try:
        index = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= index < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return index % ndim


def _logits(logits, axis, name: str = "logits") -> tuple[np.ndarray, np.dtype, int]:
    """(logits as float64 with ``axis`` moved last, result dtype, normalised axis)."""
    x = np.asarray(logits)
    dtype = _float_dtype(x, name)
    if x.ndim == 0:
        raise ValueError(f"{name} needs at least one dimension (the token axis); got a 0-d array")
    ax = _axis(axis, x.ndim)
    x = np.moveaxis(x.astype(np.float64, copy=False), ax, -1)
    if x.shape[-1] == 0:
        raise ValueError(f"{name} has an empty token axis: there is nothing to sample")
    if np.isnan(x).any() or np.isposinf(x).any():
        raise ValueError(f"{name} must be finite or -inf (a masked token); got NaN or +inf")
    if x.size and not np.isfinite(x).any(axis=-1).all():
        raise ValueError(f"every row of {name} needs at least one finite logit; a row is all -inf")
    return x, dtype, ax


def _positive(value, name: str) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a positive real number, got {value!r}") from None
    if not (v > 0 and math.isfinite(v)):
        raise ValueError(f"{name} must be positive and finite, got {value!r}")
    return v


def _fraction(value, name: str, *, low_open: bool) -> float:
    try:
        v = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number in (0, 1], got {value!r}") from None
    ok = (0 < v <= 1) if low_open else (0 <= v <= 1)
    if not ok:
        raise ValueError(f"{name} must lie in {'(0, 1]' if low_open else '[0, 1]'}, got {value!r}")
    return v


def _back(y: np.ndarray, ax: int) -> np.ndarray:
    return np.moveaxis(y, -1, ax)


# --------------------------------------------------------------------------------------------------
# Gumbel noise, exact and relaxed samples
# --------------------------------------------------------------------------------------------------

def _open_uniform(shape, rng: np.random.Generator) -> np.ndarray:
    """float64 uniforms on the open interval (0, 1): ``rng.random`` is on [0, 1); zeros are redrawn."""
    u = rng.random(shape)
    zero = u == 0.0
    while zero.any():  # probability 2^-53 per entry
        u[zero] = rng.random(int(zero.sum()))
        zero = u == 0.0
    return u


def gumbel(shape, *, rng, dtype=np.float64) -> np.ndarray:
    r"""Standard Gumbel noise :math:`G = -\log(-\log U)`, with :math:`U` uniform on the open (0, 1).

    The density of :math:`G` is :math:`e^{-g - e^{-g}}`, its mean the Euler-Mascheroni constant
    0.5772 and its variance :math:`\pi^2/6`. Drawn in float64 whatever ``dtype`` (then cast), so
    every draw is finite: :math:`U \le 1 - 2^{-53}` caps it at 36.7.

    Parameters
    ----------
    shape : int or tuple of ints
        Shape of the result.
    rng : numpy.random.Generator
        The source of randomness (keyword only).
    dtype : float32 or float64, optional
        The result's dtype.

    Examples
    --------
    >>> import numpy as np
    >>> g = gumbel(100_000, rng=np.random.default_rng(0))
    >>> bool(abs(g.mean() - np.euler_gamma) < 0.01), bool(np.isfinite(g).all())
    (True, True)
    """
    _check_rng(rng)
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, got {dtype}")
    u = _open_uniform(shape, rng)
    return (-np.log(-np.log(u))).astype(dtype, copy=False)


def gumbel_logpdf(g) -> np.ndarray:
    r"""The log-density of the standard Gumbel distribution, :math:`-g - e^{-g}`.

    Examples
    --------
    >>> print(round(float(np.exp(gumbel_logpdf(0.0))), 6))   # 1/e at the mode
    0.367879
    """
    g = np.asarray(g, dtype=np.float64)
    return -g - np.exp(-g)


def gumbel_max(logits, axis: int = -1, *, rng) -> np.ndarray:
    r"""One exact draw per row from :math:`\mathrm{softmax}(\ell)`: :math:`\arg\max_i (\ell_i + G_i)`.

    The Gumbel-max trick (Gumbel 1954; Maddison, Tarlow & Minka 2014; Jang et al. 2017):
    with :math:`G_i` independent standard Gumbel,
    :math:`P(\arg\max_i(\ell_i + G_i) = k) = e^{\ell_k} / \sum_j e^{\ell_j}`. Tokens with logit
    ``-inf`` are never drawn.

    Returns
    -------
    ndarray of int64
        The drawn indices, with the shape of ``logits`` without ``axis``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> draws = gumbel_max(np.zeros((10_000, 4)), rng=rng)
    >>> draws.shape, bool(np.all(np.abs(np.bincount(draws) / 10_000 - 0.25) < 0.02))
    ((10000,), True)
    >>> int(gumbel_max([0.0, -np.inf, -np.inf], rng=rng))
    0
    """
    _check_rng(rng)
    x, _, _ = _logits(logits, axis)
    return np.argmax(x + gumbel(x.shape, rng=rng), axis=-1)


def gumbel_softmax(logits, tau, axis: int = -1, *, rng, hard: bool = False) -> np.ndarray:
    r"""A relaxed one-hot sample: :math:`y = \mathrm{softmax}((\ell + G)/\tau)` (Jang et al. 2017).

    The law of :math:`y` is the Gumbel-softmax / Concrete distribution (Maddison et al. 2017) with
    class probabilities :math:`\pi = \mathrm{softmax}(\ell)` and temperature :math:`\tau`; its density
    is :func:`concrete_logpdf`. For every :math:`\tau`, the argmax of :math:`y` is an exact draw from
    :math:`\pi`; as :math:`\tau \to 0` the samples become one-hot.

    Parameters
    ----------
    logits : array_like
        float32 or float64 logits; ``-inf`` marks a token of probability zero.
    tau : float
        The temperature, ``> 0``; small values (``1e-3``) are safe (max-subtracted, in float64).
    axis : int, optional
        The class axis.
    rng : numpy.random.Generator
    hard : bool, optional
        Return the one-hot vector of the argmax instead (the forward value of the straight-through
        estimator). Ties, which have probability zero, keep the first index.

    Returns
    -------
    ndarray
        Points of the simplex with the shape and float dtype of ``logits``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = gumbel_softmax(np.log([[0.2, 0.3, 0.5]]), 0.5, rng=rng)
    >>> y.shape, bool(np.isclose(y.sum(), 1.0))
    ((1, 3), True)
    >>> gumbel_softmax([0.0, 1.0], 1.0, rng=rng, hard=True)
    array([0., 1.])
    """
    _check_rng(rng)
    if isinstance(hard, (np.ndarray,)) or not isinstance(hard, (bool, np.bool_)):
        raise TypeError(f"hard must be True or False, got {hard!r}")
    tau = _positive(tau, "tau")
    x, dtype, ax = _logits(logits, axis)
    z = x + gumbel(x.shape, rng=rng)
    with np.errstate(over="ignore"):  # a gap beyond the float range is -inf: probability 0
        z = (z - np.max(z, axis=-1, keepdims=True)) / tau  # <= 0: cannot overflow upwards
    if hard:
        y = np.zeros_like(z)
        np.put_along_axis(y, np.argmax(z, axis=-1)[..., None], 1.0, axis=-1)
    else:
        y = softmax(z, axis=-1)
    return _back(y.astype(dtype, copy=False), ax)


def concrete_logpdf(y, logits, tau, axis: int = -1) -> np.ndarray:
    r"""Log-density of the Concrete / Gumbel-softmax distribution at points ``y`` of the simplex.

    With :math:`\pi = \mathrm{softmax}(\ell)` and :math:`K` classes (the density of Jang et al. 2017,
    which is Maddison et al.'s Concrete density with :math:`\alpha = \pi`, :math:`\lambda = \tau`):

    .. math::

        \log p(y) = \log\Gamma(K) + (K-1)\log\tau
            + \sum_i \big(\log\pi_i - (\tau+1)\log y_i\big)
            - K \log\sum_i \pi_i\, y_i^{-\tau},

    the density of the first :math:`K-1` coordinates with respect to Lebesgue measure (the last is
    :math:`1 - \sum` of the others). The sums are taken in log space (``logsumexp``), so extreme points
    near the vertices do not overflow.

    Parameters
    ----------
    y : array_like
        Points with positive coordinates that sum to one along ``axis`` (to within
        ``sqrt(eps)`` of the dtype; a point off the simplex raises ``ValueError``). A point with a zero
        coordinate is on the boundary, where the density is not defined: ``-inf`` is returned.
    logits : array_like
        Finite logits, broadcast against ``y``.
    tau : float
        The temperature, ``> 0``.
    axis : int, optional
        The class axis.

    Returns
    -------
    ndarray of float64
        The log-density, with the broadcast shape without ``axis``.

    Examples
    --------
    >>> print(round(float(concrete_logpdf([0.5, 0.5], [0.0, 0.0], 1.0)), 6))   # K=2, tau=1: uniform
    0.0
    """
    tau = _positive(tau, "tau")
    y_arr = np.asarray(y)
    y_dtype = _float_dtype(y_arr, "y")
    lg = np.asarray(logits)
    _float_dtype(lg, "logits")
    if y_arr.ndim == 0:
        raise ValueError("y needs at least one dimension (the class axis)")
    shape = np.broadcast_shapes(y_arr.shape, lg.shape)
    ax = _axis(axis, len(shape))
    yb = np.moveaxis(np.broadcast_to(y_arr.astype(np.float64), shape), ax, -1)
    lb = np.moveaxis(np.broadcast_to(lg.astype(np.float64), shape), ax, -1)
    if not np.isfinite(lb).all():
        raise ValueError("concrete_logpdf needs finite logits")
    if np.isnan(yb).any() or (yb < 0).any() or (yb > 1).any():
        raise ValueError("y must have coordinates in [0, 1]")
    tol = math.sqrt(np.finfo(y_dtype).eps) * max(1, shape[ax])
    if np.any(np.abs(yb.sum(axis=-1) - 1.0) > tol):
        raise ValueError(f"y must lie on the simplex: its coordinates must sum to 1 (within {tol:.1e})")
    K = shape[ax]
    log_pi = log_softmax(lb, axis=-1)
    with np.errstate(divide="ignore"):
        log_y = np.log(yb)
    inside = np.all(yb > 0, axis=-1)
    log_y = np.where(inside[..., None], log_y, 0.0)  # boundary points: filled in below
    out = (math.lgamma(K) + (K - 1) * math.log(tau) + np.sum(log_pi - (tau + 1.0) * log_y, axis=-1)
           - K * logsumexp(log_pi - tau * log_y, axis=-1))
    return np.where(inside, out, -np.inf)


# --------------------------------------------------------------------------------------------------
# Truncation rules
# --------------------------------------------------------------------------------------------------

def _temperature(temperature) -> float:
    return _positive(temperature, "temperature")


def top_k_mask(logits, k, axis: int = -1) -> np.ndarray:
    """The ``k`` largest logits of each row (all of them if ``k`` is at least the row's length).

    Ties with the k-th largest are all kept, so a row can keep more than ``k`` tokens; ``-inf``
    tokens are never kept.

    Examples
    --------
    >>> top_k_mask([3.0, 1.0, 2.0, 2.0], 2)
    array([ True, False,  True,  True])
    """
    if isinstance(k, (bool, np.bool_)):
        raise TypeError("k must be a positive integer, got a bool")
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"k must be a positive integer, got {k!r}") from None
    if k < 1:
        raise ValueError(f"k must be a positive integer, got {k}")
    x, _, ax = _logits(logits, axis)
    n = x.shape[-1]
    kth = -np.partition(-x, min(k, n) - 1, axis=-1)[..., min(k, n) - 1:min(k, n)]
    return _back((x >= kth) & (x > -np.inf), ax)


def top_p_mask(logits, p, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Nucleus (top-p) sampling's kept set (Holtzman et al. 2020): the most probable tokens whose
    probabilities, at the given temperature, first reach a total of ``p``.

    A token is kept when the mass of the tokens strictly more probable than it is below ``p``, so
    the argmax is always kept, ties are kept together, and ``p = 1`` keeps every finite token.

    Examples
    --------
    >>> top_p_mask(np.log([0.5, 0.3, 0.15, 0.05]), 0.75)
    array([ True,  True, False, False])
    >>> top_p_mask(np.log([0.5, 0.3, 0.15, 0.05]), 0.85)
    array([ True,  True,  True, False])
    """
    p = _fraction(p, "p", low_open=True)
    t = _temperature(temperature)
    x, _, ax = _logits(logits, axis)
    with np.errstate(over="ignore"):  # a gap beyond the float range is -inf: probability 0
        probs = softmax((x - np.max(x, axis=-1, keepdims=True)) / t, axis=-1)
    order = np.argsort(-x, axis=-1, kind="stable")
    sorted_x = np.take_along_axis(x, order, axis=-1)
    sorted_p = np.take_along_axis(probs, order, axis=-1)
    before = np.cumsum(sorted_p, axis=-1) - sorted_p  # mass strictly before each sorted position
    keep_sorted = (before < p) | (p == 1.0)
    keep_sorted[..., 0] = True
    keep_sorted &= sorted_x > -np.inf
    threshold = np.min(np.where(keep_sorted, sorted_x, np.inf), axis=-1, keepdims=True)
    return _back((x >= threshold) & (x > -np.inf), ax)


def min_p_mask(logits, p_base, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Min-p's kept set (Nguyen et al. 2025): tokens whose probability at the given temperature is at
    least ``p_base`` times the largest, i.e. :math:`\ell_i \ge \max\ell + T\log p_{base}`.

    Computed in log space (no probabilities are formed). ``p_base = 0`` keeps every finite token,
    ``p_base = 1`` only the argmax and its ties.

    Examples
    --------
    >>> min_p_mask(np.log([0.5, 0.3, 0.15, 0.05]), 0.3)
    array([ True,  True,  True, False])
    >>> min_p_mask(np.log([0.5, 0.3, 0.15, 0.05]), 0.3, temperature=0.5)
    array([ True,  True, False, False])
    """
    p_base = _fraction(p_base, "p_base", low_open=False)
    t = _temperature(temperature)
    x, _, ax = _logits(logits, axis)
    top = np.max(x, axis=-1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_p = math.log(p_base) if p_base > 0 else -np.inf
    keep = ((x - top) / t >= log_p) & (x > -np.inf)
    keep |= x == top
    return _back(keep, ax)


def top_n_sigma_mask(logits, n, axis: int = -1, temperature: float = 1.0) -> np.ndarray:
    r"""Top-nσ's kept set (Tang et al. 2025): :math:`\ell_i \ge \max\ell - n\,\sigma(\ell)`.

    :math:`\sigma` is the standard deviation (``ddof=0``, as in llama.cpp) of the row's *finite*
    logits, so tokens masked to ``-inf`` by an earlier rule do not make it NaN. Dividing the logits by
    a temperature divides the maximum and :math:`\sigma` alike, so the kept set does not depend on the
    temperature, which is therefore only checked (it must be positive) and the rule is applied to the
    raw logits. ``n = 0`` keeps the argmax and its ties.

    Examples
    --------
    >>> top_n_sigma_mask([4.0, 3.0, 0.0, -1.0, -np.inf], 1.0)
    array([ True,  True, False, False, False])
    """
    try:
        n = float(n)
    except (TypeError, ValueError):
        raise TypeError(f"n must be a non-negative real number, got {n!r}") from None
    if not (n >= 0 and math.isfinite(n)):
        raise ValueError(f"n must be non-negative and finite, got {n!r}")
    _temperature(temperature)
    x, _, ax = _logits(logits, axis)
    finite = np.isfinite(x)
    count = finite.sum(axis=-1, keepdims=True)
    mean = np.where(finite, x, 0.0).sum(axis=-1, keepdims=True) / count
    sigma = np.sqrt(np.where(finite, (x - mean) ** 2, 0.0).sum(axis=-1, keepdims=True) / count)
    top = np.max(x, axis=-1, keepdims=True)
    return _back((x >= top - n * sigma) & finite, ax)


# --------------------------------------------------------------------------------------------------
# Entropy, dispersion and adaptive temperature
# --------------------------------------------------------------------------------------------------

def entropy(logits, axis: int = -1) -> np.ndarray:
    r"""The Shannon entropy in nats of :math:`\mathrm{softmax}(\ell)`, :math:`-\sum_i p_i\log p_i`.

    Examples
    --------
    >>> print(round(float(entropy(np.zeros(8))), 6))   # log 8
    2.079442
    """
    x, _, _ = _logits(logits, axis)
    p = softmax(x, axis=-1)
    with np.errstate(divide="ignore", invalid="ignore"):
        return -np.sum(np.where(p > 0, p * np.log(p), 0.0), axis=-1)  # 0 log 0 = 0


def dispersion_bounds(logits, temperature: float = 1.0, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    r"""The bounds of Veličković et al. (2025, Lemma 2.1) on every softmax coefficient of a row.

    With logits in :math:`[m, M]`, :math:`\delta = M - m` and :math:`n` items,
    :math:`e^{-\delta/\theta}/n \le \mathrm{softmax}_\theta(e)_k \le e^{\delta/\theta}/n`: as
    :math:`n` grows with the logits bounded, every coefficient is :math:`\Theta(1/n)`.

    Returns
    -------
    (lower, upper) : tuple of ndarray
        Per row, the shape of ``logits`` without ``axis``.

    Examples
    --------
    >>> import softlib
    >>> lo, hi = dispersion_bounds(np.array([0.0, 1.0, 2.0, 0.5]))
    >>> p = softlib.softmax(np.array([0.0, 1.0, 2.0, 0.5]))
    >>> bool(lo <= p.min() and p.max() <= hi)
    True
    """
    t = _temperature(temperature)
    x, _, _ = _logits(logits, axis)
    if not np.isfinite(x).all():
        raise ValueError("dispersion_bounds needs finite logits")
    delta = x.max(axis=-1) - x.min(axis=-1)
    n = x.shape[-1]
    return np.exp(-delta / t) / n, np.exp(delta / t) / n


def adaptive_temperature(logits, axis: int = -1) -> tuple[np.ndarray, np.ndarray]:
    r"""Adaptive temperature of Veličković et al. (2025): sharpen a softmax according to its entropy.

    With :math:`H` the entropy (nats) of :math:`\mathrm{softmax}(e)`, the inverse temperature is
    :math:`\beta = \max(P(H), 1)` if :math:`H > 0.5`, else 1, where :math:`P` is the paper's
    degree-4 polynomial fit :data:`ADAPTIVE_POLY`; the result is :math:`\mathrm{softmax}(\beta e)`.
    The temperature never rises (:math:`\beta \ge 1`). The clamp returns 1 for
    :math:`H < 0.85` or :math:`H > 5.94`: rows more spread than about :math:`e^{5.94} \approx 380`
    equal items are left as they are.

    Returns
    -------
    (probabilities, beta)
        The sharpened probabilities (shape and float dtype of ``logits``) and :math:`\beta` per row.

    Examples
    --------
    >>> import softlib
    >>> p, beta = adaptive_temperature(np.array([1.0, 0.9, 0.0, 0.0, 0.0, 0.0, 0.0, 0.0]))
    >>> bool(beta > 1), bool(p[0] > softlib.softmax(np.array([1.0, 0.9] + [0.0] * 6))[0])
    (True, True)
    """
    x, dtype, ax = _logits(logits, axis)
    h = entropy(x, axis=-1)
    beta = np.where(h > 0.5, np.maximum(np.polyval(ADAPTIVE_POLY, h), 1.0), 1.0)
    p = softmax(beta[..., None] * x, axis=-1)
    return _back(p.astype(dtype, copy=False), ax), beta


# --------------------------------------------------------------------------------------------------
# Sampling
# --------------------------------------------------------------------------------------------------

def sample(logits, *, rng, temperature: float = 1.0, mask=None, axis: int = -1) -> np.ndarray:
    r"""One token per row from :math:`\mathrm{softmax}(\ell / T)` restricted to ``mask``.

    Tokens outside ``mask`` (a boolean array broadcastable to ``logits``, as returned by the
    ``*_mask`` functions) get probability zero and the rest are renormalised; the draw is
    :func:`gumbel_max`. A mask that removes every token of a row raises ``ValueError``.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> logits = np.log([0.5, 0.3, 0.15, 0.05])
    >>> draws = sample(np.tile(logits, (1000, 1)), rng=rng, mask=top_k_mask(logits, 1))
    >>> bool(np.all(draws == 0))
    True
    """
    _check_rng(rng)
    t = _temperature(temperature)
    x, _, ax = _logits(logits, axis)
    if mask is not None:
        m = np.asarray(mask)
        if m.dtype != np.bool_:
            raise TypeError(f"mask must be a boolean array, got dtype {m.dtype}")
        try:
            m = np.moveaxis(np.broadcast_to(m, np.moveaxis(np.empty(x.shape, dtype=bool), -1, ax).shape),
                            ax, -1)
        except ValueError:
            raise ValueError(f"mask of shape {m.shape} does not broadcast to the logits' shape") from None
        x = np.where(m, x, -np.inf)
        if x.size and not np.isfinite(x).any(axis=-1).all():
            raise ValueError("the mask removes every token of a row")
    with np.errstate(over="ignore"):  # a gap beyond the float range is -inf: probability 0
        shifted = (x - np.max(x, axis=-1, keepdims=True)) / t
    return gumbel_max(shifted, rng=rng)
