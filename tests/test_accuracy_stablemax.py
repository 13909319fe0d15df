"""StableMax and log-StableMax on every code path: accuracy in ULP (printed), non-finite rows, threads,
sizes around the tiles, and the public functions' conventions."""

import numpy as np
import pytest

import softlib
from softlib.testing import ulp_error as ulps
from softlib import _core as core
from softlib import reference

PATHS = softlib.isas()
RESULTS = {}


@pytest.fixture(scope="module", autouse=True)
def report(request):
    yield
    capture = request.config.pluginmanager.get_plugin("capturemanager")
    with capture.global_and_fixture_disabled():
        print("\nmeasured StableMax accuracy (max ULP error; bound in brackets)")
        for key in sorted(RESULTS):
            print(f"  {key:<44} {RESULTS[key][0]:8.3f}  [{RESULTS[key][1]}]")


def record(key, value, bound):
    RESULTS[key] = (max(RESULTS.get(key, (0.0,))[0], float(value)), bound)
    assert value <= bound, f"{key}: {value} > {bound}"


def exact(x):
    xl = x.astype(np.longdouble)
    s = np.where(xl >= 0, xl + 1, 1 / (1 - xl))
    total = s.sum(axis=-1, keepdims=True)
    log_s = np.where(xl >= 0, np.log1p(np.abs(xl)), -np.log1p(np.abs(xl)))
    return s / total, log_s - np.log(total)


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_stablemax_accuracy_every_path(dtype):
    rng = np.random.default_rng(5)
    name = np.dtype(dtype).name
    for n in [1, 2, 7, 15, 16, 17, 31, 32, 33, 64, 65, 1000, 100_003]:
        for x in (rng.normal(0, 3, (2, n)), rng.uniform(-1000, 1000, (2, n)), rng.uniform(90, 100, (2, n)),
                  np.full((1, n), -2.5)):
            x = x.astype(dtype)
            sm, lsm = exact(x)
            for path in PATHS:
                y = np.empty_like(x)
                core.stablemax(x, y, 1, path)
                record(f"stablemax {name} {path}", ulps(y, sm, dtype)[sm >= np.finfo(dtype).tiny].max(), 3)
                core.log_stablemax(x, y, 1, path)
                record(f"log_stablemax {name} {path}", ulps(y, lsm, dtype, 1.0).max(), 3)


@pytest.mark.parametrize("threads", [1, 2, 3])
def test_threads_and_long_rows(threads):
    x = np.random.default_rng(6).normal(0, 3, (1, 300_001)).astype(np.float32)
    sm, lsm = exact(x)
    assert ulps(softlib.stablemax(x, threads=threads), sm, np.float32).max() <= 3
    assert ulps(softlib.log_stablemax(x, threads=threads), lsm, np.float32, 1.0).max() <= 3


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_non_finite_rows(path, dtype):
    rows = [[1.0, np.inf], [np.nan, 0.0], [-np.inf, -np.inf], [-np.inf, 2.0], [np.inf, -np.inf], [-np.inf]]
    for row in rows:
        for pad in (0, 40):
            x = np.array(row + [-np.inf] * pad, dtype)[None, :]
            want, want_log = reference.stablemax(x), reference.log_stablemax(x)
            y = np.empty_like(x)
            core.stablemax(x, y, 1, path)
            np.testing.assert_allclose(y, want, rtol=1e-6, err_msg=str(row))
            core.log_stablemax(x, y, 1, path)
            np.testing.assert_allclose(y, want_log, rtol=1e-6, atol=1e-6, err_msg=str(row))
    huge = np.array([[np.finfo(dtype).max, np.finfo(dtype).max, 0.0]], dtype)
    np.testing.assert_allclose(softlib.stablemax(huge)[0, :2], [0.5, 0.5], rtol=1e-6)
    assert np.isfinite(softlib.log_stablemax(huge)).all()


def test_public_conventions():
    x = np.random.default_rng(1).normal(size=(3, 4, 5))
    for axis in (0, 1, -1):
        np.testing.assert_allclose(softlib.stablemax(x, axis=axis).sum(axis=axis), 1, rtol=1e-12)
        np.testing.assert_allclose(softlib.log_stablemax(x, axis=axis),
                                   np.log(softlib.stablemax(x, axis=axis)), rtol=1e-12)
    assert softlib.stablemax(np.array([1, 2], np.int16)).dtype == np.float32
    assert softlib.stablemax(np.zeros((0, 3))).shape == (0, 3)
    with pytest.raises(TypeError):
        softlib.stablemax(np.array([1j]))
    with pytest.raises(np.exceptions.AxisError):
        softlib.log_stablemax(np.zeros(3), axis=1)
