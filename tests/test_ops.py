"""The public softmax functions: values against SciPy, shapes, dtypes, and errors."""

import numpy as np
import pytest
import scipy.special

import softlib


@pytest.fixture(params=[np.float32, np.float64])
def dtype(request):
    return request.param


def test_matches_scipy_on_random_rows(dtype):
    x = np.random.default_rng(0).normal(scale=3.0, size=(7, 33)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-12
    np.testing.assert_allclose(softlib.softmax(x), scipy.special.softmax(x, axis=-1), rtol=rtol)
    np.testing.assert_allclose(softlib.log_softmax(x), scipy.special.log_softmax(x, axis=-1), rtol=rtol)
    np.testing.assert_allclose(softlib.logsumexp(x), scipy.special.logsumexp(x, axis=-1), rtol=rtol)


@pytest.mark.parametrize("axis", [0, 1, 2, -1, -2])
def test_any_axis_and_strides(axis):
    x = np.random.default_rng(1).normal(size=(4, 6, 10))[:, ::2, ::-1]  # non-contiguous
    np.testing.assert_allclose(softlib.softmax(x, axis=axis), scipy.special.softmax(x, axis=axis), rtol=1e-12)
    np.testing.assert_allclose(softlib.logsumexp(x, axis=axis, keepdims=True),
                               scipy.special.logsumexp(x, axis=axis, keepdims=True), rtol=1e-12)


def test_dtypes_follow_numpy_exp():
    assert softlib.softmax(np.array([1, 2], dtype=np.int64)).dtype == np.float64
    assert softlib.softmax(np.array([1, 2], dtype=np.int16)).dtype == np.float32
    assert softlib.softmax(np.array([1.0, 2.0], dtype=np.float16)).dtype == np.float16


def test_bad_input_raises_clearly():
    with pytest.raises(TypeError, match="real numbers"):
        softlib.softmax(np.array([1 + 2j]))
    with pytest.raises(np.exceptions.AxisError):
        softlib.softmax(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="shape"):
        softlib.softmax(np.zeros(3), out=np.zeros(4))
    with pytest.raises(ValueError, match="algorithm"):
        softlib.softmax(np.zeros(3), algorithm="fastest")


def test_empty_arrays_keep_their_shape():
    assert softlib.softmax(np.zeros((0, 3))).shape == (0, 3)
    np.testing.assert_array_equal(softlib.logsumexp(np.zeros((2, 0))), [-np.inf, -np.inf])


@pytest.mark.parametrize("row", [[1, np.inf], [np.inf, np.inf], [-np.inf, -np.inf], [1, -np.inf],
                                 [np.nan, 1], [np.inf, -np.inf]])
def test_non_finite_rows_follow_scipy(row):
    x = np.array(row)
    with np.errstate(invalid="ignore"):
        np.testing.assert_array_equal(softlib.softmax(x), scipy.special.softmax(x))
        np.testing.assert_array_equal(softlib.log_softmax(x), scipy.special.log_softmax(x))
        np.testing.assert_array_equal(softlib.logsumexp(x), scipy.special.logsumexp(x))


def test_code_paths_are_reported():
    assert softlib.isas()[0] == "portable"
    assert softlib.isa() in softlib.isas()
    assert isinstance(softlib.__version__, str)
