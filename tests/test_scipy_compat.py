"""SciPy's own tests of softmax, log_softmax and logsumexp for real input, ported to softlib.

Ported from scipy/special/tests/test_logsumexp.py (SciPy main, August 2026; tests written anew, same
inputs and expectations). softlib is called as a user swapping ``scipy.special`` for ``softlib``
would, with one change: the axis is passed explicitly (softlib's default axis is the last one,
SciPy's is None, so every call that relied on SciPy's default passes ``axis=None``).

Left out: the tests of complex input (softlib works on real numbers and refuses complex with a
TypeError: test_logsumexp_complex_sign, test_gh21610, test_gh21709_small_imaginary, the complex
cases of test_dtypes_a/test_dtypes_ab/test_gh22601/test_device) and of the private helper
_wrap_radians. The array-API backends (torch, jax, dask...) are not exercised: NumPy only.

Assertions as SciPy's ``xp_assert_close``/``xp_assert_equal``: same dtype, same shape, values
close with SciPy's default tolerance (``4 sqrt(eps)`` of the result dtype) unless a test sets its own.
"""

import itertools as it
import math

import numpy as np
import pytest

from softlib import log_softmax, logsumexp, softmax


def _check_type(actual, desired):
    actual_arr, desired_arr = np.asarray(actual), np.asarray(desired)
    assert actual_arr.dtype == desired_arr.dtype, (actual_arr.dtype, desired_arr.dtype)
    assert actual_arr.shape == desired_arr.shape, (actual_arr.shape, desired_arr.shape)
    if (
        actual_arr.ndim == 0
    ):  # SciPy returns NumPy scalars for 0-d results, never 0-d arrays
        assert isinstance(actual, np.generic), type(actual)


def assert_close(actual, desired, rtol=None, atol=0):
    _check_type(actual, desired)
    desired = np.asarray(desired)
    if rtol is None:
        rtol = (
            4 * np.finfo(desired.dtype).eps ** 0.5
            if desired.dtype.kind == "f"
            else 1e-7
        )
    np.testing.assert_allclose(actual, desired, rtol=rtol, atol=atol)


def assert_equal(actual, desired):
    _check_type(actual, desired)
    np.testing.assert_array_equal(actual, desired)


DTYPES = [
    "float32",
    "float64",
    "int32",
    "int64",
]  # SciPy's list without the complex dtypes


@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:divide by zero encountered:RuntimeWarning")
@pytest.mark.filterwarnings("ignore:overflow encountered:RuntimeWarning")
class TestLogSumExp:
    def test_logsumexp(self):
        assert_equal(logsumexp(np.asarray([]), axis=None), np.float64(-np.inf))
        a = np.arange(200.0)
        assert_close(logsumexp(a, axis=None), np.log(np.sum(np.exp(a))))
        assert_close(
            logsumexp(np.asarray([1000.0, 1000.0]), axis=None),
            np.float64(1000.0 + math.log(2.0)),
        )
        n = 1000
        b = np.full((n,), 10000)
        assert_close(logsumexp(b, axis=None), np.float64(10000.0 + math.log(n)))

        x = np.asarray([1e-40] * 1000000)
        logx = np.log(x)
        X, logX = np.stack([x, x]), np.stack([logx, logx])
        assert_close(np.exp(logsumexp(logX, axis=None)), np.sum(X))
        assert_close(np.exp(logsumexp(logX, axis=0)), np.sum(X, axis=0))
        assert_close(np.exp(logsumexp(logX, axis=1)), np.sum(X, axis=1))

        inf, nan = np.asarray([np.inf]), np.asarray([np.nan])
        assert_equal(logsumexp(inf, axis=None), inf[0])
        assert_equal(logsumexp(-inf, axis=None), -inf[0])
        assert_equal(logsumexp(nan, axis=None), nan[0])
        assert_equal(logsumexp(np.asarray([-np.inf, -np.inf]), axis=None), -inf[0])

        a = np.asarray([[1e10, 1e-10], [-1e10, -np.inf]])
        ref = np.asarray([1e10, -1e10])
        assert_close(logsumexp(a, axis=-1), ref)
        assert_close(logsumexp(a, axis=-1, keepdims=True), ref[:, None])
        assert_close(logsumexp(a, axis=(-1, -2)), np.float64(1e10))

    def test_logsumexp_b(self):
        a = np.arange(200.0)
        b = np.arange(200.0, 0.0, -1.0)
        assert_close(logsumexp(a, axis=None, b=b), np.log(np.sum(b * np.exp(a))))
        a, b = np.asarray([1000, 1000]), np.asarray([1.2, 1.2])
        assert_close(logsumexp(a, axis=None, b=b), np.float64(1000 + math.log(2 * 1.2)))

        x = np.asarray([1e-40] * 100000)
        b = np.linspace(1, 1000, 100000)
        logx = np.log(x)
        X, logX, B = np.stack((x, x)), np.stack((logx, logx)), np.stack((b, b))
        assert_close(np.exp(logsumexp(logX, axis=None, b=B)), np.sum(B * X))
        assert_close(np.exp(logsumexp(logX, b=B, axis=0)), np.sum(B * X, axis=0))
        assert_close(np.exp(logsumexp(logX, b=B, axis=1)), np.sum(B * X, axis=1))

    def test_logsumexp_sign(self):
        r, s = logsumexp(
            np.asarray([1, 1, 1]),
            axis=None,
            b=np.asarray([1, -1, -1]),
            return_sign=True,
        )
        assert_close(r, np.float64(1.0))
        assert_equal(s, np.float64(-1.0))

    def test_logsumexp_sign_zero(self):
        r, s = logsumexp(
            np.asarray([1, 1]), axis=None, b=np.asarray([1, -1]), return_sign=True
        )
        assert not np.isfinite(r)
        assert not np.isnan(r)
        assert r < 0
        assert s == 0

    def test_logsumexp_sign_shape(self):
        a = np.ones((1, 2, 3, 4))
        b = np.ones_like(a)
        r, s = logsumexp(a, axis=2, b=b, return_sign=True)
        assert r.shape == s.shape == (1, 2, 4)
        r, s = logsumexp(a, axis=(1, 3), b=b, return_sign=True)
        assert r.shape == s.shape == (1, 3)

    def test_logsumexp_shape(self):
        a = np.ones((1, 2, 3, 4))
        b = np.ones_like(a)
        assert logsumexp(a, axis=2, b=b).shape == (1, 2, 4)
        assert logsumexp(a, axis=(1, 3), b=b).shape == (1, 3)

    def test_logsumexp_b_zero(self):
        assert_close(
            logsumexp(np.asarray([1, 10000]), axis=None, b=np.asarray([1, 0])),
            np.float64(1.0),
        )

    def test_logsumexp_b_shape(self):
        logsumexp(np.zeros((4, 1, 2, 1)), axis=None, b=np.ones((3, 1, 5)))

    @pytest.mark.parametrize("arg", (1, [1, 2, 3]))
    def test_xp_invalid_input(self, arg):
        assert logsumexp(arg, axis=None) == logsumexp(
            np.asarray(np.atleast_1d(arg)), axis=None
        )

    def test_array_like(self):
        assert_close(
            logsumexp([1000, 1000], axis=None), np.float64(1000.0 + math.log(2.0))
        )

    @pytest.mark.parametrize("dtype", DTYPES)
    def test_dtypes_a(self, dtype):
        dtype = np.dtype(dtype)
        a = np.asarray([1000.0, 1000.0], dtype=dtype)
        desired_dtype = np.float64 if dtype.kind in "iu" else dtype
        assert_close(
            logsumexp(a, axis=None),
            np.asarray(1000.0 + math.log(2.0), dtype=desired_dtype)[()],
        )

    @pytest.mark.parametrize("dtype_a", DTYPES)
    @pytest.mark.parametrize("dtype_b", DTYPES)
    def test_dtypes_ab(self, dtype_a, dtype_b):
        a = np.asarray([2, 1], dtype=dtype_a)
        b = np.asarray([1, -1], dtype=dtype_b)
        desired_dtype = np.result_type(a.dtype, b.dtype)
        if desired_dtype.kind in "iu":
            desired_dtype = np.dtype(np.float64)
        desired = np.asarray(math.log(math.exp(2) - math.exp(1)), dtype=desired_dtype)[
            ()
        ]
        assert_close(logsumexp(a, axis=None, b=b), desired)

    def test_gh18295(self):
        a = np.asarray([0.0, -40.0])
        assert_close(logsumexp(a, axis=None), np.logaddexp(a[0], a[1]))

    @pytest.mark.parametrize("x,y", list(it.product([-np.inf, np.inf], repeat=2)))
    def test_gh22601_infinite_elements(self, x, y):
        res = logsumexp(np.asarray([x, y]), axis=None)
        ref = np.log(np.sum(np.exp(np.asarray([x, y]))))
        assert_equal(res, ref)

    def test_no_writeback(self):
        a, b = np.asarray([5.0, 4.0]), np.asarray([3.0, 2.0])
        logsumexp(a, axis=None)
        logsumexp(a, axis=None, b=b)
        assert_equal(a, np.asarray([5.0, 4.0]))
        assert_equal(b, np.asarray([3.0, 2.0]))

    @pytest.mark.parametrize("x_raw", [1.0, []])
    def test_device(self, x_raw):
        x = np.asarray(x_raw)  # NumPy in, NumPy (on the CPU) out
        assert isinstance(logsumexp(x, axis=None), (np.ndarray, np.generic))
        assert isinstance(logsumexp(x, axis=None, b=x), (np.ndarray, np.generic))

    def test_gh22903(self):
        a = np.asarray([3.06409428, 0.37251854, 3.87471931])
        b = np.asarray([1.88190708, 2.84174795, -0.85016884])
        assert_close(
            logsumexp(a, axis=None, b=b),
            logsumexp(a, axis=None, b=b, return_sign=True)[0],
        )
        b = np.asarray([1.88190708, 2.84174795, -3.85016884])
        assert_close(logsumexp(a, axis=None, b=b), np.float64(np.nan))

    @pytest.mark.parametrize(
        "a, b, sign_ref", [([np.inf], None, 1.0), ([np.inf], [-1.0], -1.0)]
    )
    def test_gh23548(self, a, b, sign_ref):
        a, b = np.asarray(a), np.asarray(b) if b is not None else None
        val, sign = logsumexp(a, axis=None, b=b, return_sign=True)
        assert np.isinf(val)
        assert_equal(sign, np.float64(sign_ref))


class TestSoftmax:
    def test_softmax_fixtures(self):
        assert_close(
            softmax(np.asarray([1000.0, 0.0, 0.0, 0.0]), axis=None),
            np.asarray([1.0, 0.0, 0.0, 0.0]),
            rtol=1e-13,
        )
        assert_close(
            softmax(np.asarray([1.0, 1.0]), axis=None),
            np.asarray([0.5, 0.5]),
            rtol=1e-13,
        )
        assert_close(
            softmax(np.asarray([0.0, 1.0]), axis=None),
            np.asarray([1.0, np.e]) / (1 + np.e),
            rtol=1e-13,
        )
        x = np.arange(4, dtype=np.float64)
        expected = np.asarray(
            [
                0.03205860328008499,
                0.08714431874203256,
                0.23688281808991013,
                0.6439142598879722,
            ]
        )
        assert_close(softmax(x, axis=None), expected, rtol=1e-13)
        assert_close(softmax(x + 100, axis=None), expected, rtol=1e-13)
        assert_close(
            softmax(np.reshape(x, (2, 2)), axis=None),
            np.reshape(expected, (2, 2)),
            rtol=1e-13,
        )

    def test_softmax_multi_axes(self):
        assert_close(
            softmax(np.asarray([[1000.0, 0.0], [1000.0, 0.0]]), axis=0),
            np.asarray([[0.5, 0.5], [0.5, 0.5]]),
            rtol=1e-13,
        )
        assert_close(
            softmax(np.asarray([[1000.0, 0.0], [1000.0, 0.0]]), axis=1),
            np.asarray([[1.0, 0.0], [1.0, 0.0]]),
            rtol=1e-13,
        )
        x = np.asarray([[-25.0, 0.0, 25.0, 50.0], [1.0, 325.0, 749.0, 750.0]])
        expected = np.asarray(
            [
                [
                    2.678636961770877e-33,
                    1.9287498479371314e-22,
                    1.3887943864771144e-11,
                    0.999999999986112,
                ],
                [0.0, 1.9444526359919372e-185, 0.2689414213699951, 0.7310585786300048],
            ]
        )
        assert_close(softmax(x, axis=1), expected, rtol=1e-13)
        assert_close(softmax(x.T, axis=0), expected.T, rtol=1e-13)
        assert_close(
            softmax(np.reshape(x, (2, 2, 2)), axis=(1, 2)),
            np.reshape(expected, (2, 2, 2)),
            rtol=1e-13,
        )

    def test_softmax_int_array(self):
        assert_close(
            softmax(np.asarray([1000, 0, 0, 0]), axis=None),
            np.asarray([1.0, 0.0, 0.0, 0.0]),
            rtol=1e-13,
        )

    def test_softmax_scalar(self):
        assert_close(softmax(1000, axis=None), np.float64(1.0), rtol=1e-13)

    def test_softmax_array_like(self):
        assert_close(
            softmax([1000, 0, 0, 0], axis=None),
            np.asarray([1.0, 0.0, 0.0, 0.0]),
            rtol=1e-13,
        )


class TestLogSoftmax:
    def test_log_softmax_basic(self):
        assert_close(
            log_softmax(np.asarray([1000.0, 1.0]), axis=None),
            np.asarray([0.0, -999.0]),
            rtol=1e-13,
        )

    def test_log_softmax_int_array(self):
        assert_close(
            log_softmax(np.asarray([1000, 1]), axis=None),
            np.asarray([0.0, -999.0]),
            rtol=1e-13,
        )

    def test_log_softmax_scalar(self):
        assert_close(log_softmax(1.0, axis=None), np.float64(0.0), rtol=1e-13)

    def test_log_softmax_array_like(self):
        assert_close(
            log_softmax([1000, 1], axis=None), np.asarray([0.0, -999.0]), rtol=1e-13
        )

    @staticmethod
    def data_1d():
        x = np.arange(4, dtype=np.float64)
        expect = [
            -3.4401896985611953,
            -2.4401896985611953,
            -1.4401896985611953,
            -0.44018969856119533,
        ]
        return x, np.asarray(expect)

    @staticmethod
    def data_2d():
        x = np.reshape(np.arange(8, dtype=np.float64), (2, 4))
        row = [
            -3.4401896985611953,
            -2.4401896985611953,
            -1.4401896985611953,
            -0.44018969856119533,
        ]
        return x, np.asarray([row, row])

    @pytest.mark.parametrize("offset", [0, 100])
    def test_log_softmax_translation(self, offset):
        x, expect = self.data_1d()
        assert_close(log_softmax(x + offset, axis=None), expect, rtol=1e-13)

    def test_log_softmax_noneaxis(self):
        x, expect = self.data_1d()
        assert_close(
            log_softmax(np.reshape(x, (2, 2)), axis=None),
            np.reshape(expect, (2, 2)),
            rtol=1e-13,
        )

    @pytest.mark.parametrize(
        "axis_2d, expected_2d",
        [(0, np.log(0.5) * np.ones((2, 2))), (1, [[0.0, -999.0], [0.0, -999.0]])],
    )
    def test_axes(self, axis_2d, expected_2d):
        x = np.asarray([[1000.0, 1.0], [1000.0, 1.0]])
        assert_close(
            log_softmax(x, axis=axis_2d),
            np.asarray(expected_2d, dtype=x.dtype),
            rtol=1e-13,
        )

    def test_log_softmax_2d_axis1(self):
        x, expect = self.data_2d()
        assert_close(log_softmax(x, axis=1), expect, rtol=1e-13)

    def test_log_softmax_2d_axis0(self):
        x, expect = self.data_2d()
        assert_close(log_softmax(x.T, axis=0), expect.T, rtol=1e-13)

    def test_log_softmax_3d(self):
        x, expect = self.data_2d()
        assert_close(
            log_softmax(np.reshape(x, (2, 2, 2)), axis=(1, 2)),
            np.reshape(expect, (2, 2, 2)),
            rtol=1e-13,
        )
