"""Ghosts of softmax: complex zeros of the partition function and the safe step sizes they imply.

Along a step ``theta(tau) = theta_0 + tau v`` (``||v|| = 1``) the logits of one sample, linearised, are
``z_k + a_k tau`` with **directional logit slopes** ``a_k`` (a Jacobian-vector product). The
cross-entropy of that sample is then

    l(tau) = -(z_y + a_y tau) + log F(tau),    F(tau) = sum_k exp(z_k + a_k tau),

which is analytic except where the partition function ``F`` vanishes. ``F`` has no real zeros but
infinitely many complex ones (the "ghosts"); the nearest one sets the radius of convergence of the
Taylor series of ``l`` at ``tau = 0`` (Sao 2026, arXiv 2603.13552):

- two classes: ``rho* = sqrt(delta^2 + pi^2) / |a_1 - a_2|`` with ``delta = z_1 - z_2`` (exact);
- any number of classes: ``rho* >= rho_a = pi / (max_k a_k - min_k a_k)`` (a lower bound);
- the normalised step ``r = ||p|| / rho_a`` of an update ``p`` and the controller that caps ``r`` at 1.

The exact zeros are found with the argument principle (winding numbers of ``F`` along circles and
squares, with adaptive sampling) and refined by Newton's method, all in a shifted, scaled form that
neither overflows nor loses the phase for large logits.
"""

from __future__ import annotations

from collections.abc import Sequence
import cmath
import math

import numpy as np

__all__ = [
    "taylor_radius",
    "batch_taylor_radius",
    "binary_radius",
    "ghost_radius",
    "partition_zeros",
    "loss_taylor_coefficients",
    "normalized_step",
    "safe_step",
]

_PI = math.pi
_EPS = np.finfo(np.float64).eps


# --------------------------------------------------------------------------------------------
# The radii from the slopes alone
# --------------------------------------------------------------------------------------------

def _finite_array(x, name: str) -> np.ndarray:
    try:
        arr = np.asarray(x, dtype=np.float64)
    except (TypeError, ValueError) as exc:
        raise TypeError(f"{name} must be an array of real numbers") from exc
    if not np.all(np.isfinite(arr)):
        raise ValueError(f"{name} must be finite (no NaN or infinity)")
    return arr


def taylor_radius(a, axis: int = -1) -> np.ndarray:
    """The lower bound ``rho_a = pi / Delta_a`` on the Taylor radius of the cross-entropy, per sample.

    ``Delta_a = max_k a_k - min_k a_k`` is the spread of the directional logit slopes along ``axis``.
    If ``Delta_a |Im tau| < pi`` the terms ``exp(z_k + a_k tau)`` of the partition function have phases
    in an arc shorter than pi and cannot cancel, so every complex zero of ``F`` is at distance at least
    ``rho_a`` from 0 (Sao 2026).

    Parameters
    ----------
    a : array_like
        Directional logit slopes, classes along ``axis``; finite.
    axis : int, optional
        The class axis (default: the last).

    Returns
    -------
    ndarray
        ``pi / Delta_a`` with ``axis`` removed; ``inf`` where all slopes of a sample are equal (the
        loss is then linear in ``tau`` and has no singularity).

    Examples
    --------
    >>> taylor_radius([0.5, -0.5, 0.0])
    array(3.14159265)
    >>> taylor_radius([[1.0, 3.0], [2.0, 2.0]])
    array([1.57079633,        inf])
    """
    a = _finite_array(a, "a")
    if a.ndim == 0:
        raise ValueError("a needs a class axis: pass at least a 1-D array of slopes")
    if a.shape[axis] == 0:
        raise ValueError("a has no classes along the class axis")
    spread = a.max(axis=axis) - a.min(axis=axis)
    with np.errstate(divide="ignore"):
        return np.where(spread > 0, _PI / np.where(spread > 0, spread, 1.0), np.inf)


def batch_taylor_radius(a, axis: int = -1) -> float:
    """``rho_a`` of a set of samples: ``pi / max_x Delta_a(x)``, the smallest per-sample bound.

    A step along the direction is within the convergence radius of every sample's loss (hence of
    their mean) when it is shorter than this. Over a mini-batch it is looser than over the whole
    training set, since the maximum spread runs over fewer samples (Sao 2026).

    Parameters
    ----------
    a : array_like
        Slopes, classes along ``axis``, samples along the other axes.
    axis : int, optional
        The class axis.

    Returns
    -------
    float
        The minimum of :func:`taylor_radius` over all samples (``inf`` if every spread is 0).

    Examples
    --------
    >>> batch_taylor_radius([[0.0, 1.0], [0.0, 2.0]]) == np.pi / 2
    True
    """
    return float(np.min(taylor_radius(a, axis=axis)))


def binary_radius(delta, delta_a) -> np.ndarray:
    """The exact Taylor radius of the two-class cross-entropy: ``sqrt(delta^2 + pi^2) / |Delta_a|``.

    With two classes ``F(tau) = exp(z_1 + a_1 tau) + exp(z_2 + a_2 tau)`` vanishes exactly at
    ``tau = -(delta + i pi (2m + 1)) / (a_1 - a_2)``, ``m`` an integer, with ``delta = z_1 - z_2``; the
    nearest pair (``m = 0, -1``) gives the radius (Sao 2026, binary case).

    Parameters
    ----------
    delta : array_like
        Logit gap ``z_1 - z_2``.
    delta_a : array_like
        Slope gap ``a_1 - a_2`` (its sign does not matter).

    Returns
    -------
    ndarray
        The radius, broadcast over the inputs; ``inf`` where ``delta_a == 0``.

    Examples
    --------
    >>> bool(binary_radius(0.0, 1.0) == np.pi)
    True
    >>> binary_radius([3.0, 0.0], [1.0, 0.0])
    array([4.34391579,        inf])
    """
    delta = _finite_array(delta, "delta")
    delta_a = np.abs(_finite_array(delta_a, "delta_a"))
    with np.errstate(divide="ignore"):
        return np.where(delta_a > 0, np.hypot(delta, _PI) / np.where(delta_a > 0, delta_a, 1.0), np.inf)


# --------------------------------------------------------------------------------------------
# The exact zeros: a normalised exponential sum
# --------------------------------------------------------------------------------------------

class _ExpSum:
    """H(u) = sum_k exp(c_k + b_k u) with distinct slopes b_k in [-1/2, 1/2] (spread exactly 1).

    ``F(tau) = exp(centre tau) H(scale tau)``, so the zeros of F are those of H divided by ``scale``.
    Every evaluation subtracts ``max_k Re(c_k + b_k u)`` before exponentiating.
    """

    def __init__(self, z, a):
        z = _finite_array(z, "z")
        a = _finite_array(a, "a")
        if z.ndim != 1 or a.shape != z.shape:
            raise ValueError(f"z and a must be 1-D of the same length, got shapes {z.shape} and {a.shape}")
        if z.size == 0:
            raise ValueError("z and a must have at least one class")
        lo, hi = a.min(), a.max()
        self.scale = float(hi - lo)
        slopes, inverse = np.unique(a, return_inverse=True)
        inverse = inverse.reshape(-1)
        # Classes with equal slopes act as one term: merge their logits with logsumexp.
        top = np.full(slopes.size, -np.inf)
        np.maximum.at(top, inverse, z)
        acc = np.zeros(slopes.size)
        np.add.at(acc, inverse, np.exp(z - top[inverse]))
        logits = top + np.log(acc)
        self.c = logits - logits.max()
        if self.scale > 0:
            self.b = (slopes - 0.5 * (lo + hi)) / self.scale
        else:
            self.b = np.zeros(1)
        self._c, self._b = self.c.tolist(), self.b.tolist()

    def _dominance(self, k: int, x: float) -> float:
        """log of |term k| over the sum of the other terms' moduli, at Re u = x (> 0: k dominates)."""
        t = [c + b * x for c, b in zip(self._c, self._b)]
        tk = t.pop(k)
        top = max(t)
        return tk - top - math.log(math.fsum(math.exp(v - top) for v in t))

    def _edge(self, k: int, x_in: float, direction: float) -> float:
        """From x_in, where term k dominates, the last point in ``direction`` where it still does."""
        step = 1.0
        while self._dominance(k, x_in + direction * step) > 0:
            step *= 2.0
            if step > 1e15:
                return direction * math.inf
        lo, hi = 0.0, step  # dominates at x_in + direction * lo, not at x_in + direction * hi
        while hi - lo > 1e-9 * (1.0 + abs(x_in) + lo):
            mid = 0.5 * (lo + hi)
            if self._dominance(k, x_in + direction * mid) > 0:
                lo = mid
            else:
                hi = mid
        return x_in + direction * lo

    def real_part_bounds(self):
        """Where the real parts of the zeros can lie: ``(x_min, x_max, gap_lo, gap_hi)``.

        A zero needs every term to be at most the sum of the others in modulus; where one term
        dominates, ``Re u`` is excluded. The log-ratio of a term to the others is concave in
        ``Re u`` (a line minus a log-sum-exp), so each term dominates on an interval: the steepest
        term for large ``Re u``, the shallowest for very negative ``Re u``, and possibly one term on
        an interval ``(gap_lo, gap_hi)`` around 0. Endpoints are kept on the dominated side.
        """
        top, bottom = int(np.argmax(self.b)), int(np.argmin(self.b))
        x = 1.0
        while self._dominance(top, x) <= 0:
            x *= 2.0
        x_max = self._edge(top, x, -1.0)
        x = -1.0
        while self._dominance(bottom, x) <= 0:
            x *= 2.0
        x_min = self._edge(bottom, x, 1.0)
        gap_lo = gap_hi = 0.0
        k0 = int(np.argmax(self.c))
        if self._dominance(k0, 0.0) > 0:
            gap_lo, gap_hi = self._edge(k0, 0.0, -1.0), self._edge(k0, 0.0, 1.0)
        return x_min, x_max, gap_lo, gap_hi

    @property
    def trivial(self) -> bool:
        return self.b.size < 2

    def terms(self, u):
        """Shifted terms exp(c_k + b_k u - m) along a new last axis, and their sum."""
        u = np.asarray(u, dtype=np.complex128)
        e = self.c + self.b * u[..., None]
        e = e - e.real.max(axis=-1, keepdims=True)
        w = np.exp(e)
        return w, w.sum(axis=-1)

    def phase_and_logderiv(self, u):
        """arg H(u) and H'(u) / H(u)."""
        w, s = self.terms(u)
        with np.errstate(divide="ignore", invalid="ignore"):
            g = (w @ self.b) / s
        return np.angle(s), g

    def relative_size(self, u):
        """|H(u)| / sum_k |exp(c_k + b_k u)|: 1 where the terms add up, 0 at a zero."""
        w, s = self.terms(u)
        return np.abs(s) / np.abs(w).sum(axis=-1)

    def newton(self, u, iters: int = 60):
        """Newton's method on H from u (u -= H / H'); returns the last iterate and whether it converged."""
        u = complex(u)
        cb = list(zip(self.c.tolist(), self.b.tolist()))
        for _ in range(iters):
            es = [c + b * u for c, b in cb]
            m = max(e.real for e in es)
            ws = [cmath.exp(e - m) for e in es]
            s = sum(ws)
            sb = sum(w * b for w, (_, b) in zip(ws, cb))
            if sb == 0 or not cmath.isfinite(s):
                return u, False
            step = s / sb
            u -= step
            if abs(step) <= 8 * _EPS * max(abs(u), 1.0):
                return u, True
        return u, False


def _wrap(x):
    return (x + np.pi) % (2 * np.pi) - np.pi


def _winding(hs: _ExpSum, path, n0: int, max_points: int = 2_000_000) -> int:
    """The number of zeros of H inside the closed path ``path(t)``, ``t`` in [0, 1] (argument principle).

    The phase of H is sampled along the path and every segment whose phase change exceeds 0.5 rad, or
    disagrees with the change predicted by H'/H by more than 0.25 rad, is halved, until none is left.
    """
    t = np.linspace(0.0, 1.0, max(int(n0), 16) + 1)
    u = path(t)
    ph, g = hs.phase_and_logderiv(u)
    while True:
        d = _wrap(np.diff(ph))
        du = np.diff(u)
        pred = np.imag(0.5 * (g[1:] + g[:-1]) * du)
        bad = (np.abs(d) > 0.5) | ~(np.abs(pred - d) <= 0.25)
        if not bad.any():
            return int(round(d.sum() / (2 * np.pi)))
        if t.size > max_points or np.min(np.diff(t)[bad]) < 1e-13:
            raise RuntimeError(
                "a zero of the partition function lies on (or within rounding of) the contour; "
                "change the radius slightly")
        idx = np.flatnonzero(bad)
        tm = 0.5 * (t[idx] + t[idx + 1])
        um = path(tm)
        phm, gm = hs.phase_and_logderiv(um)
        t = np.insert(t, idx + 1, tm)
        u = np.insert(u, idx + 1, um)
        ph = np.insert(ph, idx + 1, phm)
        g = np.insert(g, idx + 1, gm)


def _circle(radius: float):
    return lambda t: radius * np.exp(2j * np.pi * t)


def _rectangle(x0: float, x1: float, y0: float, y1: float):
    corners = np.array([x0 + 1j * y0, x1 + 1j * y0, x1 + 1j * y1, x0 + 1j * y1, x0 + 1j * y0])

    def path(t):
        s = np.clip(np.asarray(t) * 4.0, 0.0, 4.0)
        k = np.minimum(s.astype(int), 3)
        f = s - k
        return corners[k] * (1 - f) + corners[k + 1] * f

    return path


def _circle_count(hs: _ExpSum, radius: float) -> int:
    return _winding(hs, _circle(radius), n0=64 + 4 * radius)


def _zeros_in_annulus(hs: _ExpSum, r_in: float, r_out: float, bounds) -> np.ndarray:
    """All zeros of H with r_in <= |u| < r_out, by a quadtree of rectangles with winding numbers.

    Rectangles inside the disc of radius r_in, outside the disc of radius r_out, or inside the strip
    |Im u| < pi (where H has no zeros) are skipped; a rectangle holding one zero hands its centre to
    Newton's method. Split points are off-centre so that symmetric zeros never sit on an edge.
    """
    # z and a are real, so zeros come in conjugate pairs: search Im u > 0 only (every zero has
    # |Im u| >= pi, so the bottom edge at 0.99 pi never meets one) and mirror.
    x_min, x_max, gap_lo, gap_hi = bounds
    found: list[complex] = []
    h = r_out * (1.0 + 1 / 97)
    stack = [(-h, h, 0.99 * _PI, h, 0)]
    while stack:
        x0, x1, y0, y1, depth = stack.pop()
        near = math.hypot(max(x0, -x1, 0.0), max(y0, -y1, 0.0))
        far = math.hypot(max(abs(x0), abs(x1)), max(abs(y0), abs(y1)))
        if (near >= r_out or far < r_in or y1 < _PI or x1 < x_min or x0 > x_max
                or (x0 > gap_lo and x1 < gap_hi)):
            continue
        size = max(x1 - x0, y1 - y0)
        count = _winding(hs, _rectangle(x0, x1, y0, y1), n0=32 + 4 * size)
        if count == 0:
            continue
        if count == 1 or depth > 60:
            u, ok = hs.newton(complex(0.5 * (x0 + x1), 0.5 * (y0 + y1)))
            tol = 1e-9 * size
            if ok and x0 - tol <= u.real <= x1 + tol and y0 - tol <= u.imag <= y1 + tol:
                found.extend([u] * count)
                continue
            if depth > 60:
                raise RuntimeError("could not isolate a zero of the partition function")
        # Split into four at an off-centre point, across the longer side first when elongated.
        cx = x0 + 0.5371 * (x1 - x0)
        cy = y0 + 0.4707 * (y1 - y0)
        for xa, xb in ((x0, cx), (cx, x1)):
            for ya, yb in ((y0, cy), (cy, y1)):
                stack.append((xa, xb, ya, yb, depth + 1))
    zeros = np.array(found, dtype=np.complex128)
    zeros = np.concatenate([zeros, zeros.conj()])
    zeros = zeros[(np.abs(zeros) >= r_in * (1 - 1e-12)) & (np.abs(zeros) < r_out)]
    order = np.lexsort((np.angle(zeros), np.round(np.abs(zeros), 9)))
    return zeros[order]


def partition_zeros(z, a, radius: float) -> np.ndarray:
    """All complex zeros of the partition function ``F(tau) = sum_k exp(z_k + a_k tau)`` with ``|tau| < radius``.

    The zeros are counted by the argument principle on the circle, located by a quadtree of squares
    whose winding numbers isolate each zero, and refined by Newton's method on ``F`` (Sao 2026 gives the
    setting; the method is the standard one for zeros of analytic functions). All arithmetic is done on
    ``H(u) = sum_k exp(c_k + b_k u)`` with ``u = Delta_a tau``, slopes ``b`` centred in
    ``[-1/2, 1/2]`` and the largest real part subtracted before every exponential, so logits of any
    size neither overflow nor underflow; classes with equal slopes are merged.

    Accuracy: each zero is a converged Newton iterate, with relative error a few units of
    ``2.2e-16 * (1 + max|z| + Delta_a |tau|)`` for simple zeros (checked against closed forms and
    polynomial roots in the tests). Cost grows with the number of zeros in the disc, about
    ``(K - 1) Delta_a radius / pi``.

    Parameters
    ----------
    z : array_like, shape (K,)
        Logits at ``tau = 0``.
    a : array_like, shape (K,)
        Directional logit slopes.
    radius : float
        Radius of the disc, in units of ``tau``.

    Returns
    -------
    ndarray of complex, shape (n,)
        The zeros, sorted by modulus (then by argument); conjugate pairs, since ``z`` and ``a`` are real.

    Raises
    ------
    RuntimeError
        If a zero lies within rounding of the circle ``|tau| = radius`` (choose another radius).

    Examples
    --------
    >>> zeros = partition_zeros([0.0, 0.0], [1.0, -1.0], 5.0)   # zeros at i pi (2m + 1) / 2
    >>> zeros.imag
    array([-1.57079633,  1.57079633, -4.71238898,  4.71238898])
    >>> bool(np.abs(zeros.real).max() < 1e-15)
    True
    """
    radius = float(radius)
    if not (radius > 0 and math.isfinite(radius)):
        raise ValueError(f"radius must be positive and finite, got {radius}")
    hs = _ExpSum(z, a)
    if hs.trivial:
        return np.zeros(0, dtype=np.complex128)
    r = radius * hs.scale
    if r <= _PI:  # no zeros with |Im u| < pi, hence none in this disc
        return np.zeros(0, dtype=np.complex128)
    n = _circle_count(hs, r)
    if n == 0:
        return np.zeros(0, dtype=np.complex128)
    zeros = _zeros_in_annulus(hs, _PI, r, hs.real_part_bounds())
    if zeros.size != n:
        raise RuntimeError(f"found {zeros.size} zeros but the argument principle counts {n}")
    return zeros / hs.scale


def ghost_radius(z, a) -> float:
    """The exact Taylor radius of one sample's cross-entropy: the distance to the nearest zero of ``F``.

    ``F(tau) = sum_k exp(z_k + a_k tau)``. The radius is bracketed by winding numbers on circles (none
    inside ``|tau| < rho_a``, at least one inside the outer circle), then the zeros in the bracket are
    isolated and refined as in :func:`partition_zeros`. Equals :func:`binary_radius` for two classes and
    is never below :func:`taylor_radius`.

    Accuracy: relative error about ``1e-13`` for logits and ``Delta_a |tau|`` up to about ``1e3``
    (rounding of the phases ``a_k Im tau`` dominates beyond).

    Parameters
    ----------
    z : array_like, shape (K,)
        Logits at ``tau = 0``.
    a : array_like, shape (K,)
        Directional logit slopes.

    Returns
    -------
    float
        The radius (``inf`` if all slopes are equal).

    Examples
    --------
    >>> bool(np.isclose(ghost_radius([2.0, 0.0], [1.0, 0.0]), binary_radius(2.0, 1.0)))
    True
    >>> bool(ghost_radius([0.0, 0.0, 0.0], [1.0, 0.0, -1.0]) >= taylor_radius([1.0, 0.0, -1.0]))
    True
    """
    hs = _ExpSum(z, a)
    if hs.trivial:
        return math.inf
    bounds = hs.real_part_bounds()
    x_min, x_max, gap_lo, gap_hi = bounds
    pieces = [(x_min, gap_lo), (gap_hi, x_max)] if gap_hi > gap_lo else [(x_min, x_max)]
    nearest_re = min(max(lo, 0.0, -hi) if lo <= hi else math.inf for lo, hi in pieces)
    # Every zero has |Im u| >= pi and Re u in the pieces, hence |u| >= r_lo.
    r_lo = math.hypot(nearest_re, _PI) * (1 - 1e-12)
    width = _PI
    r_hi = r_lo + width
    while _circle_count(hs, r_hi) == 0:
        r_lo, width = r_hi, 2 * width
        r_hi = r_lo + width
        if r_hi > 1e9:
            raise RuntimeError("no zero of the partition function found within |Delta_a tau| < 1e9")
    # Narrow the bracket until few zeros lie in the annulus.
    n = _circle_count(hs, r_hi)
    while n > 2 and r_hi / r_lo > 1.001:
        mid = math.sqrt(r_lo * r_hi)
        try:
            m = _circle_count(hs, mid)
        except RuntimeError:  # a zero within rounding of this circle: the bracket is tight enough
            break
        if m == 0:
            r_lo = mid
        else:
            r_hi, n = mid, m
    zeros = _zeros_in_annulus(hs, r_lo, r_hi, bounds)
    if zeros.size == 0:
        raise RuntimeError("the zero counted by the argument principle was not located")
    return float(np.min(np.abs(zeros))) / hs.scale


# --------------------------------------------------------------------------------------------
# Taylor coefficients of the loss along the line
# --------------------------------------------------------------------------------------------

def loss_taylor_coefficients(z, a, y: int, order: int, radius: float | None = None) -> np.ndarray:
    """Taylor coefficients at ``tau = 0`` of one sample's cross-entropy ``l(tau) = -(z_y + a_y tau) + log F(tau)``.

    Computed by Cauchy's integral formula: ``l`` is sampled on the circle ``|tau| = radius`` (inside
    the convergence disc), its continuous logarithm branch followed by phase unwrapping, and a fast
    Fourier transform gives ``c_n radius^n``. The absolute error of ``c_n`` is about
    ``1e-15 max|l| / radius^n``, so a radius close to (but below) the Taylor radius keeps high orders
    accurate.

    Parameters
    ----------
    z, a : array_like, shape (K,)
        Logits and directional slopes.
    y : int
        The label.
    order : int
        The highest order returned.
    radius : float, optional
        Radius of the circle; it must be below the distance to the nearest zero of ``F``. Default:
        ``0.9 * taylor_radius(a)``, which is always safe.

    Returns
    -------
    ndarray, shape (order + 1,)
        ``c_0 = l(0), c_1 = l'(0), c_2 = l''(0) / 2, ...``.

    Examples
    --------
    >>> c = loss_taylor_coefficients([0.0, 0.0], [1.0, -1.0], y=0, order=3)
    >>> np.round(c, 12) + 0.0   # l = log(1 + exp(-2 tau)) = log 2 - tau + tau^2 / 2 + 0 tau^3
    array([ 0.69314718, -1.        ,  0.5       ,  0.        ])
    """
    z = _finite_array(z, "z")
    a = _finite_array(a, "a")
    if z.ndim != 1 or a.shape != z.shape:
        raise ValueError("z and a must be 1-D of the same length")
    if not (0 <= int(y) < z.size):
        raise ValueError(f"label y={y} out of range for {z.size} classes")
    order = int(order)
    if order < 0:
        raise ValueError("order must be >= 0")
    rho_a = float(taylor_radius(a))
    if radius is None:
        radius = 0.9 * rho_a if math.isfinite(rho_a) else 1.0
    radius = float(radius)
    if not (radius > 0 and math.isfinite(radius)):
        raise ValueError("radius must be positive and finite")
    m = 1 << max(8, int(math.ceil(math.log2(8 * (order + 1) + 4 * radius * (a.max() - a.min()) + 1))))
    tau = radius * np.exp(2j * np.pi * np.arange(m) / m)
    centre = 0.5 * (a.max() + a.min())
    e = z + (a - centre) * tau[:, None]
    shift = e.real.max(axis=1)
    log_sum = np.log(np.exp(e - shift[:, None]).sum(axis=1))
    # A continuous branch of log F around the circle, starting from the real point tau = radius,
    # where the centred sum is positive; a nonzero total phase change means a zero inside the circle.
    d = _wrap(np.diff(np.append(log_sum.imag, log_sum.imag[0])))
    if abs(d.sum()) > np.pi:
        raise ValueError("the circle encloses a zero of F: choose a radius below ghost_radius(z, a)")
    imag = log_sum.imag[0] + np.concatenate([[0.0], np.cumsum(d[:-1])])
    loss = -(z[y] + (a[y] - centre) * tau) + shift + log_sum.real + 1j * imag
    coef = np.fft.fft(loss) / m
    return (coef[: order + 1] / radius ** np.arange(order + 1)).real.copy()


# --------------------------------------------------------------------------------------------
# Steps: the normalised step and the controller
# --------------------------------------------------------------------------------------------

def _flat_norm(update) -> float:
    if isinstance(update, (str, bytes)):
        raise TypeError("update must be an array or a sequence of arrays, not a string")
    if isinstance(update, np.ndarray) or np.isscalar(update):
        parts = [np.asarray(update, dtype=np.float64)]
    elif isinstance(update, Sequence):
        if len(update) == 0:
            raise ValueError("update is an empty sequence")
        parts = [np.asarray(p, dtype=np.float64) for p in update]
    else:
        raise TypeError("update must be an array or a sequence of arrays")
    total = 0.0
    for p in parts:
        if not np.all(np.isfinite(p)):
            raise ValueError("update must be finite")
        total += float(np.sum(p * p))
    return math.sqrt(total)


def normalized_step(update, a) -> float:
    """The normalised step ``r = ||p|| Delta_a / pi = ||p|| / rho_a`` of an update ``p``.

    ``a`` holds the directional logit slopes along the unit direction ``v = p / ||p||`` (one row per
    sample, classes last); ``Delta_a`` is their largest per-sample spread. ``r < 1`` means the step stays
    inside every sample's Taylor disc (Sao 2026). For gradient descent with rate ``eta``,
    ``r < 1`` reads ``eta < pi / (Delta_a ||grad||)``.

    Parameters
    ----------
    update : ndarray or sequence of ndarrays
        The step, possibly split into parameter blocks; its norm is the Euclidean norm of all blocks.
    a : array_like, shape (..., K)
        Slopes along ``update / ||update||``.

    Returns
    -------
    float

    Examples
    --------
    >>> normalized_step(np.array([3.0, 4.0]), [[0.0, np.pi / 5]])   # ||p|| = 5, rho_a = 5
    1.0
    """
    norm = _flat_norm(update)
    rho = batch_taylor_radius(a)
    return 0.0 if norm == 0 else norm / rho


def safe_step(update, a, fraction: float = 1.0):
    """The controller: scale an update ``p`` to ``min(1, fraction * rho_a / ||p||) p``.

    ``rho_a = pi / max_x Delta_a(x)`` is computed from the slopes ``a`` along ``v = p / ||p||``, so the
    returned step has normalised step ``r <= fraction`` (Sao 2026's controller is ``fraction = 1``).
    The direction proposed by the optimiser (Adam, SGD, ...) is kept; only its length is capped.

    Parameters
    ----------
    update : ndarray or sequence of ndarrays
        The proposed step.
    a : array_like, shape (..., K)
        Slopes along ``update / ||update||``.
    fraction : float, optional
        Target bound on ``r`` (default 1).

    Returns
    -------
    ndarray or list of ndarrays
        The scaled step, in the structure of ``update``.

    Examples
    --------
    >>> safe_step(np.array([3.0, 4.0]), [[0.0, np.pi]])   # rho_a = 1: the step is cut to length 1
    array([0.6, 0.8])
    >>> safe_step(np.array([0.3, 0.4]), [[0.0, np.pi]])   # already inside: unchanged
    array([0.3, 0.4])
    """
    fraction = float(fraction)
    if not (fraction > 0 and math.isfinite(fraction)):
        raise ValueError("fraction must be positive and finite")
    norm = _flat_norm(update)
    rho = batch_taylor_radius(a)
    factor = 1.0 if norm == 0 else min(1.0, fraction * rho / norm)
    if isinstance(update, np.ndarray) or np.isscalar(update):
        return np.asarray(update, dtype=np.float64) * factor
    return [np.asarray(p, dtype=np.float64) * factor for p in update]
