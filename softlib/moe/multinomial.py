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
"""

from __future__ import annotations

from dataclasses import dataclass, field
import itertools
import math

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from .gates import _as_2d, _lse, transform

__all__ = ["MultinomialMoE", "fit_multinomial", "MultinomialFit", "multinomial_voronoi_loss",
           "multinomial_cells", "multinomial_parameter_errors", "multinomial_start_near"]


@dataclass(frozen=True)
class MultinomialMoE:
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
        The gate's input transform ``M`` (:data:`~softlib.moe.gates.TRANSFORMS`): ``"identity"`` for the
        standard gate.
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
        beta0 = np.atleast_1d(np.asarray(self.beta0, dtype=np.float64))
        k = beta0.size
        beta1 = np.asarray(self.beta1, dtype=np.float64)
        beta1 = beta1[:, None] if beta1.ndim == 1 else beta1
        if beta0.ndim != 1 or beta1.ndim != 2 or beta1.shape[0] != k:
            raise ValueError(f"beta0 must be (k,) and beta1 (k, d); got {beta0.shape} and {beta1.shape}")
        d = beta1.shape[1]
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
    def k(self) -> int:
        return self.beta0.size

    @property
    def d(self) -> int:
        return self.beta1.shape[1]

    @property
    def n_classes(self) -> int:
        return self.eta0.shape[1]

    def replace(self, **changes) -> "MultinomialMoE":
        f = dict(beta0=self.beta0, beta1=self.beta1, eta0=self.eta0, eta1=self.eta1, inputs=self.inputs,
                 x_range=self.x_range)
        f.update(changes)
        return MultinomialMoE(**f)

    def gate_logits(self, x) -> np.ndarray:
        return transform(self.inputs)(_as_2d(x, self.d)) @ self.beta1.T + self.beta0

    def gate(self, x) -> np.ndarray:
        """Gate weights, shape (n, k)."""
        z = self.gate_logits(x)
        return np.exp(z - _lse(z))

    def expert_log_probs(self, x) -> np.ndarray:
        """``log softmax_s(eta1_i . x + eta0_i)``, shape (n, k, S)."""
        z = np.einsum("nd,ksd->nks", _as_2d(x, self.d), self.eta1) + self.eta0
        m = z.max(axis=2, keepdims=True)
        return z - (m + np.log(np.exp(z - m).sum(axis=2, keepdims=True)))

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
    """The log-likelihood pieces of a fixed sample: gate features M(x), expert features x, one-hot y."""

    def __init__(self, x, y, k, S, inputs):
        self.x, self.mx = x, transform(inputs)(x)
        self.Y = np.eye(S)[y]
        self.y = y
        self.k, self.S, self.d, self.n = k, S, x.shape[1], x.shape[0]

    def parts(self, theta):
        beta0, beta1, eta0, eta1 = _unpack(theta, self.k, self.d, self.S)
        zg = self.mx @ beta1.T + beta0
        lg = zg - _lse(zg)
        ze = np.einsum("nd,ksd->nks", self.x, eta1) + eta0
        me = ze.max(axis=2, keepdims=True)
        le = ze - (me + np.log(np.exp(ze - me).sum(axis=2, keepdims=True)))   # (n, k, S)
        ly = le[np.arange(self.n), :, self.y]                                  # (n, k)
        return lg, le, ly

    def grad_from(self, R, G, F):
        """Gradient of sum_n sum_i R_ni [log G_ni + log F_ni(y_n)] (the EM Q, or the log-likelihood when R
        is the posterior), divided by n, with respect to the packed parameters."""
        n = self.n
        dg = (R - G) / n
        g_b0 = dg.sum(axis=0)[:-1]
        g_b1 = (dg.T @ self.mx)[:-1].ravel()
        de = R[:, :, None] * (self.Y[:, None, :] - F) / n                         # (n, k, S)
        g_e0 = de.sum(axis=0)[:, :-1].ravel()
        g_e1 = np.einsum("nks,nd->ksd", de, self.x)[:, :-1].ravel()
        return np.concatenate([g_b0, g_b1, g_e0, g_e1])

    def negloglik(self, theta):
        lg, le, ly = self.parts(theta)
        lc = lg + ly
        lse = _lse(lc)
        R = np.exp(lc - lse)
        return -float(lse.mean()), -self.grad_from(R, np.exp(lg), np.exp(le))

    def negq(self, theta, R):
        lg, le, ly = self.parts(theta)
        return -float(np.sum(R * (lg + ly)) / self.n), -self.grad_from(R, np.exp(lg), np.exp(le))


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
    >>> em = fit_multinomial(x, y, t, method="em", tol=1e-9, max_iter=300)
    >>> # EM climbs from the start towards the ML maximum (slowly: it is still short after 300 steps)
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
            lg, le, ly = prob.parts(theta)
            lc = lg + ly
            R = np.exp(lc - _lse(lc))
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
    piecewise-linear one in ``exp(t0)``, both solved exactly (as in :mod:`softlib.moe.voronoi`).

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
    for name, e in errs.items():
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(S > 0, np.bincount(cells, weights=w * e, minlength=kt) / S, np.nan)
    return out
