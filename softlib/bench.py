"""The benchmark of softlib's kernels: ``python -m softlib.bench`` (what ``make bench`` runs).

Measures, in one run on the machine at hand, float32:

- the large-copy bandwidth (bytes read + written per second), one thread and all threads;
- ns per element of every algorithm on every code path, one thread and all threads, for the shapes
  4096x128 (in cache), 4096x1024, 1024x32000 (an LLM vocabulary, out of cache) and 1x2^26 (one long row);
- the ratio of each to its memory roofline: the algorithm's bytes per element (three_pass 20,
  three_pass_recompute 16, two_pass and online 12, log_softmax 12, logsumexp 4) over the copy bandwidth;
- the price of the accuracy devices (the same kernels without TwoSum and double accumulation);
- the NumPy reference, ``scipy.special.softmax`` and ``torch.softmax`` (when PyTorch is importable);
- ``softmax_topk`` against ``softmax`` + ``np.argpartition`` + a sort, when softlib has it;
- the Python-side overhead per call (argument checks, dtype logic, allocation): the public function
  minus the bare kernel call on a preallocated output, at 1x8 (overhead alone) and 64x32.

Every figure is the median of repeated runs. It prints a table, then issue 3's targets as ratios
measured in this run, and writes everything to JSON (``build/bench.json`` unless ``--json``).
Timings on a shared or throttled machine are noisy: the targets are therefore also measured as
paired ratios (the two functions timed back to back, median of the per-repeat ratios), which cancels
most of the load's drift; ``--paired-only`` runs just those (a minute or two).
"""

from __future__ import annotations

import argparse
import json
import os
import pathlib
import platform
import statistics
import sys
import threading
import time

import numpy as np

import softlib
from softlib import _core as core

SHAPES = {"4096x128": (4096, 128), "4096x1024": (4096, 1024), "1024x32000": (1024, 32000),
          "1x2^26": (1, 1 << 26)}
BYTES_PER_ELEMENT = {"three_pass": 20, "three_pass_recompute": 16, "two_pass": 12, "online": 12,
                     "log_softmax": 12, "logsumexp": 4}


def median_time(fn, budget: float = 0.25, min_repeats: int = 3, max_repeats: int = 15) -> float:
    """Median wall time of ``fn()`` over repeats (one warm-up call first)."""
    start = time.perf_counter()
    fn()
    first = time.perf_counter() - start
    repeats = min_repeats if first > budget / min_repeats else max(min_repeats, min(max_repeats, int(budget / max(first, 1e-9))))
    times = []
    for _ in range(repeats):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def paired_ratio(slow, fast, repeats: int = 15) -> float:
    """Median over repeats of time(slow) / time(fast), the two timed back to back each repeat.

    On a shared machine the load changes from second to second; timing the two functions alternately
    and taking the median of the per-repeat ratios cancels most of it, where separate medians do not.
    """
    slow()
    fast()
    ratios = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        slow()
        t1 = time.perf_counter()
        fast()
        t2 = time.perf_counter()
        ratios.append((t1 - t0) / (t2 - t1))
    return statistics.median(ratios)


def paired_targets(all_threads: int) -> list[dict]:
    """Issue 3's targets measured as paired ratios (see :func:`paired_ratio`), float32, one thread."""
    try:
        import scipy.special as sps
    except ImportError:  # pragma: no cover
        sps = None
    try:
        import torch
        torch.set_num_threads(1)
    except ImportError:
        torch = None
    rng = np.random.default_rng(1)
    found = []

    def check(label, value, goal, higher=True):
        ok = value >= goal if higher else value <= goal
        found.append({"target": label, "measured": value, "goal": goal, "met": bool(ok), "paired": True})
        print(f"  {'met ' if ok else 'MISS'} {label}: {value:.2f} (goal {'>=' if higher else '<='} {goal})")
        sys.stdout.flush()

    print("paired targets (float32, one thread, ratio of back-to-back timings, median of 15):")
    for name in ("1024x32000", "4096x128"):
        x = rng.normal(scale=3.0, size=SHAPES[name]).astype(np.float32)
        y = np.empty_like(x)
        ours = lambda: softlib.softmax(x, out=y, threads=1)  # noqa: E731
        if torch is not None:
            tx = torch.from_numpy(x)
            check(f"{name}: torch.softmax / softlib.softmax", paired_ratio(lambda: torch.softmax(tx, -1), ours),
                4.0 if name == "1024x32000" else 2.5)
        if sps is not None and name == "1024x32000":
            check(f"{name}: scipy.special.softmax / softlib.softmax",
                  paired_ratio(lambda: sps.softmax(x, axis=-1), ours, repeats=7), 5.0)
        for what in ("log_softmax", "logsumexp"):
            fn = getattr(softlib, what)
            kw = {"out": y} if what == "log_softmax" else {}
            check(f"{name}: {what} / softmax", paired_ratio(lambda: fn(x, threads=1, **kw), ours), 1.2, higher=False)
        if name == "1024x32000":
            for algorithm in ("three_pass", "three_pass_recompute", "two_pass", "online"):
                r = paired_ratio(lambda: softlib.softmax(x, out=y, threads=1, algorithm=algorithm),
                                 lambda: core.softmax_plain(x, y, core.algorithms().index(algorithm), 1, ""))
                found.append({"target": f"{name} {algorithm}: accurate / plain", "measured": r, "goal": None,
                              "met": None, "paired": True})
                print(f"  info {name} {algorithm}: accurate / plain (price of the accuracy devices) = {r:.2f}")
    x = rng.normal(scale=3.0, size=SHAPES["1x2^26"]).astype(np.float32)
    y = np.empty_like(x)
    for path in softlib.isas()[1:] or softlib.isas():
        check(f"1x2^26 {path}: three_pass / two_pass", paired_ratio(
            lambda: core.softmax(x, y, 0, 1, path), lambda: core.softmax(x, y, 2, 1, path), repeats=7), 1.15)
    del x, y
    x = rng.normal(scale=3.0, size=SHAPES["4096x1024"]).astype(np.float32)
    y = np.empty_like(x)
    if all_threads > 1:
        check(f"4096x1024: 1 thread / {all_threads} threads", paired_ratio(
            lambda: softlib.softmax(x, out=y, threads=1), lambda: softlib.softmax(x, out=y, threads=all_threads)), 1.7)
    return found


def copy_bandwidth(threads: int, nbytes: int = 1 << 28) -> float:
    """Bytes moved (read + written) per second by a large copy on ``threads`` threads."""
    src = np.ones(nbytes, dtype=np.uint8)
    dst = np.empty_like(src)
    parts = np.array_split(np.arange(nbytes), threads)
    bounds = [(int(p[0]), int(p[-1]) + 1) for p in parts]

    def run():
        if threads == 1:
            np.copyto(dst, src)
            return
        workers = [threading.Thread(target=np.copyto, args=(dst[a:b], src[a:b])) for a, b in bounds]
        for w in workers:
            w.start()
        for w in workers:
            w.join()

    return 2 * nbytes / median_time(run, budget=1.0, min_repeats=5)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--shapes", nargs="*", default=list(SHAPES), choices=list(SHAPES))
    parser.add_argument("--paths", nargs="*", default=softlib.isas())
    parser.add_argument("--json", default=None, help="where to write the results (default build/bench.json)")
    parser.add_argument("--no-third-party", action="store_true", help="skip NumPy reference, SciPy, PyTorch")
    parser.add_argument("--paired-only", action="store_true", help="only the paired-ratio targets (quick)")
    args = parser.parse_args(argv)
    if args.paired_only:
        python_overhead()
        found = paired_targets(core.cpu_count())
        out = pathlib.Path(args.json) if args.json else pathlib.Path("build") / "bench_paired.json"
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps({"load_average": os.getloadavg(), "targets": found}, indent=1))
        return 0

    all_threads = core.cpu_count()
    results = {"machine": {"platform": platform.platform(), "processor": platform.processor(),
                           "cpu_count": all_threads, "isa": softlib.isa(), "isas": softlib.isas(),
                           "load_average": os.getloadavg()}, "bandwidth": {}, "rows": []}
    bw = {1: copy_bandwidth(1), all_threads: copy_bandwidth(all_threads)}
    results["bandwidth"] = {str(k): v for k, v in bw.items()}
    print(f"softlib.bench on {platform.processor() or platform.machine()}, {all_threads} threads, active path "
          f"{softlib.isa()}, load average {os.getloadavg()[0]:.1f}")
    print(f"large-copy bandwidth: {bw[1] / 1e9:.1f} GB/s (1 thread), {bw[all_threads] / 1e9:.1f} GB/s "
          f"({all_threads} threads)")

    try:
        import scipy.special as sps
    except ImportError:  # pragma: no cover
        sps = None
    try:
        import torch
    except ImportError:
        torch = None

    def record(shape, what, path, algorithm, threads, seconds, n_elements, bytes_per_element=None):
        ns = seconds / n_elements * 1e9
        roofline = bytes_per_element / bw[threads] * 1e9 if bytes_per_element else None
        row = {"shape": shape, "what": what, "path": path, "algorithm": algorithm, "threads": threads,
               "ns_per_element": ns, "roofline_ns": roofline, "ratio_to_roofline": ns / roofline if roofline else None}
        results["rows"].append(row)
        roof = f"{ns / roofline:6.2f}" if roofline else "     -"
        print(f"{shape:>11} {what:<12} {path:<9} {algorithm:<21} {threads:>2} {ns:9.3f} {roof}")
        sys.stdout.flush()
        return ns

    print(f"{'shape':>11} {'function':<12} {'path':<9} {'algorithm':<21} {'th':>2} {'ns/elem':>9} {'x roof':>6}")
    rng = np.random.default_rng(0)
    for name in args.shapes:
        shape = SHAPES[name]
        x = rng.normal(scale=3.0, size=shape).astype(np.float32)
        y = np.empty_like(x)
        lse = np.empty(shape[0], np.float32)
        n = x.size
        for path in args.paths:
            for a, algorithm in enumerate(core.algorithms()):
                for threads in sorted({1, all_threads}):
                    t = median_time(lambda: core.softmax(x, y, a, threads, path))
                    record(name, "softmax", path, algorithm, threads, t, n, BYTES_PER_ELEMENT[algorithm])
            for a, algorithm in enumerate(core.algorithms()):
                t = median_time(lambda: core.softmax_plain(x, y, a, 1, path))
                record(name, "plain", path, algorithm, 1, t, n, BYTES_PER_ELEMENT[algorithm])
        for threads in sorted({1, all_threads}):
            t = median_time(lambda: softlib.softmax(x, out=y, threads=threads))
            record(name, "softmax", softlib.isa(), "auto", threads, t, n, BYTES_PER_ELEMENT[
                softlib.ops.auto_algorithm(shape[1], shape[0], np.float32)])
            t = median_time(lambda: softlib.log_softmax(x, out=y, threads=threads))
            record(name, "log_softmax", softlib.isa(), "auto", threads, t, n, BYTES_PER_ELEMENT["log_softmax"])
            t = median_time(lambda: core.logsumexp(x, lse, threads))
            record(name, "logsumexp", softlib.isa(), "online", threads, t, n, BYTES_PER_ELEMENT["logsumexp"])
        if hasattr(softlib, "softmax_topk") and shape == (1024, 32000):
            for k in (1, 5, 16):
                t = median_time(lambda: softlib.softmax_topk(x, k, threads=1))
                record(name, f"topk k={k}", softlib.isa(), "fused", 1, t, n)

                def unfused():
                    p = softlib.softmax(x, threads=1)
                    idx = np.argpartition(-p, k - 1, axis=-1)[:, :k]
                    vals = np.take_along_axis(p, idx, -1)
                    order = np.argsort(-vals, axis=-1, kind="stable")
                    return np.take_along_axis(vals, order, -1), np.take_along_axis(idx, order, -1)

                t = median_time(unfused)
                record(name, f"unfused k={k}", "numpy", "softmax+argpartition", 1, t, n)
        if not args.no_third_party:
            t = median_time(lambda: softlib.reference.softmax(x), min_repeats=3, max_repeats=5)
            record(name, "reference", "numpy", "float64", 1, t, n)
            if sps is not None:
                t = median_time(lambda: sps.softmax(x, axis=-1), min_repeats=3, max_repeats=7)
                record(name, "scipy", "numpy", "softmax", 1, t, n)
            if torch is not None:
                tx = torch.from_numpy(x)
                for threads in sorted({1, all_threads}):
                    torch.set_num_threads(threads)
                    t = median_time(lambda: torch.softmax(tx, -1))
                    record(name, "torch", "torch", "softmax", threads, t, n, 24)
                    t = median_time(lambda: torch.log_softmax(tx, -1))
                    record(name, "torch_log", "torch", "log_softmax", threads, t, n)
        x = y = None  # free the arrays before the next shape

    results["python_overhead_us"] = python_overhead()
    results["targets"] = targets(results["rows"], all_threads) + paired_targets(all_threads)
    out = pathlib.Path(args.json) if args.json else pathlib.Path("build") / "bench.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(results, indent=1))
    print(f"results written to {out}")
    return 0


def python_overhead(repeats: int = 9, number: int = 2000) -> dict:
    """Per-call microseconds of softlib.softmax / logsumexp and of the bare kernel call (preallocated
    output), interleaved, medians: the difference is the Python-side overhead (issue 14)."""
    out = {}
    for shape in ((1, 8), (64, 32)):
        x = np.random.default_rng(0).normal(size=shape).astype(np.float32)
        y, lse = np.empty_like(x), np.empty(shape[0], np.float32)
        fns = {"softlib.softmax": lambda: softlib.softmax(x), "kernel softmax": lambda: core.softmax(x, y, 0, 1),
               "softlib.logsumexp": lambda: softlib.logsumexp(x), "kernel logsumexp": lambda: core.logsumexp(x, lse, 1)}
        times = {k: [] for k in fns}
        for _ in range(repeats):
            for k, f in fns.items():
                t = time.perf_counter()
                for _ in range(number):
                    f()
                times[k].append((time.perf_counter() - t) / number * 1e6)
        med = {k: statistics.median(v) for k, v in times.items()}
        name = f"{shape[0]}x{shape[1]}"
        out[name] = med
        print(f"python overhead {name:>6}: softmax {med['softlib.softmax']:.2f} us a call "
              f"(kernel {med['kernel softmax']:.2f}: overhead {med['softlib.softmax'] - med['kernel softmax']:.2f} us); "
              f"logsumexp {med['softlib.logsumexp']:.2f} (kernel {med['kernel logsumexp']:.2f})")
    return out


def targets(rows, all_threads):
    """Issue 3's performance targets, as ratios measured in this run (float32, one thread)."""

    def ns(shape, what, path=None, algorithm=None, threads=1):
        for r in rows:
            if (r["shape"], r["what"], r["threads"]) == (shape, what, threads) and \
                    (path is None or r["path"] == path) and (algorithm is None or r["algorithm"] == algorithm):
                return r["ns_per_element"], r
        return None, None

    found = []

    def check(label, value, goal, higher_is_better=True):
        if value is None:
            return
        ok = value >= goal if higher_is_better else value <= goal
        found.append({"target": label, "measured": value, "goal": goal, "met": bool(ok)})
        print(f"  {'met ' if ok else 'MISS'} {label}: {value:.2f} (goal {'>=' if higher_is_better else '<='} {goal})")

    print("targets (float32, one thread unless stated; ratios from this run):")
    active = softlib.isa()
    auto, auto_row = ns("1024x32000", "softmax", active, "auto")
    torch_ns, _ = ns("1024x32000", "torch")
    scipy_ns, _ = ns("1024x32000", "scipy")
    if auto is not None:
        if torch_ns:
            check("1024x32000: torch.softmax time / softlib.softmax time", torch_ns / auto, 4.0)
        if scipy_ns:
            check("1024x32000: scipy.special.softmax time / softlib.softmax time", scipy_ns / auto, 5.0)
        roof12 = [r for r in rows if r["shape"] == "1024x32000" and r["algorithm"] == "two_pass" and r["threads"] == 1]
        if roof12:
            check("1024x32000: softlib.softmax time / Two-Pass roofline (12 B/elem / copy bandwidth)",
                  auto / roof12[0]["roofline_ns"], 1.3, higher_is_better=False)
    small, _ = ns("4096x128", "softmax", active, "auto")
    torch_small, _ = ns("4096x128", "torch")
    if small and torch_small:
        check("4096x128: torch.softmax time / softlib.softmax time", torch_small / small, 2.5)
    for shape in ("1024x32000", "1x2^26"):
        for path in softlib.isas():
            three, _ = ns(shape, "softmax", path, "three_pass")
            two, _ = ns(shape, "softmax", path, "two_pass")
            if three and two:
                check(f"{shape} {path}: three_pass time / two_pass time", three / two, 1.15)
    for shape in ("4096x1024", "1024x32000"):
        sm, _ = ns(shape, "softmax", active, "auto")
        for what in ("log_softmax", "logsumexp"):
            other, _ = ns(shape, what, active)
            if sm and other:
                check(f"{shape}: {what} time / softmax time", other / sm, 1.2, higher_is_better=False)
    one, _ = ns("4096x1024", "softmax", active, "auto", 1)
    many, _ = ns("4096x1024", "softmax", active, "auto", all_threads)
    if one and many and all_threads > 1:
        check(f"4096x1024: 1 thread time / {all_threads} threads time", one / many, 1.7)
    for shape in ("1024x32000", "4096x128"):
        for algorithm in ("three_pass", "two_pass", "online"):
            acc, _ = ns(shape, "softmax", active, algorithm)
            plain, _ = ns(shape, "plain", active, algorithm)
            if acc and plain:
                found.append({"target": f"{shape} {algorithm}: cost of the accuracy devices (time ratio)",
                              "measured": acc / plain, "goal": None, "met": None})
                print(f"  info {shape} {active} {algorithm}: accurate / plain time = {acc / plain:.2f}")
    for k in (1, 5, 16):
        fused, _ = ns("1024x32000", f"topk k={k}")
        unfused, _ = ns("1024x32000", f"unfused k={k}")
        if fused and unfused:
            check(f"1024x32000 k={k}: unfused time / softmax_topk time", unfused / fused, 3.0)
    return found


if __name__ == "__main__":
    raise SystemExit(main())
