"""softmax, log_softmax and logsumexp over any axis, with NumPy's conventions.

The compiled kernels (``softlib._core``) work on float32 or float64 rows that are contiguous along
the reduction axis. This module turns any input into such rows (moving the axis last, copying only
when the axis is strided or the dtype must change), checks what callers pass, and follows
``scipy.special`` for empty arrays, NaN and infinities.

Dtypes: float32 and float64 are computed natively. Other real dtypes are converted the way ``np.exp``
converts them: bool, int8 and uint8 give float16, int16 and uint16 give float32, wider integers give
float64; float16 results are computed in float32 and rounded once. Complex and object arrays raise
``TypeError``.
"""

from __future__ import annotations

import operator

import numpy as np

from . import reference
from ._dispatch import core, isa

#: Every accepted value of ``algorithm``.
ALGORITHMS = ("auto", "three_pass", "three_pass_recompute", "two_pass", "online", "reference")
_KERNEL_INDEX = {name: i for i, name in enumerate(core.algorithms())} if core is not None else {}


def _compute_dtype(x: np.ndarray) -> np.dtype:
    """The dtype a NumPy ufunc such as np.exp would produce for ``x``."""
    if x.dtype.kind not in "biuf":
        raise TypeError(
            f"softlib works on real numbers; got an array of dtype {x.dtype} "
            "(accepted: float16, float32, float64, integers and bool)"
        )
    return np.result_type(np.exp(np.zeros((), dtype=x.dtype)))


def _work_dtype(result: np.dtype) -> np.dtype:
    # float16 is computed in float32 and rounded once at the end.
    return np.dtype(np.float64) if result == np.float64 else np.dtype(np.float32)


def _check_algorithm(algorithm: str) -> None:
    if algorithm not in ALGORITHMS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(ALGORITHMS)}")


def _check_threads(threads) -> int:
    """0 for None (automatic), else a positive int."""
    if threads is None:
        return 0
    try:
        t = operator.index(threads)
    except TypeError:
        raise TypeError(f"threads must be None or a positive integer, got {threads!r}") from None
    if t < 1:
        raise ValueError(f"threads must be None or a positive integer, got {t}")
    return t


def _normalize_axis(axis, ndim: int) -> int:
    try:
        index = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}") from None
    if not -ndim <= index < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return index % ndim


def _prepare(name: str, x, axis, threads) -> tuple[np.ndarray, np.dtype, int, int]:
    """The checks every function starts with: ``(x as an array, result dtype, axis, threads)``."""
    nthreads = _check_threads(threads)
    x = np.asarray(x)
    result = _compute_dtype(x)
    if x.ndim == 0:
        raise ValueError(f"{name} needs at least one dimension; got a 0-d array")
    return x, result, _normalize_axis(axis, x.ndim), nthreads


def _check_out(out, shape: tuple[int, ...], dtype: np.dtype) -> None:
    if out is None:
        return
    if not isinstance(out, np.ndarray):
        raise TypeError(f"out must be a numpy array, got {type(out).__name__}")
    if out.shape != shape or out.dtype != dtype:
        raise ValueError(
            f"out has shape {out.shape} and dtype {out.dtype}; expected shape {shape} and dtype {dtype}"
        )
    if not out.flags.writeable:
        raise ValueError("out is read-only")


def _as_rows(moved: np.ndarray, work: np.dtype) -> np.ndarray:
    """``moved`` (reduction axis last) as a 2-D (rows, n) array of dtype ``work``, contiguous along n.

    A view when possible (any row stride is fine); a copy when the dtype changes, the last axis is
    strided, or the leading axes cannot be merged without copying.
    """
    n = moved.shape[-1]
    if moved.dtype != work or (n > 1 and moved.strides[-1] != work.itemsize):
        moved = np.ascontiguousarray(moved, dtype=work)
    return moved.reshape(-1, n)


def _rows_view(a: np.ndarray) -> np.ndarray | None:
    """A 2-D view of ``a`` (last axis contiguous) with no copy, or None when that is impossible."""
    if a.shape[-1] > 1 and a.strides[-1] != a.itemsize:
        return None
    view = a.view()
    try:
        view.shape = (-1, a.shape[-1])  # raises instead of copying
    except AttributeError:
        return None
    return view


def auto_algorithm(n: int, rows: int, dtype, path: str | None = None, op: str = "softmax") -> str:
    """The algorithm ``algorithm="auto"`` runs for ``rows`` rows of length ``n``.

    The rule comes from ``python -m softlib.bench`` on the project's machine (AMD EPYC, AVX-512,
    2 cores; figures in the docstring of :mod:`softlib.bench`): see the comments in the code.

    Examples
    --------
    >>> auto_algorithm(32000, 1024, np.float32) in ALGORITHMS
    True
    """
    path = path or isa()
    if op != "softmax":
        # log_softmax needs only the log-normaliser, then one subtracting pass. While the row stays in
        # cache, max + sum (three_pass) is cheapest (paired ratio to softmax at 4096x128: 1.61 with
        # online, whose rescaling bookkeeping costs per row); beyond, the online (m, d) pass reads the
        # row once (1024x32000: 1.17). Both give exactly log(1) = 0 for a row's sole maximum, as
        # scipy does (Two-Pass's e ln 2 + log s does not).
        return "three_pass" if 2 * n * np.dtype(dtype).itemsize <= (1 << 19) else "online"
    # What decides is whether one row (input and output) stays in the L2 cache (1 MiB per core here)
    # between passes, not the size of the whole array: a row that stays is read from memory once
    # whatever the algorithm, and then the arithmetic decides: three_pass does one exp per element,
    # two_pass and online two. Measured with softlib.bench (AVX-512 path, float32, one thread, the
    # machine heavily shared, so ratios only):
    #   4096x128     three_pass 1.15  three_pass_recompute 1.84  two_pass 1.42  online 2.02 ns/element
    #   1024x32000   three_pass 2.08  three_pass_recompute 3.60  two_pass 2.90  online 2.87
    #   1x2^26       three_pass 4.00  two_pass 3.45  online 3.04   (the row is 256 MiB: out of cache)
    # and on the AVX2 path 1024x32000: three_pass 3.22, two_pass 4.61. The portable path is bound by
    # its scalar arithmetic everywhere (three_pass 29, two_pass 49 ns/element at 1024x32000).
    if path == "portable":
        return "three_pass"
    row_bytes = 2 * n * np.dtype(dtype).itemsize
    if row_bytes <= (1 << 19):  # half of L2: room for x and y rows while the next row streams in
        return "three_pass"
    # Out of cache the passes over memory decide: two_pass reads twice and writes once (12 B/element)
    # where three_pass (reload) moves 20.
    return "two_pass"


def _elementwise(name: str, x, axis: int, algorithm: str, out, threads) -> np.ndarray:
    """Shared body of softmax and log_softmax: same shape in, same shape out."""
    _check_algorithm(algorithm)
    x, result, axis, nthreads = _prepare(name, x, axis, threads)
    _check_out(out, x.shape, result)
    if x.size == 0:
        return np.empty(x.shape, dtype=result) if out is None else out
    work = _work_dtype(result)
    moved = np.moveaxis(x, axis, -1)
    rows = _as_rows(moved, work)
    if algorithm == "reference" or core is None:
        y_rows = getattr(reference, name)(rows).astype(work)
        y = np.moveaxis(y_rows.reshape(moved.shape), -1, axis).astype(result, copy=False)
        if out is None:
            return y
        out[...] = y
        return out
    if name in ("stablemax", "log_stablemax"):
        kernel = lambda x_, y_: getattr(core, name)(x_, y_, nthreads)  # noqa: E731
    else:
        if algorithm == "auto":
            algorithm = auto_algorithm(rows.shape[1], rows.shape[0], work, op=name)
        index = _KERNEL_INDEX[algorithm]
        kernel = lambda x_, y_: getattr(core, name)(x_, y_, index, nthreads)  # noqa: E731
    # Write straight into `out` when it is a float32/float64 array whose moved axis is contiguous
    # and that does not overlap x (or is x itself, row for row: the kernels work in place).
    if out is not None and result == work:
        target = _rows_view(np.moveaxis(out, axis, -1))
        if target is not None and (not np.may_share_memory(out, x) or out is x):
            kernel(rows, target)
            return out
    y_rows = np.empty(rows.shape, dtype=work)
    kernel(rows, y_rows)
    y = np.moveaxis(y_rows.reshape(moved.shape), -1, axis).astype(result, copy=False)
    if out is None:
        return y
    out[...] = y
    return out


def softmax(x, axis: int = -1, *, algorithm: str = "auto", out: np.ndarray | None = None,
            threads: int | None = None) -> np.ndarray:
    r"""The softmax of ``x`` along ``axis``: :math:`e^{x_i} / \sum_j e^{x_j}`.

    Parameters
    ----------
    x : array_like
        Real input, any shape and strides. float32 and float64 are computed natively; float16 in
        float32; integers and bool are converted as ``np.exp`` converts them.
    axis : int, optional
        The axis along which the outputs sum to one. Default: the last.
    algorithm : str, optional
        ``"auto"`` (the fastest for the shape and code path, see :func:`auto_algorithm`),
        ``"three_pass"`` (max; store exp(x - max) while summing; scale), ``"three_pass_recompute"``
        (max; sum; recompute the exponentials), ``"two_pass"`` (Dukhan & Ablavatski's (p, n) pairs),
        ``"online"`` (Milakov & Gimelshein's (m, d) normaliser), or ``"reference"`` (plain NumPy in
        float64). All give results within 3 ULP (float32) / 4 ULP (float64) of the exact softmax.
    out : ndarray, optional
        Where to write the result; it must have the shape of ``x`` and the result's dtype.
    threads : int or None, optional
        Native threads (the GIL is released). ``None``: all cores when ``x`` has at least 2^18
        elements, else one. With more threads than rows, a long row is split across threads and the
        pieces' (max, sum) pairs are merged (the online normaliser's merge), whatever ``algorithm``.

    Returns
    -------
    ndarray
        The probabilities, same shape as ``x``. As in ``scipy.special.softmax``: a row holding NaN or
        +inf, or only -inf, gives a row of NaN; -inf entries of other rows give 0.

    Examples
    --------
    >>> import softlib
    >>> softlib.softmax([0.0, 0.0, 0.0, 0.0])
    array([0.25, 0.25, 0.25, 0.25])
    >>> softlib.softmax(np.array([[1000.0, 1000.0]], dtype=np.float32), axis=1)
    array([[0.5, 0.5]], dtype=float32)
    """
    return _elementwise("softmax", x, axis, algorithm, out, threads)


def log_softmax(x, axis: int = -1, *, algorithm: str = "auto", out: np.ndarray | None = None,
                threads: int | None = None) -> np.ndarray:
    r"""The logarithm of the softmax of ``x`` along ``axis``, computed without forming the softmax.

    :math:`\log \mathrm{softmax}(x)_i = x_i - \log \sum_j e^{x_j}`; accurate where ``log(softmax(x))``
    would give ``-inf``. The algorithm computes the log-normaliser (``three_pass`` and
    ``three_pass_recompute`` coincide here). Conventions as for :func:`softmax`; non-finite input
    follows ``scipy.special.log_softmax``.

    Examples
    --------
    >>> import softlib
    >>> softlib.log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    >>> softlib.log_softmax([0.0, 200.0])  # softmax would round the first entry to 0
    array([-200.,    0.])
    """
    return _elementwise("log_softmax", x, axis, algorithm, out, threads)


def logsumexp(x, axis: int = -1, *, keepdims: bool = False, threads: int | None = None) -> np.ndarray:
    r""":math:`\log \sum_j e^{x_j}` along ``axis``, without overflow.

    Computed from the max and the sum of exp(x - max) while a row fits in cache, with the online
    normaliser (one pass over ``x``) beyond. Conventions as for :func:`softmax`;
    an empty axis gives ``-inf`` and non-finite input follows ``scipy.special.logsumexp``.

    Examples
    --------
    >>> import softlib
    >>> print(softlib.logsumexp([1000.0, 1000.0]))  # 1000 + log 2, where exp(1000) overflows
    1000.6931471805599
    """
    x, result, axis, nthreads = _prepare("logsumexp", x, axis, threads)
    moved = np.moveaxis(x, axis, -1)
    if moved.shape[-1] == 0:
        y = np.full(moved.shape[:-1], -np.inf, dtype=result)
    elif moved.size == 0:
        y = np.empty(moved.shape[:-1], dtype=result)
    else:
        work = _work_dtype(result)
        rows = _as_rows(moved, work)
        if core is None:
            y_rows = reference.logsumexp(rows).astype(work)
        else:
            y_rows = np.empty(rows.shape[0], dtype=work)
            core.logsumexp(rows, y_rows, nthreads)
        y = y_rows.reshape(moved.shape[:-1]).astype(result, copy=False)
    return np.expand_dims(y, axis) if keepdims else y


def stablemax(x, axis: int = -1, *, out: np.ndarray | None = None, threads: int | None = None) -> np.ndarray:
    r"""StableMax of ``x`` along ``axis``: :math:`s(x_i) / \sum_j s(x_j)` (Prieto et al. 2025, eq. 7).

    :math:`s(x) = x + 1` for :math:`x \ge 0` and :math:`1 / (1 - x)` for :math:`x < 0`: positive,
    increasing, and linear rather than exponential for large :math:`x`, so large logits neither
    overflow nor round the other probabilities to exactly zero (no Softmax Collapse). Computed in the
    C++ core (every code path), within a few ULP of the exact value (measured in
    ``tests/test_accuracy_stablemax.py``). Conventions as for :func:`softmax` (axis, dtypes, ``out``,
    ``threads``, errors).

    Non-finite input, chosen to match :func:`softmax`: a row holding NaN or +inf, or only -inf, gives
    NaN everywhere; -inf entries of other rows give 0, as :math:`s(-\infty) = 0`.

    Examples
    --------
    >>> import softlib
    >>> softlib.stablemax([0.0, 1.0, -1.0])  # s = 1, 2, 1/2
    array([0.28571429, 0.57142857, 0.14285714])
    >>> float(softlib.stablemax(np.array([0.0, 1e4], dtype=np.float32))[0])  # softmax gives exactly 0
    9.998000314226374e-05
    """
    return _elementwise("stablemax", x, axis, "auto", out, threads)


def log_stablemax(x, axis: int = -1, *, out: np.ndarray | None = None,
                  threads: int | None = None) -> np.ndarray:
    r"""Logarithm of :func:`stablemax`: :math:`\log s(x_i) - \log \sum_j s(x_j)`.

    :math:`\log s(x)` is taken as ``log1p(x)`` for :math:`x \ge 0` and ``-log1p(-x)`` below, so it
    stays accurate near 0. Conventions and non-finite input as for :func:`stablemax` (-inf entries
    give -inf).

    Examples
    --------
    >>> import softlib
    >>> softlib.log_stablemax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    """
    return _elementwise("log_stablemax", x, axis, "auto", out, threads)


def softmax_topk(x, k: int, axis: int = -1, *, threads: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    r"""The ``k`` largest softmax probabilities along ``axis`` and their indices, fused.

    One pass over ``x`` keeps the online normaliser :math:`(m, d)` and the ``k`` largest entries;
    only those ``k`` are then exponentiated: :math:`p_j = e^{x_j - m} / d` (Milakov & Gimelshein
    2018, section 5). Equal to sorting :func:`softmax` descending and keeping the first ``k``, ties
    going to the lower index; accurate as :func:`softmax` (within 3 ULP in float32, 4 in float64).
    For ``k`` above 64 the selection is a partial sort after the normaliser pass instead.

    Parameters
    ----------
    x : array_like
        Real input; dtypes as for :func:`softmax`.
    k : int
        How many entries to keep, ``1 <= k <= x.shape[axis]``.
    axis : int, optional
        The softmax axis. Default: the last.
    threads : int or None, optional
        As for :func:`softmax`; a long row is split across threads and the pieces merged.

    Returns
    -------
    probs : ndarray
        Shape of ``x`` with ``axis`` of length ``k``; the probabilities, descending along ``axis``.
    indices : ndarray of int64
        Same shape: where along ``axis`` each probability sits in ``x``. Rows whose softmax is NaN
        (NaN or +inf entries, or only -inf) give NaN probabilities and indices 0, 1, ..., k-1.

    Examples
    --------
    >>> import softlib
    >>> p, i = softlib.softmax_topk(np.log([1.0, 4.0, 2.0, 1.0]), 2)
    >>> p, i
    (array([0.5 , 0.25]), array([1, 2]))
    """
    x, result, axis, nthreads = _prepare("softmax_topk", x, axis, threads)
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"k must be an integer, got {type(k).__name__}") from None
    n = x.shape[axis]
    if not 1 <= k <= n:
        raise ValueError(f"k must satisfy 1 <= k <= {n} (the length of axis {axis}); got k={k}")
    moved = np.moveaxis(x, axis, -1)
    out_shape = moved.shape[:-1] + (k,)
    work = _work_dtype(result)
    if moved.size == 0:
        probs, indices = np.empty(out_shape, result), np.empty(out_shape, np.int64)
    else:
        rows = _as_rows(moved, work)
        probs = np.empty((rows.shape[0], k), work)
        indices = np.empty((rows.shape[0], k), np.int64)
        if core is None:
            p = reference.softmax(rows)
            indices[...] = np.argsort(-p, axis=-1, kind="stable")[:, :k]
            probs[...] = np.take_along_axis(p, indices, -1)
        else:
            core.softmax_topk(rows, k, probs, indices, nthreads)
        probs = probs.reshape(out_shape).astype(result, copy=False)
        indices = indices.reshape(out_shape)
    return np.moveaxis(probs, -1, axis), np.moveaxis(indices, -1, axis)
