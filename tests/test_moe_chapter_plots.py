"""The figures of the chapters *Multinomial logistic experts* and *DSelect-k*."""

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from softlib.book import moe_dselect_plots as dp  # noqa: E402
from softlib.book import moe_multinomial_plots as mp  # noqa: E402
from softlib.chapters.moe.gates import dselect_weights  # noqa: E402


def test_dselect_figure_greys_the_exact_zeros():
    rng = np.random.default_rng(3)
    z, alpha = rng.normal(scale=0.6, size=(4, 3)), rng.normal(size=4)
    fig = Figure()
    update = dp.dselect_figure(z, alpha, 8)(fig, gamma=4.0, k=2)
    update(gamma=0.0625, k=1)
    q = dselect_weights(z[:1], alpha[:1], 8, 0.0625)
    heights = [bar.get_height() for bar in fig.axes[0].patches]
    assert np.allclose(heights, q) and np.count_nonzero(q) == 1


def test_profile_figure_emphasises_the_selected_gate():
    ts = np.geomspace(0.05, 0.4, 5)
    prof = {
        (g, k): ts ** (2 if g == "tanh" or k == 2 else 4)
        for g in ("identity", "tanh")
        for k in (2, 3)
    }
    q = {key: 2.0 for key in prof}
    fig = Figure()
    update = mp.profile_kl_figure(prof, q, ts, ["identity", "tanh"])(
        fig, k=2, gate="tanh"
    )
    update(k=3, gate="identity")
    widths = [line.get_linewidth() for line in fig.axes[0].lines[:2]]
    assert widths == [2.5, 1]


def test_fisher_spectra_one_panel_per_cell():
    ev = np.array([1e-20, 1e-5, 1.0])
    spectra = {(g, k): ev for g in ("identity", "tanh") for k in (2, 3)}
    fig = mp.plot_fisher_spectra(spectra, ["identity", "tanh"])
    assert [ax.get_title() for ax in fig.axes] == [
        "k = 2 (exactly fitted)",
        "k = 3 (expert 2 split)",
    ]
