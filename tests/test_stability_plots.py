"""The figures of the chapter *Softmax at the edge of numerical stability*, and the agreement of
softlib's compiled StableMax with the NumPy definitions the chapter's trainer uses (moved here from
the chapter, where it was an API check rather than a claim)."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pytest  # noqa: E402

import softlib  # noqa: E402
from softlib.chapters import stability as st  # noqa: E402
from softlib.book import stability_plots as sp  # noqa: E402
from softlib.chapters.modular import softmax_cross_entropy  # noqa: E402


def test_compiled_stablemax_agrees_with_the_numpy_definitions():
    z = np.array([[3.0, 0.0, -2.0, -40.0], [1e3, 999.0, 0.0, -1e3]])
    assert np.allclose(softlib.stablemax(z), st.stablemax_np(z), rtol=1e-12, atol=0)
    assert np.allclose(
        softlib.log_stablemax(z), st.log_stablemax_np(z), rtol=1e-12, atol=1e-300
    )


def two_logits(gap, dtype):
    loss, grad = softmax_cross_entropy(np.array([[gap, 0.0]]), np.array([0]), dtype)
    return float(loss[0]), float(grad[0, 0]), float(grad[0, 1])


@pytest.mark.parametrize("precision", ["float16", "float32"])
def test_collapse_figure_marks_exact_zeros(precision):
    from matplotlib.figure import Figure

    formats = {"float16": np.float16, "float32": np.float32}
    fine = np.arange(0.0, 45.01, 1.0)
    curves = {n: np.array([two_logits(d, t) for d in fine]) for n, t in formats.items()}
    fig = Figure()
    update = sp.collapse_figure(fine, curves, two_logits, formats)(
        fig, gap=3.0, precision=precision
    )
    update(gap=30.0, precision=precision)
    texts = [t.get_text() for t in fig.axes[1].texts]
    assert texts[0] == "exactly 0" and texts[1] == "exactly 0"


def test_static_figures_draw():
    r = np.geomspace(0.5, 200, 5)
    assert len(sp.plot_low_precision(r, {"float16": (r * 1e-3, 0 * r)}).axes) == 2
    assert len(sp.plot_exp_and_stablemax().axes) == 2
