"""The Foundations part's helpers: softlib.chapters.theory.foundations and softlib.book.foundations_plots."""

import numpy as np
import pytest
import scipy.special

import softlib
from softlib.book import foundations_plots as plots
from softlib.chapters.theory import foundations as fd
from softlib.book.viz import explore


def test_entropies():
    p = np.array([[0.5, 0.5, 0.0], [1.0, 0.0, 0.0]])
    np.testing.assert_allclose(fd.entropy(p), [np.log(2), 0.0])
    np.testing.assert_allclose(fd.tsallis_entropy(p, 1.0), fd.entropy(p))
    np.testing.assert_allclose(fd.tsallis_entropy(p, 1 + 1e-7), fd.entropy(p), atol=1e-6)
    np.testing.assert_allclose(fd.tsallis_entropy(p, 2.0), (1 - np.sum(p**2, axis=1)) / 2)
    with pytest.raises(ValueError):
        fd.entropy([-0.1, 1.1])
    with pytest.raises(ValueError):
        fd.tsallis_entropy([1.0], 0.0)


def test_jacobians_and_finite_differences():
    z = np.array([0.3, -1.0, 2.0])
    s = softlib.softmax(z)
    np.testing.assert_allclose(fd.softmax_jacobian(s), fd.numerical_jacobian(softlib.softmax, z), atol=1e-9)
    batch = softlib.softmax(np.random.default_rng(0).normal(size=(4, 3)))
    assert fd.softmax_jacobian(batch).shape == (4, 3, 3)
    np.testing.assert_allclose(fd.entmax_jacobian(s, 1.0), fd.softmax_jacobian(s), atol=1e-15)
    with pytest.raises(ValueError):
        fd.entmax_jacobian(s, 0.5)
    with pytest.raises(ValueError):
        fd.numerical_jacobian(np.sin, np.zeros((2, 2)))


def test_bradley_terry():
    strengths = np.array([0.5, 1.0, 2.0])
    wins = fd.simulate_comparisons(strengths, games=50, seed=1)
    games = wins + wins.T
    assert np.all(games[~np.eye(3, dtype=bool)] == 50) and np.all(np.diag(wins) == 0)
    fitted = fd.bradley_terry_mm(wins)
    assert abs(np.mean(np.log(fitted))) < 1e-12 and np.all(np.diff(fitted) > 0)
    # The MLE satisfies the score equations: each item's wins equal its expected wins.
    expected = np.sum(games * fitted[:, None] / (fitted[:, None] + fitted[None, :]), axis=1)
    np.testing.assert_allclose(expected, wins.sum(axis=1), rtol=1e-8)
    se = fd.bradley_terry_standard_errors(strengths, 50)
    assert se.shape == (3,) and np.all(se > 0)
    with pytest.raises(ValueError):
        fd.simulate_comparisons([1.0, -1.0], 3)
    with pytest.raises(ValueError):
        fd.bradley_terry_mm(np.zeros((2, 3)))


def test_fenchel_young_loss_and_top_k():
    z = np.array([1.0, 0.2, -0.5])
    assert fd.fenchel_young_loss(z, 1, 1.0) == pytest.approx(softlib.logsumexp(z) - z[1], rel=1e-12)
    assert fd.fenchel_young_loss(np.array([3.0, 0.0, 0.0]), 0, 2.0) == pytest.approx(0.0, abs=1e-15)
    np.testing.assert_allclose(fd.top_k_softmax(z, 3), softlib.softmax(z))
    np.testing.assert_array_equal(fd.top_k_softmax(z, 1), [1.0, 0.0, 0.0])
    with pytest.raises(ValueError):
        fd.top_k_softmax(z, 4)


def test_choice_map_properties_tell_the_maps_apart():
    assert fd.choice_map_properties(softlib.sparsemax) == {
        "sums to one": True, "exact zeros": True, "shift invariant": True, "odds ignore other items": False}
    assert fd.choice_map_properties(scipy.special.expit)["sums to one"] is False


def test_plot_helpers():
    np.testing.assert_array_equal(plots.entmax([1.0, 0.5, -1.0], 2.0), softlib.sparsemax([1.0, 0.5, -1.0]))
    np.testing.assert_allclose(plots.entmax([1.0, 0.5], 1.7), softlib.entmax_bisect([1.0, 0.5], 1.7))
    disc = plots.logit_disc(3, 5)
    assert disc.shape == (15, 3) and np.allclose(disc.sum(axis=1), 0)
    assert np.abs(np.linalg.norm(disc, axis=1)).max() <= 1 + 1e-12
    np.testing.assert_allclose(plots.simplex_xy(np.eye(3)), plots.CORNERS)
    fractions = plots.zero_fraction(disc, [1.0, 2.0], [0.1, 10.0])
    assert fractions.shape == (2, 2) and fractions[0].max() == 0 and fractions[1, 1] == 1


@pytest.mark.parametrize("make, controls, second", [
    (lambda: plots.temperature_figure([1.0, 0.0, -1.0], [0.1, 1.0, 10.0]),
     {"temperature": [0.1, 1.0, 10.0]}, None),
    (lambda: plots.simplex_figure([1.0, 2.0], [1.0, 3.0]), {"alpha": [1.0, 2.0], "scale": [1.0, 3.0]}, "scale"),
])
def test_figures_redraw_in_place(make, controls, second):
    fx = explore(make(), controls, second=second, frames=False)
    fig = fx.new_figure()
    fx.render(fig)
    for name, values in controls.items():
        for v in values:
            assert fx.render(fig, **{name: v})[:4] == b"\x89PNG"
    assert len(fx._updaters) == 1  # drawn once, then moved in place


def test_support_size_figure():
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    z = np.array([1.5, 1.2, 0.4, -0.3, -2.0])
    scales = np.geomspace(0.05, 20, 50)
    sizes = {"sparsemax": np.count_nonzero(softlib.sparsemax(scales[:, None] * z), axis=1)}
    fig = plots.plot_support_sizes(z, scales, sizes)
    ax = fig.axes[0]
    assert ax.get_xlabel() == "logit scale c" and len(ax.get_lines()) == 1 + 3
    plt.close(fig)
