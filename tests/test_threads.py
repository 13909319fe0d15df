"""The persistent thread pool (cpp/threads.cpp): many Python threads calling at once, with every
threads= value, get bit-for-bit the results of the same calls made one at a time."""

import os
import subprocess
import sys
import threading

import numpy as np
import pytest

import softlib
from softlib import _core as core

THREADS = [None, 1, 2, 3, 4, 8]


def calls(x_rows, x_long):
    """(name, function) pairs covering the row-parallel and the split-row paths of each entry point."""
    out = []
    for name, x in (("rows", x_rows), ("long row", x_long)):
        for t in THREADS:
            out += [
                (
                    f"softmax {name} t={t}",
                    lambda x=x, t=t: softlib.softmax(x, threads=t),
                ),
                (
                    f"log_softmax {name} t={t}",
                    lambda x=x, t=t: softlib.log_softmax(x, threads=t),
                ),
                (
                    f"logsumexp {name} t={t}",
                    lambda x=x, t=t: softlib.logsumexp(x, threads=t),
                ),
                (
                    f"stablemax {name} t={t}",
                    lambda x=x, t=t: softlib.stablemax(x, threads=t),
                ),
                (
                    f"topk {name} t={t}",
                    lambda x=x, t=t: softlib.softmax_topk(x, 5, threads=t)[0],
                ),
            ]
    return out


def test_concurrent_calls_equal_sequential_ones():
    rng = np.random.default_rng(0)
    x_rows = rng.normal(0, 3, (64, 4099)).astype(np.float32)
    x_long = rng.normal(0, 3, (1, 1 << 17))
    todo = calls(x_rows, x_long)
    expected = {name: f() for name, f in todo}
    errors = []

    def worker(seed):
        order = np.random.default_rng(seed).permutation(len(todo))
        for i in order[:40]:
            name, f = todo[i]
            if not np.array_equal(f(), expected[name]):
                errors.append(name)

    workers = [threading.Thread(target=worker, args=(s,)) for s in range(12)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert not errors, sorted(set(errors))


def test_pool_uses_the_allowed_cpus():
    """threads=None uses the CPUs the process may run on (affinity), not the machine's count."""
    if not hasattr(os, "sched_getaffinity"):
        pytest.skip("no sched_getaffinity on this platform")
    assert core.cpu_count() <= len(os.sched_getaffinity(0))
    if len(os.sched_getaffinity(0)) < 2:
        pytest.skip("one CPU: nothing to restrict")
    code = "import os; os.sched_setaffinity(0, {min(os.sched_getaffinity(0))}); from softlib import _core; print(_core.cpu_count())"
    r = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "1"


def test_pool_survives_fork():
    if not hasattr(os, "fork"):
        pytest.skip("no fork")
    x = np.random.default_rng(1).normal(size=(4, 1 << 17))
    want = softlib.softmax(x, threads=2)  # the parent's pool is running
    code = (
        "import os, numpy as np, softlib\n"
        "x = np.random.default_rng(1).normal(size=(4, 1 << 17))\n"
        "a = softlib.softmax(x, threads=2)\n"
        "pid = os.fork()\n"
        "if pid == 0:\n"
        "    b = softlib.softmax(x, threads=2)\n"
        "    os._exit(0 if np.array_equal(a, b) else 3)\n"
        "_, status = os.waitpid(pid, 0)\n"
        "print(os.waitstatus_to_exitcode(status))\n"
    )
    r = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120
    )
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "0"
    assert np.array_equal(softlib.softmax(x, threads=2), want)
