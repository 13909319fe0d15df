r"""Comp-sum losses and their H-consistency bounds (Mao, Mohri & Zhong, ICML 2023).

For scores :math:`h \in \mathbb{R}^n` and a label :math:`y`, the **comp-sum loss** of index
:math:`\tau \ge 0` is

.. math::

    \ell_\tau(h, y) = \Phi^\tau\Big(\sum_{y' \ne y} e^{h_{y'} - h_y}\Big), \qquad
    \Phi^\tau(u) = \frac{(1 + u)^{1 - \tau} - 1}{1 - \tau} \ (\tau \ne 1), \quad \Phi^1(u) = \log(1 + u).

With :math:`s = \operatorname{softmax}(h)`, :math:`1 + u = 1 / s_y`, so
:math:`\ell_\tau = (s_y^{\tau - 1} - 1) / (1 - \tau)`: the sum-exponential loss :math:`1/s_y - 1`
(:math:`\tau = 0`), cross-entropy :math:`-\log s_y` (:math:`\tau = 1`), generalized cross-entropy
(:math:`1 < \tau < 2`) and the mean absolute error :math:`1 - s_y` (:math:`\tau = 2`).

The **calibration function** :math:`\mathcal{T}_n(t)` of a loss is the infimum of its conditional regret
over the conditional distributions :math:`p` on :math:`n` classes and the scores :math:`h` whose
conditional 0-1 regret :math:`\max_y p_y - p_{\operatorname{argmax} h}` is at least :math:`t`. Its convex
lower envelope :math:`\mathcal{T}^{**}` turns, through Jensen's inequality, into the H-consistency bound
:math:`R_{01}(h) - R^*_{01}(\mathcal{H}) + M_{01}(\mathcal{H}) \le \Gamma\big(R_\tau(h) - R^*_\tau(\mathcal{H})
+ M_\tau(\mathcal{H})\big)` with :math:`\Gamma = (\mathcal{T}^{**})^{-1}`, for symmetric and complete
hypothesis sets (the paper's Theorem 3.1, and its Section 4 for the minimizability gaps :math:`M`).

Everything here is float64 NumPy; the losses go through :func:`softlib.log_softmax`.
"""

from __future__ import annotations

from functools import lru_cache
import math

import numpy as np

from ...ops import log_softmax

__all__ = [
    "comp_sum_loss",
    "comp_sum_loss_grad",
    "conditional_risk",
    "conditional_risk_grad",
    "conditional_bayes_risk",
    "calibration_closed_form",
    "calibration_two_class",
    "calibration_numeric",
    "calibration_envelope",
    "h_consistency_bound",
    "minimizability_gap",
]


# --------------------------------------------------------------------------------------------------
# Argument checks
# --------------------------------------------------------------------------------------------------

def _check_tau(tau, upper: float = math.inf) -> float:
    try:
        value = float(tau)
    except (TypeError, ValueError):
        raise TypeError(f"tau must be a real number, got {type(tau).__name__}") from None
    if not (0.0 <= value < math.inf) or value > upper:
        accepted = "0 <= tau" + (f" <= {upper:g}" if upper < math.inf else " < inf")
        raise ValueError(f"tau must satisfy {accepted}; got {tau!r}")
    return value


def _check_n_classes(n_classes) -> int:
    if isinstance(n_classes, bool) or not isinstance(n_classes, (int, np.integer)):
        raise TypeError(f"n_classes must be an integer, got {type(n_classes).__name__}")
    if n_classes < 2:
        raise ValueError(f"n_classes must be at least 2; got {n_classes}")
    return int(n_classes)


def _check_t(t) -> np.ndarray:
    t = np.asarray(t, dtype=np.float64)
    if np.any(~np.isfinite(t)) or np.any(t < 0) or np.any(t > 1):
        raise ValueError("the 0-1 regret t must lie in [0, 1]")
    return t


def _logits_and_labels(logits, labels) -> tuple[np.ndarray, np.ndarray]:
    logits = np.asarray(logits)
    if logits.dtype.kind not in "biuf":
        raise TypeError(f"logits must be real numbers; got dtype {logits.dtype}")
    logits = logits.astype(np.float64, copy=False)
    if logits.ndim == 0 or logits.shape[-1] < 2:
        raise ValueError(f"logits need a last axis of at least 2 classes; got shape {logits.shape}")
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers; got dtype {labels.dtype}")
    if labels.shape != logits.shape[:-1]:
        raise ValueError(f"labels have shape {labels.shape}; expected {logits.shape[:-1]} (logits without the class axis)")
    n = logits.shape[-1]
    if labels.size and (labels.min() < 0 or labels.max() >= n):
        raise ValueError(f"labels must lie in [0, {n - 1}]")
    return logits, labels


def _probs(probs) -> np.ndarray:
    probs = np.asarray(probs, dtype=np.float64)
    if probs.ndim == 0 or probs.shape[-1] < 2:
        raise ValueError(f"probs need a last axis of at least 2 classes; got shape {probs.shape}")
    if np.any(~np.isfinite(probs)) or np.any(probs < 0):
        raise ValueError("probs must be finite and non-negative")
    if np.any(np.abs(probs.sum(axis=-1) - 1.0) > 1e-9):
        raise ValueError("each row of probs must sum to 1 (to within 1e-9)")
    return probs


# --------------------------------------------------------------------------------------------------
# The losses
# --------------------------------------------------------------------------------------------------

def _phi_of_nll(nll: np.ndarray, tau: float) -> np.ndarray:
    """The comp-sum loss as a function of nll = -log s_y: expm1((1 - tau) nll) / (1 - tau)."""
    if tau == 1.0:
        return nll
    with np.errstate(over="ignore"):
        return np.expm1((1.0 - tau) * nll) / (1.0 - tau)


def comp_sum_loss(logits, labels, tau: float) -> np.ndarray:
    r"""The comp-sum loss :math:`\ell_\tau(h, y) = (s_y^{\tau - 1} - 1)/(1 - \tau)` of every example.

    Computed as :math:`\operatorname{expm1}((1 - \tau)\,\nu) / (1 - \tau)` with
    :math:`\nu = -\log s_y` from :func:`softlib.log_softmax`, so it stays accurate for tiny
    :math:`s_y` and for :math:`\tau` near 1 (Mao, Mohri & Zhong 2023, eq. (1)).

    Parameters
    ----------
    logits : array_like, shape (..., n)
        The scores :math:`h`; the last axis holds the classes.
    labels : array_like of int, shape (...)
        The true class of every example, in ``[0, n)``.
    tau : float
        The index, ``tau >= 0``: 0 sum-exponential, 1 cross-entropy, in (1, 2) generalized
        cross-entropy, 2 mean absolute error.

    Returns
    -------
    ndarray, shape (...)
        The loss of every example, float64. It is ``inf`` only where the true value overflows
        (``tau < 1`` and :math:`s_y` below about :math:`10^{-308 / (1 - \tau)}`).

    Examples
    --------
    >>> import numpy as np
    >>> h = np.log([[0.5, 0.25, 0.25]])
    >>> [float(comp_sum_loss(h, [0], tau)[0]) for tau in (0.0, 1.0, 2.0)]
    [1.0, 0.6931471805599453, 0.5]
    """
    tau = _check_tau(tau)
    logits, labels = _logits_and_labels(logits, labels)
    logp = log_softmax(logits, axis=-1)
    nll = -np.take_along_axis(logp, labels[..., None], axis=-1)[..., 0]
    return _phi_of_nll(nll, tau)


def comp_sum_loss_grad(logits, labels, tau: float) -> np.ndarray:
    r"""The gradient of :func:`comp_sum_loss` with respect to the logits.

    :math:`\partial \ell_\tau / \partial h = s_y^{\tau - 1}\,(s - e_y)`, computed in log space
    (:math:`s_y^{\tau-1} s_j = e^{(1-\tau)\nu + \log s_j}`) so that no factor overflows on its own.

    Parameters
    ----------
    logits : array_like, shape (..., n)
    labels : array_like of int, shape (...)
    tau : float
        ``tau >= 0``.

    Returns
    -------
    ndarray, shape (..., n)
        The gradient of each example's loss with respect to its own logits.

    Examples
    --------
    >>> import numpy as np
    >>> comp_sum_loss_grad(np.log([[0.5, 0.25, 0.25]]), [0], 1.0)   # softmax minus one-hot
    array([[-0.5 ,  0.25,  0.25]])
    """
    tau = _check_tau(tau)
    logits, labels = _logits_and_labels(logits, labels)
    logp = log_softmax(logits, axis=-1)
    nll = -np.take_along_axis(logp, labels[..., None], axis=-1)
    with np.errstate(over="ignore"):
        grad = np.exp((1.0 - tau) * nll + logp)
        weight = np.exp((1.0 - tau) * nll)
    np.put_along_axis(grad, labels[..., None], np.take_along_axis(grad, labels[..., None], axis=-1) - weight,
                      axis=-1)
    return grad


def conditional_risk(logits, probs, tau: float) -> np.ndarray:
    r"""The conditional risk :math:`\mathcal{C}_\tau(h, p) = \sum_y p_y\, \ell_\tau(h, y)` of every row.

    Parameters
    ----------
    logits : array_like, shape (..., n)
        The scores.
    probs : array_like, shape (..., n)
        The conditional distribution :math:`p(y \mid x)` of every row (rows sum to one).
    tau : float
        ``tau >= 0``.

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.7, 0.2, 0.1])
    >>> round(float(conditional_risk(np.log(p), p, 1.0)), 12)   # the entropy of p, in nats
    0.801818552543
    """
    tau = _check_tau(tau)
    probs = _probs(probs)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape != probs.shape:
        raise ValueError(f"logits {logits.shape} and probs {probs.shape} must have the same shape")
    losses = _phi_of_nll(-log_softmax(logits, axis=-1), tau)
    # 0 * inf counts as 0: a class of probability zero adds nothing.
    return np.sum(np.where(probs > 0, probs * losses, 0.0), axis=-1)


def conditional_risk_grad(logits, probs, tau: float) -> np.ndarray:
    r"""The gradient of :func:`conditional_risk` with respect to the logits.

    :math:`\partial \mathcal{C}_\tau / \partial h_j = s_j \sum_y p_y s_y^{\tau-1} - p_j s_j^{\tau-1}`,
    the :math:`p`-average of :func:`comp_sum_loss_grad` over the labels, in :math:`O(n)` per row.

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.7, 0.2, 0.1])
    >>> bool(np.allclose(conditional_risk_grad(np.log(p), p, 1.0), 0.0))   # s = p is optimal at tau = 1
    True
    >>> bool(np.allclose(conditional_risk_grad(0.5 * np.log(p), p, 0.0), 0.0))  # s ~ sqrt(p) at tau = 0
    True
    """
    tau = _check_tau(tau)
    probs = _probs(probs)
    logits = np.asarray(logits, dtype=np.float64)
    if logits.shape != probs.shape:
        raise ValueError(f"logits {logits.shape} and probs {probs.shape} must have the same shape")
    logs = log_softmax(logits, axis=-1)
    with np.errstate(over="ignore"):
        weighted = np.where(probs > 0, probs * np.exp((tau - 1.0) * logs), 0.0)
    return np.exp(logs) * weighted.sum(axis=-1, keepdims=True) - weighted


# --------------------------------------------------------------------------------------------------
# Conditional Bayes risks: the infimum over scores, unbounded or in [-Lambda, Lambda]
# --------------------------------------------------------------------------------------------------

def _log_power_sum(logv: np.ndarray, a: float, axis=-1) -> np.ndarray:
    """log sum_i v_i^a from log v_i (v_i = 0 allowed as -inf)."""
    with np.errstate(invalid="ignore"):
        terms = np.where(np.isneginf(logv), -np.inf, a * logv)
    top = np.max(terms, axis=axis, keepdims=True)
    top = np.where(np.isfinite(top), top, 0.0)
    with np.errstate(divide="ignore"):
        return np.log(np.sum(np.exp(terms - top), axis=axis)) + np.squeeze(top, axis=axis)


def _bayes_unbounded(probs: np.ndarray, tau: float) -> np.ndarray:
    r"""inf_h C_tau(h, p): (Z^{2-tau} - 1)/(1 - tau), Z = sum p^{1/(2-tau)}; entropy at 1; 1 - max p at 2."""
    if tau == 1.0:
        return -np.sum(np.where(probs > 0, probs * np.log(np.where(probs > 0, probs, 1.0)), 0.0), axis=-1)
    if tau >= 2.0:
        return (1.0 - probs.max(axis=-1)) / (tau - 1.0)
    a, b = 1.0 / (2.0 - tau), 2.0 - tau
    with np.errstate(divide="ignore"):
        log_z = _log_power_sum(np.log(probs), a)
    return np.expm1(b * log_z) / (1.0 - tau)


def _bayes_bounded(probs: np.ndarray, tau: float, bound: float, iters: int = 60) -> np.ndarray:
    """inf over scores in [-bound, bound]^n, for tau <= 2: a convex problem in s = softmax(h).

    The softmax of the box is {s in the simplex : L <= s_j <= r L for some L}, r = e^{2 bound}. For a
    fixed L the optimum is s_j = clip((p_j / mu)^a, L, r L) (a = 1/(2 - tau)), with mu set by bisection
    so that sum s = 1 (for tau = 2 the mass r L goes to the most likely classes first); the value is
    convex in L, minimised by golden-section search.
    """
    rows = probs.reshape(-1, probs.shape[-1])
    n = rows.shape[1]
    log_r = 2.0 * bound
    with np.errstate(divide="ignore"):
        logp = np.log(rows)

    def s_for(log_l):  # log_l: (R,) -> s: (R, n)
        if tau == 2.0:
            order = np.argsort(-rows, axis=1, kind="stable")
            low, high = np.exp(log_l)[:, None], np.exp(log_l + log_r)[:, None]
            spare = 1.0 - n * low  # mass to hand out above the floor, best classes first
            add = np.clip(spare - np.arange(n)[None, :] * (high - low), 0.0, high - low)
            s = np.empty_like(rows)
            np.put_along_axis(s, order, low + add, axis=1)
            return s
        a = 1.0 / (2.0 - tau)
        lo, hi = np.full(len(rows), -800.0), np.full(len(rows), 800.0)  # bisection on log mu
        for _ in range(62):  # the bracket shrinks to 1600 * 2^-62 < 1e-15
            mid = 0.5 * (lo + hi)
            logs = np.clip(a * (logp - mid[:, None]), log_l[:, None], (log_l + log_r)[:, None])
            too_much = np.exp(logs).sum(axis=1) > 1.0
            lo, hi = np.where(too_much, mid, lo), np.where(too_much, hi, mid)
        logs = np.clip(a * (logp - hi[:, None]), log_l[:, None], (log_l + log_r)[:, None])
        return np.exp(logs)

    def value(ell):
        s = s_for(np.log(ell))
        s = s / s.sum(axis=1, keepdims=True)
        return np.sum(np.where(rows > 0, rows * _phi_of_nll(-np.log(s), tau), 0.0), axis=1)

    # L ranges over [1/(n r), 1/n]; golden-section search on L (the value is convex in L).
    left = np.full(len(rows), math.exp(-log_r) / n) if log_r < 700 else np.full(len(rows), 0.0)
    right = np.full(len(rows), 1.0 / n)
    left = np.maximum(left, 1e-300)
    g = (math.sqrt(5.0) - 1.0) / 2.0
    c, d = right - g * (right - left), left + g * (right - left)
    fc, fd = value(c), value(d)
    for _ in range(iters):
        first = fc < fd
        right = np.where(first, d, right)
        left = np.where(first, left, c)
        c_new = np.where(first, right - g * (right - left), d)
        d_new = np.where(first, c, left + g * (right - left))
        f_c_new = np.where(first, np.nan, fd)
        f_d_new = np.where(first, fc, np.nan)
        c, d = c_new, d_new
        fc = np.where(np.isnan(f_c_new), value(c), f_c_new)
        fd = np.where(np.isnan(f_d_new), value(d), f_d_new)
    best = np.minimum(np.minimum(fc, fd), np.minimum(value(left), value(right)))
    return best.reshape(probs.shape[:-1])


def conditional_bayes_risk(probs, tau: float, score_bound: float = math.inf) -> np.ndarray:
    r"""The infimum over scores of the conditional risk, :math:`\inf_h \mathcal{C}_\tau(h, p)`.

    With unbounded scores the infimum is attained at :math:`s_y \propto p_y^{1/(2-\tau)}` and equals

    .. math::

        \mathcal{C}^*_\tau(p) = \frac{Z^{2-\tau} - 1}{1 - \tau}, \quad Z = \sum_y p_y^{1/(2-\tau)}
        \quad (\tau < 2,\ \tau \ne 1),

    the entropy of :math:`p` for :math:`\tau = 1`, and :math:`(1 - \max_y p_y)/(\tau - 1)` for
    :math:`\tau \ge 2` (derived by Lagrange multipliers; the loss is convex in :math:`s` for
    :math:`\tau \le 2`). With scores in :math:`[-\Lambda, \Lambda]` the infimum is taken over
    :math:`\{\operatorname{softmax}(h) : |h_j| \le \Lambda\}`, a convex program solved numerically to
    about 1e-11 absolute (``tau <= 2`` only). For a one-hot :math:`p` it equals
    :math:`\Phi^\tau((n-1)e^{-2\Lambda})` (Mao, Mohri & Zhong 2023, Section 4).

    Parameters
    ----------
    probs : array_like, shape (..., n)
        Conditional distributions (rows sum to one).
    tau : float
        ``tau >= 0`` (``tau <= 2`` when ``score_bound`` is finite).
    score_bound : float, optional
        :math:`\Lambda > 0`; infinite by default.

    Returns
    -------
    ndarray, shape (...)

    Examples
    --------
    >>> import numpy as np
    >>> p = np.array([0.5, 0.3, 0.2])
    >>> round(float(conditional_bayes_risk(p, 0.0)), 12)      # (sum sqrt p)^2 - 1
    1.896950149832
    >>> onehot = np.array([1.0, 0.0, 0.0])
    >>> round(float(conditional_bayes_risk(onehot, 1.0, score_bound=2.0)), 12)  # log(1 + 2 e^-4)
    0.035976299748
    """
    tau = _check_tau(tau)
    probs = _probs(probs)
    bound = float(score_bound)
    if not bound > 0:
        raise ValueError(f"score_bound must be positive; got {score_bound!r}")
    if bound == math.inf:
        return _bayes_unbounded(probs, tau)
    if tau > 2.0:
        raise ValueError("bounded scores are supported for tau <= 2 only")
    return _bayes_bounded(probs, tau, bound)


def minimizability_gap(best_in_class_risk: float, probs, tau: float, score_bound: float = math.inf,
                       weights=None) -> float:
    r"""The minimizability gap :math:`M_\tau(\mathcal{H}) = R^*_\tau(\mathcal{H}) - \mathbb{E}_x[\inf_{h} \mathcal{C}_\tau(h, x)]`.

    The infimum inside the expectation runs over all score vectors in :math:`[-\Lambda, \Lambda]^n`
    (the pointwise best a hypothesis set of scores bounded by :math:`\Lambda` could do at each
    :math:`x`); :math:`R^*_\tau(\mathcal{H})`, the best risk in the hypothesis set, is the caller's
    (Mao, Mohri & Zhong 2023, eq. (3) and Section 4). The gap is zero when
    :math:`\mathcal{H}` holds every measurable function with values in the box.

    Parameters
    ----------
    best_in_class_risk : float
        :math:`R^*_\tau(\mathcal{H})`.
    probs : array_like, shape (m, n)
        :math:`p(\cdot \mid x)` at the support points :math:`x` (or at samples of :math:`x`).
    tau : float
        ``tau >= 0``.
    score_bound : float, optional
        :math:`\Lambda`; infinite by default (then the expectation is the Bayes risk).
    weights : array_like, shape (m,), optional
        The probability of each support point; uniform by default.

    Returns
    -------
    float
        The gap, which is non-negative: a ``best_in_class_risk`` below the pointwise infimum (by
        more than 1e-9) is impossible and raises ``ValueError``.

    Examples
    --------
    >>> import numpy as np
    >>> probs = np.array([[1.0, 0.0], [0.0, 1.0]])        # deterministic labels, n = 2
    >>> round(minimizability_gap(0.5, probs, 1.0, score_bound=1.0), 6)   # 0.5 - log(1 + e^-2)
    0.373072
    """
    tau = _check_tau(tau)
    probs = _probs(probs)
    if probs.ndim != 2:
        raise ValueError(f"probs must be a 2-d array (support points, classes); got shape {probs.shape}")
    inner = conditional_bayes_risk(probs, tau, score_bound)
    if weights is None:
        expected = float(inner.mean())
    else:
        weights = np.asarray(weights, dtype=np.float64)
        if weights.shape != inner.shape or np.any(weights < 0) or abs(weights.sum() - 1.0) > 1e-9:
            raise ValueError("weights must be non-negative, one per row of probs, summing to 1")
        expected = float(weights @ inner)
    gap = float(best_in_class_risk) - expected
    if gap < -1e-9:
        raise ValueError(f"best_in_class_risk {best_in_class_risk!r} is below the pointwise infimum {expected!r}")
    return max(gap, 0.0)


# --------------------------------------------------------------------------------------------------
# Calibration functions
# --------------------------------------------------------------------------------------------------

def _g(t: np.ndarray, tau: float) -> np.ndarray:
    """g(t) = (((1+t)^a + (1-t)^a)/2)^(2-tau), a = 1/(2-tau), in log space (tau < 2)."""
    a, b = 1.0 / (2.0 - tau), 2.0 - tau
    with np.errstate(divide="ignore"):
        log_mean = np.logaddexp(a * np.log1p(t), a * np.log1p(-t)) - math.log(2.0)
    return np.exp(b * log_mean)


def calibration_two_class(t, tau: float) -> np.ndarray:
    r"""The calibration function of two classes, :math:`\mathcal{T}_2(t) = 2^{1-\tau}(1 - g(t))/(1 - \tau)`.

    Here :math:`g(t) = \big(((1+t)^{a} + (1-t)^{a})/2\big)^{2-\tau}`, :math:`a = 1/(2-\tau)`; at
    :math:`\tau = 1` it is :math:`\frac{1+t}{2}\log(1+t) + \frac{1-t}{2}\log(1-t)`, at :math:`\tau \ge 2`
    :math:`t / 2`. Derived in the chapter from :math:`p = ((1+t)/2, (1-t)/2)` with the scores tied; it
    is an upper bound on :math:`\mathcal{T}_n` for every :math:`n` (the same :math:`p`, padded with
    zeros), and equal to it for :math:`\tau \le 1` (the paper's closed form) and, as measured in the
    book, for :math:`1 < \tau \le 1.5` and :math:`n \le 100`.

    Examples
    --------
    >>> round(float(calibration_two_class(0.5, 0.0)), 12)   # 1 - sqrt(1 - t^2)
    0.133974596216
    """
    tau = _check_tau(tau)
    t = _check_t(t)
    if tau == 1.0:
        minus = np.where(t < 1, (1 - t) / 2 * np.log1p(-np.where(t < 1, t, 0.0)), 0.0)
        return (1 + t) / 2 * np.log1p(t) + minus
    if tau >= 2.0:
        return t / 2.0 if tau == 2.0 else _two_class_tau_above_2(t, tau)
    return 2.0 ** (1.0 - tau) * (1.0 - _g(t, tau)) / (1.0 - tau)


def _two_class_tau_above_2(t: np.ndarray, tau: float) -> np.ndarray:
    # p = ((1+t)/2, (1-t)/2), predicted class 2: regret (p1 - max(p2, 2^{1-tau}))/(tau - 1).
    return ((1 + t) / 2 - np.maximum((1 - t) / 2, 2.0 ** (1.0 - tau))) / (tau - 1.0)


def calibration_closed_form(t, tau: float, n_classes: int) -> np.ndarray:
    r"""The closed-form calibration functions :math:`\mathcal{T}_\tau` recalled from the paper.

    With :math:`g` as in :func:`calibration_two_class` (Mao, Mohri & Zhong 2023, Theorem 3.1, as
    recorded in the book's notes):

    - :math:`0 \le \tau < 1`: :math:`\frac{2^{1-\tau}}{1-\tau}(1 - g(t))`,
    - :math:`\tau = 1`: :math:`\frac{1+t}{2}\log(1+t) + \frac{1-t}{2}\log(1-t)`,
    - :math:`1 < \tau < 2`: :math:`\frac{g(t) - 1}{(\tau - 1) n^{\tau - 1}}`,
    - :math:`\tau = 2`: :math:`t / n`.

    The chapter checks them against :func:`calibration_numeric`: tight for :math:`\tau \le 1`; a valid
    lower bound but loose by the factor :math:`(n/2)^{\tau-1}` for :math:`1 < \tau < 2` (at least up to
    :math:`\tau = 1.5`); :math:`t/n` is tight for MAE only for small :math:`t`. For :math:`\tau > 2` the
    recalled :math:`t/n` is *not* a lower bound (two classes, :math:`\tau = 3`, :math:`t = 0.6` give a
    regret of 0.275 < 0.3), so this function refuses :math:`\tau > 2`.

    Parameters
    ----------
    t : array_like
        Conditional 0-1 regrets in [0, 1].
    tau : float
        ``0 <= tau <= 2``.
    n_classes : int
        ``n >= 2``.

    Examples
    --------
    >>> round(float(calibration_closed_form(0.5, 1.0, 10)), 12)
    0.130812035941
    """
    tau = _check_tau(tau, upper=2.0)
    n = _check_n_classes(n_classes)
    t = _check_t(t)
    if tau == 2.0:
        return t / n
    if 1.0 < tau < 2.0:
        return (_g(t, tau) - 1.0) / ((tau - 1.0) * n ** (tau - 1.0))
    return calibration_two_class(t, tau)


def _regret_predicting(p: np.ndarray, k: int, tau: float) -> float:
    r"""The exact infimum of the conditional regret over scores whose argmax is class ``k``.

    For tau < 2 the best such scores tie k with the classes whose probability beats the average of
    {k and those classes} (the set maximising that average); the infimum is the Bayes risk of p with
    those classes' probabilities replaced by their average, minus p's Bayes risk. For tau >= 2 the
    loss is concave in s and the infimum is attained at s uniform on a set A containing k (a vertex of
    {s : s_k >= s_j}): (max p - max_A P(A) |A|^(1 - tau)) / (tau - 1).
    """
    p = np.asarray(p, dtype=np.float64)
    others = np.sort(np.delete(p, k))[::-1]
    mass = p[k] + np.concatenate([[0.0], np.cumsum(others)])  # {k} plus the j most likely others
    size = np.arange(1, len(p) + 1, dtype=np.float64)
    if tau >= 2.0:
        return float((p.max() - np.max(mass * size ** (1.0 - tau))) / (tau - 1.0))
    j = int(np.argmax(mass / size))
    order = [i for i in np.argsort(-p, kind="stable") if i != k][:j] + [k]
    pooled = p.copy()
    pooled[order] = mass[j] / size[j]
    return float(_bayes_unbounded(pooled, tau) - _bayes_unbounded(p, tau))


def _regret_family(t, x, m, tau):
    r"""Conditional regret of p = (x, u * m, 0 ..., x - t) when the scores predict the class at x - t.

    Arrays broadcast together; u = (1 + t - 2x)/m (u = 0 when m = 0). The regret is exact: the best
    scores that predict class k tie k with the classes whose p beats the pooled average (the pooled
    distribution's Bayes risk minus p's), or, for tau >= 2, sit on a vertex {uniform on a set}.
    """
    with np.errstate(divide="ignore", invalid="ignore"):
        u = np.where(m > 0, (1.0 + t - 2.0 * x) / np.maximum(m, 1), 0.0)
        pk = x - t
        if tau >= 2.0:
            best = np.maximum(pk, (pk + x) * 2.0 ** (1.0 - tau))
            # sets {k, x, j of the u's}: log-concave in j, so the best j is next to the stationary point
            if tau == 2.0:
                cand_j = [m]
            else:
                jstar = ((tau - 1.0) * (pk + x) - 2.0 * u) / (u * (2.0 - tau))
                jstar = np.where(u > 0, jstar, 0.0)
                cand_j = [np.clip(np.floor(jstar), 0, m), np.clip(np.ceil(jstar), 0, m), m]
            for j in cand_j:
                best = np.maximum(best, (pk + x + j * u) * (2.0 + j) ** (1.0 - tau))
            return (x - best) / (tau - 1.0)
        # tau < 2: the pooled set is {k, x} or {k, x, all u's}, whichever has the larger average.
        avg2 = (pk + x) / 2.0
        avg_all = 1.0 / (m + 2.0)
        pool_all = (m > 0) & (avg_all > avg2)
        if tau == 1.0:
            def xlogx(v):
                return np.where(v > 0, v * np.log(np.where(v > 0, v, 1.0)), 0.0)
            before = xlogx(x) + xlogx(pk) + m * xlogx(u)
            after = np.where(pool_all, np.log(avg_all), 2.0 * xlogx(avg2) + m * xlogx(u))
            return before - after
        # Z = sum p^a, scaled by x^a (the largest p) so that nothing underflows when a is large.
        a, b = 1.0 / (2.0 - tau), 2.0 - tau
        ratio_u = np.maximum(u, 0.0) / x
        s_before = 1.0 + (np.maximum(pk, 0.0) / x) ** a + m * ratio_u ** a
        s_pool = np.where(pool_all, (m + 2.0) * (avg_all / x) ** a, 2.0 * (avg2 / x) ** a + m * ratio_u ** a)
        return x * (s_pool ** b - s_before ** b) / (1.0 - tau)


def _calibration_equal(t: np.ndarray, tau: float, n: int, grid: int = 48, iters: int = 60) -> np.ndarray:
    """min over the family of _regret_family at 0-1 regret exactly t (vectorised over t and m)."""
    t = t.reshape(-1, 1, 1)
    m = np.arange(n - 1, dtype=np.float64).reshape(1, -1, 1)
    lo = np.maximum(t, (1.0 + t) / (m + 2.0))  # u <= x
    hi = np.broadcast_to((1.0 + t) / 2.0, lo.shape)  # u >= 0
    feasible = lo <= hi + 1e-15
    hi = np.maximum(hi, lo)
    frac = np.linspace(0.0, 1.0, grid).reshape(1, 1, -1)
    xs = lo + (hi - lo) * frac
    vals = _regret_family(t, xs, m, tau)
    vals = np.where(np.isfinite(vals), vals, np.inf)
    i = np.argmin(vals, axis=-1)[..., None]
    best = np.take_along_axis(vals, i, axis=-1)[..., 0]
    # golden-section refinement on the two grid cells around the best grid point
    step = (hi - lo)[..., 0] / (grid - 1)
    left = np.maximum(np.take_along_axis(xs, i, axis=-1)[..., 0] - step, lo[..., 0])
    right = np.minimum(np.take_along_axis(xs, i, axis=-1)[..., 0] + step, hi[..., 0])
    tt, mm = t[..., 0], m[..., 0]
    g = (math.sqrt(5.0) - 1.0) / 2.0
    for _ in range(iters):
        c, d = right - g * (right - left), left + g * (right - left)
        fc, fd = _regret_family(tt, c, mm, tau), _regret_family(tt, d, mm, tau)
        first = fc < fd
        right, left = np.where(first, d, right), np.where(first, left, c)
        best = np.minimum(best, np.where(np.isfinite(fc), fc, np.inf))
        best = np.minimum(best, np.where(np.isfinite(fd), fd, np.inf))
    best = np.where(feasible[..., 0], best, np.inf)
    return np.maximum(best.min(axis=1), 0.0)


def calibration_numeric(t, tau: float, n_classes: int) -> np.ndarray:
    r"""The calibration function :math:`\mathcal{T}_n(t)` computed directly.

    :math:`\mathcal{T}_n(t) = \inf\{\mathcal{C}_\tau(h, p) - \inf_{h'}\mathcal{C}_\tau(h', p) :
    p \in \Delta_n,\ h \in \mathbb{R}^n,\ \max_y p_y - p_{\operatorname{argmax} h} \ge t\}`.

    How: for a given :math:`p` and predicted class :math:`k` the inner infimum over scores is exact
    (the best scores tie :math:`k` with the classes whose probability exceeds the pooled average, so
    the infimum is the Bayes risk of the pooled distribution; for :math:`\tau \ge 2` the loss is
    concave in :math:`s` and the infimum sits on a vertex). The outer infimum over :math:`p` runs over
    the family :math:`p = (x, u, \dots, u, 0, \dots, 0, x - t)` (any number of :math:`u`'s), a grid of
    48 values of :math:`x` per count refined by golden-section search; then
    :math:`\mathcal{T}_n(t) = \min_{t' \ge t}` of that, over the requested points.

    Accuracy: every value is the regret of an actual :math:`(p, h)`, hence an upper bound on the
    infimum. Against multi-start constrained optimisation over the whole simplex (n = 3 to 7) and
    random search, it agreed to about 1e-6 relative and was never above it by more (the tests check
    1e-5); that the family contains the minimiser is a measured fact, not a theorem.

    Parameters
    ----------
    t : array_like
        0-1 regrets in [0, 1].
    tau : float
        ``tau >= 0``.
    n_classes : int
        ``n >= 2``.

    Returns
    -------
    ndarray, the shape of ``t``.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.array([0.2, 0.5])
    >>> bool(np.allclose(calibration_numeric(t, 1.0, 5), calibration_closed_form(t, 1.0, 5), rtol=1e-8))
    True
    """
    tau = _check_tau(tau)
    n = _check_n_classes(n_classes)
    t = _check_t(t)
    flat = t.ravel()
    order = np.argsort(flat)
    values = _calibration_equal(flat[order], tau, n)
    values = np.minimum.accumulate(values[::-1])[::-1]  # regret >= t: the smallest value at t' >= t
    out = np.empty_like(values)
    out[order] = values
    return out.reshape(t.shape)


def _lower_hull(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Vertices of the lower convex hull of points sorted by x (Andrew's monotone chain)."""
    hull: list[int] = []
    for i in range(len(x)):
        while len(hull) >= 2:
            i0, i1 = hull[-2], hull[-1]
            cross = (x[i1] - x[i0]) * (y[i] - y[i0]) - (y[i1] - y[i0]) * (x[i] - x[i0])
            if cross <= 0:
                hull.pop()
            else:
                break
        hull.append(i)
    return x[hull], y[hull]


_ENVELOPE_NODES = np.unique(np.concatenate([[0.0], np.geomspace(1e-4, 0.05, 60), np.linspace(0.0, 1.0, 241)]))


@lru_cache(maxsize=64)
def _envelope(tau: float, n: int, source: str) -> tuple[np.ndarray, np.ndarray]:
    nodes = _ENVELOPE_NODES
    if source == "numeric":
        values = calibration_numeric(nodes, tau, n)
    else:
        values = calibration_closed_form(nodes, tau, n)
    # T is non-decreasing, so T >= T(t_i) on [t_i, t_{i+1}]: the points (t_{i+1}, T(t_i)) lie below it,
    # and so does the lower convex hull of them and (0, 0).
    px = np.concatenate([[0.0], nodes[1:]])
    py = np.concatenate([[0.0], values[:-1]])
    return _lower_hull(px, py)


def calibration_envelope(t, tau: float, n_classes: int, source: str = "numeric") -> np.ndarray:
    r"""A convex, non-decreasing lower bound :math:`\mathcal{T}^{**}` on the calibration function.

    Jensen's inequality needs a convex :math:`\mathcal{T}` to pass from the conditional to the expected
    regrets. This is the lower convex hull of the points :math:`(t_{i+1}, \mathcal{T}(t_i))` over 300 nodes
    :math:`t_i` in [0, 1] (denser near 0): since :math:`\mathcal{T}` is non-decreasing it lies below
    :math:`\mathcal{T}` everywhere, and it differs from the convex envelope by at most a node spacing's
    worth of :math:`\mathcal{T}`.

    Parameters
    ----------
    t : array_like
        Points in [0, 1].
    tau : float
    n_classes : int
    source : {"numeric", "closed_form"}
        Which calibration function to envelope.

    Examples
    --------
    >>> import numpy as np
    >>> t = np.linspace(0, 1, 5)
    >>> bool(np.all(calibration_envelope(t, 1.0, 3) <= calibration_numeric(t, 1.0, 3) + 1e-15))
    True
    """
    tau = _check_tau(tau)
    n = _check_n_classes(n_classes)
    t = _check_t(t)
    if source not in ("numeric", "closed_form"):
        raise ValueError(f"source must be 'numeric' or 'closed_form'; got {source!r}")
    hx, hy = _envelope(tau, n, source)
    return np.interp(t, hx, hy)


def h_consistency_bound(eps, tau: float, n_classes: int, calibration: str = "closed_form") -> np.ndarray:
    r"""The H-consistency bound :math:`\Gamma_\tau(\epsilon) = \mathcal{T}^{-1}(\epsilon)`, capped at 1.

    For a symmetric and complete hypothesis set,
    :math:`R_{01}(h) - R^*_{01}(\mathcal{H}) + M_{01}(\mathcal{H}) \le \Gamma_\tau(\epsilon)` where
    :math:`\epsilon = R_\tau(h) - R^*_\tau(\mathcal{H}) + M_\tau(\mathcal{H})` (Mao, Mohri & Zhong 2023,
    Theorem 3.1). ``calibration="closed_form"`` inverts :func:`calibration_closed_form` (convex for
    these :math:`\tau`; e.g. :math:`\Gamma_0(\epsilon) = \sqrt{2\epsilon - \epsilon^2}`);
    ``"numeric"`` inverts :func:`calibration_envelope` of :func:`calibration_numeric`, the tight bound
    the chapter uses for :math:`\tau \in (1, 2]` and the only one for :math:`\tau > 2`.

    Parameters
    ----------
    eps : array_like
        Surrogate excess risks, >= 0.
    tau : float
    n_classes : int
    calibration : {"closed_form", "numeric"}

    Returns
    -------
    ndarray
        The bound on the 0-1 excess risk, in [0, 1].

    Examples
    --------
    >>> round(float(h_consistency_bound(0.02, 0.0, 10)), 10)   # sqrt(2 eps - eps^2)
    0.1989974874
    """
    tau = _check_tau(tau)
    n = _check_n_classes(n_classes)
    eps = np.asarray(eps, dtype=np.float64)
    if np.any(~(eps >= 0)):
        raise ValueError("eps must be non-negative (a surrogate excess risk)")
    if calibration == "numeric":
        hx, hy = _envelope(tau, n, "numeric")
        # the hull is flat at 0 up to its first node, then strictly increasing
        start = np.flatnonzero(hy > 0)[0] - 1
        return np.where(eps >= hy[-1], 1.0, np.interp(eps, hy[start:], hx[start:]))
    if calibration != "closed_form":
        raise ValueError(f"calibration must be 'closed_form' or 'numeric'; got {calibration!r}")
    tau = _check_tau(tau, upper=2.0)
    if tau == 2.0:
        return np.minimum(n * eps, 1.0)
    top = float(calibration_closed_form(1.0, tau, n))
    lo, hi = np.zeros_like(eps), np.ones_like(eps)
    for _ in range(60):  # bisection: T is increasing on [0, 1]; 2^-60 < 1e-18
        mid = 0.5 * (lo + hi)
        below = calibration_closed_form(mid, tau, n) < eps
        lo, hi = np.where(below, mid, lo), np.where(below, hi, mid)
    return np.where(eps >= top, 1.0, hi)
