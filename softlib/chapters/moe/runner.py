"""The machinery shared by the studies: a grid of (sample size, replication) jobs run in worker
processes with a progress bar, and an on-disk cache of the results.

:func:`~softlib.chapters.moe.study.convergence_study` and
:func:`~softlib.chapters.moe.replicate.replicated_study` differ only in what one job does; both seed replication ``r`` of size ``n`` from ``(seed, n, r)``, so a result
never depends on the number of processes or on the order in which the jobs finish.
"""

from __future__ import annotations

from concurrent.futures import ProcessPoolExecutor, as_completed
import hashlib
import json
import multiprocessing
import os
from pathlib import Path
import pickle
import sys
import time

import numpy as np

__all__ = ["check_grid", "replication_seed", "run_grid", "cache_path", "load_cached", "store_cached",
           "source_hash", "default_cache_dir", "CACHE_ENV", "show_progress"]


def check_grid(ns, reps) -> np.ndarray:
    """``ns`` as an integer array, after checking that it holds at least two sizes and ``reps >= 1``."""
    ns = np.asarray(ns)
    if ns.ndim != 1 or ns.size < 2 or np.any(ns < 1) or np.any(ns != np.round(ns)):
        raise ValueError("ns must be at least two positive integers")
    if int(reps) != reps or reps < 1:
        raise ValueError(f"reps must be a positive integer, got {reps!r}")
    return ns.astype(int)


def replication_seed(seed: int, n: int, r: int) -> int:
    """The seed of replication ``r`` at sample size ``n``: independent streams for every (n, r).

    Examples
    --------
    >>> replication_seed(0, 100, 1) == replication_seed(0, 100, 1) != replication_seed(0, 100, 2)
    True
    """
    return int(np.random.SeedSequence([int(seed), int(n), int(r)]).generate_state(1)[0])


def run_grid(worker, jobs, processes=None, desc: str = "fits", progress: bool = True):
    """Run ``worker(job)`` for every ``(key, job)`` of ``jobs``; return ``({key: result}, seconds)``.

    ``worker`` must be a module-level function (it is sent to the worker processes). ``processes=1``
    runs in this process; otherwise ``processes`` workers (default: the number of CPUs) are forked on
    Linux (cheap, and a script needs no ``__main__`` guard) and spawned elsewhere.

    Examples
    --------
    >>> results, _ = run_grid(abs, [("a", -1), ("b", 2)], processes=1, progress=False)
    >>> results
    {'a': 1, 'b': 2}
    """
    from tqdm.auto import tqdm

    processes = processes or (os.cpu_count() or 2)
    results = {}
    start = time.perf_counter()
    with tqdm(total=len(jobs), desc=desc, disable=not show_progress(progress)) as bar:
        if processes == 1:
            for key, job in jobs:
                results[key] = worker(job)
                bar.update()
        else:
            method = "fork" if sys.platform.startswith("linux") else "spawn"
            with ProcessPoolExecutor(max_workers=processes, mp_context=multiprocessing.get_context(method)) as pool:
                futures = {pool.submit(worker, job): key for key, job in jobs}
                for fut in as_completed(futures):
                    results[futures[fut]] = fut.result()
                    bar.update()
    return results, time.perf_counter() - start


def show_progress(progress: bool = True) -> bool:
    """Whether to draw a progress bar: ``progress``, unless the environment variable ``TQDM_DISABLE``
    is set (the book build sets it, so that no bar frozen at 0% reaches a page).

    tqdm reads ``TQDM_DISABLE`` itself, but its notebook bar (``tqdm.auto`` in a kernel) does not.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"TQDM_DISABLE": "1"}):
    ...     show_progress(True)
    False
    """
    disabled = os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    return bool(progress) and not disabled


def source_hash() -> str:
    """SHA-256 of the source files of ``softlib.chapters.moe``: cached results from other code are never reused."""
    h = hashlib.sha256()
    for path in sorted(Path(__file__).parent.glob("*.py")):
        h.update(path.name.encode())
        h.update(path.read_bytes())
    return h.hexdigest()


CACHE_ENV = "SOFTLIB_CACHE_DIR"
"""The environment variable that names the folder of the simulation caches."""


def default_cache_dir() -> Path:
    """Where the studies cache their results: ``$SOFTLIB_CACHE_DIR`` when it is set and not empty;
    else ``<repository>/_build/moe-cache`` when run from the book's repository; else a user cache dir.

    Point ``SOFTLIB_CACHE_DIR`` at an empty or fresh folder to recompute everything (to time a clean
    run, say); delete the folder to clear the cache.

    Examples
    --------
    >>> from unittest import mock
    >>> with mock.patch.dict("os.environ", {"SOFTLIB_CACHE_DIR": "/tmp/fresh-cache"}):
    ...     print(default_cache_dir())
    /tmp/fresh-cache
    """
    chosen = os.environ.get(CACHE_ENV, "").strip()
    if chosen:
        return Path(chosen).expanduser()
    here = [Path.cwd(), *Path.cwd().parents, Path(__file__).resolve().parents[3]]  # softlib/chapters/moe/
    for root in here:
        if (root / "_toc.yml").is_file() and (root / "softlib" / "chapters" / "moe").is_dir():
            return root / "_build" / "moe-cache"
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "softlib" / "moe"


def cache_path(cache_dir, prefix: str, args: dict):
    """The cache file of a study with these JSON-serialisable ``args``, or None when ``cache_dir`` is None.

    The key hashes ``args`` and :func:`source_hash`, so a change to any argument or to the code
    recomputes. ``cache_dir="default"`` means :func:`default_cache_dir` (``$SOFTLIB_CACHE_DIR`` when set).
    """
    if cache_dir is None:
        return None
    key = hashlib.sha256(json.dumps({**args, "source": source_hash()}, sort_keys=True).encode()).hexdigest()
    return Path(default_cache_dir() if cache_dir == "default" else cache_dir) / f"{prefix}-{key[:24]}.pkl"


def load_cached(path):
    """The object cached at ``path``, or None when there is none (or ``path`` is None)."""
    if path is None or not path.is_file():
        return None
    with open(path, "rb") as fh:
        return pickle.load(fh)


def store_cached(path, obj) -> None:
    """Cache ``obj`` at ``path`` (nothing when ``path`` is None); atomic, so readers never see half a file."""
    if path is None:
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(f".{os.getpid()}.tmp")
    with open(tmp, "wb") as fh:
        pickle.dump(obj, fh)
    os.replace(tmp, path)
