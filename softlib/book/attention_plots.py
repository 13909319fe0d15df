"""Figures of the part "Softmax in attention": each ``plot_...`` draws one figure from precomputed
data; each ``draw_...`` returns a ``draw(fig, **values)`` for :func:`softlib.book.viz.explore` that moves its
artists in place (the returned ``update`` gives the artists it changed, so a redraw is blitted)."""

from __future__ import annotations

import numpy as np

__all__ = ["draw_block_schedule", "draw_length_weights", "draw_depth_correlation", "plot_taylor",
           "plot_sigmoid_row_sums", "plot_nystrom", "plot_depth_curves", "plot_sinkhorn"]

KIND_STYLE = {"softmax": ("C0", "softmax"), "sigmoid": ("C1", "sigmoid, b = -log n"),
              "lssa": ("C2", "softplus (LSSA)"), "lssar": ("C3", "softplus re-weighted (LSSAR)")}


def draw_block_schedule(scores, trace):
    """``draw(fig, keys)``: one query's scores, the keys merged so far, and the running (m, d).

    ``scores`` are the query's m scores; ``trace`` a :class:`~softlib.attention.core.BlockTrace`.
    The control ``keys`` is one of ``trace.ends``.

    Examples
    --------
    >>> import numpy as np, matplotlib.pyplot as plt
    >>> from softlib.attention.core import blockwise_trace
    >>> r = np.random.default_rng(0); k = r.normal(size=(12, 4)); q = r.normal(size=4)
    >>> t = blockwise_trace(q, k, r.normal(size=(12, 2)), block=4)
    >>> draw = draw_block_schedule(k @ q / 2, t)
    >>> update = draw(plt.figure(), keys=8); len(update(keys=12))
    5
    """
    s = np.asarray(scores, float)
    j = np.arange(s.size)
    ends = list(int(e) for e in trace.ends)

    def draw(fig, keys):
        ax, bx = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1.6, 1]})
        ax.plot(j, s, "o", color="0.8", ms=4, label="keys not yet read")
        done, = ax.plot([], [], "o", color="C0", ms=4, label="keys merged")
        mline = ax.axhline(0, color="C3", lw=1.2, label="running max m")
        edge = ax.axvline(0, color="k", lw=1, ls="--")
        ax.set_xlabel("key index j")
        ax.set_ylabel("score $s_j$")
        ax.legend(loc="lower left", fontsize=7)
        b = np.arange(1, len(ends) + 1)
        bx.plot(b, trace.d, "-", color="0.7")
        dot, = bx.plot([], [], "o", color="C2")
        bx.set_xlabel("blocks merged")
        bx.set_ylabel("running sum d")
        title = ax.set_title("", fontsize=9)
        fig.tight_layout()

        def update(keys):
            i = ends.index(int(keys))
            done.set_data(j[:keys], s[:keys])
            mline.set_ydata([trace.m[i]] * 2)
            edge.set_xdata([keys - 0.5] * 2)
            dot.set_data([i + 1], [trace.d[i]])
            title.set_text(f"after {keys} keys: m = {trace.m[i]:.2f}, d = {trace.d[i]:.2f}")
            return [done, mline, edge, dot, title]

        update(keys)
        return update

    return draw


def draw_length_weights(lengths, weights, shares, top=32):
    """``draw(fig, length)``: the largest weights of one query under each kind, and the relevant key's
    share against the sequence length.

    ``weights[kind][n]`` is the query's row of weights at length n; ``shares[kind]`` the relevant key's
    share at every length.

    Examples
    --------
    >>> import numpy as np, matplotlib.pyplot as plt
    >>> w = {"softmax": {8: np.full(8, 1 / 8), 16: np.full(16, 1 / 16)}}
    >>> draw = draw_length_weights([8, 16], w, {"softmax": [0.125, 0.0625]}, top=4)
    >>> update = draw(plt.figure(), length=8); len(update(length=16))
    2
    """
    lengths = list(lengths)

    def profile(kind, n):
        w = np.asarray(weights[kind][n], float)
        w = w / w.sum()
        return np.sort(w)[::-1][:top]

    def draw(fig, length):
        ax, bx = fig.subplots(1, 2)
        lines = {}
        for kind in weights:
            color, label = KIND_STYLE.get(kind, ("k", kind))
            lines[kind], = ax.plot(np.arange(1, top + 1), profile(kind, length), ".-", color=color,
                                   label=label, ms=4)
            bx.plot(lengths, shares[kind], "o-", color=color, ms=3)
        ax.set_yscale("log")
        ax.set_ylim(1e-6, 1.5)
        ax.set_xlabel("rank of the key's weight")
        ax.set_ylabel("weight / row sum")
        ax.legend(fontsize=7, loc="upper right")
        bx.set_xscale("log", base=2)
        bx.set_yscale("log")
        bx.set_xlabel("sequence length n (keys)")
        bx.set_ylabel("relevant key's share")
        marker = bx.axvline(length, color="k", ls="--", lw=1)
        fig.tight_layout()

        def update(length):
            for kind, line in lines.items():
                line.set_ydata(profile(kind, length))
            marker.set_xdata([length] * 2)
            return list(lines.values()) + [marker]

        return update

    return draw


def draw_depth_correlation(layers, standard, shaped):
    """``draw(fig, layer)``: the token-correlation matrices of one network of each kind at a layer.

    ``standard[l]`` and ``shaped[l]`` are (m, m) correlation matrices at layer l.

    Examples
    --------
    >>> import numpy as np, matplotlib.pyplot as plt
    >>> mats = {0: np.eye(3), 1: np.ones((3, 3))}
    >>> update = draw_depth_correlation([0, 1], mats, mats)(plt.figure(), layer=0); len(update(layer=1))
    4
    """

    def mean_off(c):
        m = c.shape[0]
        return (c.sum() - np.trace(c)) / (m * (m - 1))

    def draw(fig, layer):
        axes = fig.subplots(1, 2)
        ims, titles = [], []
        for ax, mats, name in zip(axes, (standard, shaped), ("standard", "shaped")):
            im = ax.imshow(mats[layer], vmin=-1, vmax=1, cmap="RdBu_r")
            ax.set_xlabel("token")
            ax.set_ylabel("token")
            titles.append(ax.set_title("", fontsize=9))
            ims.append((im, mats, name))
        fig.colorbar(ims[0][0], ax=list(axes), label="cosine between tokens", shrink=0.8)

        def update(layer):
            for (im, mats, name), t in zip(ims, titles):
                im.set_data(mats[layer])
                t.set_text(f"{name}, layer {layer}: mean {mean_off(mats[layer]):.2f}")
            return [im for im, _, _ in ims] + titles

        update(layer)
        return update

    return draw


def plot_taylor(orders, errors, bounds, min_den, recall, recall_softmax, ax=None):
    """Three panels: Taylor attention's error and its bound against the order; the smallest
    denominator against the order; associative-recall accuracy against the order."""
    import matplotlib.pyplot as plt

    fig, (a, b, c) = plt.subplots(1, 3, figsize=(10, 3.2))
    a.semilogy(orders, errors, "o-", label="measured")
    a.semilogy(orders, bounds, "--", color="0.5", label="bound")
    a.set_xlabel("Taylor order P")
    a.set_ylabel("max |output - softmax's|")
    a.legend(fontsize=8)
    colors = ["C3" if p % 2 else "C2" for p in orders]
    b.bar(orders, min_den, color=colors)
    b.axhline(0, color="k", lw=0.8)
    b.set_yscale("symlog", linthresh=1)
    b.set_xlabel("Taylor order P (red: odd)")
    b.set_ylabel("smallest row denominator")
    for n, acc in recall.items():
        c.plot(orders, acc, "o-", label=f"{n} pairs")
    for n, acc in recall_softmax.items():
        c.axhline(acc, ls=":", color="0.5")
    c.set_xlabel("Taylor order P")
    c.set_ylabel("recall accuracy")
    c.set_ylim(0, 1.05)
    c.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sigmoid_row_sums(lengths, sums, sigmas):
    """Sigmoid attention's mean row sum against n for each logit spread, with :math:`e^{\\sigma^2/2}`."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    for i, sg in enumerate(sigmas):
        ax.semilogx(lengths, sums[sg], "o-", color=f"C{i}", label=f"σ = {sg}", base=2)
        ax.axhline(np.exp(sg ** 2 / 2), color=f"C{i}", ls="--", lw=1)
    ax.axhline(1, color="k", lw=0.8)
    ax.set_yscale("log")
    ax.set_xlabel("number of keys n")
    ax.set_ylabel("row sum of weights")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_nystrom(ranks, errors, best, newton):
    """Nystrom error against the number of landmarks, next to the best rank-r error."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.4))
    ax.loglog(ranks, errors, "o-", label="Nyström (pinv)", base=2)
    ax.loglog(ranks, newton, "s--", label="Nyström (20 Newton steps)", base=2)
    ax.loglog(ranks, best, "k.-", label="best rank r (SVD)", base=2)
    ax.set_xlabel("landmarks r")
    ax.set_ylabel("relative Frobenius error")
    ax.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_depth_curves(standard, shaped):
    """Mean token correlation against depth: standard attention (by layer) and shaped attention at
    depth = width (by layer / width), median and 10-90% band over seeds."""
    import matplotlib.pyplot as plt

    fig, (a, b) = plt.subplots(1, 2, figsize=(9, 3.2))
    for arr, ax, label in ((standard, a, "standard"),):
        t = np.arange(arr.shape[1])
        ax.plot(t, np.median(arr, 0), color="C0", label=label)
        ax.fill_between(t, *np.percentile(arr, [10, 90], 0), color="C0", alpha=0.2)
    a.set_xlabel("layer")
    a.set_ylabel("mean token correlation")
    a.set_ylim(0, 1.02)
    a.legend(fontsize=8)
    for i, (width, arr) in enumerate(shaped.items()):
        t = np.arange(arr.shape[1]) / width
        b.plot(t, np.median(arr, 0), color=f"C{i + 1}", label=f"shaped, width {width}")
        b.fill_between(t, *np.percentile(arr, [10, 90], 0), color=f"C{i + 1}", alpha=0.12)
    b.set_xlabel("layer / width")
    b.set_ylabel("mean token correlation")
    b.set_ylim(-0.3, 1.02)
    b.legend(fontsize=8)
    fig.tight_layout()
    return fig


def plot_sinkhorn(scales, sweeps):
    """Sinkhorn sweeps to tolerance against the logit scale (one dot per seed)."""
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots(figsize=(6, 3.2))
    for s, counts in zip(scales, sweeps):
        ax.plot([s] * len(counts), counts, "o", color="C0", alpha=0.6)
    ax.plot(scales, [np.median(c) for c in sweeps], "-", color="C0")
    ax.set_yscale("log")
    ax.set_xlabel("logit scale (standard deviation of the logits)")
    ax.set_ylabel("sweeps to column error 1e-6")
    fig.tight_layout()
    return fig
