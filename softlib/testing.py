"""Test oracles shared by softlib's tests: ULP errors and exact softmax, log-softmax and logsumexp.

The exact values come from ``np.longdouble`` (a 64-bit significand on x86-64 Linux: 11 bits beyond
float64) or, where that is not enough, from mpmath (optional: ``pip install mpmath``). They are
written so that small outputs keep their relative accuracy: the log-normaliser is
``m + log1p(t)`` with ``t`` the sum of the terms other than the maximum, so a log-probability or a
logsumexp near 0 is exact in relative terms, not only to within an ULP of 1. For example:

>>> import numpy as np
>>> from softlib.testing import exact_softmax, ulp_error
>>> p, logp, lse = exact_softmax(np.array([0.0, -40.0]))
>>> float(lse)  # log(1 + e^-40), where 0 + log(1 + 4e-18) would round to 0
4.248354255291589e-18
>>> float(ulp_error(np.float64(0.0), lse, np.float64))  # 0.0 is billions of ULP away
5514679113423396.0
"""

from __future__ import annotations

import numpy as np

__all__ = ["ulp", "ulp_error", "exact_softmax", "exact_mp", "to_mpf", "max_ulp"]


def ulp(exact, dtype) -> np.ndarray:
    """The ULP of ``|exact|`` in ``dtype``: 2^(exponent - mantissa bits), the subnormal spacing below
    the smallest normal number (so an exact 0 has the ULP of the smallest subnormal).

    Examples
    --------
    >>> float(ulp(1.0, np.float32)) == 2.0**-23
    True
    """
    info = np.finfo(dtype)
    mag = np.abs(np.asarray(exact, np.longdouble))
    e = np.floor(np.log2(np.maximum(mag, np.longdouble(info.smallest_normal))))
    return np.exp2(e - info.nmant)


def ulp_error(y, exact, dtype, floor: float = 0.0) -> np.ndarray:
    """``|y - exact|`` in ULPs of ``max(|exact|, floor)`` in ``dtype`` (``exact`` in higher precision).

    ``floor=0`` (the default) measures in ULPs of the value itself, what a user of a log-probability
    near 0 sees; ``floor=1`` measures relative to ``max(|y|, 1)``. Equal infinities give 0; NaN
    where the exact value is not NaN gives inf.

    Examples
    --------
    >>> float(ulp_error(np.float32(1.0) + np.float32(2.0**-23), 1.0, np.float32))
    1.0
    """
    y = np.asarray(y, np.longdouble)
    exact = np.asarray(exact, np.longdouble)
    mag = np.maximum(np.abs(exact), np.longdouble(floor))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(y - exact) / ulp(mag, dtype)
    same = (y == exact) | (np.isnan(y) & np.isnan(exact))
    err = np.where(same, 0, err)
    return np.where(np.isnan(err), np.inf, err).astype(np.float64)


def max_ulp(y, exact, dtype, floor: float = 0.0) -> float:
    """The largest :func:`ulp_error` (0 for empty arrays)."""
    e = ulp_error(y, exact, dtype, floor)
    return float(e.max()) if e.size else 0.0


def exact_softmax(x, axis: int = -1):
    """``(softmax, log_softmax, logsumexp)`` of ``x`` along ``axis`` in long double.

    Relative accuracy is kept for small outputs: the log-normaliser is ``m + log1p(t)`` where ``t``
    sums the terms other than the first maximum. Finite input only. For float64 input the error is
    about 2^-64 relative (``|x - max|`` times that for softmax), a few hundredths of a float64 ULP;
    logsumexp near 0 by cancellation (max < 0 and the sum near 1) needs :func:`exact_mp`.
    """
    xl = np.moveaxis(np.asarray(x, np.longdouble), axis, -1)
    i = np.argmax(xl, axis=-1)[..., None]
    m = np.take_along_axis(xl, i, -1)
    z = xl - m
    e = np.exp(z)
    others = np.arange(xl.shape[-1]) != i  # every term but the first maximum's
    t = np.where(others, e, 0).sum(axis=-1, keepdims=True)
    log_d = np.log1p(t)
    sm, lsm, lse = e / (1 + t), z - log_d, (m + log_d)[..., 0]
    return np.moveaxis(sm, -1, axis), np.moveaxis(lsm, -1, axis), lse


def to_mpf(v):
    """The exact value of a float16/32/64 or long double as an ``mpmath.mpf``."""
    import mpmath

    v = np.longdouble(v)
    if not np.isfinite(v):
        return mpmath.mpf(float(v))
    mant, ex = np.frexp(v)
    return mpmath.mpf(int(np.ldexp(mant, 64))) * mpmath.mpf(2) ** (int(ex) - 64)


def _mp_to_longdouble(v):
    """An mpmath number as a long double, via two doubles of v scaled to [1, 2) (106 bits)."""
    import mpmath

    if v == 0 or not mpmath.isfinite(v):
        return np.longdouble(float(v))
    e = int(mpmath.floor(mpmath.log(abs(v), 2)))
    if abs(e) > 20000:  # beyond every binary format: 0 or inf
        return np.longdouble(0.0 if e < 0 else float(mpmath.sign(v)) * np.inf)
    scaled = v * mpmath.mpf(2) ** -e
    hi = float(scaled)
    return np.ldexp(np.longdouble(hi) + np.longdouble(float(scaled - hi)), e)


def exact_mp(x, dps: int = 50):
    """``(softmax, log_softmax, logsumexp)`` of one 1-D row with mpmath at ``dps`` digits, returned
    as long doubles (needs mpmath)."""
    import mpmath

    conv = _mp_to_longdouble
    with mpmath.workdps(dps):
        xs = [to_mpf(v) for v in np.asarray(x).ravel()]
        i = max(range(len(xs)), key=lambda j: xs[j])
        m = xs[i]
        es = [mpmath.exp(v - m) for v in xs]
        t = mpmath.fsum(
            es[:i] + es[i + 1 :]
        )  # every term but the max's: log1p keeps them
        d = 1 + t
        log_d = mpmath.log1p(t)
        sm = np.array([conv(v / d) for v in es], np.longdouble)
        lsm = np.array([conv((v - m) - log_d) for v in xs], np.longdouble)
        return sm, lsm, conv(m + log_d)
