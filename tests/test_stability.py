"""softlib.chapters.stability: collapse thresholds, collapse and zero-loss fractions, StableMax, ⊥Grad,
bfloat16."""

import math

import numpy as np
import pytest

from softlib.chapters import stability as st


@pytest.mark.parametrize("precision, bits", [("float16", 11), ("float32", 24), ("float64", 53)])
def test_collapse_gap_matches_p_ln2(precision, bits):
    # Theory: 1 + exp(-d) rounds to 1 once exp(-d) <= 2**-p. The bisection differs from p ln 2 by
    # at most a few spacings of the format near the threshold (the gap and exp(-d) are rounded).
    measured = st.collapse_gap_measured(precision)
    spacing = float(np.spacing(np.dtype(precision).type(bits * math.log(2))))
    assert st.collapse_gap(precision) == pytest.approx(bits * math.log(2), rel=1e-15)
    assert abs(measured - bits * math.log(2)) <= 2 * spacing


@pytest.mark.parametrize("precision", ["float16", "float32", "float64"])
def test_two_logit_rows_collapse_exactly_past_the_gap(precision):
    gap = st.collapse_gap(precision)
    below = np.array([[gap * 0.98, 0.0]])
    above = np.array([[gap * 1.02, 0.0]])
    assert st.softmax_collapse_fraction(below, precision) == 0.0
    assert st.softmax_collapse_fraction(above, precision) == 1.0
    assert st.zero_loss_fraction(above, [0], precision) == 1.0
    assert st.zero_loss_fraction(above, [1], precision) == 0.0  # wrong class: loss = the gap


def test_collapse_fraction_counts_rows_and_follows_axis():
    z = np.zeros((3, 4))
    z[0, 0] = 30.0  # collapses in float32 (gap 30 > 16.6), not in float64 (< 36.7)
    z[1, 0] = 40.0  # collapses in both
    assert st.softmax_collapse_fraction(z, "float32") == pytest.approx(2 / 3)
    assert st.softmax_collapse_fraction(z, np.float64) == pytest.approx(1 / 3)
    assert st.softmax_collapse_fraction(z.T, "float32", axis=0) == pytest.approx(2 / 3)


def test_collapse_fraction_is_shift_invariant_and_handles_float16_range():
    z = np.array([[1000.0, 980.0, 975.0]])
    assert st.softmax_collapse_fraction(z, "float32") == 1.0
    assert st.softmax_collapse_fraction(np.array([[10.0, 0.0]]), "float16") == 1.0  # 10 > 7.6


def test_bad_input_is_refused():
    with pytest.raises(ValueError, match="unknown precision"):
        st.softmax_collapse_fraction(np.zeros((2, 2)), "float8")
    with pytest.raises(ValueError, match="emulated"):
        st.softmax_collapse_fraction(np.zeros((2, 2)), "bfloat16")
    with pytest.raises(ValueError, match="0-d"):
        st.softmax_collapse_fraction(np.float32(1.0))
    with pytest.raises(TypeError, match="real"):
        st.softmax_collapse_fraction(np.zeros((2, 2), dtype=complex))
    with pytest.raises(ValueError, match="labels"):
        st.zero_loss_fraction(np.zeros((2, 3)), [0, 3])
    with pytest.raises(ValueError, match="one per row"):
        st.zero_loss_fraction(np.zeros((2, 3)), [0])
    with pytest.raises(ValueError, match="shape"):
        st.perpendicular_gradient(np.zeros(3), np.zeros(2))
    with pytest.raises(ValueError, match="same length"):
        st.gradient_weight_cosine([np.zeros(2)], [])


def test_stablemax_s_is_exp_like_near_zero_and_positive():
    x = np.linspace(-50, 50, 1001)
    s = st.stablemax_s(x)
    assert np.all(s > 0) and np.all(np.diff(s) > 0)
    assert st.stablemax_s(0.0) == 1.0
    # Slope 1 on both sides of 0 (s is continuously differentiable there).
    h = 1e-7
    assert (st.stablemax_s(h) - st.stablemax_s(-h)) / (2 * h) == pytest.approx(1.0, rel=1e-6)


def test_stablemax_sums_to_one_and_log_matches():
    x = np.random.default_rng(0).normal(scale=10, size=(5, 7))
    p = st.stablemax_np(x)
    assert np.allclose(p.sum(axis=-1), 1.0, rtol=0, atol=1e-14)
    assert np.allclose(np.exp(st.log_stablemax_np(x)), p, rtol=1e-13, atol=0)
    assert np.allclose(st.stablemax_np(x.T, axis=0), p.T)


def test_perpendicular_gradient_is_orthogonal_and_rescaled():
    rng = np.random.default_rng(1)
    w, g = rng.normal(size=(4, 5)), rng.normal(size=(4, 5))
    perp = st.perpendicular_gradient(w, g)
    assert abs(np.vdot(perp, w)) < 1e-12 * np.linalg.norm(w) * np.linalg.norm(g)
    assert np.allclose(g - perp, (np.vdot(w, g) / np.vdot(w, w)) * w)  # the removed part lies along w
    scaled = st.perpendicular_gradient(w, g, rescale=True)
    assert np.linalg.norm(scaled) == pytest.approx(np.linalg.norm(g))
    assert np.allclose(scaled / np.linalg.norm(scaled), perp / np.linalg.norm(perp))
    assert np.array_equal(st.perpendicular_gradient(np.zeros(3), np.ones(3)), np.ones(3))
    assert st.perpendicular_gradient(w.astype(np.float32), g.astype(np.float32)).dtype == np.float32


def test_gradient_weight_cosine():
    w = {"a": np.array([1.0, 0.0]), "b": np.array([0.0, 1.0])}
    assert st.gradient_weight_cosine(w, {"a": -w["a"], "b": -w["b"]}) == pytest.approx(1.0)
    assert st.gradient_weight_cosine(w, {"a": w["a"], "b": w["b"]}) == pytest.approx(-1.0)
    assert st.gradient_weight_cosine(w, {"a": np.array([0.0, 1.0]), "b": np.array([1.0, 0.0])}) == 0.0
    assert math.isnan(st.gradient_weight_cosine([np.zeros(2)], [np.ones(2)]))


def test_round_to_bfloat16_keeps_eight_significant_bits():
    x = np.random.default_rng(2).normal(size=10_000).astype(np.float32)
    r = st.round_to_bfloat16(x)
    assert np.all(r.view(np.uint32) & 0xFFFF == 0)  # the low 16 bits are clear
    rel = np.abs(r - x) / np.abs(x)
    assert rel.max() <= 2.0**-8  # unit roundoff of an 8-bit significand
    # Round to nearest, ties to even: 1 + 2**-8 is halfway between 1 and 1 + 2**-7.
    halfway = np.float32([1 + 2.0**-8, 1 + 3 * 2.0**-8])
    assert st.round_to_bfloat16(halfway).tolist() == [1.0, 1 + 2.0**-6]
    assert np.isnan(st.round_to_bfloat16(np.float32([np.nan])))[0]
    assert np.isinf(st.round_to_bfloat16(np.float32([np.inf])))[0]


@pytest.mark.parametrize("precision, bits", [("float16", 11), ("bfloat16", 8), ("float32", 24)])
def test_softmax_in_precision_error_is_a_few_roundoffs(precision, bits):
    # Logits spread over a small range: no underflow, so the error is a few unit roundoffs times
    # the length of the running sum (8 terms here).
    x = np.random.default_rng(3).uniform(-3, 0, size=(200, 8))
    exact = np.exp(x) / np.exp(x).sum(axis=-1, keepdims=True)
    got = st.softmax_in_precision(x, precision)
    assert np.max(np.abs(got - exact) / exact) < 12 * 2.0**-bits


def test_softmax_in_precision_underflows_where_the_format_ends():
    # float16 flushes exp(-d) to zero once it is below half its smallest subnormal, 2**-25:
    # d > 25 ln 2 = 17.3; bfloat16 keeps float32's exponent range and represents exp(-20).
    z = np.array([0.0, -20.0])
    assert st.softmax_in_precision(z, "float16")[1] == 0.0
    assert st.softmax_in_precision(z, "bfloat16")[1] > 0.0
    assert st.softmax_in_precision(np.array([0.0, -17.0]), "float16")[1] > 0.0


def test_stablemax_collapse_needs_logits_2_to_the_p_apart():
    # s(-d) / s(0) = 1 / (1 + d): a rival is absorbed in float32 once 1/(1+d) <= 2**-24 relative to
    # the top term, i.e. a gap of about 2**24, where softmax collapses at a gap of 16.6.
    assert st.stablemax_collapse_fraction(np.array([[0.0, -1e3]]), "float32") == 0.0
    assert st.stablemax_collapse_fraction(np.array([[0.0, -1e8]]), "float32") == 1.0
    assert st.stablemax_collapse_fraction(np.array([[0.0, -1e8]]), "float64") == 0.0
    assert st.stablemax_collapse_fraction(np.array([[1e9, 0.0], [1e20, 0.0]]), "float64") == 0.5
