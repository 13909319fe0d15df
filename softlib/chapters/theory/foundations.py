r"""The mathematics of softmax and of its sparse relatives: small pure functions for the Foundations part.

- Entropies: Shannon's :math:`H(p) = -\sum_i p_i \log p_i` and Tsallis's
  :math:`H^{\mathrm{T}}_\alpha(p) = (1 - \sum_i p_i^\alpha) / (\alpha(\alpha - 1))` (Peters, Niculae &
  Martins 2019), which tends to Shannon's as :math:`\alpha \to 1`.
- Jacobians: softmax's :math:`\operatorname{diag}(s) - s s^\top` (the Hessian of log-sum-exp) and
  alpha-entmax's :math:`\operatorname{diag}(g) - g g^\top / \sum_i g_i` with :math:`g_i = p_i^{2-\alpha}`
  on the support (Peters et al. 2019; sparsemax's :math:`\operatorname{diag}(1_S) - 1_S
  1_S^\top / |S|` at :math:`\alpha = 2`, Martins & Astudillo 2016), and central finite
  differences to check them.
- Luce's choice model: Bradley-Terry strengths fitted by the minorise-maximise iteration of
  Hunter (2004), and pairwise comparisons simulated from given strengths.
"""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

__all__ = [
    "entropy",
    "tsallis_entropy",
    "softmax_jacobian",
    "entmax_jacobian",
    "numerical_jacobian",
    "simulate_comparisons",
    "bradley_terry_mm",
    "bradley_terry_standard_errors",
    "fenchel_young_loss",
    "choice_map_properties",
    "top_k_softmax",
]


def _probabilities(p) -> np.ndarray:
    p = np.asarray(p, dtype=np.float64)
    if p.ndim == 0:
        raise ValueError("p must have at least one dimension (probabilities along the last axis)")
    if np.any(p < 0) or np.any(~np.isfinite(p)):
        raise ValueError("p must hold finite, non-negative probabilities")
    return p


def entropy(p) -> np.ndarray:
    r"""Shannon entropy in nats along the last axis, :math:`-\sum_i p_i \log p_i` with :math:`0 \log 0 = 0`.

    Examples
    --------
    >>> float(entropy([0.5, 0.5]))  # log 2
    0.6931471805599453
    """
    p = _probabilities(p)
    return -np.sum(np.where(p > 0, p * np.log(np.where(p > 0, p, 1.0)), 0.0), axis=-1)


def tsallis_entropy(p, alpha: float) -> np.ndarray:
    r"""Tsallis alpha-entropy along the last axis (Peters, Niculae & Martins 2019).

    :math:`H^{\mathrm{T}}_\alpha(p) = \frac{1 - \sum_i p_i^\alpha}{\alpha(\alpha - 1)}` for
    :math:`\alpha \ne 1`; Shannon's :func:`entropy` at :math:`\alpha = 1`. At :math:`\alpha = 2` it is
    :math:`(1 - \lVert p\rVert^2)/2`, the regulariser whose argmax is sparsemax.

    Examples
    --------
    >>> float(tsallis_entropy([0.5, 0.5], 2.0))  # (1 - 1/2) / 2
    0.25
    """
    alpha = float(alpha)
    if not alpha > 0:
        raise ValueError(f"alpha must be positive, got {alpha}")
    if alpha == 1.0:
        return entropy(p)
    p = _probabilities(p)
    return (1.0 - np.sum(p**alpha, axis=-1)) / (alpha * (alpha - 1.0))


def softmax_jacobian(s) -> np.ndarray:
    r"""The softmax Jacobian :math:`\partial s_i / \partial z_j = \operatorname{diag}(s) - s s^\top`, from the
    probabilities ``s`` (last axis; leading axes are a batch, giving ``(..., n, n)``).

    It is also the Hessian of log-sum-exp and of the cross-entropy :math:`\mathrm{LSE}(z) - z_y`.

    Examples
    --------
    >>> softmax_jacobian([0.5, 0.5])
    array([[ 0.25, -0.25],
           [-0.25,  0.25]])
    """
    s = _probabilities(s)
    return np.einsum("...i,ij->...ij", s, np.eye(s.shape[-1])) - s[..., :, None] * s[..., None, :]


def entmax_jacobian(p, alpha: float) -> np.ndarray:
    r"""The Jacobian of alpha-entmax at the output ``p``: :math:`\operatorname{diag}(g) - g g^\top / \sum_i g_i`.

    :math:`g_i = p_i^{2 - \alpha}` where :math:`p_i > 0` and 0 elsewhere (Peters, Niculae & Martins
    2019). :math:`\alpha = 1` gives :func:`softmax_jacobian`; :math:`\alpha = 2` gives
    sparsemax's :math:`\operatorname{diag}(1_S) - 1_S 1_S^\top / |S|` (Martins & Astudillo 2016).
    Valid where the support does not change under a small move of the logits (no entry at the threshold).

    Examples
    --------
    >>> entmax_jacobian([0.75, 0.25, 0.0], 2.0)
    array([[ 0.5, -0.5,  0. ],
           [-0.5,  0.5,  0. ],
           [ 0. ,  0. ,  0. ]])
    """
    p = _probabilities(p)
    alpha = float(alpha)
    if not alpha >= 1:
        raise ValueError(f"alpha must be at least 1, got {alpha}")
    g = np.where(p > 0, np.where(p > 0, p, 1.0) ** (2.0 - alpha), 0.0)
    total = g.sum(axis=-1)[..., None, None]
    return np.einsum("...i,ij->...ij", g, np.eye(p.shape[-1])) - g[..., :, None] * g[..., None, :] / total


def numerical_jacobian(f: Callable, z, h: float = 1e-6) -> np.ndarray:
    r"""Central finite differences :math:`(f(z + h e_j) - f(z - h e_j)) / 2h` of ``f`` at the 1-D point ``z``.

    Column ``j`` holds the derivative along :math:`e_j`; the error is :math:`O(h^2)` where ``f`` is
    smooth, plus rounding of order :math:`\epsilon / h`.

    Examples
    --------
    >>> numerical_jacobian(lambda z: z**2, np.array([1.0, 2.0])).round(6)
    array([[2., 0.],
           [0., 4.]])
    """
    z = np.asarray(z, dtype=np.float64)
    if z.ndim != 1:
        raise ValueError(f"z must be a 1-D point, got shape {z.shape}")
    columns = []
    for j in range(z.size):
        e = np.zeros_like(z)
        e[j] = h
        columns.append((np.asarray(f(z + e), dtype=np.float64) - np.asarray(f(z - e), dtype=np.float64)) / (2 * h))
    return np.stack(columns, axis=-1)


def simulate_comparisons(strengths, games: int, seed: int = 0) -> np.ndarray:
    r"""Wins of each pair in ``games`` Bradley-Terry games per pair: ``wins[i, j]`` is how often i beat j.

    Item i beats j with probability :math:`w_i / (w_i + w_j)`, the softmax of :math:`(\log w_i, \log w_j)`.

    Examples
    --------
    >>> w = simulate_comparisons([1.0, 1.0], games=10)
    >>> int(w[0, 1] + w[1, 0])
    10
    """
    w = np.asarray(strengths, dtype=np.float64)
    if w.ndim != 1 or np.any(w <= 0) or not np.all(np.isfinite(w)):
        raise ValueError("strengths must be a 1-D array of positive numbers")
    rng = np.random.default_rng(seed)
    prob = w[:, None] / (w[:, None] + w[None, :])
    upper = np.triu(rng.binomial(games, prob), k=1)
    return upper + np.tril(games - upper.T, k=-1)


def bradley_terry_mm(wins, n_iter: int = 500, tol: float = 1e-12) -> np.ndarray:
    r"""Maximum-likelihood Bradley-Terry strengths from a win matrix, by Hunter's (2004) MM iteration.

    :math:`w_i \leftarrow W_i / \sum_{j \ne i} n_{ij} / (w_i + w_j)`, with :math:`W_i` the wins of i and
    :math:`n_{ij}` the games between i and j; normalised to a geometric mean of 1 (the likelihood only
    sees ratios). Needs every item to have won and lost at least once.

    Examples
    --------
    >>> wins = np.array([[0, 6], [3, 0]])
    >>> bradley_terry_mm(wins).round(4)  # w_1 / w_2 = 6 / 3
    array([1.4142, 0.7071])
    """
    wins = np.asarray(wins, dtype=np.float64)
    if wins.ndim != 2 or wins.shape[0] != wins.shape[1]:
        raise ValueError(f"wins must be a square matrix, got shape {wins.shape}")
    games = wins + wins.T
    w = np.ones(wins.shape[0])
    for _ in range(n_iter):
        denom = np.sum(games / (w[:, None] + w[None, :]), axis=1)
        new = wins.sum(axis=1) / denom
        new /= np.exp(np.mean(np.log(new)))
        if np.max(np.abs(new - w)) < tol:
            return new
        w = new
    return w


def bradley_terry_standard_errors(strengths, games) -> np.ndarray:
    r"""Asymptotic standard errors of the fitted log-strengths :math:`\log w_i` (centred: mean 0).

    The inverse Fisher information of the Bradley-Terry likelihood, :math:`I = \sum_{i<j} n_{ij}
    p_{ij}(1 - p_{ij})(e_i - e_j)(e_i - e_j)^\top` with :math:`p_{ij} = w_i / (w_i + w_j)`, taken as a
    pseudo-inverse because only differences of log-strengths are identified.

    Examples
    --------
    >>> bradley_terry_standard_errors([1.0, 1.0], games=np.array([[0, 100], [100, 0]])).round(3)
    array([0.1, 0.1])
    """
    w = np.asarray(strengths, dtype=np.float64)
    games = np.broadcast_to(np.asarray(games, dtype=np.float64), (w.size, w.size))
    p = w[:, None] / (w[:, None] + w[None, :])
    weight = games * p * p.T
    np.fill_diagonal(weight, 0.0)
    info = np.diag(weight.sum(axis=1)) - weight
    return np.sqrt(np.diag(np.linalg.pinv(info)))


def fenchel_young_loss(z, y: int, alpha: float) -> float:
    r"""The Fenchel-Young loss of alpha-entmax at logits ``z`` (1-D) and label ``y`` (Blondel, Martins &
    Niculae 2020, with the Tsallis regulariser of Peters et al. 2019).

    :math:`L(z, y) = \langle p^\star, z\rangle + H^{\mathrm{T}}_\alpha(p^\star) - z_y` with
    :math:`p^\star = \alpha\text{-entmax}(z)` (:math:`H^{\mathrm{T}}_\alpha(e_y) = 0`); its gradient in
    :math:`z` is :math:`p^\star - e_y`. :math:`\alpha = 1` gives the cross-entropy
    :math:`\mathrm{LSE}(z) - z_y`, :math:`\alpha = 2` the sparsemax loss of Martins & Astudillo (2016).

    Examples
    --------
    >>> round(fenchel_young_loss(np.array([0.0, 0.0]), 0, 1.0), 12)  # log 2
    0.69314718056
    """
    from ...book.foundations_plots import entmax

    z = np.asarray(z, dtype=np.float64)
    p = entmax(z, alpha)
    return float(p @ z + tsallis_entropy(p, alpha) - z[y])


def choice_map_properties(f: Callable, n: int = 6, rows: int = 200, seed: int = 0) -> dict[str, bool]:
    r"""Four properties of a map ``f`` from logits (last axis) to weights, measured on random rows.

    - ``"sums to one"``: every output row sums to 1 (within 1e-12);
    - ``"exact zeros"``: some output is exactly 0 on rows of logit scale 3;
    - ``"shift invariant"``: :math:`f(z + 1.7) = f(z)` within 1e-12;
    - ``"odds ignore other items"``: the odds :math:`f(z)_0 / f(z)_1` do not change (1e-9 relative)
      when item 2 is removed (Luce's independence of irrelevant alternatives), on rows of scale 0.5.

    Examples
    --------
    >>> import softlib
    >>> choice_map_properties(softlib.softmax)
    {'sums to one': True, 'exact zeros': False, 'shift invariant': True, 'odds ignore other items': True}
    """
    rng = np.random.default_rng(seed)
    z = rng.normal(size=(rows, n))
    with np.errstate(divide="ignore", invalid="ignore"):
        full = f(0.5 * z)
        rest = f(0.5 * np.delete(z, 2, axis=1))
        odds_full, odds_rest = full[:, 0] / full[:, 1], rest[:, 0] / rest[:, 1]
    same_odds = np.isclose(odds_full, odds_rest, rtol=1e-9, atol=0) | (np.isnan(odds_full) & np.isnan(odds_rest))
    return {
        "sums to one": bool(np.all(np.abs(f(z).sum(axis=-1) - 1) < 1e-12)),
        "exact zeros": bool(np.any(f(3 * z) == 0)),
        "shift invariant": bool(np.allclose(f(z + 1.7), f(z), rtol=0, atol=1e-12)),
        "odds ignore other items": bool(np.all(same_odds)),
    }


def top_k_softmax(z, k: int) -> np.ndarray:
    r"""Softmax over the ``k`` largest logits of each row (last axis), exactly 0 elsewhere: the top-K
    gate of sparse mixtures of experts (Shazeer et al. 2017), without its noise. Ties at the k-th
    largest value keep every tied entry.

    Examples
    --------
    >>> top_k_softmax(np.log([1.0, 3.0, 2.0]), 2).round(3)
    array([0. , 0.6, 0.4])
    """
    from ...ops import softmax

    z = np.asarray(z, dtype=np.float64)
    if not 1 <= k <= z.shape[-1]:
        raise ValueError(f"k must be between 1 and {z.shape[-1]}, got {k}")
    keep = z >= np.sort(z, axis=-1)[..., -k, None]
    return np.where(keep, softmax(np.where(keep, z, -np.inf)), 0.0)
