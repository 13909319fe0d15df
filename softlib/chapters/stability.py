"""Softmax at the edge of floating point: Softmax Collapse, StableMax and perpendicular gradients.

The quantities of Prieto, Barsbey, Mediano and Birdal (*Grokking at the
Edge of Numerical Stability*, ICLR 2025), as small NumPy functions:

- :func:`softmax_collapse_fraction` and :func:`zero_loss_fraction`: how many rows of a batch of logits
  have collapsed in a given precision (the sum of shifted exponentials rounds to exactly one) and how
  many have a cross-entropy loss of exactly zero;
- :func:`collapse_gap` and :func:`collapse_gap_measured`: the logit gap beyond which the collapse
  happens, from theory (``p ln 2`` for a format with ``p`` significand bits) and by bisection;
- :func:`stablemax_s`, :func:`stablemax_np` and :func:`log_stablemax_np`: the StableMax function in
  NumPy (the compiled ``softlib.stablemax`` is the library's fast version);
- :func:`perpendicular_gradient` and :func:`gradient_weight_cosine`: the paper's ⊥Grad projection and
  the naive-loss-minimisation signal;
- :func:`round_to_bfloat16` and :func:`softmax_in_precision`: softmax with every intermediate rounded
  to float16, bfloat16 (emulated), float32 or float64.
"""

from __future__ import annotations

import math

import numpy as np

__all__ = [
    "PRECISIONS",
    "significand_bits",
    "collapse_gap",
    "collapse_gap_measured",
    "softmax_collapse_fraction",
    "zero_loss_fraction",
    "stablemax_collapse_fraction",
    "stablemax_s",
    "stablemax_np",
    "log_stablemax_np",
    "perpendicular_gradient",
    "gradient_weight_cosine",
    "round_to_bfloat16",
    "round_to_precision",
    "softmax_in_precision",
]

#: The precisions the functions of this module accept, by name.
PRECISIONS = ("float16", "bfloat16", "float32", "float64")

# Significand bits, counting the implicit leading one (IEEE 754 binary16/32/64 and bfloat16).
_SIGNIFICAND_BITS = {"float16": 11, "bfloat16": 8, "float32": 24, "float64": 53}


def _precision_name(precision) -> str:
    """The name of a precision given as a string, a NumPy dtype or a NumPy scalar type."""
    if isinstance(precision, str) and precision in _SIGNIFICAND_BITS:
        return precision
    try:
        name = np.dtype(precision).name
    except TypeError:
        name = None
    if name in _SIGNIFICAND_BITS:
        return name
    raise ValueError(f"unknown precision {precision!r}; expected one of {', '.join(PRECISIONS)}")


def _native_dtype(precision) -> np.dtype:
    """The NumPy dtype that holds a precision natively (float16, float32, float64); not bfloat16."""
    name = _precision_name(precision)
    if name == "bfloat16":
        raise ValueError("bfloat16 is emulated only by softmax_in_precision and round_to_precision; "
                         "use float16, float32 or float64 here")
    return np.dtype(name)


def significand_bits(precision) -> int:
    """The number of significand bits ``p`` of a floating point format, the implicit bit included.

    The unit roundoff is ``2**-p``: half the gap between 1 and the next larger number.

    Examples
    --------
    >>> [significand_bits(name) for name in ("float16", "bfloat16", "float32", "float64")]
    [11, 8, 24, 53]
    """
    return _SIGNIFICAND_BITS[_precision_name(precision)]


def collapse_gap(precision) -> float:
    """The logit gap beyond which softmax collapses in a precision, from theory: ``p ln 2``.

    With the largest logit shifted to 0, a second logit ``d`` below it adds ``exp(-d)`` to the sum
    ``1 + exp(-d)``. Rounding to nearest (ties to even) returns exactly 1 as soon as
    ``exp(-d) <= 2**-p``, half the spacing of the numbers just above 1; so the sum, the
    correct-class probability and the loss become exactly 1, 1 and 0 once ``d >= p ln 2``
    (about 16.6 in float32).

    Examples
    --------
    >>> round(collapse_gap("float32"), 3), round(collapse_gap("float64"), 3)
    (16.636, 36.737)
    """
    return significand_bits(precision) * math.log(2.0)


def collapse_gap_measured(precision, *, lo: float = 0.0, hi: float = 200.0, steps: int = 80) -> float:
    """The smallest logit gap ``d`` with ``fl(1 + fl(exp(-d))) == 1``, found by bisection.

    Every operation is carried out in ``precision`` (float16, float32 or float64): the negated gap is
    rounded to it, exponentiated, and added to 1. The result agrees with :func:`collapse_gap` up to the
    spacing of the numbers near ``d`` in that precision.

    Examples
    --------
    >>> abs(collapse_gap_measured("float32") - collapse_gap("float32")) < 1e-5
    True
    """
    dtype = _native_dtype(precision)
    one = dtype.type(1)

    def collapsed(d: float) -> bool:
        with np.errstate(under="ignore"):
            return one + np.exp(-dtype.type(d)) == one

    if collapsed(lo) or not collapsed(hi):
        raise ValueError(f"the collapse gap of {dtype} is not between lo={lo} and hi={hi}")
    for _ in range(steps):
        mid = 0.5 * (lo + hi)
        lo, hi = (lo, mid) if collapsed(mid) else (mid, hi)
    return hi


def _real_rows(logits, axis: int, dtype) -> np.ndarray:
    """Real logits as ``dtype``, with the classes (``axis``) moved last; checked."""
    x = np.asarray(logits)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"logits must be real numbers; got dtype {x.dtype}")
    if x.ndim == 0:
        raise ValueError("logits need at least one dimension (the classes); got a 0-d array")
    x = np.moveaxis(x.astype(dtype, copy=False), axis, -1)
    if x.shape[-1] == 0:
        raise ValueError("logits have no classes along the given axis")
    return x


def _logit_rows(logits, axis: int, precision) -> tuple[np.ndarray, np.dtype]:
    dtype = _native_dtype(precision)
    return _real_rows(logits, axis, dtype), dtype


def softmax_collapse_fraction(logits, precision="float32", *, axis: int = -1) -> float:
    """The fraction of rows whose softmax has collapsed in ``precision`` (Prieto et al., 2025).

    A row ``z`` has collapsed when the sum of its shifted exponentials rounds to exactly one,

        sum_j exp(z_j - max_k z_k) == 1  (computed in ``precision``),

    which makes the largest probability exactly 1. The sum is NumPy's, in the order NumPy adds; a
    row collapses for sure once every other logit is :func:`collapse_gap` below the largest.

    Parameters
    ----------
    logits : array_like
        Logits, classes along ``axis``; they are first rounded to ``precision``.
    precision : {"float16", "float32", "float64"} or dtype
    axis : int

    Returns
    -------
    float
        The fraction in [0, 1] (NaN for a batch with no rows).

    Examples
    --------
    >>> z = np.array([[20.0, 0.0, 0.0], [10.0, 0.0, 0.0]])
    >>> softmax_collapse_fraction(z, "float32"), softmax_collapse_fraction(z, "float64")
    (0.5, 0.0)
    """
    x, dtype = _logit_rows(logits, axis, precision)
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] == 0:
        return float("nan")
    with np.errstate(under="ignore", invalid="ignore"):
        total = np.exp(rows - rows.max(axis=-1, keepdims=True)).sum(axis=-1, dtype=dtype)
    return float(np.mean(total == dtype.type(1)))


def zero_loss_fraction(logits, labels, precision="float32", *, axis: int = -1) -> float:
    """The fraction of rows whose cross-entropy loss is exactly zero in ``precision``.

    The loss of a row is ``-log softmax(z)_y = log sum_j exp(z_j - m) - (z_y - m)`` with ``m`` the
    largest logit, computed in ``precision``. It is exactly 0 when the row has collapsed (see
    :func:`softmax_collapse_fraction`) and its label holds the largest logit; such a row adds nothing
    to the loss and nothing to the gradient of its correct-class logit.

    Parameters
    ----------
    logits : array_like
        Logits, classes along ``axis``.
    labels : array_like of int
        The correct class of each row, shaped like ``logits`` without ``axis``.
    precision : {"float16", "float32", "float64"} or dtype
    axis : int

    Examples
    --------
    >>> z = np.array([[20.0, 0.0, 0.0], [20.0, 0.0, 0.0], [5.0, 0.0, 0.0]])
    >>> zero_loss_fraction(z, [0, 1, 0], "float32")
    0.3333333333333333
    """
    x, dtype = _logit_rows(logits, axis, precision)
    labels = np.asarray(labels)
    if labels.shape != x.shape[:-1]:
        raise ValueError(f"labels have shape {labels.shape}; expected {x.shape[:-1]} (one per row)")
    if labels.dtype.kind not in "iu" or (labels.size and (labels.min() < 0 or labels.max() >= x.shape[-1])):
        raise ValueError(f"labels must be integers in [0, {x.shape[-1]})")
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] == 0:
        return float("nan")
    with np.errstate(under="ignore", invalid="ignore"):
        shifted = rows - rows.max(axis=-1, keepdims=True)
        lse = np.log(np.exp(shifted).sum(axis=-1, dtype=dtype))
        loss = lse - np.take_along_axis(shifted, labels.reshape(-1, 1), axis=-1)[:, 0]
    return float(np.mean(loss == 0))


def stablemax_collapse_fraction(logits, precision="float64", *, axis: int = -1) -> float:
    """The fraction of rows whose StableMax has collapsed in ``precision``: the analogue for StableMax.

    A row collapses when ``sum_j s(z_j)`` rounds to exactly its largest term, so the top probability
    is exactly 1 and a correct prediction has a loss of exactly 0. Because ``s(-d) = 1/(1+d)`` decays
    slowly, this takes rival ratios below ``2**-p``, i.e. logits some ``2**p`` times apart, instead of
    the gap ``p ln 2`` of softmax.

    Examples
    --------
    >>> z = np.array([[1e9, 0.0], [1e20, 0.0]])
    >>> stablemax_collapse_fraction(z, "float64")
    0.5
    """
    x, dtype = _logit_rows(logits, axis, precision)
    rows = x.reshape(-1, x.shape[-1])
    if rows.shape[0] == 0:
        return float("nan")
    s = stablemax_s(rows).astype(dtype, copy=False)
    return float(np.mean(s.sum(axis=-1, dtype=dtype) == s.max(axis=-1)))


def stablemax_s(x):
    """The function s of StableMax (Prieto et al., 2025), elementwise.

        s(x) = x + 1        for x >= 0,
        s(x) = 1 / (1 - x)  for x < 0.

    Like ``exp`` it is positive, increasing, and 1 at 0 with slope 1 there; it grows linearly instead
    of exponentially, and decays like ``1/|x|`` instead of ``exp(-|x|)``.

    Examples
    --------
    >>> stablemax_s(np.array([-3.0, 0.0, 3.0]))
    array([0.25, 1.  , 4.  ])
    """
    x = np.asarray(x)
    if x.dtype.kind not in "biuf":
        raise TypeError(f"stablemax_s takes real numbers; got dtype {x.dtype}")
    x = x.astype(np.result_type(x.dtype, np.float16), copy=False)
    negative = x < 0
    return np.where(negative, 1 / (1 - np.where(negative, x, 0)), x + 1)


def stablemax_np(x, axis: int = -1):
    """StableMax along ``axis`` in NumPy: ``s(x_i) / sum_j s(x_j)`` (Prieto et al., 2025).

    Unlike softmax it is not shift invariant, so no maximum is subtracted.

    Examples
    --------
    >>> stablemax_np(np.array([0.0, 1.0, 2.0]))
    array([0.16666667, 0.33333333, 0.5       ])
    """
    s = stablemax_s(x)
    return s / s.sum(axis=axis, keepdims=True)


def log_stablemax_np(x, axis: int = -1):
    """log StableMax along ``axis`` in NumPy: ``log s(x_i) - log sum_j s(x_j)``.

    Examples
    --------
    >>> np.allclose(np.exp(log_stablemax_np(np.array([-1.0, 0.5]))), stablemax_np(np.array([-1.0, 0.5])))
    True
    """
    s = stablemax_s(x)
    return np.log(s) - np.log(s.sum(axis=axis, keepdims=True))


def perpendicular_gradient(weights, gradient, *, rescale: bool = False):
    """The gradient with its component along the weights removed (Prieto et al., 2025: ⊥Grad).

        g_perp = g - (w . g / w . w) w

    The update then cannot change the weights' direction-preserving scale, the direction along which
    naive loss minimisation grows the logits. With ``rescale=True`` the result is scaled back to the
    norm of ``g``, as in the authors' code (the paper's formula has no rescaling). A zero weight
    tensor has no direction to remove: ``g`` is returned unchanged.

    Parameters
    ----------
    weights, gradient : array_like
        One parameter tensor and its gradient, of the same shape.
    rescale : bool

    Examples
    --------
    >>> w = np.array([1.0, 0.0]); g = np.array([3.0, 4.0])
    >>> perpendicular_gradient(w, g), perpendicular_gradient(w, g, rescale=True)
    (array([0., 4.]), array([0., 5.]))
    """
    w = np.asarray(weights)
    g = np.asarray(gradient)
    if w.shape != g.shape:
        raise ValueError(f"weights have shape {w.shape} but the gradient has shape {g.shape}")
    ww = float(np.vdot(w, w))
    if ww == 0.0:
        return g.copy()
    g_perp = g - (float(np.vdot(w, g)) / ww) * w
    if rescale:
        norm_perp = float(np.linalg.norm(g_perp))
        if norm_perp > 0.0:
            g_perp = g_perp * (float(np.linalg.norm(g)) / norm_perp)
    return g_perp.astype(g.dtype, copy=False)


def gradient_weight_cosine(weights, gradients) -> float:
    """The cosine between the negative gradient and the weights, over all parameter tensors.

    ``cos = -<g, w> / (|g| |w|)``

    Near 1, a gradient step mostly scales the weights up, which for a ReLU network without biases
    scales the logits without changing the predictions: Prieto et al. (2025) call this naive loss
    minimisation. ``weights`` and ``gradients`` are matching sequences (or dicts) of arrays.

    Examples
    --------
    >>> gradient_weight_cosine([np.array([1.0, 2.0])], [np.array([-2.0, -4.0])])
    1.0
    """
    if isinstance(weights, dict):
        if not isinstance(gradients, dict) or weights.keys() != gradients.keys():
            raise ValueError("weights and gradients must be dicts with the same keys")
        gradients = [gradients[k] for k in weights]
        weights = list(weights.values())
    weights, gradients = list(weights), list(gradients)
    if len(weights) != len(gradients) or not weights:
        raise ValueError("weights and gradients must be non-empty sequences of the same length")
    dot = ww = gg = 0.0
    for w, g in zip(weights, gradients):
        w = np.asarray(w, dtype=np.float64)
        g = np.asarray(g, dtype=np.float64)
        if w.shape != g.shape:
            raise ValueError(f"a weight of shape {w.shape} has a gradient of shape {g.shape}")
        dot += float(np.vdot(w, g))
        ww += float(np.vdot(w, w))
        gg += float(np.vdot(g, g))
    if ww == 0.0 or gg == 0.0:
        return float("nan")
    return -dot / math.sqrt(ww * gg)


def round_to_bfloat16(x) -> np.ndarray:
    """float32 values rounded to the nearest bfloat16 (ties to even), returned as float32.

    bfloat16 keeps float32's 8 exponent bits and the top 7 of its 23 fraction bits; rounding adds
    half of the dropped part (plus the tie-breaking bit) to the bit pattern, then clears the low 16
    bits. NaN stays NaN; values past the largest bfloat16 round to infinity.

    Examples
    --------
    >>> round_to_bfloat16(np.float32([1.0, 1.00390625, 1.01171875, 3.14159265])).tolist()
    [1.0, 1.0, 1.015625, 3.140625]
    """
    x = np.asarray(x, dtype=np.float32)
    bits = x.view(np.uint32).astype(np.uint64)
    rounded = ((bits + 0x7FFF + ((bits >> 16) & 1)) & 0xFFFF0000).astype(np.uint32).view(np.float32)
    return np.where(np.isnan(x), x, rounded)


def round_to_precision(x, precision) -> np.ndarray:
    """``x`` rounded to ``precision``; float16 and bfloat16 are returned as float32 values."""
    name = _precision_name(precision)
    if name == "bfloat16":
        return round_to_bfloat16(x)
    if name == "float16":
        with np.errstate(over="ignore"):
            return np.asarray(x, dtype=np.float32).astype(np.float16).astype(np.float32)
    return np.asarray(x, dtype=name)


def softmax_in_precision(x, precision, *, axis: int = -1) -> np.ndarray:
    """Softmax with every intermediate rounded to ``precision``: a model of a low-precision kernel.

    The logits are rounded to the format, the maximum is subtracted, each exponential is rounded,
    the exponentials are added one at a time with the running sum rounded after each addition, and
    the quotients are rounded. float16 and bfloat16 are emulated in float32 (bfloat16 by rounding the
    float32 significands to 8 bits, see :func:`round_to_bfloat16`); the result is a float64 array of
    the rounded values.

    Examples
    --------
    >>> z = np.array([0.0, -20.0])
    >>> float(softmax_in_precision(z, "float16")[1]), bool(softmax_in_precision(z, "bfloat16")[1] > 0)
    (0.0, True)
    """
    name = _precision_name(precision)
    work = np.float64 if name == "float64" else np.float32
    z = _real_rows(x, axis, work)

    def r(v):
        return round_to_precision(v, name).astype(work, copy=False)

    with np.errstate(under="ignore", over="ignore", invalid="ignore"):
        z = r(z)
        z = r(z - z.max(axis=-1, keepdims=True))
        e = r(np.exp(z))
        total = np.zeros(e.shape[:-1], dtype=work)
        for j in range(e.shape[-1]):
            total = r(total + e[..., j])
        p = r(e / total[..., None])
    return np.moveaxis(p, -1, axis).astype(np.float64)
