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


@pytest.mark.parametrize("algorithm", softlib.ops.ALGORITHMS)
def test_every_algorithm_through_the_public_api(algorithm, dtype):
    x = np.random.default_rng(2).uniform(90, 100, size=(5, 300)).astype(dtype)
    want = scipy.special.softmax(x.astype(np.float64), axis=-1)
    rtol = 4e-7 if dtype == np.float32 else 1e-14
    np.testing.assert_allclose(softlib.softmax(x, algorithm=algorithm), want, rtol=rtol)
    np.testing.assert_allclose(softlib.log_softmax(x, algorithm=algorithm),
                               scipy.special.log_softmax(x.astype(np.float64), axis=-1), rtol=rtol)


def test_strided_rows_out_and_in_place():
    base = np.random.default_rng(3).normal(size=(6, 40)).astype(np.float32)
    x = base[::2, 1::1]  # row stride 2 rows: used without a copy
    out = np.empty((3, 39), np.float32)
    assert softlib.softmax(x, out=out) is out
    np.testing.assert_allclose(out, scipy.special.softmax(x.astype(np.float64), axis=-1), rtol=4e-7)
    y = x.copy()
    softlib.softmax(y, out=y)  # in place
    np.testing.assert_allclose(y, out, rtol=0, atol=0)
    out_t = np.empty((39, 3), np.float32).T  # an out whose rows are strided: written through a copy
    softlib.log_softmax(x, out=out_t)
    np.testing.assert_allclose(out_t, scipy.special.log_softmax(x.astype(np.float64), axis=-1), rtol=4e-7, atol=1e-6)


def test_integer_and_half_inputs_convert_like_np_exp():
    for dt, want in [(np.bool_, np.float16), (np.int8, np.float16), (np.uint8, np.float16),
                     (np.int16, np.float32), (np.uint16, np.float32), (np.int32, np.float64),
                     (np.int64, np.float64), (np.float16, np.float16)]:
        x = np.array([[0, 1, 1]], dtype=dt)
        assert softlib.softmax(x).dtype == want
        assert softlib.log_softmax(x).dtype == want
        # logsumexp follows scipy.special.logsumexp's own rule: integers and bool give float64
        assert softlib.logsumexp(x).dtype == (np.float64 if np.dtype(dt).kind in "biu" else want)
        assert softlib.logsumexp(x).dtype == scipy.special.logsumexp(x.astype(np.int64) if dt == np.bool_ else x,
                                                                     axis=-1).dtype
        np.testing.assert_allclose(softlib.softmax(x), scipy.special.softmax(x.astype(np.float64), axis=-1),
                                   rtol=1e-3)


def test_object_and_complex_raise_type_error_and_empty_rows():
    with pytest.raises(TypeError):
        softlib.softmax(np.array([1, "a"], dtype=object))
    with pytest.raises(TypeError):
        softlib.logsumexp(np.array([1j]))
    assert softlib.softmax(np.float32(1.0)) == np.float32(1.0)  # 0-d input: a scalar, as SciPy
    assert softlib.log_softmax(np.zeros((3, 0, 2)), axis=1).shape == (3, 0, 2)
    assert softlib.logsumexp(np.zeros((0, 4))).shape == (0,)
    assert softlib.logsumexp(np.zeros((0, 4)), axis=0, keepdims=True).shape == (1, 4)
    with pytest.raises(ValueError, match="dtype"):
        softlib.softmax(np.zeros(3), out=np.zeros(3, np.float32))


def test_auto_rule_is_one_of_the_algorithms():
    for n, rows in [(128, 4096), (32000, 1024), (1 << 26, 1)]:
        for path in softlib.isas():
            assert softlib.ops.auto_algorithm(n, rows, np.float32, path) in softlib.ops.ALGORITHMS[1:5]
    assert softlib.ops.auto_algorithm(1 << 26, 1, np.float32, "avx512") == "two_pass"
    assert softlib.ops.auto_algorithm(128, 4096, np.float32, "avx512") == "three_pass"


# --- scipy.special drop-in (issue 15): every axis SciPy accepts, scalars, b= and return_sign ---
@pytest.mark.parametrize("axis", [None, 0, 1, -1, (0, 2), (2, 0), (0, 1, 2), (1,), ()])
@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_axes_like_scipy(axis, dtype):
    x = np.random.default_rng(0).normal(0, 5, (3, 4, 5)).astype(dtype)
    rtol = 1e-5 if dtype == np.float32 else 1e-13
    for name in ("softmax", "log_softmax", "logsumexp"):
        got = getattr(softlib, name)(x, axis=axis)
        want = getattr(scipy.special, name)(x, axis=axis)
        assert np.asarray(got).dtype == np.asarray(want).dtype and np.shape(got) == np.shape(want), name
        # SciPy's log_softmax is accurate to an ULP of 1 near 0 (softlib to an ULP of the value)
        atol = 4 * np.finfo(dtype).eps if name == "log_softmax" else 1e-30
        np.testing.assert_allclose(got, want, rtol=rtol, atol=atol)
    got = softlib.logsumexp(x, axis=axis, keepdims=True)
    assert got.shape == scipy.special.logsumexp(x, axis=axis, keepdims=True).shape


def test_scalars_and_full_reductions_are_numpy_scalars():
    assert isinstance(softlib.softmax(3.0), np.float64) and softlib.softmax(3.0) == 1.0
    assert isinstance(softlib.log_softmax(np.float32(3.0)), np.float32)
    assert isinstance(softlib.logsumexp([1.0, 2.0]), np.float64)
    assert isinstance(softlib.logsumexp(np.ones((2, 3)), axis=None), np.float64)
    assert softlib.logsumexp(5) == 5.0 and isinstance(softlib.logsumexp(5), np.float64)
    with pytest.raises(np.exceptions.AxisError):
        softlib.softmax(np.ones((2, 3)), axis=(0, 5))
    with pytest.raises(ValueError, match="repeated"):
        softlib.softmax(np.ones((2, 3)), axis=(0, 0))


@pytest.mark.parametrize("return_sign", [False, True])
def test_logsumexp_weights_like_scipy(return_sign):
    rng = np.random.default_rng(2)
    a = rng.normal(0, 3, (4, 6))
    for b in (rng.uniform(0, 2, (4, 6)), rng.normal(0, 1, (4, 6)), np.array([1.0, 0, 2, 0, 1, -1]),
              rng.integers(-2, 3, (1, 6))):
        for axis in (-1, 0, None, (0, 1)):
            with np.errstate(invalid="ignore"):
                got = softlib.logsumexp(a, axis=axis, b=b, return_sign=return_sign)
                want = scipy.special.logsumexp(a, axis=axis, b=b, return_sign=return_sign)
            np.testing.assert_allclose(got, want, rtol=1e-13, equal_nan=True)


class _ArrayAPIArray:
    """A minimal array of another library: DLPack and __array_namespace__ (as JAX and array-api-strict)."""

    def __init__(self, a):
        self._a = np.asarray(a)

    def __dlpack__(self, **kwargs):
        return self._a.__dlpack__(**kwargs)

    def __dlpack_device__(self):
        return self._a.__dlpack_device__()

    def __array_namespace__(self, api_version=None):
        return _NS


class _NS:
    __name__ = "fake_array_api"

    @staticmethod
    def from_dlpack(y):
        return _ArrayAPIArray(np.from_dlpack(y))

    @staticmethod
    def asarray(y):
        return _ArrayAPIArray(y)


def test_other_libraries_come_back_as_their_type():
    x = _ArrayAPIArray(np.log([[1.0, 3.0]]))
    y = softlib.softmax(x)
    assert isinstance(y, _ArrayAPIArray)
    np.testing.assert_allclose(y._a, [[0.25, 0.75]])
    assert isinstance(softlib.logsumexp(x), _ArrayAPIArray)
    assert softlib.logsumexp(x, axis=None)._a.ndim == 0


def test_torch_tensors():
    torch = pytest.importorskip("torch")
    x = torch.randn(3, 7, dtype=torch.float32)
    y = softlib.softmax(x, axis=-1)
    assert isinstance(y, torch.Tensor) and y.dtype == torch.float32
    assert torch.allclose(y, torch.softmax(x, -1), rtol=1e-5, atol=1e-7)
    lse = softlib.logsumexp(x, axis=None)
    assert isinstance(lse, torch.Tensor) and lse.ndim == 0  # a full reduction: 0-d, as torch gives
    p, i = softlib.softmax_topk(x, 2)
    assert isinstance(i, torch.Tensor) and i.dtype == torch.int64
    with pytest.raises(TypeError, match="detach"):
        softlib.softmax(x.requires_grad_())
