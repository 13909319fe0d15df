"""The figures of the Sampling part: softlib.book.sampling_plots and the plot functions of
softlib.chapters.soft_thinking (interactive ones redraw in place, static ones label their axes)."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402

from softlib.book import sampling_plots as sp  # noqa: E402
from softlib.chapters import soft_thinking as st  # noqa: E402
from softlib.book.viz import explore  # noqa: E402


def _reader():
    model = st.ToyReasoner.random(vocab=16, dim=32, scale=3.0, seed=0)
    q = np.zeros(16)
    q[[2, 5, 11]] = [0.45, 0.35, 0.2]
    return st.plot_reader(model, q, [3.0, 30.0])


def _thresholds():
    logits, informative = sp.synthetic_vocabulary(vocab=2000)
    return sp.plot_thresholds(logits, informative, [0.5, 3.0])


@pytest.mark.parametrize("make, name, values", [
    (lambda: sp.plot_concrete_ternary(np.log([0.2, 0.3, 0.5]), [0.5, 2.0], samples=50,
                                      resolution=12), "temperature", [0.5, 2.0]),
    (_thresholds, "temperature", [0.5, 3.0]),
    (_reader, "sharpness", [3.0, 30.0]),
])
def test_interactive_figures_redraw_in_place(make, name, values):
    fx = explore(make(), {name: values}, frames=False)
    fig = fx.new_figure()
    fx.render(fig)
    for v in values:
        assert fx.render(fig, **{name: v})[:4] == b"\x89PNG"
    assert len(fx._updaters) == 1
    plt.close(fig)


def test_static_figures_label_their_axes():
    est = sp.gradient_estimators(np.array([0.5, -0.3, 0.2]), np.array([1.0, -2.0, 0.5]), 1.0,
                                 [1.0, 0.5], 2000, rng=np.random.default_rng(0))
    sizes = [16, 64]
    plain = np.array([[0.7, 0.9], [0.3, 0.8]])
    laws = {k: np.full(4, 0.25) for k in ("discrete", "greedy", "soft", "gumbel", "dirichlet")}
    paths = [st.gumbel_flow_path(np.log([0.2, 0.3, 0.5]), np.zeros(3), np.geomspace(5, 0.1, 20))]
    figures = [sp.plot_estimator_tradeoff([1.0, 0.5], est),
               sp.plot_dispersion(sizes, plain, plain, np.array([0.6, 0.3])),
               st.plot_last_step_laws({3.0: (laws, 0.0), 30.0: (laws, 0.0)})]
    for fig in figures:
        for ax in fig.axes:
            assert ax.get_xlabel()
        assert fig.axes[0].get_ylabel()
        plt.close(fig)
    fig = st.plot_flow_paths(paths, title="paths")
    assert len(fig.axes[0].get_lines()) == 1 + 2 * len(paths)
    plt.close(fig)
