"""Figures of the chapter *Softmax at the edge of numerical stability* {cite}`prieto2025grokking`.

:func:`collapse_figure` returns ``draw(fig, gap, precision)`` for :func:`softlib.book.viz.explore` (its
``update`` moves the artists in place); the ``plot_*`` functions draw static figures.
"""

from __future__ import annotations

import numpy as np

from ..chapters import stability as st

__all__ = [
    "COLORS",
    "collapse_figure",
    "plot_exp_and_stablemax",
    "plot_low_precision",
    "plot_runs",
]

#: One colour per floating point format, in every figure of the chapter.
COLORS = {"float16": "C2", "bfloat16": "C4", "float32": "C0", "float64": "C3"}


def collapse_figure(fine, curves, two_logits, dtypes, floor: float = 1e-22):
    """``draw(fig, gap, precision)``: the loss of two logits ``(d, 0)`` against the gap ``d`` in each
    format (left; exact zeros drawn as bars at the bottom, dotted lines at the thresholds ``p ln 2``),
    and at the selected gap and format the loss, the pull on the correct logit and the push on the
    rival (right, log bars; "exactly 0" where they vanish).

    Parameters
    ----------
    fine : ndarray (m,)
        The gaps of the curves.
    curves : dict of format name to ndarray (m, 3)
        Loss, correct-class and rival gradient at each gap, computed in that format.
    two_logits : callable
        ``two_logits(gap, dtype)`` gives the three numbers of the bars.
    dtypes : dict of format name to dtype
    floor : float
        Where exact zeros are drawn.

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> fine = np.array([0.0, 10.0, 20.0, 30.0])
    >>> f = lambda d, dtype: (float(np.log1p(np.exp(-d))), -0.1, 0.1)
    >>> curves = {"float32": np.array([[0.7, -.5, .5], [1e-5, 0, 0], [0, 0, 0], [0, 0, 0]])}
    >>> draw = collapse_figure(fine, curves, f, {"float32": np.float32})
    >>> update = draw(Figure(), gap=3.0, precision="float32")
    >>> len(update(gap=6.0, precision="float32"))
    10
    """
    fine = np.asarray(fine, dtype=np.float64)
    exact_loss = np.log1p(
        np.exp(-fine)
    )  # log(1 + e^-d), accurate in float64 at every gap here

    def draw(fig, gap, precision):
        ax, bars = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        ax.semilogy(fine, exact_loss, color="k", lw=4, alpha=0.2, label="exact")
        lines = {}
        for k, (name, c) in enumerate(curves.items()):
            loss, color = c[:, 0], COLORS[name]
            lines[name] = (
                ax.semilogy(fine[loss > 0], loss[loss > 0], color=color, label=name)[0],
                ax.plot(
                    [fine[loss == 0].min(), fine[-1]], [floor * 30**k] * 2, color=color
                )[0],
            )
            ax.axvline(st.collapse_gap(name), color=color, ls=":", lw=1)
        marker = ax.axvline(gap, color="gray", lw=1)
        ax.set(
            ylim=(floor / 10, 3),
            xlabel="logit gap d",
            ylabel="loss (nats); bottom: exactly 0",
        )
        ax.legend(loc="upper right")
        rects = bars.bar(["loss", "−∂ℓ/∂z_y", "∂ℓ/∂z_rival"], [1.0] * 3, log=True)
        labels = [bars.text(i, 1.0, "", ha="center") for i in range(3)]
        bars.set(ylim=(floor / 10, 30))
        for a in (ax, bars):
            a.minorticks_off()
        fig.subplots_adjust(left=0.09, right=0.98, bottom=0.15, top=0.9, wspace=0.3)

        def update(gap, precision):
            for name, (curve, zeros) in lines.items():
                curve.set_linewidth(2.5 if name == precision else 1.0)
                zeros.set_linewidth(5.0 if name == precision else 2.0)
            marker.set_xdata([gap, gap])
            for rect, label, v in zip(
                rects, labels, np.abs(two_logits(gap, dtypes[precision]))
            ):
                rect.set_height(max(v, floor))
                rect.set_color(COLORS[precision])
                label.set_position((label.get_position()[0], max(v, floor) * 3))
                label.set_text("exactly 0" if v == 0 else f"{v:.1e}")
            bars.set_title(f"{precision}, gap d = {gap:g}")
            return [
                *(a for pair in lines.values() for a in pair),
                marker,
                *rects,
                *labels,
                bars.title,
            ]

        update(gap, precision)
        return update

    return draw


def plot_exp_and_stablemax():
    """``exp(x)`` against StableMax's ``s(x)`` near zero (left) and on a log scale over [-40, 40]
    (right, with float32's ``2^-24`` dotted).

    Examples
    --------
    >>> len(plot_exp_and_stablemax().axes)
    2
    """
    import matplotlib.pyplot as plt

    x = np.linspace(-40, 40, 801)
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.3))
    for ax in (ax1, ax2):
        ax.plot(x, np.exp(x), label="exp(x)", color="C1")
        ax.plot(x, st.stablemax_s(x), label="s(x)", color="C0")
        ax.set_xlabel("x")
    ax1.set(xlim=(-4, 4), ylim=(-0.1, 6), ylabel="value")
    ax2.set(yscale="log", ylim=(1e-18, 1e18), ylabel="value (log scale)")
    ax2.axhline(2.0**-24, color="gray", ls=":", lw=1, label="2⁻²⁴")
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    return fig


def plot_low_precision(ranges, low):
    """The median relative error of softmax probabilities computed in low precision (left, log-log)
    and the fraction that come out exactly 0 (right), against the logit range ``R``; dotted lines at
    ``25 ln 2`` and ``134 ln 2``, where float16 and bfloat16 round an exponential to 0.

    Parameters
    ----------
    ranges : ndarray (m,)
    low : dict of format name to (median relative error, fraction zero), each ndarray (m,)

    Examples
    --------
    >>> r = np.array([1.0, 10.0])
    >>> len(plot_low_precision(r, {"float16": (r * 1e-3, r * 0)}).axes)
    2
    """
    import matplotlib.pyplot as plt

    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(9, 3.4))
    for name, (rel, flushed) in low.items():
        ax1.loglog(ranges, rel, color=COLORS[name], label=name)
        ax2.semilogx(ranges, flushed, color=COLORS[name], label=name)
    ax1.set(xlabel="logit range R", ylabel="median relative error")
    ax2.set(xlabel="logit range R", ylabel="fraction of probabilities = 0")
    for bits_below_one in (
        25,
        134,
    ):  # float16 and bfloat16 round to 0 below 2^-25 and 2^-134
        ax2.axvline(bits_below_one * np.log(2), color="gray", ls=":", lw=1)
    ax1.legend()
    ax2.legend()
    fig.tight_layout()
    return fig


def plot_runs(runs, title, colors=("C0", "C3", "C2", "C4")):
    """Four panels against the epoch (log axis, from the first logged epoch after 0): test accuracy
    (solid) and training accuracy (dashed), the collapse fraction on the training set, the weight
    norm, and the gradient-weight cosine, one colour per run.

    Parameters
    ----------
    runs : dict of str to History
        :func:`softlib.chapters.modular.train` results (anything with ``arrays()`` giving ``epoch``,
        ``train_acc``, ``test_acc``, ``collapse``, ``weight_norm`` and ``cosine``).
    title : str
    colors : sequence of colours, one per run

    Examples
    --------
    >>> class Run:
    ...     def arrays(self):
    ...         e = np.array([0.0, 1.0, 2.0])
    ...         return dict(epoch=e, train_acc=e, test_acc=e, collapse=e, weight_norm=e + 1,
    ...                     cosine=e)
    >>> len(plot_runs({"a": Run()}, "title").axes)
    4
    """
    import matplotlib.pyplot as plt

    fig, axes = plt.subplots(1, 4, figsize=(13, 3.6))
    for (name, h), color in zip(runs.items(), colors):
        a = {
            k: v[1:] for k, v in h.arrays().items()
        }  # from the first logged epoch after 0 (log axis)
        axes[0].plot(a["epoch"], a["train_acc"], color=color, ls="--", lw=1)
        axes[0].plot(a["epoch"], a["test_acc"], color=color, label=name)
        axes[1].plot(a["epoch"], a["collapse"], color=color)
        axes[2].plot(a["epoch"], a["weight_norm"], color=color)
        axes[3].plot(a["epoch"], a["cosine"], color=color)
    labels = [
        "accuracy (dashed: train)",
        "collapse fraction (train)",
        "weight norm ‖θ‖",
        "cos(−∇L, θ)",
    ]
    for ax, label in zip(axes, labels):
        ax.set(xscale="log", xlabel="epoch", ylabel=label)
    axes[2].set_yscale("log")
    handles, names = axes[0].get_legend_handles_labels()  # one legend, under the panels
    fig.legend(handles, names, loc="lower center", ncol=len(names), frameon=False)
    fig.suptitle(title, fontsize=10)
    fig.tight_layout(rect=(0, 0.09, 1, 1))
    return fig
