"""Figures of the chapter *Multinomial logistic experts* {cite}`nguyen2024multinomial`.

Each ``*_figure`` function takes what the chapter computed and returns ``draw(fig, **values)`` for
:func:`softlib.book.viz.explore`; ``draw`` returns an ``update`` that moves the artists in place (or, for
:func:`rates_figure`, is meant for :func:`softlib.book.viz.panels`). :func:`plot_fisher_spectra` draws a
static figure.
"""

from __future__ import annotations

import numpy as np

from ..chapters.moe.study import loglog_slope

__all__ = [
    "plot_fisher_spectra",
    "compensated_path_figure",
    "profile_kl_figure",
    "rates_figure",
    "RATE_LABELS",
]

#: What each quantity of the sampling study measures (the rate figure's titles).
RATE_LABELS = {
    "hellinger": "Hellinger distance of p(. | x)",
    "D1": "Voronoi loss D1",
    "eta1_0": "slopes of expert 1",
    "eta1_1": "slopes of expert 2 (true: 0)",
    "eta0_1": "intercepts of expert 2",
}


def _cell(k) -> str:
    return f"k = {k}" + (" (exactly fitted)" if k == 2 else " (expert 2 split)")


def plot_fisher_spectra(spectra, gates, cut: float = 1e-9):
    """Eigenvalues of the Fisher information, smallest first, one panel per number of experts.

    Parameters
    ----------
    spectra : dict of (gate, k) to ndarray
        Eigenvalues (``numpy.linalg.eigvalsh`` of
        :func:`softlib.chapters.moe.multinomial.multinomial_fisher`). Values below ``1e-18`` are drawn
        at ``1e-18``.
    gates : sequence of str
        The gates to draw, in the legend's order.
    cut : float
        The dotted line: ``cut`` times the largest eigenvalue of the first gate.

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> ev = np.array([1e-20, 1e-3, 1.0])
    >>> fig = plot_fisher_spectra({("a", 2): ev, ("a", 3): ev}, ["a"])
    >>> len(fig.axes)
    2
    """
    import matplotlib.pyplot as plt

    ks = sorted({k for _, k in spectra})
    fig, axes = plt.subplots(1, len(ks), figsize=(8, 3.2), sharey=True, squeeze=False)
    axes = axes[0]
    for ax, k in zip(axes, ks):
        for g, marker in zip(gates, ("o", "s", "^", "v")):
            ev = np.clip(spectra[g, k], 1e-18, None)
            ax.semilogy(np.arange(1, ev.size + 1), ev, marker, ms=4, label=f"{g} gate")
        ax.axhline(cut * spectra[gates[0], k].max(), color="gray", ls=":", lw=1)
        ax.set(xlabel="eigenvalue rank (smallest first)", title=_cell(k))
        ax.xaxis.get_major_locator().set_params(integer=True)
    axes[0].set_ylabel("Fisher information eigenvalue\n(per observation)")
    axes[-1].legend()
    fig.tight_layout()
    return fig


def compensated_path_figure(paths, truths, xs):
    """``draw(fig, t, gate)``: how far the class probabilities move along the line ``x_2 = 0`` when
    copy a's gate slope moves by ``t`` and every other parameter compensates to first order.

    Parameters
    ----------
    paths : dict of gate to (path, information)
        :func:`softlib.chapters.moe.multinomial.multinomial_compensated_path` of each gate.
    truths : dict of gate to MultinomialMoE
        The true models.
    xs : ndarray (m,)
        The values of ``x_1`` drawn (with ``x_2 = 0``).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from softlib.chapters.moe.multinomial import multinomial_truth, multinomial_compensated_path
    >>> from softlib.chapters.moe.multinomial import multinomial_split_point
    >>> truth = multinomial_truth("tanh")
    >>> split = multinomial_split_point(truth, 1, [0.8, -0.8])
    >>> path = multinomial_compensated_path(split, 1, [1.0, 0.0], m=500)
    >>> draw = compensated_path_figure({"tanh": path}, {"tanh": truth}, np.linspace(-2, 2, 5))
    >>> update = draw(Figure(), t=0.1, gate="tanh")
    >>> len(update(t=0.2, gate="tanh"))
    4
    """
    xs = np.asarray(xs, dtype=np.float64)
    line = np.c_[xs, np.zeros_like(xs)]
    p_true = {g: truths[g].class_probs(line) for g in truths}
    classes = next(iter(p_true.values())).shape[1]

    def draw(fig, t, gate):
        ax = fig.subplots()
        curves = [
            ax.plot(xs, 0 * xs, label=f"class {s + 1}")[0] for s in range(classes)
        ]
        ax.set(
            xlabel="input $x_1$ (with $x_2 = 0$)",
            ylabel="change in p(Y = s | x)",
            ylim=(-0.012, 0.012),
        )
        ax.legend(loc="upper left")
        fig.tight_layout(rect=(0, 0, 1, 0.95))  # room for the title, which changes

        def update(t, gate):
            diff = paths[gate][0](t).class_probs(line) - p_true[gate]
            for s, curve in enumerate(curves):
                curve.set_ydata(diff[:, s])
            ax.set_title(
                f"{gate} gate, gate slope moved by t = {t:.2f}: "
                f"max change {np.abs(diff).max():.1e}",
                fontsize="medium",
            )
            return [*curves, ax.title]

        update(t, gate)
        return update

    return draw


def profile_kl_figure(profiles, exponent, ts, gates):
    """``draw(fig, k, gate)``: the profile KL of both gates against the displacement ``t`` (log-log),
    the selected gate emphasised, with reference slopes 2 and 4 through its last point.

    Parameters
    ----------
    profiles : dict of (gate, k) to ndarray
        :func:`softlib.chapters.moe.multinomial.multinomial_profile_kl` at ``ts``.
    exponent : dict of (gate, k) to float
        The fitted exponents ``q`` of ``KL ~ t^q`` (shown in a corner).
    ts : ndarray
        The displacements.
    gates : sequence of str

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> ts = np.array([0.1, 0.2])
    >>> prof = {("a", 2): ts**2, ("a", 3): ts**4}
    >>> draw = profile_kl_figure(prof, {("a", 2): 2.0, ("a", 3): 4.0}, ts, ["a"])
    >>> update = draw(Figure(), k=2, gate="a")
    >>> len(update(k=3, gate="a"))
    5
    """
    ts = np.asarray(ts, dtype=np.float64)
    every = np.concatenate([np.ravel(kl) for kl in profiles.values()])

    def draw(fig, k, gate):
        ax = fig.subplots()
        ax.set(
            xscale="log",
            yscale="log",
            xlim=(ts[0] / 1.2, ts[-1] * 1.2),
            ylim=(every.min() / 3, every.max() * 3),
            xlabel="displacement t of the gate slope",
            ylabel="profile KL(t) (nats)",
        )
        curves = {
            g: ax.plot(ts, ts, "o-", color=c, label=f"{g} gate")[0]
            for g, c in zip(gates, ("C0", "C3", "C2", "C4"))
        }
        refs = {
            q: ax.plot(ts, ts, ls, color="gray", lw=1, label=f"slope {q}")[0]
            for q, ls in ((2, ":"), (4, "--"))
        }
        note = ax.text(0.98, 0.04, "", transform=ax.transAxes, ha="right")
        ax.legend(loc="upper left")
        fig.tight_layout(rect=(0, 0, 1, 0.95))

        def update(k, gate):
            for g, curve in curves.items():
                curve.set_ydata(profiles[g, k])
                curve.set(lw=2.5 if g == gate else 1, alpha=1 if g == gate else 0.35)
            for q, ref in refs.items():
                ref.set_ydata(profiles[gate, k][-1] * (ts / ts[-1]) ** q)
            note.set_text("   ".join(f"{g}: q = {exponent[g, k]:.2f}" for g in gates))
            ax.set_title(f"{_cell(k)}, {gate} gate")
            return [*curves.values(), *refs.values(), note, ax.title]

        update(k, gate)
        return update

    return draw


def rates_figure(studies, labels=None):
    """``draw(fig, quantity, largest_n)`` for :func:`softlib.book.viz.panels`: the mean of one quantity of
    the sampling study against ``n`` (log-log), one curve per gate, with the ``n^(-1/2)`` reference
    through the first point and the fitted slope with its bootstrap interval in the legend.

    Parameters
    ----------
    studies : dict of gate to Replications
        :func:`softlib.chapters.moe.replicate.replicated_study` of each gate.
    labels : dict of str to str, optional
        What each quantity is (default :data:`RATE_LABELS`).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> from softlib.chapters.moe.replicate import Replications
    >>> ns = np.array([100, 200, 400])
    >>> st = Replications(ns, {"D1": np.array([[1.0, 1.1], [0.7, 0.72], [0.5, 0.52]])}, 0.0)
    >>> rates_figure({"tanh": st})(Figure(), quantity="D1", largest_n=400)
    """
    labels = RATE_LABELS if labels is None else labels

    def draw(fig, quantity, largest_n):
        ax = fig.subplots()
        for color, (g, st) in zip(("C0", "C3", "C2", "C4"), studies.items()):
            m = st.ns <= largest_n
            means = st.mean(quantity)[m]
            s, (lo, hi) = loglog_slope(st.ns[m], st[quantity][m])
            ax.loglog(
                st.ns[m],
                means,
                "o-",
                color=color,
                label=f"{g}: slope {s:+.2f} [{lo:+.2f}, {hi:+.2f}]",
            )
            ax.loglog(
                st.ns[m],
                means[0] * (st.ns[m] / st.ns[0]) ** -0.5,
                ":",
                color=color,
                lw=1,
            )
        name = labels.get(quantity, quantity)
        ax.set(xlabel="sample size n", ylabel=f"mean {name}", title=name)
        ax.legend()
        fig.tight_layout()

    return draw
