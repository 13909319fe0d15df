"""Two steps of ``make book`` around ``jupyter-book build``.

``python tests/browser/book_build.py execute CACHE [--jobs N]``
    Executes the chapters of _toc.yml whose code changed since their last run, N at a time (one
    kernel each, in the chapter's folder, as the book build does), into the jupyter-cache that the
    build then reads, so that the build itself executes nothing. The cache knows only the chapters'
    code, so when softlib itself changed (its Python or C++ sources) every chapter runs again. A
    chapter that fails here is left out of the cache: the build executes it again and fails with its
    traceback.

``python tests/browser/book_build.py report CACHE``
    After the build: each page's execution time (as cached), its interactive figures with their
    redraw times (measured while their frames were rendered, see softlib.book.viz) and its weight.
"""

from __future__ import annotations

import argparse
import hashlib
import logging
import multiprocessing
import os
from pathlib import Path
import sys

import numpy as np

sys.path.insert(0, str(Path(__file__).parent))
from bookpages import ROOT, chapters, explorers, page_weight, pages  # noqa: E402


def softlib_fingerprint() -> str:
    """A hash of everything the chapters run besides their own code: softlib's sources."""
    files = sorted(p for pattern in ("softlib/**/*.py", "cpp/**/*", "CMakeLists.txt", "pyproject.toml")
                   for p in ROOT.glob(pattern) if p.is_file() and "__pycache__" not in p.parts)
    digest = hashlib.sha256()
    for path in files:
        digest.update(str(path.relative_to(ROOT)).encode() + b"\0" + path.read_bytes())
    return digest.hexdigest()


def _cache(path):
    from jupyter_cache import get_cache

    return get_cache(str(path))


def _run(data):
    from jupyter_cache.executors.basic import ExecutionWorkerLocalMProc

    return ExecutionWorkerLocalMProc()(data)


def execute(cache_path: Path, jobs: int, timeout: int) -> int:
    from jupyter_cache.cache.db import NbProjectRecord
    from jupyter_cache.executors.basic import ProcessData

    cache = _cache(cache_path)
    wanted = {str(page.source) for page in chapters()}
    for record in cache.list_project_records():  # chapters removed from the book
        if record.uri not in wanted:
            cache.remove_nb_from_project(record.pk)
    for uri in sorted(wanted - {r.uri for r in cache.list_project_records()}):
        cache.add_nb_to_project(uri)
    stamp = Path(cache_path) / "softlib.sha256"
    fingerprint = softlib_fingerprint()
    if stamp.exists() and stamp.read_text() != fingerprint:
        print("softlib changed since the chapters last ran: running every chapter again", flush=True)
        todo = cache.list_project_records()
    else:
        todo = cache.list_unexecuted()
    stamp.write_text(fingerprint)
    NbProjectRecord.remove_tracebacks([r.pk for r in todo], cache.db)
    for record in todo:  # a run on older softlib must not stand in for one that fails now
        cached = _cached_record(cache, record.uri)
        if cached is not None:
            cache.remove_cache(cached.pk)
    unchanged = " (the others are unchanged since their last run)" if len(todo) < len(wanted) else ""
    print(f"executing {len(todo)} of {len(wanted)} chapters, {jobs} at a time{unchanged}", flush=True)
    if not todo:
        return 0
    logging.basicConfig(level=logging.WARNING, format="%(message)s")
    os.environ.setdefault("TQDM_DISABLE", "1")  # no progress bars in the pages (`make book` sets it too)
    work = [ProcessData(r.pk, r.uri, cache, timeout, False) for r in todo]
    failed = []
    with multiprocessing.get_context("fork").Pool(min(jobs, len(work))) as pool:
        for status, uri in pool.imap_unordered(_run, work, chunksize=1):
            name = Path(uri).relative_to(Path.cwd()) if Path(uri).is_relative_to(Path.cwd()) else uri
            seconds = _seconds(cache, uri)
            took = f" in {seconds:.0f} s" if seconds is not None else ""
            print(f"  {'executed' if status == 0 else 'FAILED  '} {name}{took}", flush=True)
            if status:
                failed.append(uri)
    if failed:
        print(f"{len(failed)} chapter(s) failed; the book build runs them again and shows why", flush=True)
    return 0


def _cached_record(cache, uri):
    """The cache's record of the chapter's current code, or None."""
    try:
        return cache.get_cached_project_nb(uri)
    except Exception:  # not executed, or its file is unreadable
        return None


def _seconds(cache, uri) -> float | None:
    record = _cached_record(cache, uri)
    return None if record is None else record.data.get("execution_seconds")


def report(cache_path: Path) -> int:
    cache = _cache(cache_path)
    rows = []
    for page in pages():
        if not page.html.exists():
            continue
        seconds = _seconds(cache, str(page.source)) if page.is_notebook else None
        figures = explorers(page.html)
        p95 = max((float(f["redraw-p95-ms"]) for f in figures), default=None)
        over = " (over the 60 s budget)" if seconds is not None and seconds > 60 else ""
        rows.append((page.name, "-" if seconds is None else f"{seconds:.0f} s{over}",
                     f"{len(figures)}" + (f" (worst redraw p95 {p95:.0f} ms)" if figures else ""),
                     f"{page_weight(page) / 1e6:.2f} MB"))
    header = ("page", "execution", "interactive figures", "weight")
    widths = [max(len(str(r[i])) for r in [header, *rows]) for i in range(4)]
    for row in [header, *rows]:
        print("  ".join(str(c).ljust(w) for c, w in zip(row, widths)).rstrip())
    times = [float(f["redraw-p95-ms"]) for page in pages() if page.html.exists() for f in explorers(page.html)]
    if times:
        print(f"redraw p95 over the book's {len(times)} interactive figures: "
              f"median {np.median(times):.0f} ms, worst {max(times):.0f} ms (target: 100 ms)")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("step", choices=["execute", "report"])
    parser.add_argument("cache", type=Path)
    parser.add_argument("--jobs", type=int, default=2)
    parser.add_argument("--timeout", type=int, default=900, help="seconds a cell may run")
    args = parser.parse_args(argv)
    if args.step == "execute":
        return execute(args.cache, args.jobs, args.timeout)
    return report(args.cache)


if __name__ == "__main__":
    sys.exit(main())
