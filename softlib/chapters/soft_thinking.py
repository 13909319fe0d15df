"""A toy model of soft thinking: a tiny vocabulary, an embedding table and a reader with a softmax lookup.

**Soft thinking** (Zhang et al. 2025) feeds a language model, instead of the embedding of a sampled
token, the probability-weighted mixture of the embeddings of its most likely next tokens (a *soft
token*). Wu et al. (2026) found that models then follow mostly the top component of the mixture, so
vanilla soft thinking behaves like greedy decoding, and that Gumbel-softmax noise on the mixture
restores sampling. This module holds a model small enough to see why:

- a vocabulary of ``V`` tokens with unit-norm embeddings ``E`` (``V x d``);
- a **reader**: the input vector ``x`` is read by a softmax lookup into the embedding table,
  ``a = softmax(b * E @ x)`` and ``h = a @ E``; the **sharpness** ``b`` says how much the reader
  behaves like a one-hot lookup (large ``b``) or a linear map (small ``b``);
- next-token logits ``W @ h``, truncated to the ``top_k`` most likely tokens and renormalised.

A chain of ``steps`` thoughts starts from one token. The functions return the distribution of the
last step's next token under discrete sampling (exact, from the transition matrix), greedy decoding,
vanilla soft thinking, and soft thinking with Gumbel-softmax or Dirichlet noise (Monte Carlo).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .. import sampling as sm
from ..ops import softmax

__all__ = ["ToyReasoner", "soft_token", "dirichlet_resample", "gumbel_soft_token", "total_variation",
           "js_divergence", "plot_reader", "plot_last_step_laws", "plot_flow_paths", "softgrpo_gradients",
           "gumbel_flow_path", "gumbel_flow_velocity"]


def total_variation(p, q) -> float:
    """Total variation distance, half the L1 distance between two distributions."""
    return 0.5 * float(np.abs(np.asarray(p) - np.asarray(q)).sum())


def js_divergence(p, q) -> float:
    """Jensen-Shannon divergence in nats (between 0 and log 2).

    Examples
    --------
    >>> print(round(js_divergence([1.0, 0.0], [0.0, 1.0]), 6))   # log 2
    0.693147
    """
    p, q = np.asarray(p, dtype=np.float64), np.asarray(q, dtype=np.float64)
    m = 0.5 * (p + q)

    def kl(a):
        ratio = np.where(a > 0, a / np.where(m > 0, m, 1.0), 1.0)
        return float(np.sum(np.where(a > 0, a * np.log(ratio), 0.0)))

    return 0.5 * kl(p) + 0.5 * kl(q)


def soft_token(q, embeddings):
    r"""The soft token :math:`e = \sum_i q_i E_i` of a (truncated, renormalised) distribution ``q``."""
    return np.asarray(q) @ np.asarray(embeddings)


def gumbel_soft_token(q, tau, *, rng):
    r"""Gumbel-softmax weights over the support of ``q``: :math:`\mathrm{softmax}((\log q + G)/\tau)`.

    Zeros of ``q`` stay zero. Its argmax is an exact draw from ``q`` for every ``tau``.

    Examples
    --------
    >>> w = gumbel_soft_token(np.array([[0.5, 0.5, 0.0]]), 0.5, rng=np.random.default_rng(0))
    >>> bool(w[0, 2] == 0.0 and np.isclose(w.sum(), 1.0))
    True
    """
    with np.errstate(divide="ignore"):
        log_q = np.log(np.asarray(q, dtype=np.float64))
    return sm.gumbel_softmax(log_q, tau, rng=rng)


def dirichlet_resample(q, alpha, *, rng):
    r"""Dirichlet resampling :math:`q' \sim \mathrm{Dir}(\alpha q)` over the support of ``q``, drawn as
    normalised Gamma variables (mean ``q``, variance :math:`q(1-q)/(\alpha+1)`)."""
    q = np.asarray(q, dtype=np.float64)
    g = np.where(q > 0, rng.gamma(np.maximum(alpha * q, 1e-300)), 0.0)
    return g / g.sum(axis=-1, keepdims=True)


@dataclass
class ToyReasoner:
    """The toy model (see the module docstring). Build it with :meth:`random`."""

    E: np.ndarray  # (V, d) unit-norm embeddings
    W: np.ndarray  # (V, d) read-out
    sharpness: float = 30.0
    top_k: int = 5

    @classmethod
    def random(cls, vocab=16, dim=32, scale=3.0, *, sharpness=30.0, top_k=5, seed=0):
        """Random unit-norm embeddings and a read-out whose logits have standard deviation ``scale``.

        Examples
        --------
        >>> model = ToyReasoner.random()
        >>> model.E.shape, float(np.round(np.linalg.norm(model.E[0]), 12))
        ((16, 32), 1.0)
        """
        rng = np.random.default_rng(seed)
        E = rng.normal(size=(vocab, dim))
        E /= np.linalg.norm(E, axis=1, keepdims=True)
        W = scale * rng.normal(size=(vocab, dim))
        return cls(E, W, float(sharpness), int(top_k))

    def with_sharpness(self, sharpness):
        return ToyReasoner(self.E, self.W, float(sharpness), self.top_k)

    def read(self, x):
        """The reader's attention over the vocabulary and its output ``h``, for inputs ``x`` (..., d)."""
        a = softmax(self.sharpness * (np.asarray(x) @ self.E.T), axis=-1)
        return a, a @ self.E

    def next_distribution(self, x):
        """The top-k truncated, renormalised next-token distribution for inputs ``x`` (..., d)."""
        _, h = self.read(x)
        logits = h @ self.W.T
        keep = sm.top_k_mask(logits, self.top_k)
        return softmax(np.where(keep, logits, -np.inf), axis=-1)

    def transition_matrix(self):
        """Row i: the next-token distribution after the discrete token i."""
        return self.next_distribution(self.E)

    # ------------------------------------------------------------------ chains
    def discrete_law(self, start, steps):
        """The exact distribution of the next token after ``steps`` sampled tokens (Markov chain)."""
        law = np.zeros(len(self.E))
        law[start] = 1.0
        P = self.transition_matrix()
        for _ in range(steps):
            law = law @ P
        return law

    def greedy_law(self, start, steps):
        """The last step's next-token distribution along the greedy path (each input the argmax)."""
        token = start
        for _ in range(steps - 1):
            token = int(np.argmax(self.next_distribution(self.E[token])))
        return self.next_distribution(self.E[token])

    def soft_law(self, start, steps, *, noise=None, tau=0.5, alpha=4.0, rollouts=1, rng=None):
        """The last step's next-token distribution under soft thinking, averaged over ``rollouts``.

        ``noise``: None (vanilla soft thinking, deterministic), ``"gumbel"`` (the soft token's
        weights are :func:`gumbel_soft_token` of the distribution at temperature ``tau``) or
        ``"dirichlet"`` (:func:`dirichlet_resample` with concentration ``alpha``). The first input
        is the embedding of ``start``; each later input is a soft token.
        """
        q = np.tile(self.next_distribution(self.E[start]), (rollouts, 1))
        for _ in range(steps - 1):
            if noise is None:
                w = q
            elif noise == "gumbel":
                w = gumbel_soft_token(q, tau, rng=rng)
            elif noise == "dirichlet":
                w = dirichlet_resample(q, alpha, rng=rng)
            else:
                raise ValueError(f"noise must be None, 'gumbel' or 'dirichlet', got {noise!r}")
            q = self.next_distribution(soft_token(w, self.E))
        return q.mean(axis=0)

    def sampled_law(self, start, steps, *, rollouts, rng):
        """Monte Carlo estimate of :meth:`discrete_law` with the same estimator as :meth:`soft_law`
        (sampled tokens, the last step's distribution averaged): its distance to the exact law is the
        Monte Carlo noise floor of ``rollouts`` rollouts."""
        q = np.tile(self.next_distribution(self.E[start]), (rollouts, 1))
        for _ in range(steps - 1):
            tokens = sm.gumbel_max(np.log(np.maximum(q, 1e-300)) + np.where(q > 0, 0.0, -np.inf), rng=rng)
            q = self.next_distribution(self.E[tokens])
        return q.mean(axis=0)


def plot_reader(model, q, sharpnesses):
    """``draw(fig, sharpness)`` for :func:`softlib.book.viz.explore`: a soft token ``q`` read at each
    sharpness. Left: the reader's attention over the vocabulary against ``q``. Right: the next-token
    distribution after the soft token, against the top-1 thread (the next distribution after the
    top token alone) and the mixture of threads (``sum_i q_i`` times the next distribution after
    token ``i``), with their Jensen-Shannon divergences."""
    sharpnesses = [float(s) for s in sharpnesses]
    V = len(model.E)
    P = {}
    for s in sharpnesses:
        m = model.with_sharpness(s)
        trans = m.transition_matrix()
        a, _ = m.read(soft_token(q, model.E))
        soft = m.next_distribution(soft_token(q, model.E))
        P[s] = (a, soft, trans[int(np.argmax(q))], q @ trans)
    idx = np.arange(V)

    def draw(fig, sharpness):
        ax1, ax2 = fig.subplots(1, 2)
        ax1.bar(idx, q, color="0.8", label="soft token weights q")
        bars_a = ax1.bar(idx, np.zeros(V), width=0.45, color="C0", label="reader attention")
        ax1.set(xlabel="token", ylabel="weight", ylim=(0, 1.05))
        ax1.legend(fontsize="small", loc="upper right")
        w = 0.28
        bars = [ax2.bar(idx + o, np.zeros(V), width=w, color=c, label=lab)
                for o, c, lab in ((-w, "C3", "after the soft token"), (0, "C1", "top-1 thread"),
                                  (w, "C2", "mixture of threads"))]
        ax2.set(xlabel="next token", ylabel="probability", ylim=(0, 1.05))
        ax2.legend(fontsize="small", loc="upper right")
        text = ax2.text(0.02, 0.97, "", transform=ax2.transAxes, fontsize="small", va="top")
        fig.tight_layout()

        def update(sharpness):
            a, soft, top1, mix = P[sharpness]
            for r, v in zip(bars_a, a):
                r.set_height(v)
            for group, values in zip(bars, (soft, top1, mix)):
                for r, v in zip(group, values):
                    r.set_height(v)
            text.set_text(f"sharpness b = {sharpness:g}\nJS to top-1 thread {js_divergence(soft, top1):.3f}\n"
                          f"JS to mixture {js_divergence(soft, mix):.3f}")
            return [*bars_a, *[r for g in bars for r in g], text]

        update(sharpness)
        return update

    return draw


def softgrpo_gradients(theta, w, tau_g, n, *, rng):
    r"""Two estimates of :math:`\nabla_\theta\,\mathbb E\,R(y')` for a Gumbel-perturbed rollout, the
    mechanism of SofT-GRPO's gradient (Zheng et al. 2025).

    The rollout is :math:`y' = \log q_\theta + G` with :math:`q_\theta = \mathrm{softmax}(\theta)` and
    :math:`G` standard Gumbel; the soft token is :math:`\mathrm{softmax}(y'/\tau_g)` and the reward
    :math:`R = w \cdot \mathrm{softmax}(y'/\tau_g)`.

    - pathwise (reparameterised): differentiate :math:`R` through :math:`y'`;
    - score function with the Gumbel density: the log-density of :math:`y'` given :math:`\theta` is
      :math:`\sum_i \log f_G(y'_i - \log q_{\theta,i})`, :math:`\log f_G(g) = -g - e^{-g}`, whose
      derivative in :math:`\log q_i` is :math:`1 - e^{-g_i}`.

    Returns
    -------
    dict with ``pathwise`` and ``score`` (means over ``n`` draws) and their standard errors
    ``pathwise_se``, ``score_se``.
    """
    theta, w = np.asarray(theta, dtype=np.float64), np.asarray(w, dtype=np.float64)
    q = softmax(theta)
    g = sm.gumbel((n, theta.size), rng=rng)
    s = softmax((np.log(q) + g) / tau_g, axis=-1)
    reward = s @ w
    d = s * (w - reward[:, None]) / tau_g            # dR/dy'
    c = reward[:, None] * (1.0 - np.exp(-g))         # R * d log-density / d log q
    to_theta = lambda v: v - q * v.sum(axis=-1, keepdims=True)  # noqa: E731  (d log q / d theta)^T
    out = {}
    for name, est in (("pathwise", to_theta(d)), ("score", to_theta(c))):
        out[name] = est.mean(axis=0)
        out[name + "_se"] = est.std(axis=0) / np.sqrt(n)
    return out


def gumbel_flow_path(logits, noise, taus):
    r"""Points :math:`x(\tau) = \mathrm{softmax}((\ell + G)/\tau)` along a falling temperature, for one
    fixed noise ``noise``: the kind of Gumbel-softmax interpolant of Tang et al. (2025). As
    :math:`\tau \to 0` the path ends at the vertex :math:`\arg\max(\ell + G)`, an exact draw from
    :math:`\mathrm{softmax}(\ell)`.

    Returns
    -------
    ndarray of shape (len(taus), K)
    """
    z = np.asarray(logits, dtype=np.float64) + np.asarray(noise, dtype=np.float64)
    return softmax(z[None, :] / np.asarray(taus, dtype=np.float64)[:, None], axis=-1)


def gumbel_flow_velocity(x, dlog_tau_dt):
    r"""The velocity of :func:`gumbel_flow_path` in time: with :math:`\ell + G` fixed,
    :math:`\dot x = -\frac{\dot\tau}{\tau}\, x \odot (\log x - \langle x, \log x\rangle)`."""
    x = np.asarray(x, dtype=np.float64)
    log_x = np.log(x)
    return -dlog_tau_dt * x * (log_x - np.sum(x * log_x, axis=-1, keepdims=True))


def plot_last_step_laws(results, *, figsize=(9, 3.2)):
    """Bars of the last step's next-token distribution under each decoder, one panel per sharpness.

    Parameters
    ----------
    results : dict
        ``{sharpness: (laws, noise_floor)}``, where ``laws`` maps ``"discrete"``, ``"greedy"``,
        ``"soft"``, ``"gumbel"`` and ``"dirichlet"`` to a distribution over the vocabulary.
    figsize : tuple of float, optional
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    styles = (("discrete", "k"), ("greedy", "C1"), ("soft", "C3"), ("gumbel", "C0"),
              ("dirichlet", "C2"))
    fig, axes = plt.subplots(1, len(results), figsize=figsize, sharey=True, squeeze=False)
    for ax, (b, (laws, _)) in zip(axes[0], results.items()):
        vocab = len(laws["discrete"])
        for k, (name, color) in enumerate(styles):
            ax.bar(np.arange(vocab) + (k - 2) * 0.17, laws[name], width=0.17, color=color,
                   label=name)
        ax.set(xlabel="last next token", title=f"reader sharpness b = {b:g}")
    axes[0, 0].set_ylabel("probability")
    axes[0, -1].legend(loc="upper right")
    fig.tight_layout()
    return fig


def plot_flow_paths(paths, *, title=None, figsize=(4.6, 4.0)):
    """Paths on the simplex of three classes (ternary coordinates), each from a grey start dot.

    Parameters
    ----------
    paths : sequence of ndarray, shape (steps, 3)
        Points of the simplex along each path.
    title : str, optional
        The figure's title.
    figsize : tuple of float, optional
        The figure size in inches.

    Returns
    -------
    matplotlib.figure.Figure
    """
    import matplotlib.pyplot as plt

    from ..book.sampling_plots import to_ternary

    fig, ax = plt.subplots(figsize=figsize)
    corners = to_ternary(np.eye(3))
    ax.plot(*np.vstack([corners, corners[:1]]).T, color="k", lw=1)
    for path in paths:
        xy = to_ternary(np.asarray(path))
        ax.plot(*xy.T, lw=1)
        ax.plot(*xy[0], "o", color="0.5", ms=3)
    for k, (x, y) in enumerate(corners):
        ax.annotate(f"class {k + 1}", (x, y), ha="center", va="top" if y < 0.5 else "bottom")
    ax.set(aspect="equal", title=title)
    ax.set_axis_off()
    return fig
