"""softmax, log_softmax and logsumexp over any axis, with NumPy's conventions.

The compiled kernels (``softlib._core``) work on C-contiguous float32 or float64 rows. This module
turns any input into such rows (moving the axis last and copying only when it must), checks what
callers pass, and follows ``scipy.special`` for empty arrays, NaN and infinities.
"""

from __future__ import annotations

import numpy as np

from . import reference
from ._dispatch import core

ALGORITHMS = ("auto", "three_pass", "reference")


def _compute_dtype(x: np.ndarray) -> np.dtype:
    """The dtype a NumPy ufunc such as np.exp would produce for ``x``.

    Integers and bool are promoted as ``np.exp`` promotes them (int8 and bool to float16, int16 to
    float32, wider integers to float64); complex and object arrays are refused.
    """
    if x.dtype.kind in "cO" or not (x.dtype.kind in "biuf"):
        raise TypeError(
            f"softlib works on real numbers; got an array of dtype {x.dtype} "
            "(accepted: float16, float32, float64, integers and bool)"
        )
    return np.result_type(np.exp(np.zeros((), dtype=x.dtype)))


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def _rows(x: np.ndarray, axis: int, work: np.dtype) -> tuple[np.ndarray, tuple[int, ...]]:
    """``x`` with ``axis`` moved last, as a C-contiguous (rows, n) array of dtype ``work``."""
    moved = np.moveaxis(x, axis, -1)
    return np.ascontiguousarray(moved, dtype=work).reshape(-1, moved.shape[-1]), moved.shape


def _work_dtype(result: np.dtype) -> np.dtype:
    # float16 is computed in float32 and rounded once at the end.
    return np.dtype(np.float64) if result == np.float64 else np.dtype(np.float32)


def _check_out(out: np.ndarray | None, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if out is None:
        return
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"out has shape {out.shape} and dtype {out.dtype}; expected shape {shape} and dtype {dtype}"
        )


def _elementwise(name: str, x, axis: int, algorithm: str, out: np.ndarray | None) -> np.ndarray:
    """Shared body of softmax and log_softmax: same shape in, same shape out."""
    _check_algorithm(algorithm)
    x = np.asarray(x)
    result = _compute_dtype(x)
    if x.ndim == 0:
        raise ValueError(f"{name} needs at least one dimension; got a 0-d array")
    axis = _normalize_axis(axis, x.ndim)
    _check_out(out, x.shape, result)
    if x.size == 0:
        y = np.empty(x.shape, dtype=result)
    else:
        work = _work_dtype(result)
        rows, moved_shape = _rows(x, axis, work)
        if algorithm == "reference":
            y_rows = getattr(reference, name)(rows)
        else:
            y_rows = np.empty_like(rows)
            getattr(core, name)(rows, y_rows)
        y = np.moveaxis(y_rows.reshape(moved_shape), -1, axis).astype(result, copy=False)
    if out is None:
        return y
    out[...] = y
    return out


def _normalize_axis(axis: int, ndim: int) -> int:
    try:
        index = int(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= index < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return index % ndim


def softmax(x, axis: int = -1, *, algorithm: str = "auto", out: np.ndarray | None = None,
            threads: int | None = None) -> np.ndarray:
    r"""The softmax of ``x`` along ``axis``: :math:`e^{x_i} / \sum_j e^{x_j}`.

    Parameters
    ----------
    x : array_like
        Real input. float32 and float64 are computed natively; float16 is computed in float32;
        integers and bool are converted as ``np.exp`` would convert them.
    axis : int, optional
        The axis along which the outputs sum to one. Default: the last.
    algorithm : str, optional
        ``"auto"`` (the fastest), ``"three_pass"``, or ``"reference"`` (plain NumPy in float64).
    out : ndarray, optional
        Where to write the result; it must have the shape of ``x`` and the result's dtype.
    threads : int or None, optional
        Reserved for multi-threaded kernels.

    Returns
    -------
    ndarray
        The probabilities, same shape as ``x``. Rows holding NaN, +inf, or only -inf give rows of NaN,
        as in ``scipy.special.softmax``.

    Examples
    --------
    >>> import softlib
    >>> softlib.softmax([0.0, 0.0, 0.0, 0.0])
    array([0.25, 0.25, 0.25, 0.25])
    >>> softlib.softmax(np.array([[1000.0, 1000.0]], dtype=np.float32), axis=1)
    array([[0.5, 0.5]], dtype=float32)
    """
    return _elementwise("softmax", x, axis, algorithm, out)


def log_softmax(x, axis: int = -1, *, algorithm: str = "auto", out: np.ndarray | None = None,
                threads: int | None = None) -> np.ndarray:
    r"""The logarithm of the softmax of ``x`` along ``axis``, computed without forming the softmax.

    :math:`\log \mathrm{softmax}(x)_i = x_i - \log \sum_j e^{x_j}`; accurate where ``log(softmax(x))``
    would give ``-inf``. Conventions as for :func:`softmax`; non-finite input follows
    ``scipy.special.log_softmax``.

    Examples
    --------
    >>> import softlib
    >>> softlib.log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    >>> softlib.log_softmax([0.0, 200.0])  # softmax would round the first entry to 0
    array([-200.,    0.])
    """
    return _elementwise("log_softmax", x, axis, algorithm, out)


def logsumexp(x, axis: int = -1, *, keepdims: bool = False, threads: int | None = None) -> np.ndarray:
    r""":math:`\log \sum_j e^{x_j}` along ``axis``, without overflow.

    Conventions as for :func:`softmax`; an empty axis gives ``-inf`` and non-finite input follows
    ``scipy.special.logsumexp``.

    Examples
    --------
    >>> import softlib
    >>> print(softlib.logsumexp([1000.0, 1000.0]))  # 1000 + log 2, where exp(1000) overflows
    1000.6931471805599
    """
    x = np.asarray(x)
    result = _compute_dtype(x)
    if x.ndim == 0:
        raise ValueError("logsumexp needs at least one dimension; got a 0-d array")
    axis = _normalize_axis(axis, x.ndim)
    moved = np.moveaxis(x, axis, -1)
    if moved.shape[-1] == 0:
        y = np.full(moved.shape[:-1], -np.inf, dtype=result)
    elif moved.size == 0:
        y = np.empty(moved.shape[:-1], dtype=result)
    else:
        rows, _ = _rows(x, axis, _work_dtype(result))
        y_rows = np.empty(rows.shape[0], dtype=rows.dtype)
        core.logsumexp(rows, y_rows)
        y = y_rows.reshape(moved.shape[:-1]).astype(result, copy=False)
    return np.expand_dims(y, axis) if keepdims else y
