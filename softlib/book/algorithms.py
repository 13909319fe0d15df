"""Step-by-step NumPy versions of the softmax algorithms of Part I, with their intermediate state.

These are the book's teaching versions: short, slow, and written so that a chapter can show what
each algorithm holds after every element. :func:`softlib.softmax` runs the compiled kernels; the
functions here exist to be read, drawn and compared with them.

- the naive formula and the three-pass algorithm (reload and recompute variants), with the bytes
  each moves per element;
- the Two-Pass algorithm of Dukhan & Ablavatski (2020): exponentials as pairs ``(p, n)`` with
  :math:`e^x = p \\cdot 2^n`, accumulated without a max pass;
- the online normaliser of Milakov & Gimelshein (2018): the running pair ``(m, d)``, its
  associative merge, fused softmax + top-k and attention computed block by block.
"""

from __future__ import annotations

from dataclasses import dataclass
import heapq
import math

import numpy as np

__all__ = [
    "SWEEPS", "bytes_per_element", "naive_softmax", "three_pass_softmax", "extexp",
    "TwoPassTrace", "two_pass_trace", "two_pass_softmax", "OnlineTrace", "online_trace",
    "online_merge", "online_merge_tree", "online_softmax", "softmax_topk_stream",
    "blockwise_attention", "example_logits", "exact_softmax", "ulp_error",
]

LOG2E = 1.4426950408889634  # log2(e)
LN2 = 0.6931471805599453  # ln(2)
# ln(2) split in two (Cody & Waite): LN2_HI has 26 significant bits, so n * LN2_HI is exact in
# float64 for |n| < 2^27, and LN2_HI + LN2_LO is ln(2) to about 2^-80.
LN2_HI = float.fromhex("0x1.62e42f8p-1")  # 0.6931471675634384
LN2_LO = float.fromhex("0x1.be8e7bcd5e4f2p-27")  # ln(2) - LN2_HI, to float64 precision
EXTEXP_LIMIT = 1.0e7  # |x| up to which extexp's reduction is exact (|n| < 2^27)


# --------------------------------------------------------------------------------------------
# Bytes moved
# --------------------------------------------------------------------------------------------

#: Memory sweeps of each algorithm over a row that does not fit in cache: (reads, writes,
#: writes into lines not read in the same pass). A write into such a line costs an extra read on
#: write-allocate caches (the line is fetched before it is overwritten).
SWEEPS = {
    "three_pass": (3, 2, 1),            # read x (max); read x, write y (exp); read y, write y (scale)
    "three_pass_recompute": (3, 1, 1),  # read x (max); read x (sum); read x, write y (exp, scale)
    "two_pass": (2, 1, 1),              # read x (pairs); read x, write y
    "online": (2, 1, 1),                # read x (m, d); read x, write y
    "pytorch": (4, 2, 1),               # max; store exp; sum of y; scale y in place
    "copy": (1, 1, 1),                  # the floor: read x, write y
}


def bytes_per_element(algorithm: str, itemsize: int = 4, *, write_allocate: bool = False) -> int:
    """Bytes an algorithm moves between memory and the core per element of an out-of-cache row.

    Each sweep over the row reads or writes ``itemsize`` bytes per element; with
    ``write_allocate`` a write into lines the pass has not read costs one more read (the table of
    Dukhan & Ablavatski 2020, Sec. 3, and Milakov & Gimelshein 2018, Sec. 3, counts accesses the
    same way).

    Parameters
    ----------
    algorithm : str
        One of the keys of :data:`SWEEPS`.
    itemsize : int, optional
        Bytes per element: 4 for float32, 8 for float64.
    write_allocate : bool, optional
        Count the read-for-ownership of freshly written cache lines.

    Examples
    --------
    >>> bytes_per_element("three_pass"), bytes_per_element("two_pass")
    (20, 12)
    >>> bytes_per_element("three_pass", write_allocate=True)
    24
    """
    if algorithm not in SWEEPS:
        raise ValueError(f"unknown algorithm {algorithm!r}; expected one of {', '.join(SWEEPS)}")
    if itemsize not in (2, 4, 8):
        raise ValueError(f"itemsize must be 2, 4 or 8 bytes, got {itemsize!r}")
    reads, writes, allocating = SWEEPS[algorithm]
    return itemsize * (reads + writes + (allocating if write_allocate else 0))


# --------------------------------------------------------------------------------------------
# Naive and three-pass
# --------------------------------------------------------------------------------------------

def _float_array(x, name: str = "x") -> np.ndarray:
    x = np.asarray(x)
    if x.dtype not in (np.float32, np.float64):
        if x.dtype.kind in "biu":
            x = x.astype(np.float64)
        else:
            raise TypeError(f"{name} must be a float32 or float64 array (or integers), got dtype {x.dtype}")
    if x.ndim == 0 or x.shape[-1] == 0:
        raise ValueError(f"{name} must have a non-empty last axis, got shape {x.shape}")
    return x


def naive_softmax(x) -> np.ndarray:
    r"""The textbook formula :math:`e^{x_i} / \sum_j e^{x_j}` along the last axis, without a shift.

    Computed in the dtype of ``x`` (float32 or float64), so it overflows to ``inf`` (and the
    quotient to NaN) once a logit exceeds :math:`\ln` of the largest finite number: 88.72 in
    float32, 709.78 in float64. Kept to show that failure.

    Examples
    --------
    >>> naive_softmax(np.array([0.0, np.log(3.0)]))
    array([0.25, 0.75])
    >>> naive_softmax(np.array([100.0, 0.0], dtype=np.float32))
    array([nan,  0.], dtype=float32)
    """
    x = _float_array(x)
    with np.errstate(over="ignore", invalid="ignore"):
        e = np.exp(x)
        return e / np.sum(e, axis=-1, keepdims=True)


def three_pass_softmax(x, variant: str = "reload") -> np.ndarray:
    r"""Softmax along the last axis by the three-pass algorithm, in the dtype of ``x``.

    Pass 1: :math:`m = \max_j x_j`; pass 2: :math:`s = \sum_j e^{x_j - m}`; pass 3:
    :math:`y_i = e^{x_i - m} / s`. The ``"reload"`` variant stores :math:`e^{x_j - m}` in pass 2
    and scales it in pass 3; ``"recompute"`` stores nothing in pass 2 and recomputes the
    exponentials in pass 3 (Dukhan & Ablavatski 2020, Sec. 2).

    Examples
    --------
    >>> three_pass_softmax(np.array([1000.0, 1000.0 + np.log(3.0)]))
    array([0.25, 0.75])
    >>> three_pass_softmax(np.array([1.0, 1.0]), variant="recompute")
    array([0.5, 0.5])
    """
    x = _float_array(x)
    if variant not in ("reload", "recompute"):
        raise ValueError(f"variant must be 'reload' or 'recompute', got {variant!r}")
    m = np.max(x, axis=-1, keepdims=True)                      # pass 1
    if variant == "reload":
        y = np.exp(x - m)                                     # pass 2 stores the exponentials ...
        s = np.sum(y, axis=-1, keepdims=True)
        y *= x.dtype.type(1) / s                              # pass 3 reloads and scales them
        return y
    s = np.sum(np.exp(x - m), axis=-1, keepdims=True)         # pass 2 keeps only the sum
    return np.exp(x - m) * (x.dtype.type(1) / s)              # pass 3 recomputes


# --------------------------------------------------------------------------------------------
# Two-Pass: exponentials as (p, n) pairs
# --------------------------------------------------------------------------------------------

def extexp(x) -> tuple[np.ndarray, np.ndarray]:
    r"""The pair ``(p, n)`` with :math:`e^x = p \cdot 2^n`, :math:`n = \mathrm{round}(x \log_2 e)`.

    :math:`p = e^{x - n \ln 2}` lies in :math:`[2^{-1/2}, 2^{1/2}]`, so neither part overflows
    for any finite ``x`` (Dukhan & Ablavatski 2020, Eq. 5). ``p`` has the dtype of ``x``; the
    reduction :math:`t = x - n \ln 2` is done in float64 with :math:`\ln 2` split in two
    (Cody-Waite), so that ``t`` is accurate to a few float64 rounding errors and ``p`` as accurate
    as ``np.exp``. ``n`` is an int64 array. Inputs with :math:`|x| > 10^7` are refused (the split
    is exact only below that).

    Examples
    --------
    >>> p, n = extexp(np.array([0.0, 1000.0]))
    >>> n
    array([   0, 1443])
    >>> bool(np.all((p >= 2 ** -0.5) & (p <= 2 ** 0.5)))
    True
    >>> a, b = float(p[1] * 2.0 ** (n[1] - 1400)), float(np.exp(1000.0 - 1400 * np.log(2)))
    >>> abs(a - b) / b < 1e-12
    True
    """
    x = _float_array(x)
    if not np.all(np.isfinite(x)):
        raise ValueError("extexp needs finite input; got inf or NaN")
    if np.any(np.abs(x) > EXTEXP_LIMIT):
        raise ValueError(f"extexp handles |x| <= {EXTEXP_LIMIT:g}; got {np.max(np.abs(x)):g}")
    x64 = x.astype(np.float64)
    n = np.rint(x64 * LOG2E)
    t = (x64 - n * LN2_HI) - n * LN2_LO
    p = np.exp(t).astype(x.dtype)
    return p, n.astype(np.int64)


@dataclass
class TwoPassTrace:
    """Everything pass 1 of the Two-Pass algorithm holds, element by element (a 1-D row).

    Attributes
    ----------
    x : ndarray
        The row.
    p, n : ndarray
        Each element's pair, :math:`e^{x_j} = p_j 2^{n_j}`.
    m, e : ndarray
        The accumulator after element ``j``: :math:`\\sum_{k \\le j} e^{x_k} = m_j 2^{e_j}`.
    y : ndarray
        The softmax computed by pass 2 from the final accumulator.
    """

    x: np.ndarray
    p: np.ndarray
    n: np.ndarray
    m: np.ndarray
    e: np.ndarray
    y: np.ndarray

    def log2_partial_sums(self) -> np.ndarray:
        """:math:`\\log_2 \\sum_{k \\le j} e^{x_k}` as the accumulator holds it: log2(m) + e."""
        return np.log2(self.m.astype(np.float64)) + self.e


def two_pass_trace(x) -> TwoPassTrace:
    r"""Run the Two-Pass algorithm on a 1-D row one element at a time, recording its state.

    Pass 1 (Dukhan & Ablavatski 2020, Alg. 2) keeps the sum of the exponentials as a pair
    ``(m, e)`` in the dtype of ``x``: for each element, with :math:`(p, n)` = :func:`extexp`,

    .. math:: e' = \max(e, n), \quad m \leftarrow m\,2^{e - e'} + p\,2^{n - e'}, \quad e \leftarrow e'.

    Pass 2 computes :math:`y_i = p_i\, (1/m)\, 2^{n_i - e}`. No maximum of ``x`` is taken and
    nothing overflows: ``p`` is at most :math:`\sqrt 2`, ``m`` at most :math:`\sqrt 2` times the
    row length, and every power of two applied is at most 1.

    Examples
    --------
    >>> t = two_pass_trace(np.array([1000.0, 1001.0], dtype=np.float32))
    >>> t.y.round(6)  # 1 / (1 + e) and e / (1 + e), where e^1000 overflows float32
    array([0.268941, 0.731059], dtype=float32)
    >>> t.e.tolist()  # the exponent of the running sum, e^1000 + e^1001 = m 2^e
    [1443, 1444]
    """
    x = _float_array(x)
    if x.ndim != 1:
        raise ValueError(f"two_pass_trace takes one row (a 1-D array), got shape {x.shape}")
    p, n = extexp(x)
    one = x.dtype.type(1)
    m_hist = np.empty_like(x)
    e_hist = np.empty(x.shape, dtype=np.int64)
    m, e = x.dtype.type(0), None
    for j in range(x.size):
        if e is None:                              # the first element starts the accumulator
            m, e = p[j], int(n[j])
        else:
            e_new = max(e, int(n[j]))
            m = np.ldexp(m, e - e_new) + np.ldexp(p[j], int(n[j]) - e_new)
            e = e_new
        m_hist[j], e_hist[j] = m, e
    scale = one / m
    y = (p * scale * np.ldexp(one, (n - e).astype(np.int32))).astype(x.dtype)
    return TwoPassTrace(x=x, p=p, n=n, m=m_hist, e=e_hist, y=y)


def two_pass_softmax(x) -> np.ndarray:
    r"""Softmax along the last axis by the Two-Pass algorithm, every element its own lane.

    Each element's pair :math:`(p_j, n_j)` is an accumulator of one term; merging all of them at
    once gives :math:`e = \max_j n_j` and :math:`m = \sum_j p_j 2^{n_j - e}`, the same result
    :func:`two_pass_trace` reaches one element at a time (up to rounding). Computed in the dtype
    of ``x``.

    Examples
    --------
    >>> two_pass_softmax(np.array([[0.0, np.log(3.0)], [500.0, 500.0]]))
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    x = _float_array(x)
    p, n = extexp(x)
    e = np.max(n, axis=-1, keepdims=True)
    scaled = np.ldexp(p, (n - e).astype(np.int32))            # each term times 2^(n - e) <= 1
    m = np.sum(scaled, axis=-1, keepdims=True)
    return scaled * (x.dtype.type(1) / m)


# --------------------------------------------------------------------------------------------
# The online normaliser
# --------------------------------------------------------------------------------------------

@dataclass
class OnlineTrace:
    """The running pair of the online normaliser after each element of a 1-D row.

    ``m[j]`` is :math:`\\max_{k \\le j} x_k` and ``d[j]`` is :math:`\\sum_{k \\le j} e^{x_k - m_j}`.
    """

    x: np.ndarray
    m: np.ndarray
    d: np.ndarray


def online_trace(x) -> OnlineTrace:
    r"""The online normaliser of Milakov & Gimelshein (2018, Alg. 3) on a 1-D row, step by step.

    .. math:: m_j = \max(m_{j-1}, x_j), \qquad d_j = d_{j-1} e^{m_{j-1} - m_j} + e^{x_j - m_j},

    from :math:`m_0 = -\infty`, :math:`d_0 = 0`. After the last element, :math:`d_V` is the
    normaliser of the max-shifted softmax. Computed in the dtype of ``x``.

    Examples
    --------
    >>> t = online_trace(np.array([1.0, 3.0, 2.0]))
    >>> t.m.tolist()
    [1.0, 3.0, 3.0]
    >>> bool(np.isclose(t.d[-1], np.exp(-2.0) + 1.0 + np.exp(-1.0)))
    True
    """
    x = _float_array(x)
    if x.ndim != 1:
        raise ValueError(f"online_trace takes one row (a 1-D array), got shape {x.shape}")
    m_hist, d_hist = np.empty_like(x), np.empty_like(x)
    m, d = x.dtype.type(-np.inf), x.dtype.type(0)
    with np.errstate(invalid="ignore"):
        for j, xj in enumerate(x):
            m_new = max(m, xj)
            d = d * np.exp(m - m_new) + np.exp(xj - m_new)
            m = m_new
            m_hist[j], d_hist[j] = m, d
    return OnlineTrace(x=x, m=m_hist, d=d_hist)


def online_merge(a, b):
    r"""Merge two partial normalisers: :math:`(m, d) \oplus (m', d') = (M, d e^{m-M} + d' e^{m'-M})`.

    :math:`M = \max(m, m')`. The operation is associative and commutative, with identity
    :math:`(-\infty, 0)` (Milakov & Gimelshein 2018, Sec. 3.1), so the pairs of blocks of a row
    (SIMD lanes, threads) can be merged in any order and grouping. Works elementwise on arrays.

    Examples
    --------
    >>> m, d = online_merge((1.0, 1.0), (3.0, 1.0))
    >>> float(m), bool(np.isclose(d, 1.0 + np.exp(-2.0)))
    (3.0, True)
    >>> online_merge((-np.inf, 0.0), (2.0, 5.0))
    (2.0, 5.0)
    """
    (m1, d1), (m2, d2) = a, b
    m = np.maximum(m1, m2)
    with np.errstate(invalid="ignore"):
        # An empty side (m = -inf, d = 0) contributes 0, not 0 * exp(nan).
        w1 = np.where(d1 == 0, 0.0, d1 * np.exp(np.where(d1 == 0, 0.0, m1 - m)))
        w2 = np.where(d2 == 0, 0.0, d2 * np.exp(np.where(d2 == 0, 0.0, m2 - m)))
    d = w1 + w2
    if np.ndim(m) == 0:
        return float(m), float(d)
    return m, d


def online_merge_tree(x, blocks: int) -> list[list[tuple[int, int, float, float]]]:
    """The pairs of a 1-D row split into ``blocks`` blocks, then merged pairwise up to the root.

    Returns the levels of the tree, leaves first; each node is ``(start, stop, m, d)`` for the
    slice ``x[start:stop]``. The root's ``(m, d)`` equals the sequential result of
    :func:`online_trace` up to rounding, whatever the number of blocks.

    Examples
    --------
    >>> levels = online_merge_tree(np.arange(8.0), 4)
    >>> [len(level) for level in levels]
    [4, 2, 1]
    >>> start, stop, m, d = levels[-1][0]
    >>> (start, stop, m), bool(np.isclose(d, np.exp(np.arange(8.0) - 7).sum()))
    ((0, 8, 7.0), True)
    """
    x = _float_array(x).astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"online_merge_tree takes one row (a 1-D array), got shape {x.shape}")
    if not 1 <= blocks <= x.size:
        raise ValueError(f"blocks must be between 1 and the row length {x.size}, got {blocks}")
    edges = np.linspace(0, x.size, blocks + 1).round().astype(int)
    level = []
    for start, stop in zip(edges[:-1], edges[1:]):
        m = float(np.max(x[start:stop]))
        level.append((int(start), int(stop), m, float(np.sum(np.exp(x[start:stop] - m)))))
    levels = [level]
    while len(level) > 1:
        merged = []
        for i in range(0, len(level) - 1, 2):
            (s1, _, m1, d1), (_, t2, m2, d2) = level[i], level[i + 1]
            merged.append((s1, t2, *online_merge((m1, d1), (m2, d2))))
        if len(level) % 2:
            merged.append(level[-1])
        level = merged
        levels.append(level)
    return levels


def online_softmax(x) -> np.ndarray:
    r"""Softmax along the last axis from the online normaliser, in the dtype of ``x``.

    Pass 1 runs the recurrence of :func:`online_trace` (vectorised over rows); pass 2 computes
    :math:`y_i = e^{x_i - m_V} / d_V`.

    Examples
    --------
    >>> online_softmax(np.array([[0.0, np.log(3.0)], [800.0, 800.0]]))
    array([[0.25, 0.75],
           [0.5 , 0.5 ]])
    """
    x = _float_array(x)
    m = np.full(x.shape[:-1], -np.inf, dtype=x.dtype)
    d = np.zeros(x.shape[:-1], dtype=x.dtype)
    with np.errstate(invalid="ignore"):
        for j in range(x.shape[-1]):
            xj = x[..., j]
            m_new = np.maximum(m, xj)
            d = d * np.exp(m - m_new) + np.exp(xj - m_new)
            m = m_new
    return np.exp(x - m[..., None]) / d[..., None]


def softmax_topk_stream(x, k: int) -> tuple[np.ndarray, np.ndarray]:
    r"""Fused softmax + top-k of a 1-D row in one pass, then k exponentials (a teaching version).

    One pass keeps the online pair :math:`(m, d)` and the k largest inputs seen so far (a heap);
    only the k winners are then exponentiated: :math:`y = e^{x_i - m} / d` (Milakov & Gimelshein
    2018, Alg. 4). Returns the probabilities sorted descending and their indices (ties to the lower
    index). :func:`softlib.softmax_topk` is the compiled version.

    Examples
    --------
    >>> probs, idx = softmax_topk_stream(np.log(np.array([1.0, 4.0, 2.0, 1.0])), 2)
    >>> idx.tolist(), np.round(probs, 6).tolist()
    ([1, 2], [0.5, 0.25])
    """
    x = _float_array(x).astype(np.float64)
    if x.ndim != 1:
        raise ValueError(f"softmax_topk_stream takes one row (a 1-D array), got shape {x.shape}")
    if not 1 <= k <= x.size:
        raise ValueError(f"k must be between 1 and the row length {x.size}, got {k}")
    m, d = -math.inf, 0.0
    heap: list[tuple[float, int]] = []            # the k best (value, -index): smallest on top
    for i, xi in enumerate(x.tolist()):
        m_new = max(m, xi)
        d = d * math.exp(m - m_new) + math.exp(xi - m_new) if m_new > -math.inf else 0.0
        m = m_new
        item = (xi, -i)                            # larger value wins; on a tie the lower index
        if len(heap) < k:
            heapq.heappush(heap, item)
        elif item > heap[0]:
            heapq.heapreplace(heap, item)
    best = sorted(heap, reverse=True)
    values = np.array([v for v, _ in best])
    return np.exp(values - m) / d, np.array([-i for _, i in best], dtype=np.int64)


def blockwise_attention(q, k, v, block: int) -> np.ndarray:
    r"""Attention :math:`\mathrm{softmax}(q K^\top / \sqrt{h})\, V` with K and V read block by block.

    For each block of keys the scores' online pair ``(m, d)`` and an output accumulator are updated
    and rescaled by :math:`e^{m_\text{old} - m_\text{new}}`, so the full row of scores never exists
    in memory: the idea behind FlashAttention (Dao et al. 2022), built on the merge of
    :func:`online_merge`. ``q`` is (queries, h), ``k`` (keys, h), ``v`` (keys, h_v).

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> q, k, v = rng.normal(size=(3, 4)), rng.normal(size=(10, 4)), rng.normal(size=(10, 2))
    >>> s = q @ k.T / 2.0
    >>> full = np.exp(s - s.max(1, keepdims=True))
    >>> full = full / full.sum(1, keepdims=True) @ v
    >>> bool(np.allclose(blockwise_attention(q, k, v, block=3), full))
    True
    """
    q, k, v = (np.asarray(a, dtype=np.float64) for a in (q, k, v))
    if q.ndim != 2 or k.ndim != 2 or v.ndim != 2 or q.shape[1] != k.shape[1] or k.shape[0] != v.shape[0]:
        raise ValueError(f"shapes must be q (n, h), k (m, h), v (m, h_v); got {q.shape}, {k.shape}, {v.shape}")
    if block < 1:
        raise ValueError(f"block must be at least 1, got {block}")
    m = np.full(q.shape[0], -np.inf)
    d = np.zeros(q.shape[0])
    acc = np.zeros((q.shape[0], v.shape[1]))
    for start in range(0, k.shape[0], block):
        s = q @ k[start:start + block].T / math.sqrt(q.shape[1])
        m_new = np.maximum(m, s.max(axis=1))
        rescale = np.exp(m - m_new)                 # 0 on the first block, where m = -inf
        w = np.exp(s - m_new[:, None])
        d = d * rescale + w.sum(axis=1)
        acc = acc * rescale[:, None] + w @ v[start:start + block]
        m = m_new
    return acc / d[:, None]


# --------------------------------------------------------------------------------------------
# Accuracy
# --------------------------------------------------------------------------------------------

def example_logits(n: int = 1000, dtype=np.float32, seed: int = 0) -> dict[str, np.ndarray]:
    """The rows on which the chapters compare the algorithms, each of length ``n``.

    ``U(90, 100)`` overflows float32 without the max shift (as in XNNPACK's tests);
    ``U(-1000, 1000)`` spans a range where most outputs underflow; ``N(0, 3^2)`` is typical of
    logits; ``all equal`` and ``one dominant`` are the extremes of the output; ``around 1e4``
    overflows both float32 and float64 without the shift.

    Examples
    --------
    >>> rows = example_logits(8)
    >>> list(rows), rows["all equal"].dtype.name
    (['U(90, 100)', 'U(-1000, 1000)', 'N(0, 3^2)', 'all equal', 'one dominant', 'around 1e4'], 'float32')
    """
    if n < 2:
        raise ValueError(f"n must be at least 2, got {n}")
    rng = np.random.default_rng(seed)
    rows = {
        "U(90, 100)": rng.uniform(90, 100, n),
        "U(-1000, 1000)": rng.uniform(-1000, 1000, n),
        "N(0, 3^2)": rng.normal(0, 3, n),
        "all equal": np.full(n, 3.25),
        "one dominant": np.r_[40.0, rng.normal(0, 1, n - 1)],
        "around 1e4": 1e4 + rng.normal(0, 10, n),
    }
    return {name: row.astype(dtype) for name, row in rows.items()}


def exact_softmax(x) -> np.ndarray:
    """Softmax along the last axis in more than float64 precision, rounded to float64 at the end.

    Computed in ``np.longdouble`` where it has a wider significand than float64 (x86-64: 64 bits,
    so the result is within a fraction of a float64 ULP for the chapters' rows); otherwise with
    Python's ``decimal`` at 34 digits, one element at a time (slow, but exact enough). The oracle
    for the ULP errors of :func:`ulp_error`.

    Examples
    --------
    >>> exact_softmax(np.array([1e4, 1e4]))
    array([0.5, 0.5])
    """
    x = _float_array(x)
    if np.finfo(np.longdouble).nmant > 52:
        xl = x.astype(np.longdouble)
        e = np.exp(xl - np.max(xl, axis=-1, keepdims=True))
        return (e / np.sum(e, axis=-1, keepdims=True)).astype(np.float64)
    from decimal import Decimal, localcontext

    out = np.empty(x.shape, dtype=np.float64)
    with localcontext() as ctx:
        ctx.prec = 34
        for index in np.ndindex(x.shape[:-1]):
            row = [Decimal(float(v)) for v in x[index]]
            top = max(row)
            exps = [(v - top).exp() for v in row]
            total = sum(exps)
            out[index] = [float(v / total) for v in exps]
    return out


def ulp_error(y, exact) -> np.ndarray:
    """Distance from ``y`` to ``exact`` in units in the last place of ``y``'s dtype at ``exact``.

    ``exact`` is a higher-precision value (float64, or a float64 reference for float64 output,
    which is then exact to within a fraction of an ULP). Returns float64.

    Examples
    --------
    >>> ulp_error(np.float32([1.0, 1.0]) + np.finfo(np.float32).eps * np.float32([1, 2]), 1.0)
    array([1., 2.])
    """
    y = np.asarray(y)
    if y.dtype not in (np.float32, np.float64):
        raise TypeError(f"y must be float32 or float64, got {y.dtype}")
    exact = np.asarray(exact, dtype=np.float64)
    ulp = np.spacing(np.abs(exact).astype(y.dtype)).astype(np.float64)
    return np.abs(y.astype(np.float64) - exact) / ulp
