"""Plain NumPy implementations: the fallback without the extension, the ``algorithm="reference"``
choice, and the long double path.

Each function takes an array whose reduction axis is the last one and returns float64 results (long
double ones for long double input); the public functions in :mod:`softlib.ops` handle axes, dtypes
and edge cases and call these. They are the textbook formulas with two accuracy devices, so that
they meet the same bounds as the kernels (3 ULP in float32 and float64, measured in
tests/test_accuracy_defects.py): ``x - max`` is carried exactly (TwoSum: its rounding, up to
``|x - max| 2^-53``, would otherwise reach ``exp``, hundreds of ULP for a row spanning 700), and
the log-normaliser is ``log1p`` of the terms other than the maximum, so log-probabilities and
logsumexp near 0 keep their relative accuracy.
"""

from __future__ import annotations

import numpy as np


def _work(x) -> np.ndarray:
    x = np.asarray(x)
    return x.astype(np.longdouble if x.dtype == np.longdouble else np.float64, copy=False)


def _shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x - max`` along the last axis and the max, with non-finite maxima replaced by 0.

    Replacing an infinite max by 0 makes rows of -inf give exp(-inf) = 0 sums (and so -inf, or NaN
    after division), and rows holding +inf give NaN, as in scipy.special.
    """
    x = _work(x)
    m = np.max(x, axis=-1, keepdims=True)
    m_finite = np.where(np.isfinite(m), m, 0.0).astype(x.dtype)
    return x - m_finite, m_finite


def _exp_minus(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """exp(x - m) with the rounding error of x - m restored (TwoSum): exp(hi) (1 + lo)."""
    with np.errstate(invalid="ignore", over="ignore"):
        hi = x - m
        ap = hi + m
        lo = (x - ap) + (ap - hi - m)  # (x - m) - hi exactly, from TwoSum of x and -m
        e = np.exp(hi)
        return np.where(np.isfinite(lo), e + e * lo, e)


def _log_d(x: np.ndarray, m: np.ndarray) -> np.ndarray:
    """log sum exp(x - m) for rows whose max m is finite, as log1p of the terms but the first max."""
    e = _exp_minus(x, m)
    first = np.argmax(x, axis=-1)[..., None]
    others = np.arange(x.shape[-1]) != first
    t = np.sum(np.where(others, e, 0), axis=-1, keepdims=True, dtype=np.longdouble)
    return np.log1p(t).astype(x.dtype)


def logsumexp(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) along the last axis, in float64 (long double for long double input).

    Examples
    --------
    >>> float(logsumexp(np.array([0.0, 0.0])))  # log 2
    0.6931471805599453
    >>> float(logsumexp(np.array([0.0, -40.0])))  # log1p(e^-40): exact, not 0
    4.248354255291589e-18
    """
    z, m = _shifted(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = np.log(np.sum(np.exp(z), axis=-1)) + m[..., 0]
        xw = _work(x)
        mx = np.max(xw, axis=-1, keepdims=True)
        finite = np.isfinite(mx)
        careful = (np.where(finite, mx, 0) + _log_d(xw, np.where(finite, mx, 0).astype(xw.dtype)))[..., 0]
    return np.where(finite[..., 0], careful, plain)


def softmax(x: np.ndarray) -> np.ndarray:
    """exp(x) / sum(exp(x)) along the last axis, in float64 (long double for long double input).

    Examples
    --------
    >>> softmax(np.array([1.0, 1.0, 1.0, 1.0]))
    array([0.25, 0.25, 0.25, 0.25])
    """
    # Shift by the max as it is, as scipy.special.softmax does: a row holding +inf, or only -inf,
    # gives inf - inf = NaN and so a row of NaN.
    x = _work(x)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = _exp_minus(x, np.max(x, axis=-1, keepdims=True))
        return (e / np.sum(e, axis=-1, keepdims=True, dtype=np.longdouble)).astype(x.dtype)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) along the last axis, without forming softmax(x): (x - max) - log1p(...).

    Examples
    --------
    >>> log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    >>> float(log_softmax(np.array([0.0, -40.0]))[0])  # -log1p(e^-40), never above 0
    -4.248354255291589e-18
    """
    z, m = _shifted(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        plain = z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))
        xw = _work(x)
        finite = np.isfinite(np.max(xw, axis=-1, keepdims=True))
        careful = z - _log_d(xw, m)
    return np.where(finite, careful, plain)


def _stable_s(x: np.ndarray) -> np.ndarray:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(x >= 0, x + 1.0, 1.0 / (1.0 - x))


def stablemax(x: np.ndarray) -> np.ndarray:
    """StableMax along the last axis in float64: s(x) / sum s(x), s(x) = x + 1 or 1 / (1 - x).

    Rows holding NaN or +inf, or only -inf, give NaN (as softmax).

    Examples
    --------
    >>> stablemax(np.array([0.0, 1.0, -1.0]))
    array([0.28571429, 0.57142857, 0.14285714])
    """
    x = _work(x)
    s = _stable_s(x)
    total = np.sum(s, axis=-1, keepdims=True)
    bad = ~np.isfinite(total) | (total <= 0) | np.any(np.isposinf(x), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        return np.where(bad, np.nan, s / total)


def log_stablemax(x: np.ndarray) -> np.ndarray:
    """log of :func:`stablemax` along the last axis in float64, log s(x) as log1p.

    Examples
    --------
    >>> log_stablemax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    """
    x = _work(x)
    total = np.sum(_stable_s(x), axis=-1, keepdims=True)
    bad = ~np.isfinite(total) | (total <= 0) | np.any(np.isposinf(x), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_s = np.where(x >= 0, np.log1p(np.abs(x)), -np.log1p(np.abs(x)))
        return np.where(bad, np.nan, log_s - np.log(total))
