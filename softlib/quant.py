"""Uniform (affine) quantisation, and the softmax bias correction of Pandey et al. (2023).

The chapter *Softmax under quantisation* uses these functions:

- :func:`quantize` and :func:`dequantize`: the affine integer grid ``x ~ scale * (q - zero_point)``
  with ``q`` an integer of ``bits`` bits, signed or unsigned;
- :func:`quantize_softmax`: softmax outputs on the usual 8-bit probability grid (``scale = 2**-bits``,
  the convention of TFLite, Arm NN and ONNX Runtime for uint8, or int8 with ``zero_point = -128``);
- :func:`softmax_bias_correction`: the constant that, added to every dequantised probability, makes the
  rows sum to one on average over a calibration set;
- :func:`sqnr_db`: the signal-to-quantisation-noise ratio in decibels;
- :func:`plot_quantised_softmax`: the chapter's interactive figure.

Rounding and saturation
-----------------------
:func:`quantize` rounds ``x / scale`` to the nearest integer with **ties to even** (IEEE 754's default,
NumPy's ``np.rint``: 0.5 -> 0, 1.5 -> 2, 2.5 -> 2), computed in float64, and then **saturates**: values
beyond the grid are clipped to the smallest or largest code before the cast, so a probability of 1.0
on the uint8 grid of scale 1/256 becomes 255 (1.0 itself is not representable), never 0. A plain cast
``np.array([256]).astype(np.uint8)`` wraps around to 0; nothing here does.

Reference
---------
N. P. Pandey, M. Fournarakis, C. Patel, M. Nagel, *Softmax Bias Correction for Quantized Generative
Models*, ICCV Workshops 2023 (arXiv:2309.01729).
"""

from __future__ import annotations

import numpy as np

__all__ = [
    "code_range",
    "quantize",
    "dequantize",
    "quantize_softmax",
    "softmax_bias_correction",
    "sqnr_db",
    "plot_quantised_softmax",
]

#: The accepted bit widths: 2 to 32.
MIN_BITS, MAX_BITS = 2, 32


def _check_bits(bits) -> int:
    if isinstance(bits, bool) or not isinstance(bits, (int, np.integer)):
        raise TypeError(f"bits must be an integer, not {type(bits).__name__}")
    if not MIN_BITS <= int(bits) <= MAX_BITS:
        raise ValueError(f"bits must be between {MIN_BITS} and {MAX_BITS}, got {bits}")
    return int(bits)


def code_range(bits: int, signed: bool = False) -> tuple[int, int]:
    """The smallest and largest integer code of a ``bits``-bit grid.

    Unsigned: ``[0, 2**bits - 1]``; signed (two's complement): ``[-2**(bits-1), 2**(bits-1) - 1]``.

    Examples
    --------
    >>> code_range(8), code_range(8, signed=True), code_range(4)
    ((0, 255), (-128, 127), (0, 15))
    """
    bits = _check_bits(bits)
    if signed:
        return -(1 << (bits - 1)), (1 << (bits - 1)) - 1
    return 0, (1 << bits) - 1


def _code_dtype(bits: int, signed: bool) -> np.dtype:
    """The smallest NumPy integer type holding every code of the grid."""
    for width in (8, 16, 32):
        if bits <= width:
            return np.dtype(f"{'int' if signed else 'uint'}{width}")
    return np.dtype("int64" if signed else "uint64")  # pragma: no cover (bits <= 32)


def _check_scale(scale) -> np.ndarray:
    s = np.asarray(scale, dtype=np.float64) if not isinstance(scale, np.ndarray) else scale
    if s.dtype.kind not in "fiu" or s.dtype.kind == "b":
        raise TypeError(f"scale must be a positive real number or array, not {s.dtype}")
    s = s.astype(np.float64)
    if not np.all(np.isfinite(s)) or np.any(s <= 0):
        raise ValueError(f"scale must be finite and > 0, got {scale!r}")
    return s


def _check_zero_point(zero_point, lo: int, hi: int) -> np.ndarray:
    z = np.asarray(zero_point)
    if z.dtype.kind not in "iu":
        raise TypeError(f"zero_point must be an integer (or integer array), not {z.dtype}")
    if np.any(z < lo) or np.any(z > hi):
        raise ValueError(f"zero_point must lie in the code range [{lo}, {hi}], got {zero_point!r}")
    return z.astype(np.int64)


def quantize(x, bits: int, scale, zero_point=0, *, signed: bool = False) -> np.ndarray:
    """Integer codes of ``x`` on the affine grid ``scale * (q - zero_point)``.

    .. math:: q = \\operatorname{clip}\\big(\\operatorname{round}(x / s) + z,\\ q_{\\min},\\ q_{\\max}\\big)

    with round-half-to-even and saturation at both ends (see the module docstring).

    Parameters
    ----------
    x : array_like of float32 or float64
        The values to quantise. ``+inf`` and ``-inf`` saturate to the largest and smallest code;
        NaN has no code and raises ``ValueError``.
    bits : int
        Width of the codes, 2 to 32.
    scale : float or array_like
        The grid step ``s > 0`` (an array broadcasts against ``x``: per-channel scales).
    zero_point : int or array_like of int, default 0
        The code ``z`` of the real value 0; must lie in the code range.
    signed : bool, default False
        Unsigned codes ``[0, 2**bits - 1]`` or two's-complement ones ``[-2**(bits-1), 2**(bits-1) - 1]``.

    Returns
    -------
    ndarray
        The codes, of the smallest NumPy integer type holding them (uint8 or int8 up to 8 bits,
        16-bit up to 16 bits, 32-bit beyond), with the broadcast shape of ``x``, ``scale`` and
        ``zero_point``.

    Raises
    ------
    TypeError
        ``x`` is not float32/float64, ``bits`` not an integer, ``zero_point`` not an integer.
    ValueError
        ``bits`` out of range, ``scale <= 0`` or not finite, ``zero_point`` outside the code range,
        NaN in ``x``.

    Examples
    --------
    >>> quantize(np.array([0.0, 0.5, 1.5, 2.5, 3.5]), bits=8, scale=1.0)   # ties to even
    array([0, 0, 2, 2, 4], dtype=uint8)
    >>> quantize(np.array([-3.0, 1.0, 300.0]), bits=8, scale=1.0)          # saturates, no wrap-around
    array([  0,   1, 255], dtype=uint8)
    >>> quantize(np.array([-1.0, 1.0]), bits=8, scale=1 / 128, signed=True)
    array([-128,  127], dtype=int8)
    """
    bits = _check_bits(bits)
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"x must be float32 or float64, not {x.dtype}")
    if np.isnan(x).any():
        raise ValueError("x contains NaN, which has no integer code")
    lo, hi = code_range(bits, signed)
    s = _check_scale(scale)
    z = _check_zero_point(zero_point, lo, hi)
    with np.errstate(over="ignore", invalid="ignore"):
        grid = np.rint(x.astype(np.float64) / s) + z  # ties to even
    codes = np.clip(grid, lo, hi)  # saturate before the cast: no wrap-around
    return codes.astype(_code_dtype(bits, signed))


def dequantize(q, scale, zero_point=0, *, dtype=np.float32) -> np.ndarray:
    """Real values ``scale * (q - zero_point)`` of integer codes.

    Parameters
    ----------
    q : array_like of int
        Integer codes (any NumPy integer type; bool and floats are refused).
    scale : float or array_like
        The grid step ``s > 0``, broadcast against ``q``.
    zero_point : int or array_like of int, default 0
        The code of the real value 0.
    dtype : float32 or float64, default float32
        The returned dtype (computed in float64, rounded once).

    Examples
    --------
    >>> dequantize(np.array([0, 128, 255], dtype=np.uint8), 1 / 256)
    array([0.        , 0.5       , 0.99609375], dtype=float32)
    >>> dequantize(np.array([-128, 0], dtype=np.int8), 1 / 256, zero_point=-128, dtype=np.float64)
    array([0. , 0.5])
    """
    q = np.asarray(q)
    if q.dtype.kind not in "iu":
        raise TypeError(f"q must hold integer codes, not {q.dtype}")
    dtype = np.dtype(dtype)
    if dtype not in (np.float32, np.float64):
        raise TypeError(f"dtype must be float32 or float64, not {dtype}")
    s = _check_scale(scale)
    z = np.asarray(zero_point)
    if z.dtype.kind not in "iu":
        raise TypeError(f"zero_point must be an integer (or integer array), not {z.dtype}")
    return (s * (q.astype(np.float64) - z.astype(np.float64))).astype(dtype)


def quantize_softmax(probs, bits: int = 8, *, signed: bool = False, dtype=None):
    """Softmax outputs rounded to the ``bits``-bit probability grid of step ``2**-bits``.

    The grid of TFLite, Arm NN and ONNX Runtime: uint8 codes with scale 1/256 and zero point 0, or
    int8 codes with scale 1/256 and zero point -128 (the same real values). Its largest value is
    ``1 - 2**-bits``: a probability of 1 saturates there.

    Parameters
    ----------
    probs : array_like of float32 or float64
        Probabilities (any shape; nothing is normalised here).
    bits : int, default 8
        Code width.
    signed : bool, default False
        Unsigned codes with zero point 0, or signed codes with zero point ``-2**(bits-1)``.
    dtype : float32 or float64, optional
        Dtype of the dequantised values; by default that of ``probs``.

    Returns
    -------
    codes : ndarray of int
    dequantized : ndarray of float
        ``2**-bits * (codes - zero_point)``.

    Examples
    --------
    >>> codes, p_hat = quantize_softmax(np.array([0.001, 0.2, 0.799]))
    >>> codes, float(p_hat.sum())
    (array([  0,  51, 205], dtype=uint8), 1.0)
    """
    probs = np.asarray(probs)
    if probs.dtype not in (np.float32, np.float64):
        raise TypeError(f"probs must be float32 or float64, not {probs.dtype}")
    bits = _check_bits(bits)
    scale = 2.0 ** -bits
    zero_point = -(1 << (bits - 1)) if signed else 0
    codes = quantize(probs, bits, scale, zero_point, signed=signed)
    return codes, dequantize(codes, scale, zero_point, dtype=probs.dtype if dtype is None else dtype)


def softmax_bias_correction(dequantized_calibration, axis: int = -1, *, keep_axes=()) -> np.ndarray:
    """The constant ``beta`` that restores the mean row sum of quantised softmax outputs to one.

    Quantising small probabilities to the nearest grid point sends most of them to 0, so the rows of a
    quantised softmax sum to less than one on average: a **bias**. Pandey et al. (2023) correct it
    offline, from calibration data, with a constant folded into the quantisation parameters. This
    function computes the correction in the form the book uses: with ``N`` entries per row and the
    mean taken over the calibration rows,

    .. math:: \\beta = \\frac{1 - \\mathbb{E}_{\\text{calib}}\\big[\\sum_{i=1}^{N} \\hat p_i\\big]}{N},

    so that ``dequantized + beta`` has rows summing to one on average over the calibration set,
    exactly (up to float rounding). Added to every dequantised entry, it is an offset of the
    dequantised grid: a zero point shifted by ``-beta / scale``, generally not an integer, so a
    deployment folds ``beta * sum_i V_i`` into the bias of the next matrix product instead (for
    attention, ``(P + beta) V = P V + beta * 1 1^T V``).

    Parameters
    ----------
    dequantized_calibration : array_like of float32 or float64
        Dequantised softmax outputs on calibration inputs, the probabilities along ``axis``.
        Must have at least one row and a non-empty ``axis``; NaN or inf raise ``ValueError``.
    axis : int, default -1
        The axis the softmax normalised.
    keep_axes : tuple of int, default ()
        Axes along which a separate ``beta`` is computed (e.g. the head axis, for one correction per
        attention head); the mean runs over every other axis. By default one ``beta`` per tensor.

    Returns
    -------
    ndarray
        ``beta``, float64: a 0-d array by default, else the shape of ``keep_axes``, with size-1
        dimensions elsewhere so that it broadcasts against the input (``axis`` included).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> p = np.exp(rng.normal(size=(500, 256)))
    >>> p /= p.sum(-1, keepdims=True)
    >>> _, p_hat = quantize_softmax(p)
    >>> beta = softmax_bias_correction(p_hat)
    >>> round(float(p_hat.sum(-1).mean()), 3), round(float((p_hat + beta).sum(-1).mean()), 6)
    (0.946, 1.0)
    """
    p = np.asarray(dequantized_calibration)
    if p.dtype not in (np.float32, np.float64):
        raise TypeError(f"the calibration outputs must be float32 or float64, not {p.dtype}")
    if p.ndim == 0:
        raise ValueError("the calibration outputs need at least one axis (the softmax axis)")
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -p.ndim <= axis < p.ndim:
        raise ValueError(f"axis {axis!r} is not an axis of an array of {p.ndim} dimensions")
    ax = int(axis) % p.ndim
    if isinstance(keep_axes, (int, np.integer)):
        keep_axes = (keep_axes,)
    if any(not -p.ndim <= int(k) < p.ndim for k in keep_axes):
        raise ValueError(f"keep_axes {keep_axes} out of range for {p.ndim} dimensions")
    keep = tuple(sorted({int(k) % p.ndim for k in keep_axes}))
    if ax in keep:
        raise ValueError("keep_axes cannot contain the softmax axis")
    n = p.shape[ax]
    if n == 0:
        raise ValueError("the softmax axis is empty")
    if p.size == 0:
        raise ValueError("no calibration rows")
    if not np.all(np.isfinite(p)):
        raise ValueError("the calibration outputs contain NaN or inf")
    sums = p.astype(np.float64).sum(axis=ax, keepdims=True)
    over = tuple(i for i in range(p.ndim) if i not in keep)
    mean_sum = sums.mean(axis=over, keepdims=True)
    beta = (1.0 - mean_sum) / n
    return beta.reshape(()) if not keep else beta


def sqnr_db(reference, approximation) -> float:
    """Signal-to-quantisation-noise ratio ``10 log10(sum ref^2 / sum (ref - approx)^2)``, in dB.

    Infinite when the two are equal. Both are compared in float64.

    Examples
    --------
    >>> round(sqnr_db(np.array([1.0, -1.0]), np.array([1.1, -0.9])), 2)
    20.0
    """
    ref = np.asarray(reference, dtype=np.float64)
    approx = np.asarray(approximation, dtype=np.float64)
    if ref.shape != approx.shape:
        raise ValueError(f"shapes differ: {ref.shape} and {approx.shape}")
    noise = np.sum((ref - approx) ** 2)
    signal = np.sum(ref ** 2)
    if noise == 0:
        return float("inf")
    return float(10 * np.log10(signal / noise))


def plot_quantised_softmax(fig, frames: dict, bits: int, bins=None):
    """Draw one row's probabilities and the held-out row sums at ``bits``; returns ``update(bits)``.

    ``frames[bits]`` holds ``row`` (the float probabilities of one row, sorted descending),
    ``row_hat`` (their dequantised values), ``sums`` and ``sums_fixed`` (held-out row sums before and
    after :func:`softmax_bias_correction`). For :func:`softlib.book.viz.explore`: the update moves the
    curves and bars in place and returns what it changed.
    """
    bins = np.linspace(0.0, 1.5, 61) if bins is None else bins
    any_frame = next(iter(frames.values()))
    rank = np.arange(1, any_frame["row"].size + 1)
    ax_row, ax_sum = fig.subplots(1, 2)
    ax_row.plot(rank, any_frame["row"], color="k", lw=1.5, label="float softmax")
    (row_line,) = ax_row.step(rank, any_frame["row_hat"], where="mid", color="C0", lw=1.2,
                              label="dequantised")
    (step_line,) = ax_row.plot(rank, np.zeros_like(rank, dtype=float), color="C3", ls=":", lw=1,
                               label="half a grid step")
    ax_row.set(xscale="log", xlabel="entry of the row, largest first", ylabel="probability",
               ylim=(0, 1.25 * float(any_frame["row"].max())))
    leg_row = ax_row.legend(fontsize="small", loc="upper right")
    before = ax_sum.stairs(np.zeros(bins.size - 1), bins, fill=True, color="0.6", alpha=0.8,
                           label="rounded")
    after = ax_sum.stairs(np.zeros(bins.size - 1), bins, fill=True, color="C0", alpha=0.7,
                          label="rounded + beta")
    ax_sum.axvline(1.0, color="k", lw=0.8)
    ax_sum.set(xlabel="row sum (held-out rows)", ylabel="fraction of rows", ylim=(0, 1.05), xlim=(bins[0], bins[-1]))
    leg_sum = ax_sum.legend(fontsize="small", loc="upper left")

    def update(bits):
        f = frames[bits]
        row_line.set_ydata(f["row_hat"])
        step_line.set_ydata(np.full(rank.size, 2.0 ** -bits / 2))
        for patch, sums in ((before, f["sums"]), (after, f["sums_fixed"])):
            h, _ = np.histogram(np.clip(sums, bins[0], bins[-1] - 1e-9), bins=bins)
            patch.set_data(h / max(len(sums), 1))
        ax_row.set_title(f"{bits} bits: {np.mean(f['row_hat'] == 0):.0%} of the row rounds to 0", fontsize="small")
        ax_sum.set_title(f"mean sum {np.mean(f['sums']):.3f} -> {np.mean(f['sums_fixed']):.3f}", fontsize="small")
        return [row_line, step_line, *ax_row.spines.values(), ax_row.title, leg_row,
                before, after, *ax_sum.spines.values(), ax_sum.title, leg_sum]

    update(bits)
    fig.tight_layout()
    return update
