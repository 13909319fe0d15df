"""The blockwise attention kernel against the full-matrix references:
``python -m softlib.book.attention_bench``.

At n = m = 4096, d = dv = 64 (by default), float32, non-causal and causal, it times

- ``blockwise_attention`` (softlib's C++ kernel, the active code path, every thread);
- the NumPy full-matrix reference ``attention(kind="softmax")``, which forms the (n, m) score matrix;
- ``torch.nn.functional.scaled_dot_product_attention`` on the CPU, when PyTorch is importable;

and measures each one's **peak extra memory**: the growth of the process's peak resident set size while
it runs, in a fresh subprocess per method, above the inputs already allocated (so allocations NumPy's
``tracemalloc`` cannot see, the kernel's C++ scratch and PyTorch's, are counted too). Every time is the
median of repeated runs. It prints a table and the ratios to the kernel, and returns the results.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

__all__ = ["METHODS", "torch_available", "measure", "main"]

METHODS = ("blockwise", "numpy", "torch")

_CHILD = r"""
import json, resource, statistics, sys, time
import numpy as np
method, n, d, dtype, causal, repeats = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], \
    sys.argv[5] == "1", int(sys.argv[6])
if method == "torch":
    import torch
    import torch.nn.functional as F
from softlib.attention import attention, blockwise_attention
rng = np.random.default_rng(0)
q, k, v = (rng.standard_normal(size=(n, d), dtype=dtype) for _ in range(3))  # no temporaries
if method == "torch":
    tq, tk, tv = (torch.from_numpy(a)[None] for a in (q, k, v))
    run = lambda: F.scaled_dot_product_attention(tq, tk, tv, is_causal=causal)
elif method == "numpy":
    run = lambda: attention(q, k, v, causal=causal)
else:
    run = lambda: blockwise_attention(q, k, v, causal=causal)
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
times = []
for _ in range(repeats):
    t = time.perf_counter()
    out = run()
    times.append(time.perf_counter() - t)
    del out
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"seconds": statistics.median(times), "peak_extra_bytes": (peak - base) * 1024}))
"""


def torch_available() -> bool:
    """Whether PyTorch can be imported (in a subprocess, so this process does not load it).

    Examples
    --------
    >>> isinstance(torch_available(), bool)
    True
    """
    r = subprocess.run([sys.executable, "-c", "import torch"], capture_output=True)
    return r.returncode == 0


def measure(method: str, n: int = 4096, d: int = 64, *, dtype: str = "float32", causal: bool = False,
            repeats: int = 5) -> dict:
    """Median time and peak extra memory of one method, in a fresh Python process.

    Parameters
    ----------
    method : {"blockwise", "numpy", "torch"}
    n, d : int
        Queries = keys = n, features d (values too).
    dtype : {"float32", "float64"}
    causal : bool
    repeats : int
        Runs timed (the median is reported).

    Returns
    -------
    dict
        ``seconds`` and ``peak_extra_bytes``.

    Examples
    --------
    >>> r = measure("blockwise", 64, 8, repeats=1)
    >>> sorted(r)
    ['peak_extra_bytes', 'seconds']
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}: use one of {METHODS}")
    r = subprocess.run([sys.executable, "-c", _CHILD, method, str(n), str(d), dtype, "1" if causal else "0",
                        str(repeats)], capture_output=True, text=True, env=dict(os.environ))
    if r.returncode != 0:
        raise RuntimeError(f"benchmark of {method} failed:\n{r.stderr}")
    return json.loads(r.stdout.strip().splitlines()[-1])


def main(argv=None) -> dict:
    """Run the benchmark and print its table; returns the results (also written as JSON with ``--json``)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--n", type=int, default=4096)
    parser.add_argument("--d", type=int, default=64)
    parser.add_argument("--dtype", default="float32", choices=["float32", "float64"])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--json", default=None, help="write the results here")
    args = parser.parse_args(argv)
    import softlib

    methods = ["blockwise", "numpy"] + (["torch"] if torch_available() else [])
    results = {"n": args.n, "d": args.d, "dtype": args.dtype, "isa": softlib.isa(),
               "load_average": os.getloadavg(), "rows": []}
    print(f"blockwise attention at n = m = {args.n}, d = dv = {args.d}, {args.dtype}, path {softlib.isa()}, "
          f"load average {os.getloadavg()[0]:.1f}")
    print(f"{'causal':>7} {'method':>10} {'time (ms)':>10} {'peak extra (MiB)':>17} {'time / kernel':>14} "
          f"{'memory / kernel':>16}")
    for causal in (False, True):
        got = {m: measure(m, args.n, args.d, dtype=args.dtype, causal=causal, repeats=args.repeats)
               for m in methods}
        ref = got["blockwise"]
        for m in methods:
            r = got[m]
            mem_ratio = r["peak_extra_bytes"] / max(ref["peak_extra_bytes"], 1)
            row = {"causal": causal, "method": m, **r, "time_ratio": r["seconds"] / ref["seconds"],
                   "memory_ratio": mem_ratio}
            results["rows"].append(row)
            print(f"{str(causal):>7} {m:>10} {1e3 * r['seconds']:>10.1f} {r['peak_extra_bytes'] / 2**20:>17.1f} "
                  f"{row['time_ratio']:>14.2f} {mem_ratio:>16.1f}")
    if "torch" not in methods:
        print("(PyTorch is not importable: its scaled_dot_product_attention was skipped)")
    score_mib = args.n * args.n * (4 if args.dtype == "float32" else 8) / 2**20
    print(f"(one (n, m) score matrix in {args.dtype}: {score_mib:.0f} MiB; the output alone: "
          f"{args.n * args.d * (4 if args.dtype == 'float32' else 8) / 2**20:.1f} MiB)")
    if args.json:
        with open(args.json, "w") as f:
            json.dump(results, f, indent=1)
    return results


if __name__ == "__main__":  # pragma: no cover
    main()
