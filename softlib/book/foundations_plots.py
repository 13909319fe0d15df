"""The interactive figures of the Foundations part, as ``draw(fig, **values)`` functions for
:func:`softlib.book.viz.explore`.

- :func:`temperature_figure`: softmax at a temperature, its entropy, and the log-sum-exp sandwich
  ``max z <= T LSE(z / T) <= max z + T log n`` (chapter *Softmax, the mathematics*).
- :func:`simplex_figure`: the images of a disc of logits under alpha-entmax on the probability
  simplex of three classes, and how often they hold an exact zero (chapter *Sparse alternatives*).

Each draw function builds its axes once and returns ``update(**values)``, which moves the artists in
place and returns them, so a redraw blits only those.
"""

from __future__ import annotations

import numpy as np

from .. import ops, sparse
from ..chapters.theory.foundations import entropy

__all__ = ["temperature_figure", "simplex_figure", "entmax", "logit_disc", "simplex_xy", "zero_fraction",
           "plot_support_sizes"]


def temperature_figure(z, temperatures):
    """``draw(fig, temperature)``: bars of softmax(z / T), entropy against T, and T LSE(z / T) between
    its bounds max z and max z + T log n, with the current temperature marked.

    Examples
    --------
    >>> from softlib.book.viz import explore
    >>> fx = explore(temperature_figure([1.0, 0.0], [0.5, 1.0, 2.0]), {"temperature": [0.5, 1.0, 2.0]})
    >>> fx.redraw_times().shape
    (3,)
    """
    z = np.asarray(z, dtype=np.float64)
    temps = np.asarray(temperatures, dtype=np.float64)
    n = z.size
    probs = ops.softmax(z[None, :] / temps[:, None])
    smooth_max = temps * ops.logsumexp(z[None, :] / temps[:, None])

    def draw(fig, temperature):
        ax_p, ax_h, ax_l = fig.subplots(1, 3, gridspec_kw={"width_ratios": [3, 2, 2]})
        bars = ax_p.bar([f"{v:g}" for v in z], np.zeros(n), color="C0")
        ax_p.set(ylim=(0, 1), xlabel="logit $z_i$", ylabel="probability $s_i(z/T)$")
        ax_h.semilogx(temps, entropy(probs), color="C1")
        ax_h.axhline(np.log(n), color="gray", ls=":", label="log n")
        (h_dot,) = ax_h.plot([], [], "o", color="C1")
        ax_h.set(xlabel="temperature T", ylabel="entropy H (nats)")
        ax_h.legend(loc="upper left", fontsize="small")
        ax_l.loglog(temps, smooth_max - z.max(), color="C2", label="T LSE(z/T) - max z")
        ax_l.loglog(temps, temps * np.log(n), color="k", ls="--", lw=0.8, label="T log n (upper bound)")
        (l_dot,) = ax_l.plot([], [], "o", color="C2")
        ax_l.set(xlabel="temperature T", ylabel="smooth max minus max")
        legend = ax_l.legend(loc="upper left", fontsize="small")

        def update(temperature):
            p = ops.softmax(z / temperature)
            for bar, height in zip(bars, p):
                bar.set_height(height)
            h = float(entropy(p))
            lse = temperature * float(ops.logsumexp(z / temperature))
            h_dot.set_data([temperature], [h])
            l_dot.set_data([temperature], [lse - z.max()])
            ax_p.set_title(f"T = {temperature:.3g}: H = {h:.2f} nats, T LSE = {lse:.2f}", fontsize="small")
            return [*bars, h_dot, l_dot, ax_p.title, legend]

        update(temperature)
        fig.tight_layout()
        return update

    return draw


def entmax(z, alpha: float, axis: int = -1) -> np.ndarray:
    """alpha-entmax through the fastest exact function: softmax at 1, :func:`softlib.entmax15` at 1.5,
    :func:`softlib.sparsemax` at 2, :func:`softlib.entmax_bisect` elsewhere.

    Examples
    --------
    >>> entmax([1.0, 0.5, -1.0], 2.0)
    array([0.75, 0.25, 0.  ])
    """
    exact = {1.0: ops.softmax, 1.5: sparse.entmax15, 2.0: sparse.sparsemax}.get(float(alpha))
    if exact is not None:
        return exact(z, axis=axis)
    return sparse.entmax_bisect(z, alpha, axis=axis)


def logit_disc(radii: int = 10, angles: int = 60) -> np.ndarray:
    """Logits of three classes on a polar grid of the unit disc in the plane orthogonal to (1, 1, 1)
    (every logit vector is one of these up to a shift and a scale): shape ``(radii * angles, 3)``.

    Examples
    --------
    >>> z = logit_disc(2, 4)
    >>> z.shape, bool(np.allclose(z.sum(axis=1), 0))
    ((8, 3), True)
    """
    u1 = np.array([1.0, -1.0, 0.0]) / np.sqrt(2)
    u2 = np.array([1.0, 1.0, -2.0]) / np.sqrt(6)
    r = np.sqrt(np.linspace(0, 1, radii + 1)[1:])  # equal areas per ring
    theta = np.linspace(0, 2 * np.pi, angles, endpoint=False)
    rr, tt = np.meshgrid(r, theta, indexing="ij")
    return (rr.ravel()[:, None] * (np.cos(tt).ravel()[:, None] * u1 + np.sin(tt).ravel()[:, None] * u2))


#: Corners of the probability simplex of three classes in the plane (an equilateral triangle).
CORNERS = np.array([[0.0, 0.0], [1.0, 0.0], [0.5, np.sqrt(3) / 2]])


def simplex_xy(p) -> np.ndarray:
    """Plane coordinates of probability vectors of three classes (barycentric on ``CORNERS``).

    Examples
    --------
    >>> simplex_xy([[0.0, 1.0, 0.0]])
    array([[1., 0.]])
    """
    return np.asarray(p, dtype=np.float64) @ CORNERS


def zero_fraction(z, alphas, scales) -> np.ndarray:
    """Fraction of the rows of ``scale * z`` whose alpha-entmax holds an exact zero: shape
    ``(len(alphas), len(scales))``.

    Examples
    --------
    >>> zero_fraction(logit_disc(2, 6), [1.0, 2.0], [10.0]).tolist()
    [[0.0], [1.0]]
    """
    return np.array([[np.mean(np.any(entmax(s * np.asarray(z), a) == 0, axis=-1)) for s in scales]
                     for a in alphas])


_SUPPORT_COLOURS = {1: "C3", 2: "C1", 3: "C0"}


def _support_rgba() -> np.ndarray:
    from matplotlib.colors import to_rgba_array

    return to_rgba_array([_SUPPORT_COLOURS[k] for k in (1, 2, 3)])


def simplex_figure(alphas, scales, z=None, curve_scales=None):
    """``draw(fig, alpha, scale)``: left, the images ``entmax_alpha(scale * z)`` of a disc of logits
    on the simplex of three classes, coloured by support size (interior, edge, corner); right, the
    fraction of images with an exact zero against the logit scale, one curve per alpha.

    Examples
    --------
    >>> from softlib.book.viz import explore
    >>> fx = explore(simplex_figure([1.0, 2.0], [1.0, 4.0]), {"alpha": [1.0, 2.0], "scale": [1.0, 4.0]},
    ...              second="scale")
    >>> fx.redraw_times().shape
    (2,)
    """
    z = logit_disc(8, 48) if z is None else np.asarray(z, dtype=np.float64)
    curve_scales = np.geomspace(0.1, 20, 40) if curve_scales is None else np.asarray(curve_scales)
    curves = zero_fraction(z, alphas, curve_scales)
    alphas = [float(a) for a in alphas]

    rgba = _support_rgba()

    def draw(fig, alpha, scale):
        import matplotlib.pyplot as plt

        ax_s, ax_f = fig.subplots(1, 2, gridspec_kw={"width_ratios": [1, 1]})
        ax_s.fill(*CORNERS.T, facecolor="none", edgecolor="k", lw=0.8)
        for (x, y), label, (dx, dy) in zip(CORNERS, ["$e_1$", "$e_2$", "$e_3$"],
                                           [(-0.07, -0.06), (0.02, -0.06), (0.03, 0.0)]):
            ax_s.annotate(label, (x, y), xytext=(x + dx, y + dy), fontsize="small")
        points = ax_s.scatter(np.zeros(len(z)), np.zeros(len(z)), s=5, lw=0)
        for size, colour in _SUPPORT_COLOURS.items():
            ax_s.scatter([], [], s=12, color=colour, label=f"{size} non-zero")
        legend_s = ax_s.legend(loc="upper right", fontsize="small", frameon=False)
        ax_s.set(xlim=(-0.09, 1.09), ylim=(-0.09, 0.95), aspect="equal", xticks=[], yticks=[])
        ax_s.set_xlabel("probability simplex, 3 classes")
        shades = plt.get_cmap("viridis")(np.linspace(0.0, 0.85, len(alphas)))  # not the point colours
        for i, a in enumerate(alphas):
            ax_f.semilogx(curve_scales, curves[i], color=shades[i], label=f"alpha = {a:g}")
        (marker,) = ax_f.plot([], [], "ko", ms=6)
        ax_f.set(xlabel="logit scale (radius of the disc)", ylabel="fraction with an exact zero",
                 ylim=(-0.03, 1.03))
        legend_f = ax_f.legend(loc="upper left", fontsize="small")

        def update(alpha, scale):
            p = entmax(scale * z, alpha)
            size = np.count_nonzero(p > 0, axis=-1)
            points.set_offsets(simplex_xy(p))
            points.set_facecolor(rgba[size - 1])
            zeros = float(np.mean(size < 3))
            marker.set_data([scale], [zeros])
            ax_s.set_title(f"alpha = {alpha:g}, scale = {scale:g}: {zeros:.0%} with a zero", fontsize="small")
            return [points, marker, ax_s.title, legend_s, legend_f]

        update(alpha, scale)
        fig.tight_layout()
        return update

    return draw


def plot_support_sizes(z, scales, sizes, *, figsize=(8, 3.2)):
    """Support size (number of non-zero outputs) of each map at the logits ``c z``, against ``c``.

    Dotted lines mark sparsemax's thresholds ``1 / sum(z - min z)`` (full support below) and
    ``1 / (u1 - u2)`` (one class above), and 1.5-entmax's ``2 / (u1 - u2)``, with ``u1 >= u2`` the
    two largest logits.

    Parameters
    ----------
    z : array_like, shape (n,)
        The logits.
    scales : ndarray
        The logit scales ``c`` (log axis).
    sizes : dict
        ``{map name: support size at each scale}``.
    figsize : tuple of float, optional
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    z = np.asarray(z, dtype=np.float64)
    u = np.sort(z)[::-1]
    fig, ax = plt.subplots(figsize=figsize)
    for name, k in sizes.items():
        ax.semilogx(scales, k, drawstyle="steps-post", label=name)
    marks = [(1 / (u[0] - u[1]), "1/(u1-u2)"), (2 / (u[0] - u[1]), "2/(u1-u2)"),
             (1 / np.sum(z - z.min()), "1/sum(z-min z)")]
    for c, text in marks:
        ax.axvline(c, color="gray", ls=":", lw=0.8)
        ax.text(c, z.size + 0.3, text, ha="center")
    ax.set(xlabel="logit scale c", ylabel="support size (non-zeros)", ylim=(0.5, z.size + 0.8))
    ax.legend(loc="lower left")
    fig.tight_layout()
    return fig
