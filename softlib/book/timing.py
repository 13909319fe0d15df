"""Quick timings for the chapters: medians of repeated runs, per element, from in-cache to out-of-cache.

The book's chapters measure on the reader's machine and print what they find; nothing here is
asserted on. ``make bench`` (:mod:`softlib.book.bench`) is the full benchmark, and the chapters take the
memory bandwidth from it (:func:`softlib.book.bench.copy_bandwidth`); these helpers are the small, fast
sweeps over sizes a chapter can afford to run in a few seconds.

Timings on a shared machine are noisy: each measurement here is the **median** of several samples,
and each sample runs the function often enough to last ``min_seconds``, so that the clock's
resolution and one-off interruptions do not dominate. Functions compared with each other are timed
in turns (one sample of each, then the next round), so that a slow spell of the machine hits all
of them alike and their *ratios* stay meaningful.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
import time

import numpy as np

__all__ = ["cache_sizes", "time_in_turns", "ns_per_element"]


def cache_sizes() -> dict[str, int]:
    """The data cache sizes of CPU 0 in bytes, e.g. ``{"L1": 32768, "L2": 1048576, "L3": ...}``.

    Read from Linux's ``/sys/devices/system/cpu``; an empty dict where that is not available.

    Examples
    --------
    >>> sizes = cache_sizes()
    >>> all(isinstance(v, int) and v > 0 for v in sizes.values())
    True
    """
    sizes: dict[str, int] = {}
    for index in sorted(Path("/sys/devices/system/cpu/cpu0/cache").glob("index*")):
        try:
            kind = (index / "type").read_text().strip()
            level = (index / "level").read_text().strip()
            text = (index / "size").read_text().strip().upper()
        except OSError:
            continue
        if kind == "Instruction":
            continue
        unit = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30}.get(text[-1:], 1)
        number = text[:-1] if text[-1:] in "KMG" else text
        if number.isdigit():
            sizes[f"L{level}"] = int(number) * unit
    return sizes


def _calls_per_sample(fn: Callable[[], object], min_seconds: float) -> int:
    """How many calls of ``fn`` last at least ``min_seconds`` (after one warm-up call)."""
    fn()
    calls = 1
    while True:
        start = time.perf_counter()
        for _ in range(calls):
            fn()
        elapsed = time.perf_counter() - start
        if elapsed >= min_seconds:
            return calls
        calls *= 2 if elapsed == 0 else max(2, int(1.2 * min_seconds / elapsed) + 1)


def time_in_turns(functions: Mapping[str, Callable[[], object]], *, samples: int = 7,
                  min_seconds: float = 0.002) -> dict[str, np.ndarray]:
    """Seconds per call of each function: ``samples`` samples each, taken in turns.

    Each sample times enough back-to-back calls to last ``min_seconds`` and divides. Round ``r``
    takes sample ``r`` of every function before round ``r + 1`` starts.

    Parameters
    ----------
    functions : mapping
        Name to a function of no arguments.
    samples : int, optional
        Samples per function (their median is the usual summary).
    min_seconds : float, optional
        Least duration of one sample.

    Returns
    -------
    dict
        Name to an array of ``samples`` seconds-per-call values.

    Examples
    --------
    >>> x = np.ones(1000)
    >>> t = time_in_turns({"sum": x.sum, "max": x.max}, samples=3, min_seconds=1e-4)
    >>> sorted(t), t["sum"].shape, bool(np.all(t["sum"] > 0))
    (['max', 'sum'], (3,), True)
    """
    if samples < 1:
        raise ValueError(f"samples must be at least 1, got {samples}")
    if not functions:
        raise ValueError("no functions to time")
    calls = {name: _calls_per_sample(fn, min_seconds) for name, fn in functions.items()}
    times = {name: np.empty(samples) for name in functions}
    for r in range(samples):
        for name, fn in functions.items():
            n = calls[name]
            start = time.perf_counter()
            for _ in range(n):
                fn()
            times[name][r] = (time.perf_counter() - start) / n
    return times


def ns_per_element(kernels: Mapping[str, Callable[[np.ndarray, np.ndarray], object]], sizes: Sequence[int],
                   *, dtype=np.float32, samples: int = 7, min_seconds: float = 0.002, seed: int = 0,
                   progress: bool = False) -> dict[str, np.ndarray]:
    """Median nanoseconds per element of ``kernel(x, out)`` on one row of each size.

    For every size a fresh row of N(0, 1) logits and an output buffer are allocated and the kernels
    are timed in turns (:func:`time_in_turns`).

    Returns
    -------
    dict
        Kernel name to an array (len(sizes),) of median ns per element; the key ``"samples"`` maps
        to a dict of the raw per-sample arrays (name to an array (len(sizes), samples)).

    Examples
    --------
    >>> r = ns_per_element({"exp": lambda x, y: np.exp(x, out=y)}, [1000, 4000], samples=3,
    ...                    min_seconds=1e-4)
    >>> r["exp"].shape, r["samples"]["exp"].shape
    ((2,), (2, 3))
    """
    if not kernels:
        raise ValueError("no kernels to time")
    if any(int(n) < 1 for n in sizes):
        raise ValueError(f"sizes must be positive, got {list(sizes)}")
    rng = np.random.default_rng(seed)
    raw = {name: np.empty((len(sizes), samples)) for name in kernels}
    steps = enumerate(sizes)
    if progress:
        from tqdm.auto import tqdm

        steps = tqdm(list(steps), desc="sizes")
    for i, n in steps:
        x = rng.standard_normal(int(n)).astype(dtype)
        out = np.empty_like(x)
        bound = {name: (lambda k=k: k(x, out)) for name, k in kernels.items()}
        for name, t in time_in_turns(bound, samples=samples, min_seconds=min_seconds).items():
            raw[name][i] = t * 1e9 / n
    result = {name: np.median(r, axis=1) for name, r in raw.items()}
    result["samples"] = raw
    return result
