"""Softmax-gated mixtures of multinomial logistic experts {cite}`nguyen2024multinomial`.

For an input ``x`` in R^d and a label ``Y`` in ``{0, ..., S-1}`` (S >= 3 classes):

.. math::

    p(Y = s \\mid x) = \\sum_{i=1}^{k} \\operatorname{softmax}_i\\big(\\beta_1^\\top M(x) + \\beta_0\\big)
                       \\operatorname{softmax}_s\\big(\\eta_{1i}^\\top x + \\eta_{0i}\\big),

with the last class of every expert pinned at zero (``eta0[i, -1] = 0``, ``eta1[i, -1] = 0``: the expert
softmax is shift invariant). ``M`` is the identity for the **standard gate** and a bounded transform
(``"tanh"``, ``"sigmoid"``) for the **modified gate** of the paper. The gate is identified up to a common
translation of its rows, as in the Gaussian case; fits pin the last expert's gate row at zero.

Why the modified gate helps: when an expert's slope ``eta1_i`` vanishes, its class probabilities do not
depend on x, so ``d/d eta1 = x d/d eta0`` for that expert, while the standard gate gives
``d/d beta1 = x d/d beta0``. The two combine into the identity
``d^2 p / (d beta1 d eta0) = d p / d eta1`` between derivatives of different orders, which is what slows
parameter estimation in over-fitted cells. With ``M(x) != x`` the gate derivative is ``M(x) d/d beta0``
instead, and the identity breaks.

What the chapter measures with the tools at the end of this module: exactly fitted, the Fisher
information (:func:`multinomial_fisher`) has full rank for both gates. With a vanishing-slope expert
split in two (:func:`multinomial_split_point`), the copies' masses and intercepts are not identified at
all for any gate (a mixture of categorical distributions is categorical: ``S`` zero eigenvalues), their
expert slopes lose first-order information for both gates (``(S - 1) d`` more), and the standard gate
loses the copies' gate slope too (``d`` more; :func:`multinomial_compensated_path`), whose profile KL
(:func:`multinomial_profile_kl`) then grows like ``t^4`` instead of ``t^2``.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from .gates import _as_2d, _lse, transform
from .model import lse
from .model import GatedModel, gate_arrays

__all__ = ["MultinomialMoE", "fit_multinomial", "MultinomialFit", "multinomial_voronoi_loss",
           "multinomial_split_point", "multinomial_profile_kl", "multinomial_fisher",
           "multinomial_compensated_path", "multinomial_truth", "multinomial_replication",
           "multinomial_cells", "multinomial_parameter_errors", "multinomial_start_near"]


@dataclass(frozen=True)
class MultinomialMoE(GatedModel):
    """A softmax-gated mixture of ``k`` multinomial logistic experts over ``S >= 3`` classes.

    Parameters
    ----------
    beta0 : array_like (k,)
    beta1 : array_like (k, d)
        Gate intercepts and slopes (the slopes act on ``M(x)``).
    eta0 : array_like (k, S)
    eta1 : array_like (k, S, d)
        Expert intercepts and slopes; the last class must be zero in both.
    inputs : str
        The gate's input transform ``M`` (:data:`~softlib.chapters.moe.gates.TRANSFORMS`):
        ``"identity"`` for the standard gate.
    x_range : (float, float)
        x is uniform on ``x_range^d`` in :meth:`sample`.

    Examples
    --------
    >>> import numpy as np
    >>> m = MultinomialMoE([0.0, 0.0], [[2.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
    ...                    [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]])
    >>> p = m.class_probs(np.array([[0.0], [0.5]]))
    >>> p.shape, bool(np.allclose(p.sum(axis=1), 1.0))
    ((2, 3), True)
    """

    beta0: np.ndarray
    beta1: np.ndarray
    eta0: np.ndarray
    eta1: np.ndarray
    inputs: str = "identity"
    x_range: tuple = field(default=(-1.0, 1.0))

    def __post_init__(self):
        beta0, beta1 = gate_arrays(self.beta0, self.beta1)
        k, d = beta1.shape
        eta0 = np.asarray(self.eta0, dtype=np.float64)
        eta1 = np.asarray(self.eta1, dtype=np.float64)
        if eta0.ndim != 2 or eta0.shape[0] != k:
            raise ValueError(f"eta0 must have shape ({k}, S), got {eta0.shape}")
        S = eta0.shape[1]
        if S < 3:
            raise ValueError(f"use S >= 3 classes (binary labels are only weakly identifiable), got S = {S}")
        if eta1.ndim == 2 and d == 1:
            eta1 = eta1[:, :, None]
        if eta1.shape != (k, S, d):
            raise ValueError(f"eta1 must have shape ({k}, {S}, {d}), got {eta1.shape}")
        if np.any(eta0[:, -1] != 0) or np.any(eta1[:, -1] != 0):
            raise ValueError("the last class is pinned: eta0[:, -1] and eta1[:, -1] must be zero")
        for name, arr in (("beta0", beta0), ("beta1", beta1), ("eta0", eta0), ("eta1", eta1)):
            if not np.all(np.isfinite(arr)):
                raise ValueError(f"{name} must be finite")
        transform(self.inputs)
        lo, hi = (float(v) for v in self.x_range)
        if not lo < hi:
            raise ValueError(f"x_range must be (low, high) with low < high, got {self.x_range}")
        for name, value in (("beta0", beta0), ("beta1", beta1), ("eta0", eta0), ("eta1", eta1),
                            ("x_range", (lo, hi))):
            object.__setattr__(self, name, value)

    @property
    def n_classes(self) -> int:
        """The number of classes S."""
        return self.eta0.shape[1]

    def gate_logits(self, x) -> np.ndarray:
        return transform(self.inputs)(_as_2d(x, self.d)) @ self.beta1.T + self.beta0

    def gate(self, x) -> np.ndarray:
        """Gate weights, shape (n, k)."""
        z = self.gate_logits(x)
        return np.exp(z - _lse(z))

    def expert_log_probs(self, x) -> np.ndarray:
        """``log softmax_s(eta1_i . x + eta0_i)``, shape (n, k, S)."""
        z = np.einsum("nd,ksd->nks", _as_2d(x, self.d), self.eta1) + self.eta0
        return z - lse(z, axis=2)

    def class_probs(self, x) -> np.ndarray:
        """``p(Y = s | x)``, shape (n, S)."""
        return np.einsum("nk,nks->ns", self.gate(x), np.exp(self.expert_log_probs(x)))

    def log_likelihood(self, x, y) -> float:
        """Mean log-likelihood of labels ``y`` (integers in [0, S)) at inputs ``x``."""
        y = _labels(y, self.n_classes)
        p = self.class_probs(x)[np.arange(y.size), y]
        return float(np.mean(np.log(p)))

    def sample(self, n: int, rng: np.random.Generator):
        """``n`` pairs: x uniform on ``x_range^d``, then a label from ``p(. | x)``."""
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        x = rng.uniform(*self.x_range, size=(int(n), self.d))
        cdf = np.cumsum(self.class_probs(x), axis=1)
        y = np.minimum((cdf < rng.random(int(n))[:, None]).sum(axis=1), self.n_classes - 1)
        return x, y

    def as_dict(self) -> dict:
        return dict(beta0=self.beta0.tolist(), beta1=self.beta1.tolist(), eta0=self.eta0.tolist(),
                    eta1=self.eta1.tolist(), inputs=self.inputs, x_range=list(self.x_range))


def _labels(y, S):
    y = np.asarray(y)
    if y.ndim != 1 or not np.all((y >= 0) & (y < S) & (y == np.round(y))):
        raise ValueError(f"labels must be a 1-D array of integers in [0, {S})")
    return y.astype(int)


# ---------------------------------------------------------------------------------------------------
# Fitting


def _pack(m: MultinomialMoE) -> np.ndarray:
    return np.concatenate([m.beta0[:-1], m.beta1[:-1].ravel(), m.eta0[:, :-1].ravel(), m.eta1[:, :-1].ravel()])


def _unpack(theta, k, d, S):
    i = 0
    beta0 = np.zeros(k)
    beta0[:-1] = theta[:k - 1]
    i = k - 1
    beta1 = np.zeros((k, d))
    beta1[:-1] = theta[i:i + (k - 1) * d].reshape(k - 1, d)
    i += (k - 1) * d
    eta0 = np.zeros((k, S))
    eta0[:, :-1] = theta[i:i + k * (S - 1)].reshape(k, S - 1)
    i += k * (S - 1)
    eta1 = np.zeros((k, S, d))
    eta1[:, :-1] = theta[i:i + k * (S - 1) * d].reshape(k, S - 1, d)
    return beta0, beta1, eta0, eta1


class _Problem:
    """The log-likelihood pieces of a fixed sample: gate features M(x), expert features x, one-hot y.

    Arrays run over the samples along their last axis: gate terms (k, n), expert terms (k, S, n). NumPy
    then reduces over the k experts and S classes, and broadcasts over them, with long contiguous
    loops; the (n, k, S) layout walks rows of 2 or 3 entries one at a time, several times slower.
    """

    def __init__(self, x, y, k, S, inputs, weights=None):
        self.x, self.mx = x, transform(inputs)(x)
        self.Yt = np.ascontiguousarray(np.eye(S)[y].T)                     # (S, n)
        self.y = y
        self.k, self.S, self.d, self.n = k, S, x.shape[1], x.shape[0]
        self.xt, self.mxt = np.ascontiguousarray(x.T), np.ascontiguousarray(self.mx.T)
        self.cols = np.arange(self.n)
        # Each point's weight in the mean log-likelihood: 1/n for a sample; p*(y | x) / m for the
        # population version used by multinomial_profile_kl.
        self.w = np.full(self.n, 1.0 / self.n) if weights is None else np.asarray(weights, dtype=np.float64)

    def parts(self, theta):
        """Log gate (k, n), expert log class probabilities (k, S, n), and those of the labels (k, n)."""
        beta0, beta1, eta0, eta1 = _unpack(theta, self.k, self.d, self.S)
        zg = beta1 @ self.mxt + beta0[:, None]
        lg = zg - lse(zg, axis=0)
        ze = (eta1.reshape(-1, self.d) @ self.xt).reshape(self.k, self.S, self.n) + eta0[:, :, None]
        le = ze - lse(ze, axis=1)
        ly = le[:, self.y, self.cols]
        return lg, le, ly

    def grad_from(self, R, G, F):
        """Gradient of sum_n sum_i R_in [log G_in + log F_in(y_n)] (the EM Q, or the log-likelihood when R
        is the posterior), weighted by ``self.w``, with respect to the packed parameters."""
        dg = (R - G) * self.w                                                  # (k, n)
        g_b0 = dg.sum(axis=1)[:-1]
        g_b1 = (dg @ self.mx)[:-1].ravel()
        de = (self.Yt - F) * (R * self.w)[:, None, :]                          # (k, S, n)
        g_e0 = de.sum(axis=2)[:, :-1].ravel()
        g_e1 = (de.reshape(-1, self.n) @ self.x).reshape(self.k, self.S, self.d)[:, :-1].ravel()
        return np.concatenate([g_b0, g_b1, g_e0, g_e1])

    def scores(self, theta):
        """Per-point gradients of log p(y | x), shape (n, number of packed parameters)."""
        lg, le, ly = self.parts(theta)
        lc = lg + ly
        R = np.exp(lc - lse(lc, axis=0))
        dg = (R - np.exp(lg))[:-1].T                                           # (n, k-1)
        de = ((self.Yt - np.exp(le)) * R[:, None, :])[:, :-1].transpose(2, 0, 1)   # (n, k, S-1)
        n = self.n
        return np.concatenate([dg, (dg[:, :, None] * self.mx[:, None, :]).reshape(n, -1),
                               de.reshape(n, -1), (de[..., None] * self.x[:, None, None, :]).reshape(n, -1)],
                              axis=1)

    def posterior(self, theta):
        """The responsibilities (k, n) at theta."""
        lg, _, ly = self.parts(theta)
        lc = lg + ly
        return np.exp(lc - lse(lc, axis=0))

    def negloglik(self, theta):
        lg, le, ly = self.parts(theta)
        lc = lg + ly
        total = lse(lc, axis=0)
        R = np.exp(lc - total)
        return -float(self.w @ total[0]), -self.grad_from(R, np.exp(lg), np.exp(le))

    def negq(self, theta, R):
        lg, le, ly = self.parts(theta)
        return -float(np.sum(self.w * R * (lg + ly))), -self.grad_from(R, np.exp(lg), np.exp(le))


@dataclass
class MultinomialFit:
    """What :func:`fit_multinomial` returns."""

    model: MultinomialMoE
    log_likelihood: float
    n_iter: int
    converged: bool


def fit_multinomial(x, y, start: MultinomialMoE, method: str = "ml", tol: float = 1e-10,
                    max_iter: int = 2000) -> MultinomialFit:
    """Maximum-likelihood fit of a :class:`MultinomialMoE` from ``start``.

    Parameters
    ----------
    x : array_like (n, d) or (n,)
    y : array_like of int (n,)
    start : MultinomialMoE
        Starting point; its ``k``, class count and gate transform are the fitted model's. Its gate is
        translated so that the last row is zero (the same model), and that row stays pinned.
    method : {"ml", "em"}
        "ml": L-BFGS on the log-likelihood with its analytic gradient (default, fast).
        "em": EM; each M-step maximises the expected complete log-likelihood (gate and experts
        together, by L-BFGS warm-started at the current point). Both reach the same maximum.
    tol : float
        "ml": the gradient tolerance (largest component); "em": stop when the mean log-likelihood
        changes by less than ``tol`` between iterations.
    max_iter : int
        L-BFGS iterations ("ml") or EM iterations ("em").

    Examples
    --------
    >>> import numpy as np
    >>> t = MultinomialMoE([0.0, 0.0], [[3.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
    ...                    [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]])
    >>> x, y = t.sample(1000, np.random.default_rng(0))
    >>> ml = fit_multinomial(x, y, t)
    >>> em = fit_multinomial(x, y, t, method="em", tol=1e-9, max_iter=20)
    >>> # EM climbs from the start towards the ML maximum (slowly: it is still short after 20 steps)
    >>> ml.converged, bool(ml.log_likelihood >= em.log_likelihood > t.log_likelihood(x, y))
    (True, True)
    """
    if method not in ("ml", "em"):
        raise ValueError(f"method must be 'ml' or 'em', got {method!r}")
    if not isinstance(start, MultinomialMoE):
        raise TypeError("start must be a MultinomialMoE")
    x = _as_2d(x, start.d)
    y = _labels(y, start.n_classes)
    if y.size != x.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.size}")
    if not np.all(np.isfinite(x)):
        raise ValueError("x must be finite")
    start = start.replace(beta0=start.beta0 - start.beta0[-1], beta1=start.beta1 - start.beta1[-1])
    prob = _Problem(x, y, start.k, start.n_classes, start.inputs)
    theta = _pack(start)
    if method == "ml":
        res = minimize(prob.negloglik, theta, jac=True, method="L-BFGS-B",
                       options={"maxiter": int(max_iter), "gtol": tol, "ftol": 1e-15, "maxcor": 30})
        theta, ll, nit = res.x, -float(res.fun), int(res.nit)
        converged = bool(np.abs(res.jac).max() < max(tol, 1e-7))
    else:
        ll = -prob.negloglik(theta)[0]
        converged, nit = False, 0
        for nit in range(1, int(max_iter) + 1):
            R = prob.posterior(theta)
            res = minimize(prob.negq, theta, args=(R,), jac=True, method="L-BFGS-B",
                           options={"maxiter": 10, "gtol": 1e-12, "ftol": 1e-15})
            if -res.fun >= -prob.negq(theta, R)[0]:  # keep the M-step only if Q did not decrease
                theta = res.x
            ll_new = -prob.negloglik(theta)[0]
            done = abs(ll_new - ll) < tol
            ll = ll_new
            if done:
                converged = True
                break
    model = start.replace(**dict(zip(("beta0", "beta1", "eta0", "eta1"), _unpack(theta, start.k, start.d,
                                                                               start.n_classes))))
    return MultinomialFit(model, ll, nit, converged)


def multinomial_start_near(truth: MultinomialMoE, k: int, rng: np.random.Generator, noise: float = 0.0,
                           split=None) -> MultinomialMoE:
    """``truth`` with Gaussian noise of standard deviation ``noise`` on every free parameter, with the
    true experts listed in ``split`` copied once each (``k - truth.k`` copies; a copied expert and its
    copy share its gate mass)."""
    split = [] if split is None else ([split] if np.isscalar(split) else list(split))
    if truth.k + len(split) != k:
        raise ValueError(f"a start with k={k} from k*={truth.k} needs {k - truth.k} split experts")
    idx = np.array(list(range(truth.k)) + [int(j) for j in split])
    counts = np.bincount(idx, minlength=truth.k)
    z = lambda shape: noise * rng.standard_normal(shape)  # noqa: E731
    eta0, eta1 = truth.eta0[idx] + z(truth.eta0[idx].shape), truth.eta1[idx] + z(truth.eta1[idx].shape)
    eta0[:, -1] = 0.0
    eta1[:, -1] = 0.0
    return truth.replace(beta0=truth.beta0[idx] - np.log(counts[idx]) + z(k),
                         beta1=truth.beta1[idx] + z((k, truth.d)), eta0=eta0, eta1=eta1)


# ---------------------------------------------------------------------------------------------------
# Voronoi losses


def _expert_theta(m: MultinomialMoE) -> np.ndarray:
    return np.concatenate([m.eta0[:, :-1].reshape(m.k, -1), m.eta1[:, :-1].reshape(m.k, -1)], axis=1)


def multinomial_cells(fitted: MultinomialMoE, truth: MultinomialMoE) -> np.ndarray:
    """For each fitted expert, the true expert whose Voronoi cell holds it, by the distance between the
    experts' parameters ``(eta0, eta1)`` (which gate translations do not move).

    Examples
    --------
    >>> t = MultinomialMoE([0.0, 0.0], [[3.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
    ...                    [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]])
    >>> multinomial_cells(t, t).tolist()
    [0, 1]
    """
    th, ts = _expert_theta(fitted), _expert_theta(truth)
    return np.argmin(np.linalg.norm(th[:, None] - ts[None], axis=2), axis=1)


def _exponents(cells, k_true, kind, r):
    sizes = np.bincount(cells, minlength=k_true)
    if kind == "D1":
        return np.ones(cells.size)
    return np.where(sizes[cells] > 1, float(r), 1.0)


def _translation_inf(fitted, truth, cells, p):
    """min over (t0, t1) of sum_j |s S_j - w_j| + s sum_i u_i (|beta1_i + t1 - beta1*_c(i)|^p_i + rest_i),
    s = exp(t0); returns (value, s, t1)."""
    shift = fitted.beta0.max()
    u = np.exp(fitted.beta0 - shift)
    deta = np.linalg.norm(_expert_theta(fitted) - _expert_theta(truth)[cells], axis=1)
    rest = deta**p
    targets = truth.beta1[cells] - fitted.beta1

    def m(t):
        return float(np.sum(u * np.linalg.norm(targets - t, axis=1) ** p))

    if truth.d == 1:
        lo, hi = targets.min(), targets.max()
        cands = [(m(np.array([c])), np.array([c])) for c in targets[:, 0]]
        if hi - lo > 1e-14:
            res = minimize_scalar(lambda t: m(np.array([t])), bounds=(lo, hi), method="bounded",
                                  options={"xatol": 1e-12 * max(1.0, hi - lo)})
            cands.append((float(res.fun), np.array([res.x])))
        mval, t1 = min(cands, key=lambda c: c[0])
    else:
        res = minimize(m, np.average(targets, axis=0, weights=u), method="Nelder-Mead",
                       options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
        mval, t1 = float(res.fun), np.asarray(res.x)
    K = mval + float(np.sum(u * rest))
    S = np.bincount(cells, weights=u, minlength=truth.k)
    w = np.exp(truth.beta0)
    svals = [0.0] + [wj / Sj for Sj, wj in zip(S, w) if Sj > 0]
    vals = [float(np.sum(np.abs(s * S - w)) + s * K) for s in svals]
    i = int(np.argmin(vals))
    return vals[i], svals[i] * math.exp(-shift), t1


def multinomial_voronoi_loss(fitted: MultinomialMoE, truth: MultinomialMoE, kind: str = "D1",
                             r: float = 2.0) -> float:
    """The Voronoi loss between two multinomial MoEs, minimised over gate translations.

    .. math::  D = \\sum_j \\Big|\\sum_{i \\in A_j} e^{\\beta_{0i}} - e^{\\beta^*_{0j}}\\Big|
               + \\sum_j \\sum_{i \\in A_j} e^{\\beta_{0i}} \\big(\\|\\Delta\\beta_{1ij}\\|^{p_j}
               + \\|\\Delta\\eta_{ij}\\|^{p_j}\\big),

    with cells ``A_j`` from :func:`multinomial_cells`, ``p_j = 1`` for "D1", and for "D2" ``p_j = r`` in
    cells of more than one fitted expert (the over-fitted loss; the exponent ``r`` is our choice, the
    paper's own exponents could not be checked). Since the cells do not depend on the translation
    ``(t0, t1)`` of the fitted gate, the infimum over it is a convex problem in ``t1`` followed by a
    piecewise-linear one in ``exp(t0)``, both solved exactly (as in :mod:`softlib.chapters.moe.voronoi`).

    Examples
    --------
    >>> import numpy as np
    >>> t = MultinomialMoE([0.0, 0.0], [[3.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
    ...                    [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]])
    >>> moved = t.replace(beta0=t.beta0 + 2.0, beta1=t.beta1 - 5.0)      # the same model
    >>> round(multinomial_voronoi_loss(moved, t), 12)
    0.0
    """
    if kind not in ("D1", "D2"):
        raise ValueError(f"kind must be 'D1' or 'D2', got {kind!r}")
    if not isinstance(fitted, MultinomialMoE) or not isinstance(truth, MultinomialMoE):
        raise TypeError("fitted and truth must be MultinomialMoE instances")
    if fitted.d != truth.d or fitted.n_classes != truth.n_classes:
        raise ValueError("fitted and truth must have the same input dimension and number of classes")
    cells = multinomial_cells(fitted, truth)
    return _translation_inf(fitted, truth, cells, _exponents(cells, truth.k, kind, r))[0]


def multinomial_parameter_errors(fitted: MultinomialMoE, truth: MultinomialMoE) -> dict:
    """Per true expert j, the gate-weighted mean error over its Voronoi cell of ``eta0``, ``eta1`` and
    ``beta1`` (after the D1 translation), and the gate-mass error; NaN for an empty cell.

    Returns a dict of arrays of shape (truth.k,), plus ``"cell_size"``.

    Examples
    --------
    >>> import numpy as np
    >>> t = MultinomialMoE([0.0, 0.0], [[3.0], [0.0]], [[1.0, -1.0, 0.0], [0.0, 0.5, 0.0]],
    ...                    [[[0.0], [0.0], [0.0]], [[2.0], [-2.0], [0.0]]])
    >>> e = multinomial_parameter_errors(t.replace(eta1=t.eta1 + [[[0.1], [0.0], [0.0]], [[0.0]] * 3]), t)
    >>> np.round(e["eta1"], 6).tolist()
    [0.1, 0.0]
    """
    cells = multinomial_cells(fitted, truth)
    _, s, t1 = _translation_inf(fitted, truth, cells, np.ones(cells.size))
    w = s * np.exp(fitted.beta0)
    kt = truth.k
    errs = {
        "eta0": np.linalg.norm((fitted.eta0 - truth.eta0[cells]).reshape(fitted.k, -1), axis=1),
        "eta1": np.linalg.norm((fitted.eta1 - truth.eta1[cells]).reshape(fitted.k, -1), axis=1),
        "beta1": np.linalg.norm(fitted.beta1 + t1 - truth.beta1[cells], axis=1),
    }
    S = np.bincount(cells, weights=w, minlength=kt)
    size = np.bincount(cells, minlength=kt)
    out = {"mass": np.where(size > 0, np.abs(S - np.exp(truth.beta0)), np.nan), "cell_size": size}
    # Within a cell only the relative gate masses matter, which the translation does not change (the
    # infimum may pick exp(t0) = 0, which would leave 0/0).
    u = np.exp(fitted.beta0 - fitted.beta0.max())
    U = np.bincount(cells, weights=u, minlength=kt)
    for name, e in errs.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(size > 0, np.bincount(cells, weights=u * e, minlength=kt) / U, np.nan)
    return out


# ---------------------------------------------------------------------------------------------------
# Local geometry: split points and profile Kullback-Leibler divergences


def multinomial_split_point(truth: MultinomialMoE, j: int, delta, share: float = 0.5) -> MultinomialMoE:
    """The truth with its expert ``j`` (whose slope ``eta1_j`` must vanish) split into two experts that
    together give exactly the same model.

    Copy ``a`` stays at position ``j`` with intercepts ``eta0_j + delta`` and gate mass ``share``; copy
    ``b`` is appended last, with the class probabilities that make the mixture of the copies equal
    ``softmax(eta0_j)``: a mixture of two categorical distributions is a categorical distribution. Both
    copies keep expert ``j``'s gate slope.

    Parameters
    ----------
    truth : MultinomialMoE
    j : int
        The expert to split; ``truth.eta1[j]`` must be zero.
    delta : array_like (S - 1,)
        Shift of copy ``a``'s free intercepts.
    share : float
        Copy ``a``'s share of the gate mass, in (0, 1).

    Examples
    --------
    >>> import numpy as np
    >>> t = MultinomialMoE([0.0], [[0.0]], [[0.5, -0.5, 0.0]], np.zeros((1, 3, 1)))
    >>> s = multinomial_split_point(t, 0, [0.4, -0.2])
    >>> x = np.linspace(-1, 1, 5)[:, None]
    >>> s.k, bool(np.allclose(s.class_probs(x), t.class_probs(x)))
    (2, True)
    """
    j = int(j)
    if not 0 <= j < truth.k:
        raise ValueError(f"j must be an expert index in [0, {truth.k}), got {j}")
    if np.any(truth.eta1[j] != 0):
        raise ValueError("only an expert with vanishing slope (eta1_j = 0) splits into an identical mixture")
    if not 0 < share < 1:
        raise ValueError(f"share must be in (0, 1), got {share}")
    delta = np.asarray(delta, dtype=np.float64)
    S = truth.n_classes
    if delta.shape != (S - 1,):
        raise ValueError(f"delta must have shape ({S - 1},), got {delta.shape}")
    soft = lambda z: np.exp(z - z.max()) / np.exp(z - z.max()).sum()  # noqa: E731
    pi = soft(truth.eta0[j])
    fa = soft(truth.eta0[j] + np.r_[delta, 0.0])
    fb = (pi - share * fa) / (1.0 - share)
    if fb.min() <= 0:
        raise ValueError("delta is too large: the second copy would need a negative class probability")
    idx = list(range(truth.k)) + [j]
    beta0 = truth.beta0[idx].copy()
    beta0[j] += math.log(share)
    beta0[-1] += math.log(1.0 - share)
    eta0 = truth.eta0[idx].copy()
    eta0[j] = np.log(fa) - math.log(fa[-1])
    eta0[-1] = np.log(fb) - math.log(fb[-1])
    return truth.replace(beta0=beta0, beta1=truth.beta1[idx], eta0=eta0, eta1=truth.eta1[idx])


def _population(truth: MultinomialMoE, m: int, seed: int):
    """m inputs drawn once, each paired with every class, weighted by p*(class | x) / m."""
    x = np.random.default_rng(seed).uniform(*truth.x_range, size=(int(m), truth.d))
    p = truth.class_probs(x)
    S = truth.n_classes
    return np.repeat(x, S, axis=0), np.tile(np.arange(S), x.shape[0]), p.ravel() / x.shape[0]


def multinomial_fisher(model: MultinomialMoE, m: int = 20000, seed: int = 0) -> np.ndarray:
    """Fisher information of one observation, in the free parameters of ``model``.

    The parameters are ordered as the fits pack them (the last gate row and the last class pinned):
    ``beta0[:-1]``, ``beta1[:-1]``, ``eta0[:, :-1]``, ``eta1[:, :-1]``. The expectation over x uses ``m``
    inputs drawn once; the sum over classes is exact. A zero eigenvalue is a direction in which the
    likelihood does not change to first order: a parameter combination that ``n`` observations do not
    pin down at the rate ``n^(-1/2)``.

    Examples
    --------
    >>> import numpy as np
    >>> t = multinomial_truth("tanh")
    >>> ev = np.linalg.eigvalsh(multinomial_fisher(t, m=2000))
    >>> ev.size, bool(ev.min() > 1e-6 * ev.max())             # exactly fitted: full rank
    (15, True)
    """
    x, y, w = _population(model, m, seed)
    g = _Problem(x, y, model.k, model.n_classes, model.inputs, weights=w).scores(_pack(model))
    return (g * w[:, None]).T @ g


def multinomial_compensated_path(point: MultinomialMoE, expert: int, direction, m: int = 20000,
                                 seed: int = 0):
    """Move a gate slope and let every other parameter compensate to first order.

    The gate slope of fitted expert ``expert`` (relative to the pinned last row) moves along
    ``direction``; the other parameters move along the least-squares compensation
    ``-I_oo^+ I_os direction`` computed from the Fisher information ``I`` of :func:`multinomial_fisher`
    (``o``: the other parameters, ``s``: the slope). The Fisher information left along the combined
    displacement ``v`` is the curvature ``v^T I v`` of the profile KL at ``t = 0`` (``KL ~ v^T I v t^2 / 2``):
    zero when the gate move is undone to first order.

    Returns
    -------
    path : callable
        ``path(t)`` is ``point`` displaced by ``t v`` (a :class:`MultinomialMoE`).
    information : float
        ``v^T I v``.

    Examples
    --------
    >>> t = multinomial_truth("identity")
    >>> path, info = multinomial_compensated_path(multinomial_split_point(t, 1, [0.8, -0.8]), 1, [1.0, 0.0],
    ...                                           m=2000)
    >>> bool(info < 1e-10), path(0.1).k                   # the standard gate: undone to first order
    (True, 3)
    """
    expert = int(expert)
    if not 0 <= expert < point.k - 1:
        raise ValueError(f"expert must be in [0, {point.k - 1}) (the last gate row is pinned), got {expert}")
    direction = np.asarray(direction, dtype=np.float64)
    if direction.shape != (point.d,):
        raise ValueError(f"direction must have shape ({point.d},), got {direction.shape}")
    base = point.replace(beta0=point.beta0 - point.beta0[-1], beta1=point.beta1 - point.beta1[-1])
    info = multinomial_fisher(base, m, seed)
    slope = (point.k - 1) + expert * point.d + np.arange(point.d)
    others = np.setdiff1d(np.arange(info.shape[0]), slope)
    v = np.zeros(info.shape[0])
    v[slope] = direction
    v[others] = -np.linalg.pinv(info[np.ix_(others, others)], rcond=1e-10, hermitian=True) @ (
        info[np.ix_(others, slope)] @ direction)
    theta = _pack(base)
    k, d, S = point.k, point.d, point.n_classes

    def path(t: float) -> MultinomialMoE:
        return base.replace(**dict(zip(("beta0", "beta1", "eta0", "eta1"), _unpack(theta + t * v, k, d, S))))

    return path, float(v @ info @ v)


def multinomial_profile_kl(truth: MultinomialMoE, point: MultinomialMoE, expert: int, direction, ts,
                           hold=(), m: int = 3000, seed: int = 0, tol: float = 1e-12) -> np.ndarray:
    """Profile Kullback-Leibler divergence from ``truth`` along a gate slope.

    For each ``t`` in ``ts``, the gate slope of fitted expert ``expert`` relative to the last fitted
    expert is held at its value in ``point`` plus ``t * direction``; every other parameter of a
    ``point.k``-expert model (gate transform ``point.inputs``) is chosen to minimise

    .. math:: \\mathrm{KL}(t) = \\mathbb{E}_x \\sum_s p^*(s \\mid x) \\log\\frac{p^*(s \\mid x)}{p_\\theta(s \\mid x)},

    with the expectation over ``m`` inputs drawn once from ``truth`` (the sum over classes is exact).
    Near a point of the truth, ``KL(t) ~ c t^q``: a maximum-likelihood estimate of that slope then
    moves by about ``n^(-1/q)`` (the log-likelihood of ``n`` points gains ``n KL``, against noise of order
    one), so ``q = 2`` is the parametric rate ``n^(-1/2)``, and ``q = 4`` is ``n^(-1/4)``.

    Parameters
    ----------
    truth, point : MultinomialMoE
        The true model and a model equal to it (e.g. :func:`multinomial_split_point`), with the same
        gate transform.
    expert : int
        A fitted expert other than the last (whose gate row is pinned).
    direction : array_like (d,)
    ts : array_like
        Displacements along ``direction``.
    hold : sequence of int
        Fitted experts whose intercepts (gate ``beta0`` and expert ``eta0``) are also held at their
        values in ``point``: a local profile, which keeps the minimisation from sliding along a set of
        models equal to the truth (e.g. towards a copy of zero gate mass).
    m, seed : int
        Inputs of the expectation and their seed.
    tol : float
        Gradient tolerance of the inner L-BFGS minimisation.

    Examples
    --------
    >>> t = multinomial_truth("tanh")
    >>> kl = multinomial_profile_kl(t, t, 0, [1.0, 0.0], [0.025, 0.05], m=500)
    >>> bool(3.5 < kl[1] / kl[0] < 4.5)        # exactly fitted: KL grows like t^2
    True
    """
    if point.inputs != truth.inputs or point.d != truth.d or point.n_classes != truth.n_classes:
        raise ValueError("point and truth must share the gate transform, input dimension and classes")
    expert = int(expert)
    hold = [int(i) for i in hold]
    if any(not 0 <= i < point.k for i in hold):
        raise ValueError(f"hold must list fitted experts in [0, {point.k}), got {hold}")
    if not 0 <= expert < point.k - 1:
        raise ValueError(f"expert must be in [0, {point.k - 1}) (the last gate row is pinned), got {expert}")
    direction = np.asarray(direction, dtype=np.float64)
    if direction.shape != (point.d,):
        raise ValueError(f"direction must have shape ({point.d},), got {direction.shape}")
    ts = np.atleast_1d(np.asarray(ts, dtype=np.float64))
    x, y, w = _population(truth, m, seed)
    prob = _Problem(x, y, point.k, point.n_classes, point.inputs, weights=w)
    entropy_term = float(w @ np.log(truth.class_probs(x)[np.arange(y.size), y]))
    base = point.replace(beta0=point.beta0 - point.beta0[-1], beta1=point.beta1 - point.beta1[-1])
    k, d, S = point.k, point.d, point.n_classes
    slope = (k - 1) + expert * d + np.arange(d)
    held = [i for i in hold if i < k - 1]                                     # beta0 of the pinned row is 0
    held += [k - 1 + (k - 1) * d + i * (S - 1) + s for i in hold for s in range(S - 1)]   # eta0
    fixed = np.concatenate([slope, np.array(held, dtype=int)])
    out = np.empty(ts.size)
    for i, t in enumerate(ts):
        theta = _pack(base)
        theta[slope] += t * direction
        bounds = [(None, None)] * theta.size
        for f in fixed:
            bounds[f] = (theta[f], theta[f])
        res = minimize(prob.negloglik, theta, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"maxiter": 20000, "gtol": tol, "ftol": 1e-16, "maxcor": 50})
        out[i] = entropy_term + float(res.fun)
    return out


# ---------------------------------------------------------------------------------------------------
# The chapter's truth and one replication of its study


def multinomial_truth(inputs: str = "identity") -> MultinomialMoE:
    """The truth of the multinomial chapter: d = 2, S = 3 classes, x uniform on [-2, 2]^2, k* = 2.

    Expert 0 has slopes ``eta1_0 = [[1.5, -1], [-1, 1.5], [0, 0]]`` and zero intercepts; expert 1 has
    **vanishing slopes** (``eta1_1 = 0``) and intercepts ``(1.5, -1.5, 0)``, so its class probabilities
    do not depend on x. The gate has ``beta1 = [[2, 1], [0, 0]]``, ``beta0 = 0``, and acts on ``M(x)``
    with ``M`` = ``inputs``.

    Examples
    --------
    >>> t = multinomial_truth("tanh")
    >>> t.k, t.d, t.n_classes, t.inputs
    (2, 2, 3, 'tanh')
    """
    return MultinomialMoE([0.0, 0.0], [[2.0, 1.0], [0.0, 0.0]], [[0.0, 0.0, 0.0], [1.5, -1.5, 0.0]],
                          [[[1.5, -1.0], [-1.0, 1.5], [0.0, 0.0]], np.zeros((3, 2))], inputs=inputs,
                          x_range=(-2.0, 2.0))


def multinomial_replication(spec: dict, n: int, seed: int) -> dict:
    """One replication of the multinomial chapter's study (for
    :func:`~softlib.chapters.moe.replicate.replicated_study`).

    Draws ``n`` pairs from ``multinomial_truth(spec["inputs"])``, starts a fit with ``spec["k"]`` experts
    (2: exactly fitted; 3: the vanishing-slope expert 1 split in two) at the truth moved by Gaussian noise
    of standard deviation ``spec["noise"]`` (fixed, not shrinking with n), fits by maximum likelihood to
    the gradient tolerance ``spec.get("tol", 1e-8)``, and returns ``hellinger`` (the Hellinger distance
    between the fitted and true class distributions, averaged over 2000 fixed inputs), the Voronoi
    losses ``D1`` and ``D2``
    (``r = 2``), the per-cell errors of :func:`multinomial_parameter_errors` (``beta1_0``, ``eta1_1``,
    ...), ``converged`` and ``n_iter``.

    Examples
    --------
    >>> e = multinomial_replication({"inputs": "tanh", "k": 2, "noise": 0.3}, 1000, 0)
    >>> sorted(e)[:4]
    ['D1', 'D2', 'beta1_0', 'beta1_1']
    >>> bool(0 < e["hellinger"] < 0.1)
    True
    """
    k = int(spec["k"])
    if k not in (2, 3):
        raise ValueError(f"spec['k'] must be 2 (exactly fitted) or 3 (expert 1 split), got {k}")
    truth = multinomial_truth(spec["inputs"])
    rng = np.random.default_rng(seed)
    x, y = truth.sample(n, rng)
    start = multinomial_start_near(truth, k, rng, float(spec["noise"]), split=[1] * (k - 2))
    fit = fit_multinomial(x, y, start, tol=float(spec.get("tol", 1e-8)), max_iter=20000)
    grid = np.random.default_rng(12345).uniform(*truth.x_range, size=(2000, truth.d))   # fixed inputs
    bc = np.sqrt(fit.model.class_probs(grid) * truth.class_probs(grid)).sum(axis=1)
    out = {"hellinger": float(np.mean(np.sqrt(np.clip(1.0 - bc, 0.0, None)))),
           "D1": multinomial_voronoi_loss(fit.model, truth, "D1"),
           "D2": multinomial_voronoi_loss(fit.model, truth, "D2", r=2.0)}
    with np.errstate(over="ignore", invalid="ignore"):
        errs = multinomial_parameter_errors(fit.model, truth)
    for name in ("beta1", "eta0", "eta1", "mass"):
        for j in range(truth.k):
            out[f"{name}_{j}"] = float(errs[name][j])
    return {**out, "converged": float(fit.converged), "n_iter": float(fit.n_iter)}
