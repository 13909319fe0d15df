"""softmax, log_softmax and logsumexp over any axis, with the conventions of ``scipy.special``.

**The default axis is the last one** (``axis=-1``, as in ``jax.nn.softmax`` and
``torch.softmax(x, -1)``), where ``scipy.special`` reduces over all elements (``axis=None``): pass
``axis=None`` to get SciPy's behaviour. Everything else follows ``scipy.special``: ``axis`` may be
an int, a tuple of ints or None; 0-d and scalar input is accepted; full reductions return NumPy
scalars; empty arrays, NaN and infinities give SciPy's results; ``logsumexp`` takes SciPy's ``b=``
and ``return_sign=``.

The compiled kernels (``softlib._core``) work on float32 or float64 rows that are contiguous along
the reduction axis. This module turns any input into such rows (moving the axes last, copying only
when the axis is strided or the dtype must change) and checks what callers pass.

Dtypes: float32 and float64 are computed natively. Other real dtypes are converted the way ``np.exp``
converts them (SciPy's rule for softmax and log_softmax): bool, int8 and uint8 give float16, int16
and uint16 give float32, wider integers give float64; float16 results are computed in float32 and
rounded once. ``logsumexp`` follows SciPy's own rule: integers and bool give float64. ``np.longdouble``
is computed in long double (NumPy, not the kernels: slower, but as precise as the type), as SciPy
computes it. Complex and object arrays raise ``TypeError``.

Other array libraries: objects exposing ``__array__`` or ``__dlpack__`` on the CPU (PyTorch CPU
tensors, JAX arrays, CuPy arrays are refused) are accepted; the result is returned as the caller's
type through its ``from_dlpack`` (PyTorch, JAX and any array-API library), zero-copy. A tensor that
requires grad, or one on a GPU, is refused with a message saying what to do.
"""

from __future__ import annotations

import operator
import sys

import numpy as np

from . import reference
from ._dispatch import core

#: Every accepted value of ``algorithm``.
ALGORITHMS = ("auto", "three_pass", "three_pass_recompute", "two_pass", "online", "reference")
_KERNEL_INDEX = {name: i for i, name in enumerate(core.algorithms())} if core is not None else {}
_FAST = {name: getattr(core, f"{name}_fast") for name in ("softmax", "log_softmax", "stablemax", "log_stablemax")
         } if core is not None else {}
_LONGDOUBLE = np.dtype(np.longdouble)
_HAS_LONGDOUBLE = np.finfo(np.longdouble).nmant > np.finfo(np.float64).nmant
_F16, _F32, _F64 = np.dtype(np.float16), np.dtype(np.float32), np.dtype(np.float64)
# np.exp's result dtype for each accepted kind/itemsize (bool and 1-byte ints: float16, ...).
_UFUNC_DTYPE = {np.dtype(t): np.result_type(np.exp(np.zeros((), t))) for t in
                (np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.uint32, np.int64,
                 np.uint64, np.float16, np.float32, np.float64, np.longdouble)}


def _compute_dtype(x: np.ndarray, op: str = "softmax") -> np.dtype:
    """The result dtype: np.exp's for softmax and log_softmax, SciPy's for logsumexp."""
    dt = x.dtype
    result = _UFUNC_DTYPE.get(dt)
    if result is None:
        if dt.kind not in "biuf":
            raise TypeError(
                f"softlib works on real numbers; got an array of dtype {dt} "
                "(accepted: float16, float32, float64, longdouble, integers and bool)"
            )
        result = np.result_type(np.exp(np.zeros((), dtype=dt)))
    if op == "logsumexp" and dt.kind in "biu":
        return _F64
    return result


def _work_dtype(result: np.dtype) -> np.dtype:
    # float16 is computed in float32 and rounded once at the end; long double in NumPy.
    if result == _F64 or result == _F32:
        return result
    if result == _LONGDOUBLE:
        return _LONGDOUBLE if _HAS_LONGDOUBLE else _F64
    return _F32


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
        raise TypeError(f"axis must be an integer, a tuple of integers or None, got {type(axis).__name__}") from None
    if not -ndim <= index < ndim:
        raise np.exceptions.AxisError(axis, ndim)
    return index % ndim


def _normalize_axes(axis, ndim: int) -> tuple[int, ...]:
    """``axis`` (int, tuple/list of ints, or None for all) as a sorted tuple of distinct axes."""
    if axis is None:
        return tuple(range(ndim))
    if isinstance(axis, (tuple, list)):
        axes = tuple(_normalize_axis(a, ndim) for a in axis)
        if len(set(axes)) != len(axes):
            raise ValueError(f"repeated axis in {axis!r}")
        return tuple(sorted(axes))
    return (_normalize_axis(axis, ndim),)


# --- other array libraries ------------------------------------------------------------------------
def _to_numpy(x):
    """``(x as a NumPy array, a function giving results back as x's type, or None)``."""
    if isinstance(x, np.ndarray):
        return x, None
    if isinstance(x, (float, int, bool, list, tuple, np.generic)):
        return np.asarray(x), None
    module = type(x).__module__.split(".")[0]
    if hasattr(x, "__dlpack__") or hasattr(x, "__array__"):
        device = getattr(x, "device", None)
        dev_type = getattr(device, "type", None)
        if dev_type not in (None, "cpu") or module == "cupy":
            raise TypeError(
                f"softlib computes on the CPU; got a {module} array on {device}: move it first "
                "(for example x.cpu() in PyTorch)"
            )
        if getattr(x, "requires_grad", False):
            raise TypeError(
                "softlib does not record gradients; got a tensor that requires grad: pass "
                "x.detach() (or use torch.softmax for autograd)"
            )
        try:
            arr = np.asarray(x) if hasattr(x, "__array__") else np.from_dlpack(x)
        except (TypeError, RuntimeError, BufferError) as error:
            raise TypeError(f"softlib could not read a {type(x).__name__} as a NumPy array: {error}") from None
        return arr, _returner(x, module)
    return np.asarray(x), None


def _returner(x, module: str):
    """A function turning a NumPy result into ``x``'s library type, or None to return NumPy."""
    ns = getattr(x, "__array_namespace__", None)
    if ns is not None:
        try:
            namespace = ns()
        except Exception:  # pragma: no cover - a library whose namespace cannot be built
            namespace = None
        if namespace is not None and hasattr(namespace, "from_dlpack") and "numpy" not in namespace.__name__:
            return lambda y: namespace.from_dlpack(_c_order(y))
    lib = sys.modules.get(module)
    if lib is not None and hasattr(lib, "from_dlpack") and module != "numpy":
        return lambda y: lib.from_dlpack(_c_order(y))
    return None


def _c_order(y) -> np.ndarray:
    """``y`` as a C-ordered array, 0-d kept 0-d (np.ascontiguousarray would make it 1-d)."""
    y = np.asarray(y)
    return y if y.flags.c_contiguous else y.copy(order="C")


def _give_back(y, back):
    if back is None:
        return y
    if isinstance(y, tuple):
        return tuple(back(np.asarray(v)) for v in y)
    return back(np.asarray(y))


def _prepare(name: str, x, threads, *axis_form):
    """The checks every function starts with: ``(x as an array, result dtype, threads)``.

    Called as ``_prepare(name, x, axis, threads)`` (softlib.sparse's form), it also turns x into an
    array, rejects 0-d input and normalises the one ``axis``: ``(x, result dtype, axis, threads)``.
    """
    if axis_form:
        axis, threads = threads, axis_form[0]
        nthreads = _check_threads(threads)
        x = np.asarray(x)
        result = _compute_dtype(x, name)
        if x.ndim == 0:
            raise ValueError(f"{name} needs at least one dimension; got a 0-d array")
        return x, result, _normalize_axis(axis, x.ndim), nthreads
    nthreads = _check_threads(threads)
    return x, _compute_dtype(x, name), nthreads


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


def _gather_axes(x: np.ndarray, axes: tuple[int, ...]) -> tuple[np.ndarray, tuple[int, ...]]:
    """``x`` with ``axes`` moved last and merged into one: ``(x2, moved_shape)``, x2 reduced along -1."""
    k = len(axes)
    moved = np.moveaxis(x, axes, tuple(range(x.ndim - k, x.ndim)))
    shape = moved.shape
    lead = shape[: x.ndim - k]
    return moved.reshape(lead + (int(np.prod(shape[x.ndim - k:], dtype=np.int64)),)), shape


def auto_algorithm(n: int, rows: int, dtype, path: str | None = None, op: str = "softmax") -> str:
    """The algorithm ``algorithm="auto"`` runs for ``rows`` rows of length ``n``.

    The rule lives in one place, the compiled core (``softlib::operators::auto_algorithm`` in
    ``cpp/operators.h``), which both this function and the kernels' own ``auto`` (the fast path, and
    ``logsumexp``'s log-normaliser) call. What decides is whether one row, input and output, stays in
    the L2 cache between passes (``2 n itemsize <= 512 KiB``, half of the 1 MiB L2 of the project's
    machine), not the size of the whole array (so ``rows`` does not enter):

    - a row that stays in cache is read from memory once whatever the algorithm, and then the
      arithmetic decides: ``three_pass`` does one exp per element, ``two_pass`` and ``online`` two;
    - out of cache the passes over memory decide: softmax takes ``two_pass`` (reads twice, writes
      once: 12 bytes per element where ``three_pass`` moves 20), and ``log_softmax`` / ``logsumexp``
      take ``online``, whose (m, d) pass reads the row once;
    - the portable path is bound by its scalar arithmetic everywhere: softmax is ``three_pass`` there.

    Measured with ``python -m softlib.book.bench`` (AVX-512 path, float32, one thread, load average
    1.1): at 4096x128 three_pass 0.29, two_pass 0.48, online 0.68 ns/element; at 1024x32000 (rows of
    128 KiB, in the L2 between passes) three_pass 0.66, two_pass 0.92, online 0.86; at 1x2^26 (a
    256 MiB row) three_pass 1.30, two_pass 0.93, online 0.97. Out of cache ``two_pass`` writes its
    output past the caches (non-temporal stores from 4 MiB on), which saves reading each line of y
    first.

    Parameters
    ----------
    n, rows : int
        Row length and number of rows.
    dtype : dtype
        float32 or float64.
    path : str, optional
        The code path (``"portable"``, ``"avx2"``, ``"avx512"``); default the active one.
    op : {"softmax", "log_softmax", "logsumexp"}
        The operation.

    Examples
    --------
    >>> auto_algorithm(32000, 1024, np.float32) in ALGORITHMS
    True
    >>> auto_algorithm(1 << 26, 1, np.float32, "avx512")
    'two_pass'
    """
    if op not in ("softmax", "log_softmax", "logsumexp"):
        raise ValueError(f"op must be 'softmax', 'log_softmax' or 'logsumexp', not {op!r}")
    itemsize = np.dtype(dtype).itemsize
    if itemsize not in (4, 8):
        itemsize = 8  # float16 and longdouble are computed in float64 / by the reference
    if core is None:
        return "three_pass"  # no kernels: the NumPy reference runs whatever the choice
    return core.auto_algorithm(op, int(n), itemsize, path or "")


def _fast_threads(threads) -> bool:
    """Whether ``threads`` passes to the core unchecked on the fast paths: None (0 there) or an int
    >= 1; anything else takes the general path, whose check gives the error."""
    return threads is None or (type(threads) is int and threads >= 1)


def _fast_rows(x, axis) -> bool:
    """Whether ``x`` takes the fast path: a C-contiguous, non-empty float32/float64 ndarray reduced
    along its last axis (the common call: no axis moves, no copies, no checks beyond these)."""
    return (
        type(x) is np.ndarray
        and (axis == -1 or (type(axis) is int and axis == x.ndim - 1))
        and x.ndim >= 1
        and (x.dtype == _F32 or x.dtype == _F64)
        and x.flags.c_contiguous
        and x.size > 0
    )


def _elementwise(name: str, x, axis, algorithm: str, out, threads):
    """Shared body of softmax and log_softmax (and the StableMax pair): same shape in, same shape out."""
    # The fast path: the common call (a float32/float64 ndarray along its last axis, out None or a
    # separate array of its shape and dtype, x itself included) goes straight to the core, which
    # checks the rest (contiguity, dtype, overlap) and returns None when the general path is needed.
    if (algorithm == "auto" and core is not None and type(x) is np.ndarray
            and (axis == -1 or (type(axis) is int and axis == x.ndim - 1))
            and _fast_threads(threads) and (out is None or type(out) is np.ndarray)):
        y = _FAST[name](x, out, threads or 0)
        if y is not None:
            return y
    _check_algorithm(algorithm)
    x, back = _to_numpy(x)
    x, result, nthreads = _prepare(name, x, threads)
    _check_out(out, x.shape, result)
    if x.ndim == 0:  # a scalar: a one-element axis, returned as a NumPy scalar as SciPy does
        if axis not in (None, 0, -1, ()) and not (isinstance(axis, (tuple, list)) and set(axis) <= {0, -1}):
            raise np.exceptions.AxisError(f"axis {axis!r} is out of bounds for a 0-d array")
        y = _elementwise(name, x.reshape(1), -1, algorithm, None, threads)[0]
        if out is not None:
            out[...] = y
            return out
        return _give_back(y, back)
    axes = _normalize_axes(axis, x.ndim)
    if len(axes) != 1:
        if not axes:  # no axis: each element alone
            y = _elementwise(name, x[..., None], -1, algorithm, None, threads)[..., 0]
        else:
            merged, moved_shape = _gather_axes(x, axes)
            y_merged = _elementwise(name, merged, -1, algorithm, None, threads)
            k = len(axes)
            y = np.moveaxis(y_merged.reshape(moved_shape), tuple(range(x.ndim - k, x.ndim)), axes)
        if out is None:
            return _give_back(y, back)
        out[...] = y
        return out
    axis = axes[0]
    if x.size == 0:
        y = np.empty(x.shape, dtype=result) if out is None else out
        return _give_back(y, back) if out is None else y
    work = _work_dtype(result)
    moved = np.moveaxis(x, axis, -1)
    rows = _as_rows(moved, work)
    if algorithm == "reference" or core is None or work == _LONGDOUBLE:
        y_rows = getattr(reference, name)(rows).astype(work)
        y = np.moveaxis(y_rows.reshape(moved.shape), -1, axis).astype(result, copy=False)
        if out is None:
            return _give_back(y, back)
        out[...] = y
        return out
    if name in ("stablemax", "log_stablemax"):
        kernel = lambda x_, y_: getattr(core, name)(x_, y_, nthreads)  # noqa: E731
    else:
        index = -1 if algorithm == "auto" else _KERNEL_INDEX[algorithm]  # -1: the core's auto rule
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
        return _give_back(y, back)
    out[...] = y
    return out


def softmax(x, axis=-1, *, algorithm: str = "auto", out: np.ndarray | None = None,
            threads: int | None = None) -> np.ndarray:
    r"""The softmax of ``x`` along ``axis``: :math:`e^{x_i} / \sum_j e^{x_j}`.

    **Default axis: the last** (as ``jax.nn.softmax``), not all elements as in
    ``scipy.special.softmax``: pass ``axis=None`` for SciPy's default.

    Parameters
    ----------
    x : array_like
        Real input, any shape and strides, 0-d and Python scalars included. float32 and float64
        are computed natively; float16 in float32; long double in long double (NumPy); integers
        and bool are converted as ``np.exp`` converts them. PyTorch CPU tensors and other
        DLPack/array-API arrays are accepted and returned as their own type.
    axis : int, tuple of ints or None, optional
        The axis (or axes, or all for None) along which the outputs sum to one. Default: the last.
    algorithm : str, optional
        ``"auto"`` (the fastest for the shape and code path, see :func:`auto_algorithm`),
        ``"three_pass"`` (max; store exp(x - max) while summing; scale), ``"three_pass_recompute"``
        (max; sum; recompute the exponentials), ``"two_pass"`` (Dukhan & Ablavatski's (p, n) pairs),
        ``"online"`` (Milakov & Gimelshein's (m, d) normaliser), or ``"reference"`` (NumPy in
        float64, with ``x - max`` carried exactly). Every algorithm, ``"reference"`` included, gives
        results within 3 ULP (float32 and float64) of the exact softmax for outputs above the
        smallest normal number; subnormal outputs are computed (gradual underflow, as SciPy), within
        2 ULP of the subnormal spacing (measured in tests/test_accuracy_defects.py).
    out : ndarray, optional
        Where to write the result; it must have the shape of ``x`` and the result's dtype.
    threads : int or None, optional
        Native threads (the GIL is released). ``None``: all cores when ``x`` has at least 2^18
        elements, else one. With more threads than rows, a long row is split across threads and the
        pieces' (max, sum) pairs are merged (the online normaliser's merge), whatever ``algorithm``.

    Returns
    -------
    ndarray
        The probabilities, same shape as ``x`` (a NumPy scalar for 0-d input). As in
        ``scipy.special.softmax``: a row holding NaN or +inf, or only -inf, gives a row of NaN;
        -inf entries of other rows give 0.

    Examples
    --------
    >>> import softlib
    >>> softlib.softmax([0.0, 0.0, 0.0, 0.0])
    array([0.25, 0.25, 0.25, 0.25])
    >>> softlib.softmax(np.array([[1000.0, 1000.0]], dtype=np.float32), axis=1)
    array([[0.5, 0.5]], dtype=float32)
    >>> softlib.softmax(np.log([[1.0, 1.0], [1.0, 1.0]]), axis=None)  # scipy.special's default
    array([[0.25, 0.25],
           [0.25, 0.25]])
    """
    return _elementwise("softmax", x, axis, algorithm, out, threads)


def log_softmax(x, axis=-1, *, algorithm: str = "auto", out: np.ndarray | None = None,
                threads: int | None = None) -> np.ndarray:
    r"""The logarithm of the softmax of ``x`` along ``axis``, computed without forming the softmax.

    **Default axis: the last** (as ``jax.nn.log_softmax``), not all elements as in
    ``scipy.special.log_softmax``: pass ``axis=None`` for SciPy's default.

    :math:`\log \mathrm{softmax}(x)_i = (x_i - m) - \log \sum_j e^{x_j - m}`, :math:`m = \max_j x_j`:
    accurate where ``log(softmax(x))`` would give ``-inf``, never above 0, and accurate relative to
    the value itself near 0 (the log-normaliser of a row dominated by its maximum is ``log1p`` of the
    other terms), within 3 ULP (float32 and float64) of the exact value for every algorithm.
    The algorithm computes the log-normaliser (``three_pass`` and ``three_pass_recompute`` coincide
    here). Conventions as for :func:`softmax`; non-finite input follows
    ``scipy.special.log_softmax``.

    Examples
    --------
    >>> import softlib
    >>> softlib.log_softmax([0.0, 0.0])
    array([-0.69314718, -0.69314718])
    >>> softlib.log_softmax([0.0, 1000.0])  # softmax would round the first entry to 0
    array([-1000.,     0.])
    >>> float(softlib.log_softmax([0.0, 40.0])[1])  # -log1p(e^-40): near 0, accurate, not 0
    -4.248354255291589e-18
    """
    return _elementwise("log_softmax", x, axis, algorithm, out, threads)


def logsumexp(a, axis=-1, b=None, keepdims: bool = False, return_sign: bool = False, *,
              threads: int | None = None):
    r""":math:`\log \sum_j b_j e^{a_j}` along ``axis``, without overflow; ``scipy.special.logsumexp``.

    **Default axis: the last** (as ``jax.nn.logsumexp`` with an axis), not all elements as in
    ``scipy.special.logsumexp``: pass ``axis=None`` for SciPy's default.

    Without ``b``: computed by the kernels from the max and the sum of exp(a - max) while a row fits
    in cache, with the online normaliser (one pass over ``a``) beyond; ``m + log1p(t)``, ``t`` the
    terms other than the max, when the max dominates, so a result near 0 keeps its relative accuracy
    (``logsumexp([0, -40])`` is ``4.25e-18``, not 0: SciPy's gh-18295). A result near 0 by
    cancellation (``m < 0`` and the sum near 1) is accurate to an ULP of ``|m|``, not of itself.

    Parameters
    ----------
    a : array_like
        Real input; an empty axis gives ``-inf``. Integers and bool give float64 (SciPy's rule).
    axis : int, tuple of ints or None, optional
        The axes summed over. Default: the last.
    b : array_like, optional
        Weights, broadcast against ``a``: :math:`\log \sum b_j e^{a_j}`. Zero weights drop their
        term (even an infinite or NaN one); negative weights may make the sum negative: its log is
        NaN unless ``return_sign``. Computed in NumPy (float64, or long double), with SciPy's
        algorithm. The result dtype is that of ``a`` and ``b`` together (integers: float64).
    keepdims : bool, optional
        Keep the reduced axes with length one.
    return_sign : bool, optional
        Also return the sign of the sum (1, 0 or -1; NaN for NaN), and log of its absolute value.
    threads : int or None, optional
        As for :func:`softmax`.

    Returns
    -------
    res : ndarray or NumPy scalar
        A NumPy scalar for a full reduction (as SciPy). Non-finite input follows SciPy.
    sgn : ndarray or NumPy scalar
        Only with ``return_sign``.

    Examples
    --------
    >>> import softlib
    >>> print(softlib.logsumexp([1000.0, 1000.0]))  # 1000 + log 2, where exp(1000) overflows
    1000.6931471805599
    >>> softlib.logsumexp([1.0, 2.0], b=[1.0, -1.0], return_sign=True)  # log|e - e^2|, sign -1
    (np.float64(1.5413248546129181), np.float64(-1.0))
    """
    # The fast path, as softmax's: threads None or a positive int. (After a kernel has filled the
    # caches, the general path's axis handling cost about 20 us at 4096x128, not its 2 us in a loop.)
    if b is None and not keepdims and not return_sign and core is not None \
            and _fast_threads(threads) and _fast_rows(a, axis) and a.shape[-1] > 0:
        y = np.empty(a.shape[:-1], a.dtype)
        core.logsumexp(a.reshape(-1, a.shape[-1]), y.reshape(-1), threads or 0)
        return y[()] if y.ndim == 0 else y
    a, back = _to_numpy(a)
    if b is not None:
        b, _ = _to_numpy(b)
        return _give_back(_logsumexp_weighted(a, b, axis, keepdims, return_sign), back)
    a, result, nthreads = _prepare("logsumexp", a, threads)
    x = a.reshape(1) if a.ndim == 0 else a
    axes = _normalize_axes(axis, x.ndim) if not (a.ndim == 0 and axis in (None, 0, -1)) else (0,)
    if len(axes) != 1:
        if not axes:
            x, axes = x[..., None], (x.ndim,)
        else:
            x, _ = _gather_axes(x, axes)
            axes = (x.ndim - 1,)
    axis1 = axes[0]
    moved = np.moveaxis(x, axis1, -1)
    if moved.shape[-1] == 0:
        y = np.full(moved.shape[:-1], -np.inf, dtype=result)
    elif moved.size == 0:
        y = np.empty(moved.shape[:-1], dtype=result)
    else:
        work = _work_dtype(result)
        rows = _as_rows(moved, work)
        if core is None or work == _LONGDOUBLE:
            y_rows = reference.logsumexp(rows).astype(work)
        else:
            y_rows = np.empty(rows.shape[0], dtype=work)
            core.logsumexp(rows, y_rows, nthreads)
        y = y_rows.reshape(moved.shape[:-1]).astype(result, copy=False)
    if keepdims:
        full = _normalize_axes(axis, a.ndim) if a.ndim else ()
        y = y.reshape(tuple(1 if i in full else n for i, n in enumerate(a.shape)))
    if return_sign:
        with np.errstate(invalid="ignore"):
            sgn = np.where(np.isnan(y), np.nan, np.where(y == -np.inf, 0.0, 1.0)).astype(result)
        y, sgn = (y[()], sgn[()]) if y.ndim == 0 else (y, sgn)
        return _give_back((y, sgn), back)
    return _give_back(y[()] if y.ndim == 0 else y, back)


def _logsumexp_weighted(a, b, axis, keepdims: bool, return_sign: bool):
    """logsumexp with weights ``b``: SciPy's algorithm (the max's terms apart, log1p of the rest)."""
    a, b = np.asarray(a), np.asarray(b)
    for v in (a, b):
        if v.dtype.kind not in "biuf":
            raise TypeError(f"logsumexp works on real numbers; got an array of dtype {v.dtype}")
    result = np.result_type(a.dtype, b.dtype)
    if result.kind in "biu":
        result = _F64
    work = _LONGDOUBLE if result == _LONGDOUBLE and _HAS_LONGDOUBLE else _F64
    a, b = np.broadcast_arrays(a.astype(work), b.astype(work))
    if a.ndim == 0:
        a, b = a.reshape(1), b.reshape(1)
    axes = _normalize_axes(axis, a.ndim)
    if a.size == 0:
        shape = tuple(1 if i in axes else n for i, n in enumerate(a.shape))
        out = np.full(shape, -np.inf, dtype=result)
        sgn = np.sign(out)
    else:
        with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
            a = np.where(b == 0, -np.inf, a)
            a_max = np.max(a, axis=axes, keepdims=True)
            i_max = a == a_max
            m = np.sum(np.where(i_max, b, 0), axis=axes, keepdims=True)
            a_max_f = np.where(np.isfinite(a_max), a_max, 0)
            s = np.sum(np.where(i_max, 0, b * reference._exp_minus(a, a_max_f)), axis=axes, keepdims=True)
            s = np.where(s == 0, s, s / m)
            sgn = np.sign(s + 1) * np.sign(m)
            s = np.where(s < -1, -s - 2, s)
            out = np.log1p(s) + np.log(np.abs(m)) + a_max
            if not return_sign:
                out = np.where(sgn < 0, np.nan, out)
            # Infinite or NaN results: the direct formula decides (as SciPy).
            direct = np.sum(b * np.exp(a), axis=axes, keepdims=True)
            finite = np.isfinite(out)
            out = np.where(finite, out, np.log(np.abs(direct) if return_sign else direct))
            sgn = np.where(finite, sgn, np.sign(direct))
        out, sgn = out.astype(result), sgn.astype(result)
    if not keepdims:
        out, sgn = np.squeeze(out, axis=axes), np.squeeze(sgn, axis=axes)
    out = out[()] if out.ndim == 0 else out
    sgn = sgn[()] if sgn.ndim == 0 else sgn
    return (out, sgn) if return_sign else out


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
    x, back = _to_numpy(x)
    x, result, nthreads = _prepare("softmax_topk", x, threads)
    if x.ndim == 0:
        raise ValueError("softmax_topk needs at least one dimension; got a 0-d array")
    axis = _normalize_axis(axis, x.ndim)
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
    return _give_back((np.moveaxis(probs, -1, axis), np.moveaxis(indices, -1, axis)), back)
