"""Figures of the mixture-of-experts chapters: gates with their samples, and rates by parameter.

Each ``plot_...`` function here returns a ``draw(fig, **values)`` for :func:`softlib.book.viz.explore`
(or draws into a figure directly), so that a chapter's figure cell is a few lines. They only draw:
the models, fits and studies come from the chapter (:mod:`softlib.chapters.moe.study`,
:mod:`softlib.chapters.moe.replicate`).
"""

from __future__ import annotations

from itertools import product
from typing import Callable, Mapping, Sequence

import numpy as np

from ..chapters.moe.gates import gate_probs, temperature_truth
from ..chapters.moe.study import loglog_slope, plot_loglog

__all__ = ["plot_gate_and_samples", "plot_parameter_rates", "plot_ridge_gate",
           "plot_ridge_likelihood", "plot_gate_rates", "label_sample_sizes"]


def _sample_ylim(make: Callable, controls: Mapping[str, Sequence]) -> tuple[float, float]:
    """y-limits (5 % margins) that hold the samples of every combination of control values."""
    names = list(controls)
    ys = np.concatenate([make(**dict(zip(names, values)))[2]
                         for values in product(*(controls[n] for n in names))])
    low, high = float(ys.min()), float(ys.max())
    pad = 0.05 * (high - low or 1.0)
    return low - pad, high + pad


def plot_gate_and_samples(make: Callable, controls: Mapping[str, Sequence], x_grid, *,
                          title: str, colour_by_gate: bool = False) -> Callable:
    """A ``draw(fig, **values)`` for :func:`softlib.book.viz.explore`: a model's gate weights (top) and
    its samples with the experts' mean lines (bottom).

    Parameters
    ----------
    make : callable
        ``make(**values)`` returns ``(model, x, y)``: a :class:`~softlib.chapters.moe.model.GaussianMoE`
        and its samples, ``x`` of shape (n, 1) and ``y`` of shape (n,).
    controls : mapping
        The control values of the figure; the y-axis holds the samples of all of them, so that it
        stays put when a control moves.
    x_grid : array of shape (m, 1)
        The inputs at which the gate and the mean lines are drawn.
    title : str
        A format string of the control values, e.g. ``"top-{K} gate, slope {slope:g}"``.
    colour_by_gate : bool, default False
        Colour each sample by the expert with the larger gate weight (two experts); otherwise black.

    Returns
    -------
    callable
        ``draw(fig, **values)``, which returns an in-place ``update(**values)``.

    Examples
    --------
    >>> import numpy as np
    >>> from softlib.chapters.moe import paper1_truth
    >>> truth = paper1_truth()
    >>> make = lambda s: (truth, *truth.sample(50, np.random.default_rng(0)))
    >>> draw = plot_gate_and_samples(make, {"s": [1]}, np.linspace(0, 1, 5)[:, None], title="{s}")
    >>> callable(draw)
    True
    """
    ylim = _sample_ylim(make, controls)
    x = np.asarray(x_grid, dtype=np.float64)[:, 0]

    def draw(fig, **values):
        model = make(**values)[0]
        ax_g, ax_y = fig.subplots(2, 1, sharex=True, gridspec_kw={"height_ratios": [1, 2]})
        k, zero = model.k, 0 * x
        gates = [ax_g.plot(x, zero, color=f"C{i}", label=f"expert {i + 1}")[0] for i in range(k)]
        means = [ax_y.plot(x, zero, color=f"C{i}", lw=1, alpha=0.6)[0] for i in range(k)]
        points = ax_y.scatter([], [], s=4, color="k", alpha=0.6)
        ax_g.set(ylabel="gate weight", ylim=(-0.05, 1.05))
        ax_g.legend(loc="upper left", bbox_to_anchor=(1.01, 1.0))  # beside the gate, not over it
        ax_y.set(xlabel="input x", ylabel="response y", xlim=(x[0], x[-1]), ylim=ylim)

        def update(**values):
            model, xs, ys = make(**values)
            gate, mean = model.gate(x_grid), model.means(x_grid)
            for i in range(k):
                gates[i].set_ydata(gate[:, i])
                means[i].set_ydata(mean[:, i])
            points.set_offsets(np.column_stack([xs[:, 0], ys]))
            if colour_by_gate:
                points.set_color(np.where(model.gate(xs)[:, 0] > 0.5, "C0", "C1"))
                points.set_alpha(1.0)
            ax_g.set_title(title.format(**values))
            return [*gates, *means, points, ax_g.title]

        update(**values)
        fig.tight_layout()
        return update

    return draw


def plot_parameter_rates(study, theory: Mapping, names: Mapping[str, str]) -> Callable:
    """A ``draw(fig, largest_n, parameter)`` for :func:`softlib.book.viz.panels`: the mean error of one
    parameter of every true expert against n, fitted on the sample sizes up to ``largest_n``.

    Parameters
    ----------
    study : ConvergenceStudy
        Its ``errors[parameter]`` has shape (len(ns), reps, k_*).
    theory : mapping
        ``theory[j][parameter]``: the theoretical slope of true expert ``j``; a pair absent from it,
        or whose errors are zero (matched exactly by the translation), is not drawn.
    names : mapping
        The axis title of each parameter.

    Examples
    --------
    >>> draw = plot_parameter_rates(None, {0: {"a": -0.25}}, {"a": "expert slope a"})
    >>> callable(draw)
    True
    """
    def draw(fig, largest_n, parameter):
        ax = fig.subplots()
        m = study.ns <= largest_n
        for j, marker in zip(theory, "os^v"):
            if parameter not in theory[j]:
                continue
            errors = study.errors[parameter][:, :, j]
            if not np.all(np.nanmean(errors, axis=1) > 0):
                continue
            slope = theory[j][parameter]
            plot_loglog(ax, study.ns[m], errors[m], theory=slope, marker=marker,
                        label=f"true expert {j + 1} (theory {slope:.3g})")
        ax.set(xlabel="sample size n", ylabel="mean parameter error", title=names[parameter])
        label_sample_sizes(ax, study.ns[m])
        ax.legend()
        fig.tight_layout()

    return draw


def plot_ridge_gate(xs) -> Callable:
    """A ``draw(fig, tau, gate)`` for :func:`softlib.book.viz.explore`: expert 1's gate weight of
    :func:`~softlib.chapters.moe.gates.temperature_truth` at the true gate and temperature ``tau`` (solid),
    along the ridge ``(c beta, c tau_*)`` with ``c = tau / tau_*`` (dashed), and the truth (gray).

    Examples
    --------
    >>> import numpy as np
    >>> draw = plot_ridge_gate(np.linspace(-1, 1, 5))
    >>> callable(draw)
    True
    """
    xs = np.asarray(xs, dtype=np.float64)

    def draw(fig, tau, gate):
        ax = fig.subplots()
        zero = 0 * xs
        truth = ax.plot(xs, zero, color="gray", lw=3, alpha=0.5,
                        label=r"truth, $\tau_*$ = 0.5")[0]
        chosen = ax.plot(xs, zero, color="C0", label=r"$(\beta_*, \tau)$")[0]
        ridge = ax.plot(xs, zero, "--", color="C1",
                        label=r"$(c\beta_*, c\tau_*)$, $c = \tau/\tau_*$")[0]
        ax.set(xlabel="input x", ylabel="gate weight of expert 1", ylim=(-0.02, 1.02))
        ax.legend(loc="upper left")

        def update(tau, gate):
            t = temperature_truth(gate)
            c = tau / t.tau
            truth.set_ydata(t.gate(xs)[:, 0])
            chosen.set_ydata(gate_probs(t.beta0, t.beta1, xs, tau, gate)[:, 0])
            ridge.set_ydata(gate_probs(c * t.beta0, c * t.beta1, xs, c * t.tau, gate)[:, 0])
            ax.set_title(f"{gate} gate, temperature {tau:.3g}")
            return [truth, chosen, ridge, ax.title]

        update(tau, gate)
        fig.tight_layout()
        return update

    return draw


def plot_ridge_likelihood(ax, cs, ridge: Mapping[str, np.ndarray]) -> None:
    """Mean log-likelihood along the ridge ``(c beta, c tau)``, minus its value at ``c = 1``, one
    line per gate of ``ridge`` (gate name to values at the scales ``cs``).

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> import numpy as np
    >>> fig, ax = plt.subplots()
    >>> plot_ridge_likelihood(ax, np.array([0.5, 1.0, 2.0]), {"linear": np.zeros(3)})
    >>> plt.close(fig)
    """
    cs = np.asarray(cs, dtype=np.float64)
    for gate, ll in ridge.items():
        ax.semilogx(cs, ll - ll[np.argmin(abs(cs - 1))], label=f"{gate} gate")
    ax.set_xticks([0.25, 0.5, 1, 2, 4], ["1/4", "1/2", "1", "2", "4"])
    ax.minorticks_off()
    ax.set(xlabel=r"scale c of $(\beta, \tau)$",
           ylabel="mean log-likelihood\nminus its value at c = 1 (nats)")
    ax.legend()


def plot_gate_rates(studies: Mapping, labels: Mapping[str, str]) -> Callable:
    """A ``draw(fig, parameter, largest_n)`` for :func:`softlib.book.viz.panels`: the mean error of one
    parameter against n for every gate's replicated study, with the least-squares line (solid),
    the slope and its 95 % interval in the legend, and the slope -1/2 from the first point (dotted).

    Examples
    --------
    >>> draw = plot_gate_rates({}, {"tau": "temperature"})
    >>> callable(draw)
    True
    """
    def draw(fig, parameter, largest_n):
        ax = fig.subplots()
        for color, (gate, st) in zip(("C0", "C3"), studies.items()):
            m = st.ns <= largest_n
            ns, v = st.ns[m], st[parameter][m]
            means = v.mean(axis=1)
            s, (lo, hi) = loglog_slope(ns, v)
            ax.loglog(ns, means, "o", color=color,
                      label=f"{gate}: slope {s:+.2f} [{lo:+.2f}, {hi:+.2f}]")
            line = np.polyfit(np.log(ns), np.log(means), 1)
            ax.loglog(ns, np.exp(np.polyval(line, np.log(ns))), "-", color=color, lw=1)
            ax.loglog(ns, means[0] * (ns / ns[0]) ** -0.5, ":", color=color, lw=1)
        ax.set(xlabel="sample size n", ylabel=f"mean error of {labels[parameter]}",
               title=labels[parameter])
        label_sample_sizes(ax, ns)
        ax.legend()
        fig.tight_layout()

    return draw


def label_sample_sizes(ax, ns) -> None:
    """Tick a log-scaled sample-size axis at the sizes ``ns`` themselves, labelled in plain
    numbers (1000, 2000, ...), with no minor labels to overlap them.

    Examples
    --------
    >>> import matplotlib.pyplot as plt
    >>> fig, ax = plt.subplots()
    >>> ax.set_xscale("log")
    >>> label_sample_sizes(ax, [1000, 2000, 4000])
    >>> [t.get_text() for t in ax.get_xticklabels()]
    ['1000', '2000', '4000']
    >>> plt.close(fig)
    """
    ns = [int(n) for n in np.asarray(ns).ravel()]
    ax.set_xticks(ns, [str(n) for n in ns])
    ax.set_xticks([], minor=True)
