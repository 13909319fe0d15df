"""Experiments and figures of the chapters on sampling from softmax (book/sampling/).

Small NumPy studies that the chapters run and plot: the gradient estimators of a categorical objective
(Gumbel-softmax, straight-through, score function) against its exact gradient; the mass of the
Concrete density on a grid; the synthetic vocabulary of the decoding chapter and its thresholds; the
max-retrieval toy of "softmax is not enough". The ``plot_*`` functions return ``draw(fig, **values)``
functions for :func:`softlib.book.viz.explore`.
"""

from __future__ import annotations

import math

import numpy as np

from .. import sampling as sm
from ..ops import softmax

SQRT3_2 = math.sqrt(3.0) / 2.0


# --------------------------------------------------------------------------------------------------
# Chapter "The Gumbel-max trick and its relaxation"
# --------------------------------------------------------------------------------------------------

def categorical_objective(theta, w, c):
    r"""The toy objective :math:`J(\theta) = \mathbb E_{z \sim \mathrm{Cat}(\mathrm{softmax}\,\theta)} f(e_z)`,
    :math:`f(y) = (y\cdot w - c)^2`, and its exact gradient
    :math:`\nabla J = \sum_k \pi_k f(e_k)(e_k - \pi)`.

    Returns
    -------
    (J, grad) : (float, ndarray)

    Examples
    --------
    >>> J, g = categorical_objective(np.zeros(3), np.array([1.0, 0.0, -1.0]), 0.0)
    >>> print(round(J, 6), np.round(g, 6))
    0.666667 [ 0.111111 -0.222222  0.111111]
    """
    theta, w = np.asarray(theta, dtype=np.float64), np.asarray(w, dtype=np.float64)
    pi = softmax(theta)
    fk = (w - c) ** 2  # f at the vertices: e_k . w = w_k
    return float(pi @ fk), pi * fk - pi * (pi @ fk)


def gradient_estimators(theta, w, c, taus, n, *, rng):
    r"""Single-sample gradient estimates of :func:`categorical_objective` for every ``tau``.

    With :math:`G` standard Gumbel, :math:`y = \mathrm{softmax}((\theta + G)/\tau)` and
    :math:`h = \mathrm{onehot}(\arg\max(\theta + G))` (an exact draw):

    - Gumbel-softmax (pathwise): :math:`\frac1\tau\, y \odot (v - \langle v, y\rangle)`, with
      :math:`v = \nabla f(y)`;
    - straight-through Gumbel: the same backward pass with :math:`v = \nabla f(h)` (forward value
      :math:`h`);
    - score function: :math:`f(h)\,(h - \pi)`, which does not depend on :math:`\tau`.

    The same ``n`` Gumbel draws serve every ``tau`` (common random numbers).

    Returns
    -------
    dict
        ``"exact"``: the exact gradient; for ``"gumbel_softmax"`` and ``"straight_through"``, arrays over
        ``taus`` of ``bias`` (norm of mean minus exact), ``variance`` (trace of the covariance) and
        ``mean``; for ``"score_function"`` the same for its one value, with ``se`` (standard error of
        each coordinate of the mean).
    """
    theta, w = np.asarray(theta, dtype=np.float64), np.asarray(w, dtype=np.float64)
    K = theta.size
    _, exact = categorical_objective(theta, w, c)
    z = theta + sm.gumbel((n, K), rng=rng)
    h = np.eye(K)[np.argmax(z, axis=-1)]
    vh = 2.0 * (h @ w - c)[:, None] * w
    out = {"exact": exact, "taus": np.asarray(taus, dtype=np.float64)}
    for name in ("gumbel_softmax", "straight_through"):
        out[name] = {"bias": [], "variance": [], "mean": []}
    for tau in taus:
        y = softmax(z / tau, axis=-1)
        v = 2.0 * (y @ w - c)[:, None] * w
        for name, vv in (("gumbel_softmax", v), ("straight_through", vh)):
            g = y * (vv - np.sum(vv * y, axis=-1, keepdims=True)) / tau
            out[name]["mean"].append(g.mean(axis=0))
            out[name]["bias"].append(np.linalg.norm(g.mean(axis=0) - exact))
            out[name]["variance"].append(g.var(axis=0).sum())
    for name in ("gumbel_softmax", "straight_through"):
        out[name] = {k: np.array(v) for k, v in out[name].items()}
    pi = softmax(theta)
    g = ((h @ w - c) ** 2)[:, None] * (h - pi)
    out["score_function"] = {"mean": g.mean(axis=0), "bias": np.linalg.norm(g.mean(axis=0) - exact),
                             "variance": g.var(axis=0).sum(), "se": g.std(axis=0) / math.sqrt(n)}
    return out


def concrete_mass(logits, tau, *, half_width=40.0, points=801):
    r"""The integral of the K = 3 Concrete density over the simplex, on a grid of log-ratios.

    The map :math:`z \mapsto y = \mathrm{softmax}(z_1, z_2, 0)` is a bijection from
    :math:`\mathbb R^2` onto the open simplex with Jacobian :math:`y_1 y_2 y_3`, so
    :math:`\int p(y)\,dy_1 dy_2 = \int p(y(z))\, y_1 y_2 y_3\, dz`. The log-ratios of a Concrete sample
    spread like :math:`1/\tau`, so the grid spans :math:`\pm` ``half_width / tau``.

    Examples
    --------
    >>> print(round(concrete_mass(np.log([0.2, 0.3, 0.5]), 1.0), 8))
    1.0
    """
    z = np.linspace(-half_width / tau, half_width / tau, points)
    z1, z2 = np.meshgrid(z, z, indexing="ij")
    y = softmax(np.stack([z1, z2, np.zeros_like(z1)], axis=-1), axis=-1)
    with np.errstate(divide="ignore"):  # y underflows to 0 at the far corners of the grid: density 0
        dens = np.exp(sm.concrete_logpdf(y, logits, tau) + np.log(y).sum(axis=-1))
    return float(dens.sum() * (z[1] - z[0]) ** 2)


def to_ternary(y):
    """Cartesian coordinates of points of the 2-simplex (vertices (0,0), (1,0), (1/2, sqrt(3)/2))."""
    y = np.asarray(y)
    return np.stack([y[..., 1] + 0.5 * y[..., 2], SQRT3_2 * y[..., 2]], axis=-1)


def _simplex_mesh(resolution):
    """A triangulation of the open 2-simplex (points strictly inside) and its barycentric points."""
    import matplotlib.tri as mtri

    n = resolution
    i, j = np.meshgrid(np.arange(n + 1), np.arange(n + 1), indexing="ij")
    keep = i + j <= n
    a, b = i[keep] / n, j[keep] / n
    y = np.stack([a, b, 1 - a - b], axis=-1)
    y = (y + 1e-3) / (1 + 3e-3)  # nudge the boundary inside, where the density is defined
    xy = to_ternary(y)
    return mtri.Triangulation(xy[:, 0], xy[:, 1]), y


def plot_concrete_ternary(logits, taus, *, samples=500, seed=0, resolution=48, span=6.0):
    r"""``draw(fig, tau)`` for :func:`softlib.book.viz.explore`: Gumbel-softmax samples for K = 3 over the
    closed-form log-density on a ternary plot.

    The colour shows :math:`\log p(y)` from :func:`softlib.sampling.concrete_logpdf`, on a scale from
    its 97th percentile on the grid (brighter values are clipped: for small ``tau`` the density
    diverges at the corners) down ``span`` nats (darker: lower). The samples are drawn with the same
    seed at every ``tau`` (the same Gumbel noise), so scrubbing ``tau`` moves each point continuously.
    Redraws move the artists in place.
    """
    logits = np.asarray(logits, dtype=np.float64)
    taus = [float(t) for t in taus]
    tri, grid = _simplex_mesh(resolution)
    logp = {t: sm.concrete_logpdf(grid, logits, t) for t in taus}
    pts = {t: to_ternary(sm.gumbel_softmax(np.tile(logits, (samples, 1)), t,
                                           rng=np.random.default_rng(seed))) for t in taus}
    near = {t: float(np.mean(sm.gumbel_softmax(np.tile(logits, (samples, 1)), t,
                                              rng=np.random.default_rng(seed)).max(-1) > 0.95))
            for t in taus}
    pi = softmax(logits)

    def draw(fig, temperature):
        ax = fig.subplots()
        lp = logp[temperature]
        top = np.percentile(lp, 97)  # the corners diverge for small tau: scale on the bulk
        mesh = ax.tripcolor(tri, lp - top, shading="gouraud", cmap="viridis", vmin=-span, vmax=0)
        fig.colorbar(mesh, ax=ax, shrink=0.7, label="log-density minus its\n97th percentile (nats)")
        dots = ax.scatter(*pts[temperature].T, s=5, color="white", edgecolors="k", linewidths=0.3)
        corners = to_ternary(np.eye(3))
        ax.plot(*np.vstack([corners, corners[:1]]).T, color="k", lw=1)
        for k, (x, yy) in enumerate(corners):
            ax.annotate(f"class {k + 1}\nπ = {pi[k]:.2f}", (x, yy), ha="center",
                        va="top" if yy < 0.5 else "bottom", xytext=(0, -4 if yy < 0.5 else 4),
                        textcoords="offset points", fontsize="small")
        text = ax.text(-0.14, 0.98, "", fontsize=9, va="top")
        ax.set(xlim=(-0.16, 1.16), ylim=(-0.16, 1.0), aspect="equal")
        ax.set_axis_off()
        ax.set_title("Gumbel-softmax samples over the Concrete log-density", fontsize=10)

        def update(temperature):
            tau = temperature
            lp = logp[tau]
            mesh.set_array(lp - np.percentile(lp, 97))
            dots.set_offsets(pts[tau])
            text.set_text(f"τ = {tau:g}\n{near[tau]:.0%} of samples\nwithin 0.05 of a corner")
            return [mesh, dots, text]

        update(temperature)
        return update

    return draw


# --------------------------------------------------------------------------------------------------
# Chapter "Decoding: temperature, truncation and sharpness"
# --------------------------------------------------------------------------------------------------

def synthetic_vocabulary(vocab=32_000, noise_std=2.0, informative=(21.0, 20.0, 19.0, 18.5, 18.0, 17.0),
                         *, seed=0):
    """Logits of a synthetic next-token distribution: a Gaussian bulk of noise tokens and a few
    informative tokens far above it (the shape of Tang et al.'s Fig. 1).

    Returns
    -------
    (logits, informative_mask) : (ndarray, ndarray of bool)

    Examples
    --------
    >>> logits, good = synthetic_vocabulary(1000)
    >>> logits.shape, int(good.sum()), bool(logits[good].min() > logits[~good].max())
    ((1000,), 6, True)
    """
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, noise_std, vocab)
    good = np.zeros(vocab, dtype=bool)
    good[: len(informative)] = True
    logits[: len(informative)] = informative
    return logits, good


def rule_masks(logits, temperature, *, k=20, p=0.9, p_base=0.1, n=1.0):
    """The kept sets of the usual truncation rules at one temperature (the configuration of Tang
    et al.'s evaluation: top-k 20, top-p 0.9, min-p 0.1, top-nσ with n = 1), plus plain sampling."""
    return {
        "plain": np.isfinite(logits),
        "top-k": sm.top_k_mask(logits, k),
        "top-p": sm.top_p_mask(logits, p, temperature=temperature),
        "min-p": sm.min_p_mask(logits, p_base, temperature=temperature),
        "top-nσ": sm.top_n_sigma_mask(logits, n, temperature=temperature),
    }


def noise_mass(logits, informative, mask, temperature):
    """The probability that sampling at ``temperature`` restricted to ``mask`` draws a noise token."""
    x = np.where(mask, logits / temperature, -np.inf)
    return float(softmax(x)[~informative].sum())


RULE_COLORS = {"plain": "0.5", "top-k": "C0", "top-p": "C1", "min-p": "C2", "top-nσ": "C3"}


def plot_thresholds(logits, informative, temperatures, **rule_kwargs):
    """``draw(fig, temperature)``: the sorted logits with every rule's threshold at
    the temperature of the slider (left), and each rule's probability of drawing a noise token against
    the temperature (right, a marker at the slider's value)."""
    temperatures = [float(t) for t in temperatures]
    order = np.argsort(-logits)
    ranks = np.arange(1, logits.size + 1)
    rules = list(rule_masks(logits, 1.0, **rule_kwargs))[1:]
    thresholds, masses, kept = {}, {}, {}
    for t in temperatures:
        masks = rule_masks(logits, t, **rule_kwargs)
        thresholds[t] = {r: logits[masks[r]].min() for r in rules}
        masses[t] = {r: noise_mass(logits, informative, masks[r], t) for r in masks}
        kept[t] = {r: int(masks[r].sum()) for r in rules}
    curve = {r: np.array([masses[t][r] for t in temperatures]) for r in masses[temperatures[0]]}

    def draw(fig, temperature):
        ax, ax2 = fig.subplots(1, 2, gridspec_kw={"width_ratios": [3, 2]})
        good = informative[order]
        ax.plot(ranks[~good], logits[order][~good], color="0.6", lw=2, label="noise tokens")
        ax.scatter(ranks[good], logits[order][good], s=18, color="k", marker="D", label="informative")
        lines = {r: ax.axhline(0.0, color=RULE_COLORS[r], lw=1.5, label=r) for r in rules}
        ax.set(xscale="log", xlabel="rank of the token", ylabel="logit (kept: at or above a line)")
        for r, c in curve.items():
            ax2.semilogx(temperatures, c, color=RULE_COLORS[r], label=r)
        # One legend, in the empty upper left of the right panel: the left panel's lines move
        # with the temperature and would pass under any legend placed there.
        tokens = ax.get_legend_handles_labels()[0][:2]
        rule_lines = ax2.get_legend_handles_labels()[0]
        ax2.legend(tokens + rule_lines, ["noise tokens", "informative", *curve],
                   loc="upper left", fontsize="small")
        marks = {r: ax2.plot([], [], "o", color=RULE_COLORS[r], ms=5)[0] for r in curve}
        ax2.set(xlabel="temperature T", ylabel="P(draw a noise token)", ylim=(-0.03, 1.03))
        ticks = [t for t in (0.5, 1, 2, 4, 8) if temperatures[0] <= t <= temperatures[-1]]
        ax2.set_xticks(ticks, [f"{t:g}" for t in ticks])
        ax2.minorticks_off()
        title = ax.text(0.02, 0.03, "", transform=ax.transAxes, fontsize="small")
        fig.tight_layout()

        def update(temperature):
            for r, line in lines.items():
                line.set_ydata([thresholds[temperature][r]] * 2)
            for r, m in marks.items():
                m.set_data([temperature], [masses[temperature][r]])
            counts = ", ".join(f"{r} {v}" for r, v in kept[temperature].items())
            title.set_text(f"T = {temperature:g}; kept: {counts}")
            return [*lines.values(), title, *marks.values()]

        update(temperature)
        return update

    return draw


def max_retrieval(n_items, beta, *, trials=400, classes=10, adaptive=False, rng):
    r"""The max-retrieval toy: attend over ``n_items`` items with priorities :math:`s \sim U(0,1)` and
    logits :math:`\beta s`, and read out the class of the attended mixture.

    Each item carries one of ``classes`` classes; the read-out is the class with the largest
    attention mass; it is right when that is the class of the highest-priority item. With
    ``adaptive=True`` the attention is :func:`softlib.sampling.adaptive_temperature` of the logits.

    Returns
    -------
    (alpha_max, accuracy) : mean attention on the top item, and the read-out accuracy.
    """
    s = rng.random((trials, n_items))
    labels = rng.integers(0, classes, (trials, n_items))
    logits = beta * s
    if adaptive:
        alpha, _ = sm.adaptive_temperature(logits)
    else:
        alpha = softmax(logits, axis=-1)
    top = np.argmax(s, axis=-1)
    rows = np.arange(trials)
    mass = np.zeros((trials, classes))
    np.add.at(mass, (np.repeat(rows, n_items), labels.ravel()), alpha.ravel())
    right = np.argmax(mass, axis=-1) == labels[rows, top]
    return float(alpha[rows, top].mean()), float(right.mean())


def clustered_vocabulary(clusters=8, per_cluster=40, dim=16, spread=0.3,
                         cluster_logits=(6.0, 4.5, 4.0, 0.0, 0.0, 0.0, 0.0, 0.0), *, seed=0):
    """A vocabulary with geometry: token embeddings in ``clusters`` clusters (centre + ``spread`` x
    Gaussian noise) and logits equal to their cluster's value plus N(0, 1).

    The clusters with a logit above 0 are the informative ones; the others are noise.

    Returns
    -------
    (logits, embeddings, cluster) : ndarrays of shapes (V,), (V, dim), (V,)

    Examples
    --------
    >>> logits, emb, cluster = clustered_vocabulary()
    >>> logits.shape, emb.shape, int(cluster.max())
    ((320,), (320, 16), 7)
    """
    rng = np.random.default_rng(seed)
    centres = rng.normal(size=(clusters, dim))
    cluster = np.repeat(np.arange(clusters), per_cluster)
    emb = centres[cluster] + spread * rng.normal(size=(cluster.size, dim))
    logits = np.asarray(cluster_logits, dtype=np.float64)[cluster] + rng.normal(size=cluster.size)
    return logits, emb, cluster


def top_w_mask(logits, embeddings, *, temperature=1.0, lam=2.2, beta=2.8, scale=0.6, start_p=0.999,
               iterations=9):
    r"""A NumPy Top-W crop (Gholami Davoodi et al. 2026) with a nearest-set potential.

    The crop :math:`S` maximises :math:`\mathbb E_{q_S}[\phi] + (\beta - \lambda)\log\Gamma_S`, where
    :math:`q_S` is :math:`p = \mathrm{softmax}(\ell/T)` restricted to :math:`S` and renormalised,
    :math:`\Gamma_S = \sum_{i\in S} p_i` the kept mass, and :math:`\phi_i = f_i + \lambda\log p_i` with
    the potential :math:`f_i = -s\,(1 - \max_{j\in S}\cos(e_i, e_j))` of the embeddings (centred,
    scaled per dimension and normalised). For a fixed potential, the best crop with
    :math:`\beta > \lambda` is a prefix of the tokens sorted by :math:`\phi`, found by one scan; with
    :math:`\beta \le \lambda` it is the single token :math:`\arg\max(f + \beta\log p)`. The potential
    depends on :math:`S`, so the two steps alternate, starting from top-p at ``start_p``.

    Returns
    -------
    ndarray of bool
        The kept tokens.
    """
    logits = np.asarray(logits, dtype=np.float64)
    p = softmax(logits / temperature)
    e = np.asarray(embeddings, dtype=np.float64)
    e = (e - e.mean(axis=0)) / e.std(axis=0)
    e /= np.linalg.norm(e, axis=1, keepdims=True)
    with np.errstate(divide="ignore"):
        log_p = np.log(p)
    keep = sm.top_p_mask(logits, start_p, temperature=temperature)
    for _ in range(iterations):
        f = -scale * (1.0 - (e @ e[keep].T).max(axis=1))
        if beta <= lam:
            new = np.zeros_like(keep)
            new[np.argmax(f + beta * log_p)] = True
        else:
            phi = f + lam * log_p
            order = np.argsort(-phi, kind="stable")
            mass = np.cumsum(p[order])
            score = np.cumsum((p * phi)[order]) / mass + (beta - lam) * np.log(mass)
            new = np.zeros_like(keep)
            new[order[: int(np.nanargmax(score)) + 1]] = True
        if np.array_equal(new, keep):
            break
        keep = new
    return keep


def fit_retrieval_sharpness(n_items=16, penalty=2e-4, *, trials=2000, betas=None, rng):
    r"""The logit scale :math:`\beta` a max-retrieval head would settle on when trained at
    ``n_items`` items: the maximiser of the mean log-attention on the top item minus a weight
    penalty, :math:`\mathbb E[\log\alpha_{\max}] - \text{penalty}\cdot\beta^2` (a stand-in for
    training with weight decay; without a penalty :math:`\beta` would grow without bound).

    Examples
    --------
    >>> int(fit_retrieval_sharpness(rng=np.random.default_rng(0)))
    29
    """
    if betas is None:
        betas = np.arange(1, 81)
    s = rng.random((trials, n_items))
    gap = s.max(axis=-1, keepdims=True) - s
    scores = [np.mean(-np.log(np.exp(-b * gap).sum(axis=-1))) - penalty * b * b for b in betas]
    return betas[int(np.argmax(scores))]


# --------------------------------------------------------------------------------------------------
# Static figures of the chapters
# --------------------------------------------------------------------------------------------------

def plot_estimator_tradeoff(taus, estimates, *, figsize=(9, 3.3)):
    """Bias and variance of the gradient estimators against the temperature (log axes).

    Parameters
    ----------
    taus : sequence of float
        The temperatures of ``estimates``, as given to :func:`gradient_estimators`.
    estimates : dict
        The result of :func:`gradient_estimators`.
    figsize : tuple of float, optional
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
        Left the bias, right the variance; the temperature decreases from left to right.
    """
    import matplotlib.pyplot as plt

    fig, (ax_b, ax_v) = plt.subplots(1, 2, figsize=figsize)
    for name, color in (("gumbel_softmax", "C0"), ("straight_through", "C1")):
        label = name.replace("_", " ")
        ax_b.loglog(taus, estimates[name]["bias"], "o-", color=color, label=label)
        ax_v.loglog(taus, estimates[name]["variance"], "o-", color=color, label=label)
    score = estimates["score_function"]
    ax_b.axhline(score["bias"], color="C2", ls="--", label="score function")
    ax_v.axhline(score["variance"], color="C2", ls="--", label="score function")
    ax_b.set(xlabel="temperature τ", ylabel="bias ‖E ĝ − ∇J‖")
    ax_v.set(xlabel="temperature τ", ylabel="variance (trace of covariance)")
    for ax in (ax_b, ax_v):
        ax.invert_xaxis()
    ax_b.legend()
    fig.tight_layout()
    return fig


def plot_dispersion(sizes, plain, adaptive, approximation, *, figsize=(9, 3.2)):
    """Attention on the top item and retrieval accuracy against the number of items.

    Parameters
    ----------
    sizes : sequence of int
        The numbers of items.
    plain, adaptive : ndarray, shape (len(sizes), 2)
        Rows ``(attention on the top item, accuracy)`` of :func:`max_retrieval`, without and with
        adaptive temperature.
    approximation : ndarray
        ``beta / (beta + n - 1)`` at each size.
    figsize : tuple of float, optional
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    fig, (ax_a, ax_r) = plt.subplots(1, 2, figsize=figsize)
    ax_a.loglog(sizes, plain[:, 0], "o-", label="softmax")
    ax_a.loglog(sizes, adaptive[:, 0], "s-", label="adaptive temperature")
    ax_a.loglog(sizes, approximation, "k:", label="β / (β + n − 1)")
    ax_r.semilogx(sizes, plain[:, 1], "o-", label="softmax")
    ax_r.semilogx(sizes, adaptive[:, 1], "s-", label="adaptive temperature")
    ax_r.axhline(0.1, color="gray", ls="--", lw=1, label="chance (10 classes)")
    ax_a.set(xlabel="number of items n", ylabel="attention on the top item")
    ax_r.set(xlabel="number of items n", ylabel="retrieval accuracy")
    ax_a.legend()
    ax_r.legend()
    fig.tight_layout()
    return fig
