"""The compiled kernels of every code path and algorithm: sizes around each kernel's tile, inputs that
overflow without the max subtraction, non-finite rows, no access past the caller's buffer, threads."""

import ctypes
import mmap

import numpy as np
import pytest
import scipy.special

import softlib
from softlib import _core as core
from softlib import _core_testing as core_testing
from softlib import reference
from softlib.testing import exact_softmax as _exact3
from softlib.testing import ulp_error

PATHS = softlib.isas()


def exact_softmax(x):
    return _exact3(x)[0]

ALGORITHMS = core.algorithms()
DTYPES = [np.float32, np.float64]
LANES = {"portable": 1, "avx2": 8, "avx512": 16}  # float lanes; double has half
# Tiles: main loops take 2 vectors (4 in rmax); sizes around 1, 2 and 4 vectors and their multiples.
SIZES = sorted({1, 2, 3, 5, 7, 8, 9, 15, 16, 17, 31, 32, 33, 47, 48, 49, 63, 64, 65, 95, 96, 97,
                127, 128, 129, 191, 192, 193, 255, 256, 257, 1000, 4099})


def run(op, x, algorithm, path, threads=1):
    y = np.empty_like(x)
    getattr(core, op)(x, y, ALGORITHMS.index(algorithm), threads, path)
    return y


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("algorithm", ALGORITHMS)
def test_softmax_sizes_around_the_tile(path, dtype, algorithm):
    rng = np.random.default_rng(7)
    for n in SIZES:
        x = rng.uniform(90, 100, size=(2, n)).astype(dtype)  # exp(x) overflows float32: max is needed
        y = run("softmax", x, algorithm, path)
        err = ulp_error(y, exact_softmax(x), dtype).max()
        assert err <= 3, (n, err)
        lsm = run("log_softmax", x, algorithm, path)
        exact = _exact3(x)[1]  # in ULP of the value itself (issue 15)
        assert ulp_error(lsm, exact, dtype).max() <= 3, n


# The AVX-512 double vector log (microkernels.h, Log), which the short float32 rows' log-normalisers
# take a block of rows at a time: within 1 ULP of the exact log (long double) from 2^-1022 to 2^1023,
# near 1 (where log m = log1p(f) must keep f's bits), and at the sqrt 2 fold of the mantissa. Its
# derivation gives about 0.5 ULP of rounding plus the series' 2^-58: measured 0.84.
@pytest.mark.skipif("avx512" not in PATHS, reason="the vector log is AVX-512's")
def test_vector_log_within_one_ulp():
    rng = np.random.default_rng(21)
    fold = np.nextafter(np.sqrt(2.0), 0) + np.arange(-4000, 4000) * 2.0**-52
    x = np.concatenate([2.0 ** rng.uniform(-1022, 1023, 400_000),
                        1 + rng.uniform(-0.5, 0.5, 200_000) * 10.0 ** rng.integers(-15, 0, 200_000),
                        fold, [2.0**-1022, 1.0, 2.0, 0.5, np.finfo(float).max]])
    y = core_testing.vector_log(x)
    exact = np.log(x.astype(np.longdouble))
    assert ulp_error(y, exact, np.float64).max() <= 1.0
    assert y[-4] == 0.0


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_row_max_logsumexp_and_exp_sizes(path, dtype):
    rng = np.random.default_rng(8)
    for n in SIZES:
        x = rng.normal(scale=3.0, size=n).astype(dtype)
        assert core_testing.row_max(x, path) == x.max()
        x[rng.integers(n)] = 1e4  # a max anywhere
        assert core_testing.row_max(x, path) == x.max()
        lse = np.empty(1, dtype)
        core.logsumexp(x[None, :], lse, 1, path)
        exact = reference.logsumexp(x.astype(np.longdouble)[None, :])
        assert ulp_error(lse, exact, dtype, floor=1.0).max() <= 3
        z = -np.abs(x)[: min(n, 100)] / 10
        np.testing.assert_allclose(core_testing.exp(z, path), np.exp(z.astype(np.float64)), rtol=3e-7 if dtype == np.float32 else 1e-15)


NON_FINITE_ROWS = [
    [1.0, np.inf], [np.inf, np.inf], [-np.inf, -np.inf], [1.0, -np.inf], [-np.inf, 1.0], [np.nan, 1.0],
    [1.0, np.nan], [np.inf, -np.inf], [np.nan, np.inf], [-np.inf, 2.0, -np.inf, 3.0], [-np.inf],
    [np.inf], [np.nan], [5.0], [-1e30, 0.0], [1e30, 0.0], [3e38, -3e38], [-3000.0, -3001.0],
]


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_non_finite_rows_follow_scipy_on_every_kernel(path, dtype):
    for row in NON_FINITE_ROWS:
        # alone, in a row long enough for the vector loops, and in one long enough for float32
        # log_softmax to write x - max while it sums (row_kernels.h, store_diff_min), which a NaN the
        # max did not show sends back to SciPy's formula
        for pad in (0, 37, 1030):
            x = np.array(row + [-np.inf] * pad, dtype=dtype)[None, :]
            with np.errstate(all="ignore"):
                want_sm = scipy.special.softmax(x, axis=-1)
                want_lsm = scipy.special.log_softmax(x, axis=-1)
                want_lse = scipy.special.logsumexp(x, axis=-1)
            for algorithm in ALGORITHMS:
                np.testing.assert_allclose(run("softmax", x, algorithm, path), want_sm, rtol=1e-6, atol=0,
                                           err_msg=f"{row} {algorithm}")
                np.testing.assert_allclose(run("log_softmax", x, algorithm, path), want_lsm, rtol=1e-6,
                                           atol=1e-6, err_msg=f"{row} {algorithm}")
            lse = np.empty(1, dtype)
            core.logsumexp(x, lse, 1, path)
            np.testing.assert_allclose(lse, want_lse, rtol=1e-6, err_msg=str(row))


def _guarded_buffer(nbytes):
    """A writable numpy byte buffer whose end touches a page the process may not read or write."""
    page = mmap.PAGESIZE
    size = (nbytes + page - 1) // page * page
    buf = mmap.mmap(-1, size + page, prot=mmap.PROT_READ | mmap.PROT_WRITE)
    addr = ctypes.addressof(ctypes.c_char.from_buffer(buf))
    libc = ctypes.CDLL(None)
    assert libc.mprotect(ctypes.c_void_p(addr + size), ctypes.c_size_t(page), 0) == 0
    arr = np.frombuffer(buf, dtype=np.uint8, count=size)
    return arr[size - nbytes:], buf


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
def test_no_access_past_the_buffer(path, dtype):
    """Rows that end where an inaccessible page begins: any over-read or over-write would crash."""
    item = np.dtype(dtype).itemsize
    for n in (1, 3, 17, 33, 67, 1025):  # 1025: float32 log_softmax writes x - max while it sums
        xb, keep_x = _guarded_buffer(n * item)
        yb, keep_y = _guarded_buffer(n * item)
        x = xb.view(dtype).reshape(1, n)
        x[...] = np.linspace(-3, 3, n)
        y = yb.view(dtype).reshape(1, n)
        for algorithm in ALGORITHMS:
            for op in ("softmax", "log_softmax"):
                getattr(core, op)(x, y, ALGORITHMS.index(algorithm), 1, path)
        out = np.empty(1, dtype)
        core.logsumexp(x, out, 1, path)
        assert core_testing.row_max(x[0], path) == x.max()
        np.testing.assert_allclose(core_testing.exp(x[0], path), np.exp(x[0]), rtol=1e-6)
        del x, y, xb, yb


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("threads", [1, 2, 3, 7])
def test_any_thread_count_is_within_the_bound(dtype, threads):
    rng = np.random.default_rng(9)
    bound = 3
    for shape in [(37, 1000), (1, 300_001), (3, 70_000)]:  # many rows; one long row split; rows < threads
        x = rng.uniform(-1000, 1000, size=shape).astype(dtype)
        exact = exact_softmax(x)
        for algorithm in ALGORITHMS:
            y = run("softmax", x, algorithm, "", threads)
            assert ulp_error(y, exact, dtype)[exact >= np.finfo(dtype).tiny].max() <= bound
        lsm = run("log_softmax", x, "online", "", threads)
        assert ulp_error(lsm, _exact3(x)[1], dtype).max() <= 3
        lse = np.empty(shape[0], dtype)
        core.logsumexp(x, lse, threads)
        assert ulp_error(lse, reference.logsumexp(x.astype(np.longdouble)), dtype, floor=1.0).max() <= 3


def test_threads_none_and_public_threads():
    x = np.random.default_rng(1).normal(size=(600, 512)).astype(np.float32)  # above the 2^18 threshold
    a = softlib.softmax(x, threads=None)
    b = softlib.softmax(x, threads=1)
    np.testing.assert_allclose(a, b, rtol=0, atol=0)  # rows are independent: identical results
    with pytest.raises(ValueError, match="threads"):
        softlib.softmax(x, threads=0)
    with pytest.raises(TypeError, match="threads"):
        softlib.softmax(x, threads=1.5)
    # logsumexp's fast path takes the same thread counts, and the same bad ones fail the same way.
    lse = softlib.logsumexp(x, threads=None)
    for t in (1, 2, 3):
        np.testing.assert_array_equal(softlib.logsumexp(x, threads=t), lse)
    with pytest.raises(ValueError, match="threads"):
        softlib.logsumexp(x, threads=0)
    with pytest.raises(TypeError, match="threads"):
        softlib.logsumexp(x, threads=1.5)


def test_unknown_or_unsupported_path_is_a_clear_error():
    with pytest.raises(ValueError, match="unknown code path"):
        core_testing.row_max(np.ones(3, np.float32), "sse9")
    if "avx512" not in PATHS:
        with pytest.raises(ValueError, match="cannot run"):
            core_testing.row_max(np.ones(3, np.float32), "avx512")


@pytest.mark.parametrize("path", PATHS)
def test_softlib_isa_forces_a_path(path):
    import os
    import subprocess
    import sys
    env = dict(os.environ, SOFTLIB_ISA=path)
    out = subprocess.run([sys.executable, "-c", "import softlib; print(softlib.isa())"], env=env,
                         capture_output=True, text=True, check=True)
    assert out.stdout.strip() == path


def test_softlib_isa_unknown_is_a_clear_error():
    import os
    import subprocess
    import sys
    env = dict(os.environ, SOFTLIB_ISA="avx1024")
    out = subprocess.run([sys.executable, "-c", "import softlib"], env=env, capture_output=True, text=True)
    assert out.returncode != 0
    assert "unknown code path 'avx1024'" in out.stderr


# --- Every named kernel (cpp/kernel_list.h) alone, at its tile boundaries --------------------------
# softlib._core.kernels() lists the kernels this CPU runs, generated from the one kernel list; each
# runs alone through softlib._core_testing.run_kernel at sizes equal to, below, above and multiples of
# its tiles (1, 2 and 4 vectors: the single-vector loop, the U = 2 main loop, rmax's 4 accumulators),
# on rows that overflow if the max is not subtracted, with a guard after the output.
NAMED = core.kernels()


def tile_sizes(lanes):
    sizes = {1, 2, 3}
    for tile in (lanes, 2 * lanes, 4 * lanes):
        sizes |= {tile - 1, tile, tile + 1, 2 * tile, 3 * tile, 3 * tile + 1}
    return sorted(s for s in sizes if s >= 1)


def named_reference(kernel, x):
    """The exact value of the kernel's op on x (long double or better) and its ULP bound."""
    op = kernel["op"]
    if op == "softmax":
        return _exact3(x[None, :])[0][0], 3
    if op == "log_softmax":
        return _exact3(x[None, :])[1][0], 3
    if op == "logsumexp":
        return reference.logsumexp(x.astype(np.longdouble)[None, :])[0], 3
    if op == "stablemax":
        return reference.stablemax(x.astype(np.longdouble)[None, :])[0], 3  # as test_accuracy_stablemax
    if op == "log_stablemax":
        return reference.log_stablemax(x.astype(np.longdouble)[None, :])[0], 3
    raise AssertionError(op)


def test_the_kernel_list_covers_every_path_and_algorithm():
    names = {k["name"] for k in NAMED}
    for path in PATHS:
        for dt in ("f32", "f64"):
            for algorithm in ALGORITHMS:
                assert f"{dt}_softmax_{algorithm}__{path}" in names
                assert f"{dt}_log_softmax_{algorithm}__{path}" in names
                assert f"{dt}_softmax_rows_{algorithm}__{path}" in names
                assert f"{dt}_log_softmax_rows_{algorithm}__{path}" in names
            assert f"{dt}_logsumexp_rows__{path}" in names
            for op in ("logsumexp", "rmax", "vexp", "stablemax", "log_stablemax"):
                assert f"{dt}_{op}__{path}" in names
    assert {k["isa"] for k in NAMED} == set(PATHS)


@pytest.mark.parametrize("kernel", NAMED, ids=[k["name"] for k in NAMED])
def test_named_kernel_at_its_tile_boundaries(kernel):
    dtype = np.dtype(kernel["dtype"])
    rng = np.random.default_rng(abs(hash(kernel["name"])) % (1 << 32))
    guard = 5
    for n in tile_sizes(kernel["lanes"]):
        if kernel["op"] == "exp":
            x = (-np.abs(rng.normal(scale=20.0, size=n))).astype(dtype)
        elif kernel["op"] == "row_max":
            x = rng.uniform(90, 100, size=n).astype(dtype)
            x[rng.integers(n)] = 1e4  # a max anywhere
        else:
            x = rng.uniform(90, 100, size=n).astype(dtype)  # exp(x) overflows float32: max is needed
        if kernel["kind"] in ("reduce", "reduce_rows"):
            got = core_testing.run_kernel(kernel["name"], x)
            if kernel["op"] == "row_max":
                assert got == x.max(), n
            else:
                exact, bound = named_reference(kernel, x)
                assert ulp_error(np.array([got], dtype), np.array([exact]), dtype, floor=1.0).max() <= bound, n
            continue
        buf = np.full(n + guard, -7.0, dtype)
        core_testing.run_kernel(kernel["name"], x, buf[:n])
        assert (buf[n:] == -7.0).all(), f"{kernel['name']} wrote past the end at n = {n}"
        y = buf[:n]
        if kernel["op"] == "exp":
            np.testing.assert_allclose(y, np.exp(x.astype(np.float64)), rtol=3e-7 if dtype == np.float32 else 1e-15)
            continue
        exact, bound = named_reference(kernel, x)
        floor = 1.0 if kernel["op"] == "log_stablemax" else 0.0  # as test_accuracy_stablemax
        assert ulp_error(y, exact, dtype, floor=floor).max() <= bound, (kernel["name"], n)


def test_run_kernel_rejects_bad_input():
    with pytest.raises(ValueError, match="unknown kernel"):
        core_testing.run_kernel("f32_softmax_magic__avx2", np.ones(3, np.float32), np.ones(3, np.float32))
    with pytest.raises(ValueError, match="float32"):
        core_testing.run_kernel("f32_softmax_two_pass__portable", np.ones(3), np.ones(3))


def test_the_shipping_module_holds_no_test_only_kernels():
    for name in ("exp", "exp_f32_ulp_scan", "softmax_plain", "row_max", "run_kernel"):
        assert not hasattr(core, name), name
        assert hasattr(core_testing, name), name


def test_auto_is_one_rule():
    # softlib.ops.auto_algorithm asks the core's rule, which the kernels' algorithm=-1 also runs.
    rng = np.random.default_rng(3)
    for n in (1, 100, 65536, 65537, 70000):
        for dtype in DTYPES:
            x = rng.normal(size=(1, n)).astype(dtype)
            for op in ("softmax", "log_softmax"):
                chosen = softlib.ops.auto_algorithm(n, 1, dtype, op=op)
                y_auto, y_named = np.empty_like(x), np.empty_like(x)
                getattr(core, op)(x, y_auto, -1, 1)
                getattr(core, op)(x, y_named, ALGORITHMS.index(chosen), 1)
                assert np.array_equal(y_auto, y_named), (n, dtype, op, chosen)


def test_preallocated_out_takes_the_fast_path_safely():
    # out= of x's shape and dtype: written in place, in x itself, or through a copy when it overlaps x.
    x = np.random.default_rng(4).normal(size=(5, 40)).astype(np.float32)
    exact = exact_softmax(x)
    out = np.empty_like(x)
    assert softlib.softmax(x, out=out, threads=2) is out
    assert ulp_error(out, exact, np.float32).max() <= 3
    z = x.copy()
    softlib.softmax(z, out=z)
    assert ulp_error(z, exact, np.float32).max() <= 3
    buf = np.concatenate([x.ravel(), np.zeros(40, np.float32)])
    xv, ov = buf[:200].reshape(5, 40), buf[40:].reshape(5, 40)  # shifted by one row: overlapping
    softlib.softmax(xv, out=ov)
    assert ulp_error(ov, exact, np.float32).max() <= 3


# --- The float32 three-pass kernel's variants (row_kernels.h, softmax_three_pass) ----------------
# exp(x) 2^-e from x itself for |max| <= 1024, narrow (entries within 85 of the max) or wide (clamped,
# -inf included); the TwoSum kernel beyond. Tiles: 4 vectors interleaved; the float sums are flushed
# to double every 1024 vectors, so sizes straddle both on each path.
def three_pass_sizes(lanes):
    vectors = {1, 3, 4, 5, 8, 9, 1023, 1024, 1025, 2049}
    # and 1024 floats +- 1, from where float32 log_softmax writes x - max while it sums
    # (row_kernels.h, store_diff_min)
    return sorted({v * lanes + d for v in vectors for d in (-1, 0, 1)} - {0} | {1023, 1024, 1025})


def three_pass_rows(rng, n):
    narrow = rng.uniform(-40, 40, size=n)
    wide = rng.normal(scale=60.0, size=n)
    if n > 1:  # a row of -inf alone is NaN (as SciPy gives)
        wide[rng.integers(n)] = -np.inf
    return {
        "narrow": narrow,
        "wide": wide,
        "max at 1024": np.minimum(rng.uniform(1000, 1030, size=n), 1024.0),
        "beyond 1024 (TwoSum)": rng.uniform(1020, 1030, size=n) + 10,
        "below -1024 (TwoSum)": rng.uniform(-3000, -2990, size=n),
        "one entry dominates": np.where(np.arange(n) == n // 2, 0.0, -120.0),
    }


@pytest.mark.parametrize("path", PATHS)
def test_float32_three_pass_variants_at_their_boundaries(path):
    rng = np.random.default_rng(11)
    lanes = LANES[path]
    for n in three_pass_sizes(lanes):
        for name, row in three_pass_rows(rng, n).items():
            x = row.astype(np.float32)[None, :]
            y = run("softmax", x, "three_pass", path)
            exact = exact_softmax(x)
            err = ulp_error(y, exact, np.float32).max()
            assert err <= 3, (path, n, name, err)
            assert y.max() <= 1.0, (path, n, name)  # no probability above 1
    for x0 in (-1e3, 0.0, 5.0, 1024.0, 3e4):  # a lone entry is exactly 1
        assert run("softmax", np.array([[x0]], np.float32), "three_pass", path)[0, 0] == 1.0


# --- The float32 three-pass log-normaliser (row_kernels.h, log_z_three_pass_extexp) ---------------
# sum exp(x) 2^-e from x itself, the max's own term swapped for its exact value; rows of <= 8 vectors
# in registers (raddextexp2e_short); rows with d - 1 < 2^-12 sum the other terms again. Rows on both
# sides of that threshold, with the max repeated, and the variants of the softmax kernel.
def log_normaliser_rows(rng, n):
    rows = three_pass_rows(rng, n)
    if n > 1:
        for name, gap in (("d - 1 just above 2^-12", 8.0), ("d - 1 just below 2^-12", 8.5)):
            # n - 1 others at -gap - log(n - 1): d - 1 = e^-gap, about 2^-11.5 and 2^-12.3
            rows[name] = np.where(np.arange(n) == 0, 3.0, 3.0 - gap - np.log(n - 1))
        rows["max repeated"] = np.where(np.arange(n) % 3 == 0, 7.5, rng.uniform(-30, 7, size=n))
    return rows


@pytest.mark.parametrize("path", PATHS)
def test_float32_log_normaliser_at_its_boundaries(path):
    rng = np.random.default_rng(12)
    for n in three_pass_sizes(LANES[path]):
        for name, row in log_normaliser_rows(rng, n).items():
            x = row.astype(np.float32)[None, :]
            _, exact_lsm, exact_lse = _exact3(x)
            y = run("log_softmax", x, "three_pass", path)
            assert ulp_error(y, exact_lsm, np.float32).max() <= 3, (path, n, name)
            assert y.max() <= 0.0, (path, n, name)  # no log-probability above 0
            lse = np.empty(1, np.float32)
            core.logsumexp(x, lse, 1, path)
            assert ulp_error(lse, exact_lse, np.float32, floor=1.0).max() <= 3, (path, n, name)


# --- The last passes streamed past the caches (row_kernels.h, scale_extexp and subtract2) ----------
# From 4 MiB of output on, y is written with non-temporal stores once aligned (a masked store before):
# the Two-Pass softmax's second pass and log_softmax's subtraction. Every alignment of y gives the
# same values, within 3 ULP, on one thread and split across two (pieces of 4 MiB, streamed too).
@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("op, algorithm", [("softmax", "two_pass"), ("log_softmax", "two_pass"),
                                           ("log_softmax", "online")])
def test_streamed_output_at_every_alignment(path, dtype, op, algorithm):
    n = 2 * (1 << 22) // np.dtype(dtype).itemsize + 5
    x = np.random.default_rng(13).normal(scale=4.0, size=(1, n)).astype(dtype)
    exact = _exact3(x)[0 if op == "softmax" else 1]
    first = {}
    for offset in (0, 1, 3, 7):
        buf = np.empty(n + 8, dtype)
        y = buf[offset:offset + n].reshape(1, n)
        for threads in (1, 2):
            getattr(core, op)(x, y, ALGORITHMS.index(algorithm), threads, path)
            assert ulp_error(y, exact, dtype).max() <= 3, (offset, threads)
            assert np.array_equal(y, first.setdefault(threads, y.copy())), (offset, threads)


# --- The rows kernels (kernels.h: softmax_rows, log_softmax_rows, logsumexp_rows) -----------------
# Short float32 rows pipelined across rows (microkernels.h, short_rows_pipelined: the next row's max
# found while this row computes), stopping at a row they cannot take (non-finite, beyond the direct
# range), which the general kernel runs. On many rows, with such rows anywhere among them, every rows
# kernel gives its row kernel's values bit for bit, and writes nothing past the last row.
@pytest.mark.parametrize("kernel", [k for k in NAMED if k["kind"] in ("rows", "reduce_rows")],
                         ids=lambda k: k["name"])
def test_rows_kernel_equals_its_row_kernel_row_by_row(kernel):
    dtype = np.dtype(kernel["dtype"])
    row_kernel = kernel["name"].replace("_rows", "")
    rng = np.random.default_rng(14)
    for n in three_pass_sizes(kernel["lanes"]):
        kinds = list(log_normaliser_rows(rng, n).values())
        # Short rows also at the edges of the log-normalisers' blocks of 16 and 32 rows
        # (row_kernels.h, LogShort), stopped in the middle of one by a row of +inf.
        short = n <= 8 * kernel["lanes"]
        for m in (1, 2, 3, 9) + ((16, 32, 33, 70) if short else ()):
            x = rng.normal(scale=4.0, size=(m, n)).astype(dtype)
            for r in range(m):  # every row kind, each first, in the middle and last once
                if r % 2 == 0 or r == m - 1:
                    x[r] = kinds[(r + n) % len(kinds)]
            if m > 2:
                x[1, n // 2] = np.nan
            if m > 40:
                x[40, 0] = np.inf
            if kernel["kind"] == "reduce_rows":
                got = core_testing.run_kernel(kernel["name"], x)
                want = [core_testing.run_kernel(row_kernel, np.ascontiguousarray(row)) for row in x]
                np.testing.assert_array_equal(got, np.array(want, dtype), err_msg=f"n={n} m={m}")
                continue
            buf = np.full(m * n + 5, -7.0, dtype)
            core_testing.run_kernel(kernel["name"], x, buf[:m * n].reshape(m, n))
            assert (buf[m * n:] == -7.0).all(), (kernel["name"], n, m)
            for r in range(m):
                want = np.empty(n, dtype)
                core_testing.run_kernel(row_kernel, np.ascontiguousarray(x[r]), want)
                np.testing.assert_array_equal(buf[r * n:(r + 1) * n], want, err_msg=f"n={n} m={m} r={r}")
