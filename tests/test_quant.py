"""softlib.quant: the affine integer grid (round-half-to-even, saturation), and the softmax bias correction."""

import numpy as np
import pytest

import softlib
from softlib import quant as qt

DTYPES = [np.float32, np.float64]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("bits, signed", [(8, False), (8, True), (4, False), (4, True), (12, False), (16, True)])
def test_round_trip_within_half_a_step(dtype, bits, signed):
    # Inside the grid's range, dequantize(quantize(x)) is the nearest grid point: error <= scale / 2
    # (plus the rounding of the float32 result, one ulp of the largest value).
    lo, hi = qt.code_range(bits, signed)
    scale, zp = 0.037, (lo + hi) // 2
    rng = np.random.default_rng(bits)
    x = rng.uniform((lo - zp) * scale, (hi - zp) * scale, size=2000).astype(dtype)
    y = qt.dequantize(qt.quantize(x, bits, scale, zp, signed=signed), scale, zp, dtype=dtype)
    assert y.dtype == dtype
    tol = scale / 2 + 2 * np.finfo(dtype).eps * np.abs(x).max()
    assert np.abs(y.astype(np.float64) - x.astype(np.float64)).max() <= tol


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_half_to_even(dtype):
    x = np.array([0.5, 1.5, 2.5, 3.5, -0.5, -1.5, -2.5, 4.5078125], dtype=dtype)
    q = qt.quantize(x, 8, 1.0, signed=True)
    assert q.tolist() == [0, 2, 2, 4, 0, -2, -2, 5]
    # the same on a grid of step 1/256: 0.5/256 -> 0, 1.5/256 -> 2
    assert qt.quantize(np.array([0.5, 1.5, 2.5], dtype=dtype) / 256, 8, 1 / 256).tolist() == [0, 2, 2]


@pytest.mark.parametrize("bits", [2, 3, 8, 10, 16, 24, 32])
@pytest.mark.parametrize("signed", [False, True])
def test_saturation_at_both_ends_no_wrap_around(bits, signed):
    lo, hi = qt.code_range(bits, signed)
    x = np.array([-np.inf, -1e30, (lo - 1.0), lo, hi, hi + 1.0, 1e30, np.inf])
    q = qt.quantize(x, bits, 1.0, signed=signed)
    assert q.tolist() == [lo, lo, lo, lo, hi, hi, hi, hi]
    assert np.iinfo(q.dtype).min <= lo and np.iinfo(q.dtype).max >= hi
    assert q.dtype.kind == ("i" if signed else "u")


def test_code_range_and_dtypes():
    assert qt.code_range(8) == (0, 255) and qt.code_range(8, True) == (-128, 127)
    assert qt.code_range(2, True) == (-2, 1)
    assert qt.quantize(np.zeros(1), 8, 1.0).dtype == np.uint8
    assert qt.quantize(np.zeros(1), 8, 1.0, signed=True).dtype == np.int8
    assert qt.quantize(np.zeros(1), 9, 1.0).dtype == np.uint16
    assert qt.quantize(np.zeros(1), 20, 1.0, signed=True).dtype == np.int32


def test_uint8_probability_grid_saturates_one():
    # 1.0 is not on the uint8 grid of step 1/256: it saturates to 255 (a plain cast would wrap to 0).
    assert qt.quantize(np.array([1.0]), 8, 1 / 256).tolist() == [255]
    assert np.array([256]).astype(np.uint8).tolist() == [0]  # what saturation avoids
    codes, p_hat = qt.quantize_softmax(np.array([1.0, 0.0]))
    assert codes.tolist() == [255, 0] and p_hat[0] == np.float64(255 / 256)


@pytest.mark.parametrize("dtype", DTYPES)
def test_int8_with_zero_point_minus_128_equals_uint8(dtype):
    p = softlib.softmax(np.random.default_rng(0).normal(size=(20, 64)).astype(dtype))
    cu, pu = qt.quantize_softmax(p)
    cs, ps = qt.quantize_softmax(p, signed=True)
    assert cs.dtype == np.int8 and cu.dtype == np.uint8 and pu.dtype == dtype and ps.dtype == dtype
    assert np.array_equal(cs.astype(int) + 128, cu.astype(int))
    assert np.array_equal(pu, ps)


def test_zero_point_and_per_channel_scale():
    x = np.array([[0.0, 1.0], [0.0, 1.0]])
    q = qt.quantize(x, 8, np.array([[0.5], [0.25]]), zero_point=10)
    assert q.tolist() == [[10, 12], [10, 14]]
    assert np.allclose(qt.dequantize(q, np.array([[0.5], [0.25]]), 10), x)


@pytest.mark.parametrize("bad_bits", [0, 1, 33, 64, -8])
def test_bits_out_of_range(bad_bits):
    with pytest.raises(ValueError, match="bits"):
        qt.quantize(np.zeros(3), bad_bits, 1.0)


@pytest.mark.parametrize("bad_bits", [8.0, "8", True, None])
def test_bits_not_an_integer(bad_bits):
    with pytest.raises(TypeError, match="bits"):
        qt.quantize(np.zeros(3), bad_bits, 1.0)


@pytest.mark.parametrize("bad_scale", [0.0, -1.0, np.inf, np.nan, np.array([1.0, 0.0])])
def test_scale_must_be_positive_and_finite(bad_scale):
    with pytest.raises(ValueError, match="scale"):
        qt.quantize(np.zeros(2), 8, bad_scale)
    with pytest.raises(ValueError, match="scale"):
        qt.dequantize(np.zeros(2, dtype=np.uint8), bad_scale)


@pytest.mark.parametrize("x", [np.zeros(3, dtype=np.int32), np.zeros(3, dtype=np.float16),
                               np.zeros(3, dtype=bool), np.zeros(3, dtype=np.complex128), [1, 2]])
def test_wrong_input_dtype(x):
    with pytest.raises(TypeError, match="float32 or float64"):
        qt.quantize(x, 8, 1.0)


def test_other_bad_inputs():
    with pytest.raises(ValueError, match="NaN"):
        qt.quantize(np.array([0.0, np.nan]), 8, 1.0)
    with pytest.raises(ValueError, match="zero_point"):
        qt.quantize(np.zeros(2), 8, 1.0, zero_point=256)
    with pytest.raises(ValueError, match="zero_point"):
        qt.quantize(np.zeros(2), 8, 1.0, zero_point=-129, signed=True)
    with pytest.raises(TypeError, match="zero_point"):
        qt.quantize(np.zeros(2), 8, 1.0, zero_point=0.5)
    with pytest.raises(TypeError, match="integer codes"):
        qt.dequantize(np.zeros(2), 1.0)
    with pytest.raises(TypeError, match="dtype"):
        qt.dequantize(np.zeros(2, dtype=np.uint8), 1.0, dtype=np.float16)
    with pytest.raises(TypeError, match="float32 or float64"):
        qt.quantize_softmax(np.zeros(3, dtype=np.int64))


def test_empty_arrays():
    q = qt.quantize(np.zeros((0, 4), dtype=np.float32), 8, 0.1)
    assert q.shape == (0, 4) and q.dtype == np.uint8
    assert qt.dequantize(q, 0.1).shape == (0, 4)


def _quantised_softmax_rows(n_rows, n, seed, dtype=np.float64, scale=1.0):
    z = (scale * np.random.default_rng(seed).normal(size=(n_rows, n))).astype(dtype)
    return qt.quantize_softmax(softlib.softmax(z))[1]


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("n", [256, 512, 1024])
def test_bias_correction_restores_the_mean_sum(dtype, n):
    calib = _quantised_softmax_rows(400, n, seed=1, dtype=dtype)
    assert abs(calib.sum(-1).mean() - 1) > 0.01            # the bias it corrects
    beta = qt.softmax_bias_correction(calib)
    assert beta.shape == () and beta.dtype == np.float64 and beta > 0
    # exactly on the calibration set (float rounding only) ...
    assert abs((calib + beta).sum(-1).mean() - 1) < 1e-6
    # ... and within 1% on held-out rows from the same distribution
    held = _quantised_softmax_rows(400, n, seed=2, dtype=dtype)
    assert abs((held + beta).sum(-1).mean() - 1) < 0.01


def test_bias_correction_per_group_and_axis():
    # One beta per head (axis 0): heads with different logit scales get different corrections.
    heads = np.stack([_quantised_softmax_rows(200, 256, seed=s, scale=sc) for s, sc in ((3, 0.5), (4, 3.0))])
    beta = qt.softmax_bias_correction(heads, keep_axes=(0,))
    assert beta.shape == (2, 1, 1)
    fixed = (heads + beta).sum(-1).mean(-1)
    assert np.allclose(fixed, 1.0, atol=1e-9)
    assert beta[0, 0, 0] != beta[1, 0, 0]
    # The softmax axis can be any axis.
    assert np.isclose(qt.softmax_bias_correction(heads[0].T, axis=0), qt.softmax_bias_correction(heads[0]))


def test_bias_correction_bad_inputs():
    with pytest.raises(TypeError):
        qt.softmax_bias_correction(np.zeros((2, 3), dtype=np.int64))
    with pytest.raises(ValueError, match="empty"):
        qt.softmax_bias_correction(np.zeros((2, 0)))
    with pytest.raises(ValueError, match="rows"):
        qt.softmax_bias_correction(np.zeros((0, 3)))
    with pytest.raises(ValueError, match="NaN"):
        qt.softmax_bias_correction(np.array([[0.5, np.nan]]))
    with pytest.raises(ValueError, match="axis"):
        qt.softmax_bias_correction(np.zeros((2, 3)), axis=2)
    with pytest.raises(ValueError, match="softmax axis"):
        qt.softmax_bias_correction(np.zeros((2, 3)), keep_axes=(1,))
    with pytest.raises(ValueError):
        qt.softmax_bias_correction(np.float64(0.5))


def test_sqnr():
    x = np.random.default_rng(0).normal(size=1000)
    assert qt.sqnr_db(x, x) == np.inf
    assert qt.sqnr_db(x, 1.1 * x) == pytest.approx(20.0)
    with pytest.raises(ValueError):
        qt.sqnr_db(x, x[:10])


def test_plot_quantised_softmax_updates_in_place():
    from softlib.book.viz import explore

    p = softlib.softmax(np.random.default_rng(0).normal(size=(40, 64)))
    frames = {}
    for b in (4, 8):
        p_hat = qt.quantize_softmax(p, bits=b)[1]
        beta = qt.softmax_bias_correction(p_hat[:20])
        frames[b] = dict(row=np.sort(p[20])[::-1], row_hat=np.sort(p_hat[20])[::-1],
                         sums=p_hat[20:].sum(-1), sums_fixed=(p_hat[20:] + beta).sum(-1))
    fx = explore(lambda fig, bits: qt.plot_quantised_softmax(fig, frames, bits), {"bits": [4, 8]})
    fig = fx.new_figure()
    first, second = fx.render(fig, bits=4), fx.render(fig, bits=8)
    assert first != second and len(fig.axes) == 2
