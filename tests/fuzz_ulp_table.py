"""Max ULP error of every function x algorithm x code path x dtype on seeded random rows.

Not collected by pytest (the hypothesis fuzz is tests/test_fuzz.py); run it to print the table that
issue 15 quotes, before and after a change, with the public API only (so it runs on any version)::

    python tests/fuzz_ulp_table.py [--rows 300] [--json out.json]

Each code path runs in its own process (``SOFTLIB_ISA``). Errors are in ULP of the exact value
itself (never relative to max(|y|, 1)), with the exact value from np.longdouble, or from mpmath
where long double is not enough (a logsumexp near 0 from cancellation, long double input); the
worst row of each cell is re-checked with mpmath at 50 digits when mpmath is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys

import numpy as np

from softlib.testing import _mp_to_longdouble, to_mpf

FUNCS = ("softmax", "log_softmax", "logsumexp")
ALGS = ("three_pass", "three_pass_recompute", "two_pass", "online", "reference")


def ulp_of(exact, dtype):
    """ULP of |exact| in dtype, subnormal spacing below the smallest normal (exact 0 included)."""
    info = np.finfo(dtype)
    mag = np.abs(np.asarray(exact, np.longdouble))
    tiny = np.longdouble(info.smallest_normal)
    e = np.floor(np.log2(np.maximum(mag, tiny)))
    return np.exp2(e - info.nmant)


def ulp_err(y, exact, dtype):
    y = np.asarray(y, np.longdouble)
    exact = np.asarray(exact, np.longdouble)
    both_inf = np.isinf(y) & np.isinf(exact) & (np.sign(y) == np.sign(exact))
    with np.errstate(invalid="ignore", over="ignore"):
        err = np.abs(y - exact) / ulp_of(exact, dtype)
    err = np.where(both_inf, 0, err)
    return np.where(np.isnan(err), np.inf, err).astype(np.float64)


def exact_ld(x):
    """(softmax, log_softmax, logsumexp) of one row, in long double, accurate in relative terms."""
    xl = np.asarray(x, np.longdouble)
    i = int(np.argmax(xl))
    m = xl[i]
    z = xl - m
    e = np.exp(z)
    t = e.sum() - e[i] if e.size < 2 else np.concatenate([e[:i], e[i + 1:]]).sum()  # all but the max
    log_d = np.log1p(t)
    return e / (1 + t), z - log_d, m + log_d


def exact_mp(x, dps=50):
    import mpmath

    with mpmath.workdps(dps):
        xs = [to_mpf(v) for v in np.asarray(x)]
        i = max(range(len(xs)), key=lambda j: xs[j])
        m = xs[i]
        es = [mpmath.exp(v - m) for v in xs]
        t = mpmath.fsum(es[:i] + es[i + 1:])  # the terms but the max's: log1p keeps them
        d = 1 + t
        log_d = mpmath.log1p(t)
        lse = m + log_d

        return (np.array([_mp_to_longdouble(v / d) for v in es], np.longdouble),
                np.array([_mp_to_longdouble((v - m) - log_d) for v in xs], np.longdouble), _mp_to_longdouble(lse))


def gen_row(rng, dtype):
    """A row from one of several families that stress different parts of the kernels."""
    big = 80.0 if dtype == np.float32 else 700.0
    kind = rng.integers(9)
    n = int(rng.choice([1, 2, 3, 5, 8, 17, 33, 64, 100, 257, 1000, 4099]))
    if kind == 0:
        x = rng.normal(0, 3, n)
    elif kind == 1:  # large logits: log_softmax loses log d in m + log d
        x = rng.normal(0, 1, n) * 10.0 ** rng.uniform(0, 30 if dtype == np.float32 else 300)
    elif kind == 2:  # a large offset
        x = rng.uniform(-5, 5, n) + rng.choice([-1, 1]) * 10.0 ** rng.uniform(1, 8)
    elif kind == 3:  # one dominant entry: logsumexp and the max's log-probability near 0
        x = rng.uniform(-1.2 * big, -20, n)
        x[rng.integers(n)] = rng.uniform(-1, 1) if rng.random() < 0.5 else 0.0
    elif kind == 4:  # subnormal outputs
        x = rng.uniform(-1.07 * big, 0, n)
        x[0] = 0.0
    elif kind == 5:  # ties
        x = np.full(n, rng.normal(0, 100))
    elif kind == 6:  # long row for the online and two_pass kernels' auto choice
        n = int(rng.integers(20_000, 70_000))
        x = rng.normal(-1000, 1, n)
        x[: rng.integers(1, 4)] = rng.uniform(0, 40)
    elif kind == 7:
        x = rng.uniform(-30, 30, n)
    else:  # logsumexp near 0 with the max at 0 (SciPy's gh-18295: the log-sigmoid idiom)
        x = rng.uniform(-0.9 * big, -10, n)
        x[rng.integers(n)] = 0.0
    return np.asarray(x, dtype)


def measure(rows: int, seed: int) -> dict:
    import softlib

    path = softlib.isa()
    res: dict[str, float] = {}
    worst_rows: dict[str, np.ndarray] = {}
    dtypes = [np.float32, np.float64, np.longdouble]
    for dtype in dtypes:
        rng = np.random.default_rng(seed)
        for _ in range(rows if dtype != np.longdouble else rows // 5):
            x = gen_row(rng, dtype)
            if dtype == np.longdouble:
                x = x + np.asarray(rng.normal(0, 1, x.size) * 2.0**-60, np.longdouble) * np.abs(x)
                if x.size > 2000:
                    continue
                sm, lsm, lse = exact_mp(x, 40)
            else:
                sm, lsm, lse = exact_ld(x)
                if abs(lse) < 2.0**-8 * max(1.0, abs(float(x.max()))):
                    _, _, lse = exact_mp(x, 60)
            for func in FUNCS:
                exact = {"softmax": sm, "log_softmax": lsm, "logsumexp": lse}[func]
                for alg in (ALGS if func != "logsumexp" else ("auto",)):
                    key = f"{func}|{alg}|{np.dtype(dtype).name}"
                    try:
                        with np.errstate(all="ignore"):
                            if func == "logsumexp":
                                y = softlib.logsumexp(x, axis=-1)
                            else:
                                y = getattr(softlib, func)(x, axis=-1, algorithm=alg)
                        err = float(ulp_err(y, exact, dtype).max())
                    except Exception as exc:  # a clear refusal is recorded as such
                        err = -1.0
                        res.setdefault(key + "|error", str(exc)[:80])
                    if err > res.get(key, -2.0):
                        res[key] = err
                        worst_rows[key] = x
    # Re-check the worst rows with mpmath.
    try:
        import mpmath  # noqa: F401
    except ImportError:
        return {"path": path, "max_ulp": res, "mp_checked": False}
    checked = {}
    for key, x in worst_rows.items():
        func, alg, dname = key.split("|")
        if x.size > 5000 or res[key] <= 0:
            continue
        sm, lsm, lse = exact_mp(x, 50)
        exact = {"softmax": sm, "log_softmax": lsm, "logsumexp": lse}[func]
        with np.errstate(all="ignore"):
            y = softlib.logsumexp(x, axis=-1) if func == "logsumexp" else \
                getattr(softlib, func)(x, axis=-1, algorithm=alg)
        checked[key] = float(ulp_err(y, exact, x.dtype).max())
    return {"path": path, "max_ulp": res, "mp_checked": checked}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=300)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--json")
    ap.add_argument("--child", action="store_true")
    ap.add_argument("--runner", help="a script that runs its argument against another build (for 'before')")
    args = ap.parse_args()
    if args.child:
        print(json.dumps(measure(args.rows, args.seed)))
        return
    import softlib

    out = {}
    for path in softlib.isas():
        env = dict(os.environ, SOFTLIB_ISA=path)
        prefix = [sys.executable] + ([args.runner] if args.runner else [])
        r = subprocess.run(prefix + [__file__, "--child", "--rows", str(args.rows), "--seed",
                            str(args.seed)], env=env, capture_output=True, text=True, check=True)
        out[path] = json.loads(r.stdout.strip().splitlines()[-1])
    table = {}
    for path, r in out.items():
        for key, v in r["max_ulp"].items():
            if key.endswith("|error"):
                continue
            mp = (r["mp_checked"] or {}).get(key, v) if r["mp_checked"] else v
            table.setdefault(key, {})[path] = mp
    print(f"{'function':<12} {'algorithm':<21} {'dtype':<11} " + " ".join(f"{p:>10}" for p in out))
    for key in sorted(table):
        f, a, d = key.split("|")
        print(f"{f:<12} {a:<21} {d:<11} " + " ".join(
            f"{table[key].get(p, float('nan')):>10.3g}" for p in out))
    if args.json:
        with open(args.json, "w") as fh:
            json.dump({"table": table, "raw": out}, fh, indent=1)


if __name__ == "__main__":
    main()
