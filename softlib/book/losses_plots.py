"""Figures of the chapters *What the normaliser leaves free* and *Temperature: calibration and
distillation*.

Each ``*_figure`` function computes what its figure needs once and returns ``draw(fig, **values)`` for
:func:`softlib.book.viz.explore`; ``draw`` returns an ``update`` that moves the artists in place and returns
them, so a slider movement redraws only those (blitting). The ``plot_*`` functions draw static figures.
"""

from __future__ import annotations

import numpy as np

from .. import losses as L
from ..ops import softmax

__all__ = ["logit_scale_figure", "reliability_figure", "plot_continual", "plot_distillation_gradients",
           "plot_student_accuracy"]

#: The control names the chapters use (readable words: they label the sliders).
SCALE = "logit scale"
TEMPERATURE = "temperature"


def logit_scale_figure(logits, labels, example: int = 0, a: float = 1.0, b: float = 0.0,
                       scales=None):
    """``draw(fig, **{"logit scale": alpha})``: cross-entropy moves with the scale of the logits, the
    Z-loss does not.

    Left: the mean cross-entropy and the mean Z-loss of ``alpha * logits`` against ``alpha`` (log
    axis), with a marker at the current value. Right: the softmax of one example's scaled logits, the
    true class in another colour, and its Z-normalised logits (unchanged by ``alpha``) as dots.

    Examples
    --------
    >>> import matplotlib
    >>> from matplotlib.figure import Figure
    >>> z = np.array([[2.0, 0.0, -1.0], [0.0, 1.0, 0.5]])
    >>> draw = logit_scale_figure(z, np.array([0, 2]))
    >>> update = draw(Figure(), **{"logit scale": 1.0})
    >>> len(update(**{"logit scale": 2.0})) > 0
    True
    """
    if scales is None:
        scales = np.geomspace(0.05, 20, 200)
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    scales = np.asarray(scales, dtype=np.float64)
    ce = np.array([L.cross_entropy(s * logits, labels, reduction="mean") for s in scales])
    zl = np.array([L.z_loss(s * logits, labels, a, b, reduction="mean") for s in scales])
    row, true = logits[example], int(labels[example])
    k = np.arange(row.size)
    znorm = L.z_normalize(row)

    def draw(fig, **values):
        alpha = float(values[SCALE])
        ax_l, ax_p = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.1, 1]})
        ax_l.loglog(scales, ce, color="C0", label="cross-entropy")
        ax_l.loglog(scales, zl, color="C1", label=f"Z-loss (a = {a:g}, b = {b:g})")
        (dot_ce,) = ax_l.plot([], [], "o", color="C0", ms=7)
        (dot_z,) = ax_l.plot([], [], "s", color="C1", ms=7)
        ax_l.set(xlabel="logit scale alpha (logits multiplied by alpha)", ylabel="mean loss on test set",
                 ylim=(min(zl.min(), ce.min()) / 3, 30 * max(zl.max(), ce.max())))
        ax_l.legend(fontsize="small", loc="upper right")
        colours = ["C2" if j == true else "0.6" for j in k]
        bars = ax_p.bar(k, np.zeros(row.size), color=colours)
        ax_z = ax_p.twinx()
        ax_z.plot(k, znorm, "k.", ms=6)
        ax_z.set_ylabel("Z-normalised logit (dots)")
        lim = 1.1 * max(np.abs(znorm).max(), 1e-9)
        ax_z.set_ylim(-lim, lim)
        ax_p.set(ylim=(0, 1.02), xlabel="class", ylabel="softmax probability (bars)", xticks=k)
        title = ax_p.set_title(" ", fontsize="small")
        fig.tight_layout()

        def update(**values):
            s = float(values[SCALE])
            p = softmax(s * row)
            for bar, h in zip(bars, p):
                bar.set_height(h)
            dot_ce.set_data([s], [L.cross_entropy(s * logits, labels, reduction="mean")])
            dot_z.set_data([s], [L.z_loss(s * logits, labels, a, b, reduction="mean")])
            title.set_text(f"example {example}: p(true) = {p[true]:.3f}, "
                           f"Z-loss = {float(L.z_loss(s * row[None], [true], a, b)[0]):.3f}")
            return [dot_ce, dot_z, *ax_l.spines.values(), *bars, title, *ax_p.spines.values()]

        update(**{SCALE: alpha})
        return update

    return draw


def reliability_figure(logits, labels, bins: int = 15, fitted: float | None = None):
    """``draw(fig, **{"temperature": T})``: the reliability diagram of ``softmax(logits / T)``.

    Bars: accuracy in each confidence bin; the diagonal is perfect calibration; the red boxes are
    the gaps whose weighted mean is the ECE. The title gives the ECE, the accuracy (the same at every
    T) and the mean confidence. ``fitted`` (the fitted temperature) is named in the title when shown.
    """
    logits, labels = np.asarray(logits, dtype=np.float64), np.asarray(labels)
    edges = np.linspace(0, 1, bins + 1)
    centres = 0.5 * (edges[:-1] + edges[1:])
    acc = float(np.mean(logits.argmax(-1) == labels))
    cache: dict = {}

    def diagram(t):  # each temperature's data computed once
        if t not in cache:
            probs = softmax(logits / t, axis=-1)
            cache[t] = (L.reliability_diagram(probs, labels, bins), float(np.mean(probs.max(-1))))
        return cache[t]

    def draw(fig, **values):
        ax_r, ax_h = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.4, 1]})
        ax_r.plot([0, 1], [0, 1], color="0.5", ls="--", lw=1)
        bars = ax_r.bar(centres, np.zeros(bins), width=1 / bins, color="C0", edgecolor="white",
                        label="accuracy in bin")
        gaps = ax_r.bar(centres, np.zeros(bins), width=1 / bins, color="C3", alpha=0.35,
                        edgecolor="C3", lw=0.8, label="gap to confidence")
        ax_r.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (largest probability)", ylabel="accuracy")
        ax_r.legend(fontsize="small", loc="upper left")
        counts = ax_h.bar(centres, np.zeros(bins), width=1 / bins, color="C1")
        ax_h.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence", ylabel="share of test examples")
        title = fig.suptitle(" ", fontsize="small")
        fig.tight_layout()

        def update(**values):
            t = float(values[TEMPERATURE])
            r, mean_conf = diagram(t)
            for j in range(bins):
                a, c = (0.0, centres[j]) if r.counts[j] == 0 else (r.accuracy[j], r.confidence[j])
                bars[j].set_height(a)
                gaps[j].set_y(min(a, c))
                gaps[j].set_height(abs(c - a) if r.counts[j] else 0.0)
                counts[j].set_height(r.counts[j] / len(labels))
            note = f" (fitted T* = {fitted:.2f})" if fitted is not None and abs(t - fitted) < 1e-9 else ""
            title.set_text(f"T = {t:.2f}{note}: ECE = {100 * r.ece:.1f}%, accuracy = {100 * acc:.1f}%, "
                           f"mean confidence = {100 * mean_conf:.1f}%")
            return [*bars, *gaps, *ax_r.spines.values(), *counts, *ax_h.spines.values(), title]

        update(**values)
        return update

    return draw


def plot_continual(ax, results: dict, labels: dict):
    """Bars of old- and new-task test accuracy per method, one dot per seed.

    ``results`` maps a method to a list of
    :class:`softlib.chapters.training_loops.ContinualResult` (one per seed).
    """
    names = list(results)
    x = np.arange(len(names))
    for j, (field, colour) in enumerate((("old", "C0"), ("new", "C1"))):
        values = np.array([[getattr(r, field) for r in results[n]] for n in names]) * 100
        ax.bar(x + (j - 0.5) * 0.38, values.mean(1), width=0.36, color=colour,
               label=f"{field} task (digits {'0-4' if field == 'old' else '5-9'})")
        for i in range(len(names)):
            ax.plot(np.full(values.shape[1], x[i] + (j - 0.5) * 0.38), values[i], "k.", ms=4)
    ax.set(xticks=x, xticklabels=[labels[n] for n in names], ylabel="test accuracy after task 2 (%)",
           ylim=(0, 122), yticks=np.arange(0, 101, 20))
    ax.legend(fontsize="small", loc="upper center", ncol=2)


def plot_distillation_gradients(ax, temperatures, scaled, bare, limit):
    """The mean gradient norm of the soft loss against T, with and without the T^2 factor."""
    ax.loglog(temperatures, scaled, "C0", label="with $T^2$: $\\|T(q_T - p_T)\\|$")
    ax.loglog(temperatures, bare, "C1", label="without: $\\|(q_T - p_T)/T\\|$")
    ax.axhline(limit, color="k", ls=":", lw=1, label="limit $\\|z - \\bar z - v + \\bar v\\|/D$")
    ax.set(xlabel="temperature T", ylabel="mean gradient norm per example")
    ax.legend(fontsize="small")


def plot_student_accuracy(ax, results: dict, teacher: list):
    """Test accuracy of the 50-label students (one dot per seed, bar = mean) against the teacher's."""
    names = list(results)
    values = np.array([results[n] for n in names]) * 100
    x = np.arange(len(names))
    ax.bar(x, values.mean(1), color=["0.6"] + ["C0"] * (len(names) - 1))
    for i in range(len(names)):
        ax.plot(np.full(values.shape[1], x[i]), values[i], "k.", ms=5)
    level = 100 * np.mean(teacher)
    ax.axhline(level, color="C3", ls="--", lw=1)
    ax.text(x[0] - 0.4, level - 0.8, "teacher (all labels)", color="C3", va="top", fontsize="small")
    ax.set(xticks=x, xticklabels=names, ylabel="student test accuracy (%)", ylim=(50, 100))
