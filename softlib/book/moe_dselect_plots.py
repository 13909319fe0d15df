"""Figures of the chapter *DSelect-k: selecting k experts with a smooth step*
{cite}`hazimeh2021dselect`.

:func:`dselect_figure` returns ``draw(fig, gamma, k)`` for :func:`softlib.book.viz.explore` (its
``update`` moves the artists in place); :func:`plot_continuity` draws a static figure.
"""

from __future__ import annotations

import numpy as np

from ..chapters.moe.gates import dselect_weights, smooth_step

__all__ = ["dselect_figure", "plot_continuity"]


def dselect_figure(z, alpha, n_experts: int, t=None):
    """``draw(fig, gamma, k)``: the DSelect-k gate of the first ``k`` selectors (left, bars; gray bars
    are exact zeros) and the smooth step of width ``gamma`` with the selectors' ``z`` values marked and
    the band ``|z| < gamma / 2`` shaded (right).

    Parameters
    ----------
    z : ndarray (K, m)
        Selector parameters, one row per selector.
    alpha : ndarray (K,)
        Softmax logits over the selectors.
    n_experts : int
    t : ndarray, optional
        Where the smooth step is drawn (default: 401 points on [-2, 2]).

    Examples
    --------
    >>> from matplotlib.figure import Figure
    >>> rng = np.random.default_rng(0)
    >>> draw = dselect_figure(rng.normal(size=(2, 3)), rng.normal(size=2), 8)
    >>> update = draw(Figure(), gamma=1.0, k=2)
    >>> len(update(gamma=0.5, k=1)) > 8
    True
    """
    z, alpha = np.asarray(z, dtype=np.float64), np.asarray(alpha, dtype=np.float64)
    t = np.linspace(-2, 2, 401) if t is None else np.asarray(t, dtype=np.float64)

    def draw(fig, gamma, k):
        ax_q, ax_s = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        bars = ax_q.bar(range(n_experts), np.zeros(n_experts), color="C0")
        ax_q.set(xlabel="expert", ylabel="gate weight", ylim=(0, 1))
        (curve,) = ax_s.plot(t, smooth_step(t, gamma), color="C1")
        dots = [
            ax_s.plot(
                z[c],
                smooth_step(z[c], gamma),
                "o",
                color=f"C{c + 2}",
                label=f"selector {c + 1}",
            )[0]
            for c in range(len(z))
        ]
        band = ax_s.axvspan(-gamma / 2, gamma / 2, color="C1", alpha=0.1)
        ax_s.set(xlabel="selector parameter z", ylabel="smooth step S(z)")
        legend = [None]

        def update(gamma, k):
            q = dselect_weights(z[:k], alpha[:k], n_experts, gamma)
            for bar, v in zip(bars, q):
                bar.set(height=v, facecolor="C0" if v > 0 else "C7")
            ax_q.set_title(
                f"gamma = {gamma:.3g}: {np.count_nonzero(q)} non-zero of "
                f"{n_experts} (k = {k})"
            )
            curve.set_ydata(smooth_step(t, gamma))
            for c, dot in enumerate(dots):
                dot.set(ydata=smooth_step(z[c], gamma), visible=c < k)
            band.set(x=-gamma / 2, width=gamma)
            if (
                legend[0] is None or len(legend[0].legend_handles) != k
            ):  # k changed: a new legend
                legend[0] = ax_s.legend(handles=dots[:k])
            return [*bars, ax_q.title, band, curve, *dots, legend[0]]

        update(gamma, k)
        fig.tight_layout()
        return update

    return draw


def plot_continuity(ts, top, ds, gamma: float, shown: int = 3):
    """Gate weights of the first ``shown`` experts as one parameter moves: top-2 softmax against the
    logit of expert 0 (left), DSelect-2 against the first coordinate of selector 1 (right).

    Parameters
    ----------
    ts : ndarray (m,)
        The moved parameter.
    top, ds : ndarray (m, n)
        Weights of the top-K and the DSelect-k gate along ``ts``.
    gamma : float
        The smooth step's width (in the title).

    Returns
    -------
    matplotlib.figure.Figure

    Examples
    --------
    >>> w = np.tile([0.5, 0.5, 0.0], (4, 1))
    >>> len(plot_continuity(np.arange(4.0), w, w, 1.0).axes)
    2
    """
    import matplotlib.pyplot as plt

    fig, (a1, a2) = plt.subplots(1, 2, figsize=(9, 3.2), sharey=True)
    a1.plot(ts, np.asarray(top)[:, :shown])
    a1.set(xlabel="logit of expert 0", ylabel="gate weight", title="top-2 softmax")
    a2.plot(ts, np.asarray(ds)[:, :shown])
    a2.set(xlabel="z[0, 0] (selector 1, bit 0)", title=f"DSelect-2, gamma = {gamma:g}")
    a2.legend([f"expert {i}" for i in range(shown)])
    fig.tight_layout()
    return fig
