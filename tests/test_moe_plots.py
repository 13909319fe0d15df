"""softlib.book.moe_plots: the figures of the mixture-of-experts chapters draw, and their in-place
updates give the same picture as a fresh draw."""

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from softlib.chapters.moe import paper1_truth  # noqa: E402
from softlib.book.moe_plots import (plot_gate_and_samples, plot_gate_rates,  # noqa: E402
                                    plot_parameter_rates, plot_ridge_gate, plot_ridge_likelihood)


def _make(slope):
    truth = paper1_truth()
    model = truth.replace(beta0=[-0.3 * slope, 0.0], beta1=[[slope], [0.0]])
    return model, *model.sample(60, np.random.default_rng(0))


def _pixels(fig):
    fig.canvas.draw()
    return np.asarray(fig.canvas.buffer_rgba()).copy()


@pytest.mark.parametrize("colour", [False, True])
def test_gate_and_samples_update_equals_fresh_draw(colour):
    controls = {"slope": [0.0, 10.0]}
    x_grid = np.linspace(0, 1, 50)[:, None]
    draw = plot_gate_and_samples(_make, controls, x_grid, title="slope {slope:g}",
                                 colour_by_gate=colour)
    moved, fresh = plt.figure(), plt.figure()
    update = draw(moved, slope=0.0)
    changed = update(slope=10.0)
    assert changed and all(hasattr(a, "draw") for a in changed)
    draw(fresh, slope=10.0)
    assert np.array_equal(_pixels(moved), _pixels(fresh))
    # the y-axis holds every sample of every control value
    ys = np.concatenate([_make(s)[2] for s in controls["slope"]])
    low, high = moved.axes[1].get_ylim()
    assert low <= ys.min() and ys.max() <= high
    plt.close("all")


def test_ridge_gate_update_equals_fresh_draw():
    draw = plot_ridge_gate(np.linspace(-1, 1, 41))
    moved, fresh = plt.figure(), plt.figure()
    draw(moved, tau=1.0, gate="linear")(tau=0.25, gate="tanh")
    draw(fresh, tau=0.25, gate="tanh")
    assert np.array_equal(_pixels(moved), _pixels(fresh))
    plt.close("all")


def test_ridge_likelihood_subtracts_the_value_at_one():
    fig, ax = plt.subplots()
    cs = np.array([0.5, 1.0, 2.0])
    plot_ridge_likelihood(ax, cs, {"tanh": np.array([1.0, 3.0, 2.0])})
    assert np.allclose(ax.lines[0].get_ydata(), [-2.0, 0.0, -1.0])
    plt.close(fig)


class _Study:
    """The fields the rate figures read, for a study whose errors fall like n^-1/2."""

    def __init__(self):
        self.ns = np.array([1000, 2000, 4000, 8000])
        rng = np.random.default_rng(1)
        err = self.ns[:, None, None] ** -0.5 * rng.uniform(0.8, 1.2, (4, 5, 2))
        self.errors = {"a": err, "mass": np.stack([err[..., 0], 0 * err[..., 1]], axis=-1)}

    def __getitem__(self, name):
        return self.errors[name][..., 0]


def test_parameter_rates_skip_errors_matched_exactly():
    draw = plot_parameter_rates(_Study(), {0: {"a": -0.5, "mass": -0.5},
                                           1: {"a": -0.5, "mass": -0.5}},
                                {"a": "a", "mass": "mass"})
    fig = plt.figure()
    draw(fig, largest_n=8000, parameter="mass")
    assert len(fig.axes[0].get_legend().get_texts()) == 1  # expert 2's zero errors skipped
    fig = plt.figure()
    draw(fig, largest_n=4000, parameter="a")
    assert len(fig.axes[0].get_legend().get_texts()) == 2
    assert max(fig.axes[0].lines[0].get_xdata()) == 4000
    plt.close("all")


def test_gate_rates_one_series_per_gate():
    draw = plot_gate_rates({"linear": _Study(), "tanh": _Study()}, {"a": "expert slopes"})
    fig = plt.figure()
    draw(fig, parameter="a", largest_n=8000)
    assert [t.get_text().split(":")[0] for t in fig.axes[0].get_legend().get_texts()] \
        == ["linear", "tanh"]
    plt.close(fig)
