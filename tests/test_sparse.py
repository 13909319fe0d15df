"""sparsemax, entmax15 and entmax_bisect: accuracy in ULP against exact references (printed), the
projection and optimality properties, ties, short rows, dtypes, axes, non-finite input and errors."""

from decimal import Decimal, localcontext
from fractions import Fraction

import numpy as np
import pytest
import scipy.optimize
import scipy.special

import softlib
from softlib.chapters.theory import foundations as fd

RESULTS = {}


def bisect(alpha):
    return lambda x, axis=-1: softlib.entmax_bisect(x, alpha, axis=axis)


FUNCTIONS = {"sparsemax": softlib.sparsemax, "entmax15": softlib.entmax15}


@pytest.fixture(scope="module", autouse=True)
def report(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nmeasured sparse-map accuracy (max ULP error against exact references)")
        for key in sorted(RESULTS):
            print(f"  {key:<52} {RESULTS[key]:6.2f}")


def exact_sparsemax(row) -> np.ndarray:
    """Martins & Astudillo's Algorithm 1 in rational arithmetic, rounded once to float64."""
    u = sorted((Fraction(float(v)) for v in row), reverse=True)
    running, size, total = Fraction(0), 0, Fraction(0)
    for k, uk in enumerate(u, 1):
        running += uk
        if 1 + k * uk > running:
            size, total = k, running
    tau = (total - 1) / size
    return np.array([float(max(Fraction(float(v)) - tau, 0)) for v in row])


def exact_entmax15(row) -> np.ndarray:
    """Peters et al.'s exact 1.5-entmax threshold with 60 significant digits, rounded to float64."""
    with localcontext() as ctx:
        ctx.prec = 60
        x = [Decimal(float(v)) / 2 for v in row]
        s1 = s2 = Decimal(0)
        tau = None
        for k, uk in enumerate(sorted(x, reverse=True), 1):
            s1, s2 = s1 + uk, s2 + uk * uk
            mean = s1 / k
            disc = mean * mean - (s2 - 1) / k
            tau_k = mean - max(disc, Decimal(0)).sqrt()
            if uk > tau_k:
                tau = tau_k
        return np.array([float(max(v - tau, 0) ** 2) for v in x])


EXACT = {"sparsemax": exact_sparsemax, "entmax15": exact_entmax15}


def ulps(y, exact) -> np.ndarray:
    spacing = np.spacing(np.abs(exact).astype(y.dtype)).astype(np.float64)
    return np.abs(y.astype(np.float64) - exact) / spacing


@pytest.mark.parametrize("name", FUNCTIONS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_within_one_ulp_of_the_exact_map(name, dtype):
    """1 ULP on every entry at least 2^-10 of its row's largest (tiny entries near the threshold are
    ill-conditioned: x_i - tau cancels); exact zeros exactly where the exact map has them."""
    rng = np.random.default_rng(0)
    worst, worst_all = 0.0, 0.0
    for scale in (0.01, 0.3, 1.0, 4.0, 30.0):
        for n in (2, 3, 8, 33, 200):
            x = (rng.standard_normal((12, n)) * scale + rng.normal(0, 50)).astype(dtype)
            y = FUNCTIONS[name](x)
            exact = np.array([EXACT[name](row) for row in x])
            assert y.dtype == dtype
            np.testing.assert_array_equal(y == 0, exact == 0)
            err = ulps(y, exact)
            large = exact >= 2.0**-10 * exact.max(axis=1, keepdims=True)
            worst, worst_all = max(worst, err[large].max()), max(worst_all, err.max())
    RESULTS[f"{name} {np.dtype(dtype).name}, entries >= max/1024"] = worst
    RESULTS[f"{name} {np.dtype(dtype).name}, every entry"] = worst_all
    assert worst <= 1.0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_large_offsets_and_long_rows(name):
    """Shift invariance holds to the ULP where the gaps to the max are exact (float32 rows near 1e4)."""
    x = np.random.default_rng(1).standard_normal((3, 5000)).astype(np.float32)
    shifted = (x.astype(np.float64) + 1e4).astype(np.float32)
    y = FUNCTIONS[name](shifted)
    exact = np.array([EXACT[name](row) for row in shifted])
    large = exact >= 2.0**-10 * exact.max(axis=1, keepdims=True)
    assert ulps(y, exact)[large].max() <= 1.0
    np.testing.assert_allclose(y.sum(axis=1), 1.0, rtol=1e-6)


def test_sparsemax_is_the_euclidean_projection():
    """KKT conditions of min ||p - z||^2 over the simplex, and a generic QP solver does no better."""
    rng = np.random.default_rng(2)
    for _ in range(30):
        n = int(rng.integers(2, 9))
        z = rng.normal(0, rng.uniform(0.2, 3), n)
        p = softlib.sparsemax(z)
        assert np.all(p >= 0) and abs(p.sum() - 1) < 1e-14
        tau = np.mean((z - p)[p > 0])
        np.testing.assert_allclose((z - p)[p > 0], tau, atol=1e-13)  # z_i - p_i = tau on the support
        assert np.all(z[p == 0] <= tau + 1e-13)  # z_i <= tau off it
        qp = scipy.optimize.minimize(lambda q: np.sum((q - z) ** 2), np.full(n, 1 / n), method="SLSQP",
                                     bounds=[(0, 1)] * n,
                                     constraints=[{"type": "eq", "fun": lambda q: q.sum() - 1}],
                                     options={"ftol": 1e-14, "maxiter": 500})
        assert np.sum((p - z) ** 2) <= qp.fun + 1e-10
        np.testing.assert_allclose(p, qp.x, atol=1e-5)


def test_entmax15_maximises_the_tsallis_objective():
    """KKT: sqrt(p_i) = z_i / 2 - tau on the support, z_i / 2 <= tau off it; no random simplex point
    scores higher on <p, z> + H_1.5(p)."""
    rng = np.random.default_rng(3)
    for _ in range(30):
        n = int(rng.integers(2, 9))
        z = rng.normal(0, rng.uniform(0.2, 4), n)
        p = softlib.entmax15(z)
        assert np.all(p >= 0) and abs(p.sum() - 1) < 1e-14
        tau = np.mean((z / 2 - np.sqrt(p))[p > 0])
        np.testing.assert_allclose((z / 2 - np.sqrt(p))[p > 0], tau, atol=1e-12)
        assert np.all(z[p == 0] / 2 <= tau + 1e-12)
        score = p @ z + fd.tsallis_entropy(p, 1.5)
        others = rng.dirichlet(np.ones(n), size=2000)
        assert np.all(others @ z + fd.tsallis_entropy(others, 1.5) <= score + 1e-12)


@pytest.mark.parametrize("name", FUNCTIONS)
def test_ties_and_rows_of_length_one(name):
    f = FUNCTIONS[name]
    np.testing.assert_array_equal(f(np.full((2, 4), 7.0)), 0.25)
    np.testing.assert_array_equal(f([[3.0, 3.0, -5.0]]), [[0.5, 0.5, 0.0]])
    np.testing.assert_array_equal(f(np.array([[-1e30], [0.0], [1e30], [5.0]])), 1.0)
    np.testing.assert_array_equal(f(np.array([[2.0]], np.float32)), np.ones((1, 1), np.float32))
    # A tie exactly at the threshold: sparsemax([1, 0, 0] + c) has tau = 0 and both zeros stay zero.
    if name == "sparsemax":
        np.testing.assert_array_equal(f([1.0, 0.0, 0.0]), [1.0, 0.0, 0.0])
        np.testing.assert_array_equal(f([0.5, 0.5, 0.0]), [0.5, 0.5, 0.0])


@pytest.mark.parametrize("name", [*FUNCTIONS, "entmax_bisect"])
@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_every_axis_and_strides(name, axis):
    f = FUNCTIONS.get(name, bisect(1.7))
    x = np.random.default_rng(4).normal(size=(4, 6, 10))[:, ::2, ::-1]  # non-contiguous
    y = f(x, axis=axis)
    want = np.moveaxis(f(np.ascontiguousarray(np.moveaxis(x, axis, -1))), -1, axis)
    np.testing.assert_array_equal(y, want)
    np.testing.assert_allclose(y.sum(axis=axis), 1.0, rtol=1e-12)


@pytest.mark.parametrize("name", [*FUNCTIONS, "entmax_bisect"])
def test_dtypes_follow_softmax(name):
    f = FUNCTIONS.get(name, bisect(1.3))
    for dt in [np.bool_, np.int8, np.uint8, np.int16, np.uint16, np.int32, np.int64, np.float16,
               np.float32, np.float64]:
        x = np.array([[0, 1, 1]], dtype=dt)
        y = f(x)
        assert y.dtype == softlib.softmax(x).dtype, dt
        np.testing.assert_allclose(y, f(x.astype(np.float64)), rtol=1e-3)


@pytest.mark.parametrize("name", [*FUNCTIONS, "entmax_bisect"])
def test_non_finite_rows_like_softmax(name):
    f = FUNCTIONS.get(name, bisect(1.5))
    x = np.array([[1.0, np.nan, 0.0], [1.0, np.inf, 0.0], [-np.inf, -np.inf, -np.inf],
                  [0.5, -np.inf, 0.0], [np.inf, -np.inf, 0.0]])
    y = f(x)
    assert np.isnan(y[[0, 1, 2, 4]]).all()
    np.testing.assert_array_equal(y[3, 1], 0.0)
    np.testing.assert_allclose(y[3, [0, 2]], f([0.5, 0.0]), rtol=1e-12)
    np.testing.assert_array_equal(np.isnan(softlib.softmax(x)), np.isnan(y))


@pytest.mark.parametrize("name", [*FUNCTIONS, "entmax_bisect"])
def test_empty_arrays_keep_their_shape(name):
    f = FUNCTIONS.get(name, bisect(1.5))
    assert f(np.zeros((0, 3))).shape == (0, 3)
    assert f(np.zeros((2, 0))).shape == (2, 0)
    assert f(np.zeros((3, 0, 2), np.float32), axis=1).dtype == np.float32


@pytest.mark.parametrize("name", [*FUNCTIONS, "entmax_bisect"])
def test_bad_input_raises_clearly(name):
    f = FUNCTIONS.get(name, bisect(1.5))
    with pytest.raises(TypeError, match="real numbers"):
        f(np.array([1 + 2j]))
    with pytest.raises(TypeError):
        f(np.array([1, "a"], dtype=object))
    with pytest.raises(np.exceptions.AxisError):
        f(np.zeros((2, 3)), axis=2)
    with pytest.raises(TypeError, match="axis"):
        f(np.zeros((2, 3)), axis=1.0)
    with pytest.raises(ValueError, match="0-d"):
        f(np.float64(1.0))


def test_entmax_bisect_parameters_are_checked():
    for alpha in (0.5, -1.0, np.inf, np.nan):
        with pytest.raises(ValueError, match="alpha"):
            softlib.entmax_bisect([0.0, 1.0], alpha)
    for alpha in ("2", None, True, [2.0]):
        with pytest.raises(TypeError, match="alpha"):
            softlib.entmax_bisect([0.0, 1.0], alpha)
    with pytest.raises(ValueError, match="n_iter"):
        softlib.entmax_bisect([0.0, 1.0], 1.5, n_iter=0)
    with pytest.raises(TypeError, match="n_iter"):
        softlib.entmax_bisect([0.0, 1.0], 1.5, n_iter=10.0)


def test_entmax_bisect_joins_the_family():
    """alpha = 2 is sparsemax, 1.5 is entmax15, alpha -> 1 softmax (within O(alpha - 1)), 1 exactly it."""
    x = np.random.default_rng(5).normal(0, 2, (200, 17))
    np.testing.assert_allclose(softlib.entmax_bisect(x, 2.0), softlib.sparsemax(x), rtol=0, atol=1e-13)
    np.testing.assert_allclose(softlib.entmax_bisect(x, 1.5), softlib.entmax15(x), rtol=0, atol=1e-13)
    np.testing.assert_array_equal(softlib.entmax_bisect(x, 1.0), softlib.softmax(x))
    gaps = [np.abs(softlib.entmax_bisect(x, 1 + e) - softlib.softmax(x)).max() for e in (1e-2, 1e-3, 1e-4)]
    assert gaps[0] < 0.05 and gaps[1] < gaps[0] / 5 and gaps[2] < gaps[1] / 5
    y32 = softlib.entmax_bisect(x.astype(np.float32), 2.0)
    assert y32.dtype == np.float32
    np.testing.assert_allclose(y32, softlib.sparsemax(x), atol=1e-6)


def test_scale_makes_the_maps_sparser_but_shifts_do_not_matter():
    z = np.random.default_rng(6).normal(size=(50, 12))
    for f in FUNCTIONS.values():
        sizes = [np.count_nonzero(f(c * z), axis=1) for c in (0.1, 1.0, 10.0)]
        assert np.all(sizes[0] >= sizes[1]) and np.all(sizes[1] >= sizes[2])
        np.testing.assert_allclose(f(z + 3.25), f(z), atol=1e-15)


@pytest.mark.parametrize("alpha", [1.0, 1.25, 1.5, 2.0, 3.0])
def test_jacobians_against_finite_differences(alpha):
    """Peters et al.'s diag(g) - g g^T / sum g, g = p^(2 - alpha), at points away from the kinks."""
    rng = np.random.default_rng(7)
    exact = {1.5: softlib.entmax15, 2.0: softlib.sparsemax}.get(alpha)
    for _ in range(10):
        z = rng.normal(0, 1.5, 6)
        f = exact if exact is not None else (lambda v: softlib.entmax_bisect(v, alpha, n_iter=80))
        p = f(z)
        numeric = fd.numerical_jacobian(f, z, h=1e-6)
        np.testing.assert_allclose(fd.entmax_jacobian(p, alpha), numeric, atol=1e-6)
    s = softlib.softmax(z)
    np.testing.assert_allclose(fd.entmax_jacobian(s, 1.0), fd.softmax_jacobian(s), atol=1e-15)


def test_bench_helper_reports_ratios():
    r = softlib.sparse._bench_rows(rows=16, n=64, repeats=1)
    assert r["sparsemax / softmax"] > 0 and r["entmax15 / softmax"] > 0


@pytest.mark.parametrize("name", FUNCTIONS)
def test_long_rows_of_ties_and_entries_at_the_reach(name):
    """Every entry a candidate (all tied), and entries exactly 1 (sparsemax) or 2 (entmax15) below the
    max, the edge of the candidates, in rows mixed with ordinary ones."""
    f = FUNCTIONS[name]
    np.testing.assert_allclose(f(np.full((3, 3000), -2.5)), 1 / 3000, rtol=1e-15)
    reach = 1.0 if name == "sparsemax" else 2.0
    x = np.zeros((4, 50))
    x[0, 0], x[1, :2], x[2] = reach, [reach, reach - 1e-9], np.linspace(0, 3, 50)
    y = f(x)
    np.testing.assert_array_equal(y[0], np.eye(50)[0])
    assert np.count_nonzero(y[1]) == 2 and np.count_nonzero(y[3]) == 50
    np.testing.assert_allclose(y[2], EXACT[name](x[2]), rtol=1e-14, atol=0)
