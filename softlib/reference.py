"""Plain NumPy float64 implementations: the test oracle, and the fallback without the extension.

Each function takes an array whose reduction axis is the last one and returns float64 results; the
public functions in :mod:`softlib.softmax` handle axes, dtypes and edge cases and call these.
"""

from __future__ import annotations

import numpy as np


def _shifted(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Return ``x - max`` along the last axis and the max, with non-finite maxima replaced by 0.

    Replacing an infinite max by 0 makes rows of -inf give exp(-inf) = 0 sums (and so -inf, or NaN
    after division), and rows holding +inf give NaN, as in scipy.special.
    """
    x = np.asarray(x, dtype=np.float64)
    m = np.max(x, axis=-1, keepdims=True)
    m_finite = np.where(np.isfinite(m), m, 0.0)
    return x - m_finite, m_finite


def logsumexp(x: np.ndarray) -> np.ndarray:
    """log(sum(exp(x))) along the last axis, in float64.

    Examples
    --------
    >>> float(logsumexp(np.array([0.0, 0.0])))  # log 2
    0.6931471805599453
    """
    z, m = _shifted(x)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(z), axis=-1)) + m[..., 0]


def softmax(x: np.ndarray) -> np.ndarray:
    """exp(x) / sum(exp(x)) along the last axis, in float64, shifted by the max.

    Examples
    --------
    >>> softmax(np.array([1.0, 1.0, 1.0, 1.0]))
    array([0.25, 0.25, 0.25, 0.25])
    """
    # Shift by the max as it is, as scipy.special.softmax does: a row holding +inf, or only -inf,
    # gives inf - inf = NaN and so a row of NaN.
    x = np.asarray(x, dtype=np.float64)
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.exp(x - np.max(x, axis=-1, keepdims=True))
        return e / np.sum(e, axis=-1, keepdims=True)


def log_softmax(x: np.ndarray) -> np.ndarray:
    """log(softmax(x)) along the last axis, in float64, without forming softmax(x).

    Examples
    --------
    >>> log_softmax(np.array([0.0, 0.0]))
    array([-0.69314718, -0.69314718])
    """
    z, _ = _shifted(x)
    with np.errstate(divide="ignore", invalid="ignore"):
        return z - np.log(np.sum(np.exp(z), axis=-1, keepdims=True))


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
    x = np.asarray(x, dtype=np.float64)
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
    x = np.asarray(x, dtype=np.float64)
    total = np.sum(_stable_s(x), axis=-1, keepdims=True)
    bad = ~np.isfinite(total) | (total <= 0) | np.any(np.isposinf(x), axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        log_s = np.where(x >= 0, np.log1p(np.abs(x)), -np.log1p(np.abs(x)))
        return np.where(bad, np.nan, log_s - np.log(total))
