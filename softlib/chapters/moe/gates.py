"""Gates beyond the plain softmax: temperature, activation, input transforms, and DSelect-k.

Every gate here maps an input ``x`` to weights over ``k`` experts that are non-negative and sum to one.

* **Dense-to-sparse (temperature) gate** {cite}`nguyen2024temperature`:
  ``softmax((beta1_i . x + beta0_i) / tau)``. Small ``tau`` makes it nearly one-hot (sparse), large
  ``tau`` nearly uniform (dense). It has an exact scale invariance: ``(beta, tau)`` and
  ``(c beta, c tau)`` give the same gate for every ``c > 0``.
* **Activation gate** {cite}`nguyen2024temperature`: ``softmax(h(beta1_i . x + beta0_i) / tau)`` with a
  non-linear activation ``h`` (``"tanh"`` or ``"sigmoid"``). Since ``h(c z) / (c tau) != h(z) / tau``, the
  scale invariance is gone: ``tau`` is identified.
* **Input-transformed gate** {cite}`nguyen2024multinomial`: ``softmax(beta1_i . M(x) + beta0_i)`` with a
  bounded transform ``M`` (``"tanh"``, ``"sigmoid"``) applied to the input before the linear layer.
* **DSelect-k** {cite}`hazimeh2021dselect`: a smooth-step binary encoding that selects at most ``k`` of
  ``n`` experts with weights that are differentiable in the gate's parameters.

The Gaussian mixture of experts with a temperature or activation gate, :class:`GatedGaussianMoE`, and its
maximum-likelihood fit :func:`fit_gated_gaussian` live here too, since they differ from
:class:`~softlib.chapters.moe.model.GaussianMoE` only through the gate.
"""

from __future__ import annotations

from dataclasses import dataclass, field
import math

import numpy as np
from scipy.optimize import minimize

from .model import GatedModel, gaussian_moe_arrays, lse

__all__ = [
    "ACTIVATIONS", "TRANSFORMS", "activation", "transform", "gate_logits", "gate_probs", "softmax_rows",
    "topk_softmax", "smooth_step", "dselect_weights", "GatedGaussianMoE", "fit_gated_gaussian",
    "gated_parameter_errors", "temperature_truth", "gated_replication",
]

_LOG_2PI = math.log(2.0 * math.pi)


def _sigmoid(z):
    return 0.5 * (1.0 + np.tanh(0.5 * z))  # no overflow for large |z|


# name -> (h, h')
ACTIVATIONS = {
    "linear": (lambda z: z, lambda z: np.ones_like(z)),
    "tanh": (np.tanh, lambda z: 1.0 - np.tanh(z) ** 2),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (1.0 - _sigmoid(z))),
}
"""Activations applied to the gate's linear layer: name to ``(h, h')``."""

TRANSFORMS = {
    "identity": lambda x: x,
    "tanh": np.tanh,
    "sigmoid": _sigmoid,
}
"""Input transforms ``M`` applied before the gate's linear layer (bounded, except ``identity``)."""


def activation(name: str):
    """The pair ``(h, h')`` of the activation called ``name`` (one of :data:`ACTIVATIONS`)."""
    if name not in ACTIVATIONS:
        raise ValueError(f"activation must be one of {sorted(ACTIVATIONS)}, got {name!r}")
    return ACTIVATIONS[name]


def transform(name: str):
    """The input transform ``M`` called ``name`` (one of :data:`TRANSFORMS`)."""
    if name not in TRANSFORMS:
        raise ValueError(f"transform must be one of {sorted(TRANSFORMS)}, got {name!r}")
    return TRANSFORMS[name]


def softmax_rows(logits) -> np.ndarray:
    """Softmax along the last axis, shifted by the row maximum (no overflow)."""
    z = np.asarray(logits, dtype=np.float64)
    return np.exp(z - lse(z, axis=-1))


def _as_2d(x, d=None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    if x.ndim != 2 or (d is not None and x.shape[1] != d):
        raise ValueError(f"x must have shape (n, {d if d is not None else 'd'}) (or (n,) when d == 1), "
                         f"got {np.shape(x)}")
    return x


def gate_logits(beta0, beta1, x, tau: float = 1.0, act: str = "linear", inputs: str = "identity"):
    """The gate logits ``h(beta1_i . M(x) + beta0_i) / tau``, shape (n, k).

    Parameters
    ----------
    beta0 : array_like, shape (k,)
    beta1 : array_like, shape (k, d)
    x : array_like, shape (n, d) (or (n,) when d == 1)
    tau : float
        Temperature, positive.
    act : str
        Activation ``h`` (:data:`ACTIVATIONS`): ``"linear"`` is the dense-to-sparse gate.
    inputs : str
        Input transform ``M`` (:data:`TRANSFORMS`): ``"identity"`` is the standard gate.

    Examples
    --------
    >>> import numpy as np
    >>> gate_logits([0.0, 1.0], [[2.0], [0.0]], [0.5], tau=0.5).tolist()
    [[2.0, 2.0]]
    >>> np.round(gate_logits([0.0], [[1.0]], [0.5], act="tanh"), 4).tolist()
    [[0.4621]]
    """
    if not tau > 0:
        raise ValueError(f"the temperature tau must be positive, got {tau!r}")
    beta1 = np.asarray(beta1, dtype=np.float64)
    beta1 = beta1[:, None] if beta1.ndim == 1 else beta1
    x = transform(inputs)(_as_2d(x, beta1.shape[1]))
    h, _ = activation(act)
    return h(x @ beta1.T + np.asarray(beta0, dtype=np.float64)) / tau


def gate_probs(beta0, beta1, x, tau: float = 1.0, act: str = "linear", inputs: str = "identity"):
    """Gate weights ``softmax(gate_logits(...))``, shape (n, k); see :func:`gate_logits`.

    Examples
    --------
    >>> import numpy as np
    >>> b0, b1 = [1.0, 0.0], [[2.0], [0.0]]
    >>> same = [np.round(gate_probs(c * np.array(b0), c * np.array(b1), [0.3], tau=c * 0.5), 12)
    ...         for c in (1.0, 4.0)]
    >>> bool(np.array_equal(*same))              # (beta, tau) and (c beta, c tau): the same gate
    True
    >>> other = gate_probs(4 * np.array(b0), 4 * np.array(b1), [0.3], tau=2.0, act="tanh")
    >>> bool(np.allclose(gate_probs(b0, b1, [0.3], tau=0.5, act="tanh"), other))
    False
    """
    return softmax_rows(gate_logits(beta0, beta1, x, tau, act, inputs))


def topk_softmax(logits, k: int) -> np.ndarray:
    """Softmax over the ``k`` largest logits of each row; zero weight elsewhere (ties: lower index).

    Examples
    --------
    >>> import numpy as np
    >>> np.round(topk_softmax([[1.0, 3.0, 2.0]], 2), 3).tolist()
    [[0.0, 0.731, 0.269]]
    """
    z = np.atleast_2d(np.asarray(logits, dtype=np.float64))
    n_exp = z.shape[-1]
    if int(k) != k or not 1 <= k <= n_exp:
        raise ValueError(f"k must be an integer in [1, {n_exp}], got {k!r}")
    order = np.argsort(-z, axis=-1, kind="stable")
    keep = np.zeros(z.shape, dtype=bool)
    np.put_along_axis(keep, order[..., :int(k)], True, axis=-1)
    return softmax_rows(np.where(keep, z, -np.inf))


def smooth_step(t, gamma: float) -> np.ndarray:
    """DSelect-k's smooth step {cite}`hazimeh2021dselect`: a cubic from 0 to 1 on ``[-gamma/2, gamma/2]``.

    .. math::  S(t) = 0 \\; (t \\le -\\gamma/2), \\quad
               -\\tfrac{2}{\\gamma^3} t^3 + \\tfrac{3}{2\\gamma} t + \\tfrac12 \\; (|t| < \\gamma/2), \\quad
               1 \\; (t \\ge \\gamma/2).

    It is continuously differentiable, and exactly 0 or 1 outside the band, which is what lets the
    gate reach exact zeros while training by gradients.

    Examples
    --------
    >>> smooth_step([-1.0, 0.0, 0.25, 1.0], gamma=1.0).tolist()
    [0.0, 0.5, 0.84375, 1.0]
    """
    if not gamma > 0:
        raise ValueError(f"gamma must be positive, got {gamma!r}")
    t = np.asarray(t, dtype=np.float64)
    mid = -2.0 / gamma**3 * t**3 + 1.5 / gamma * t + 0.5
    return np.where(t <= -gamma / 2, 0.0, np.where(t >= gamma / 2, 1.0, mid))


def dselect_weights(z, alpha, n_experts: int, gamma: float = 1.0) -> np.ndarray:
    """DSelect-k's gate weights over ``n_experts`` experts {cite}`hazimeh2021dselect`.

    Each of the ``k`` selectors ``c`` holds ``m = ceil(log2 n_experts)`` numbers ``z[c]``; expert ``i``
    with binary code ``l(i)`` gets the single-expert weight
    ``r_i(z[c]) = prod_j S(z[c, j])^[l(i)_j = 1] (1 - S(z[c, j]))^[l(i)_j = 0]``, and the gate is the
    ``softmax(alpha)``-weighted sum of the selectors' ``r``. When every ``S(z[c, j])`` is 0 or 1, each
    selector picks one expert and the gate has at most ``k`` non-zero weights.

    Parameters
    ----------
    z : array_like, shape (k, m)
        Selector parameters.
    alpha : array_like, shape (k,)
        Selector logits.
    n_experts : int
        Number of experts, at most ``2**m``; codes of experts that do not exist get no weight (their
        mass is renormalised away).
    gamma : float
        Width of the smooth step's band.

    Returns
    -------
    ndarray, shape (n_experts,)

    Examples
    --------
    >>> import numpy as np
    >>> w = dselect_weights([[5.0, -5.0], [-5.0, -5.0]], [0.0, 0.0], n_experts=4)
    >>> w.tolist()                                 # selector 1 picks expert 1 (code 01), selector 2 expert 0
    [0.5, 0.5, 0.0, 0.0]
    """
    z = np.atleast_2d(np.asarray(z, dtype=np.float64))
    alpha = np.atleast_1d(np.asarray(alpha, dtype=np.float64))
    if int(n_experts) != n_experts or n_experts < 2:
        raise ValueError(f"n_experts must be an integer >= 2, got {n_experts!r}")
    m = max(1, math.ceil(math.log2(n_experts)))
    if z.shape[1] != m or alpha.shape != (z.shape[0],):
        raise ValueError(f"z must have shape (k, {m}) and alpha shape (k,), got {z.shape} and {alpha.shape}")
    codes = (np.arange(n_experts)[:, None] >> np.arange(m)[None, :]) & 1      # bit j of i: (n, m)
    s = smooth_step(z, gamma)                                                   # (k, m)
    per_bit = np.where(codes[None, :, :] == 1, s[:, None, :], 1.0 - s[:, None, :])  # (k, n, m)
    r = per_bit.prod(axis=2)                                                    # (k, n)
    total = r.sum(axis=1, keepdims=True)  # < 1 only when codes beyond n_experts get mass
    r = np.where(total > 0, r / np.where(total > 0, total, 1.0), 1.0 / n_experts)
    return softmax_rows(alpha) @ r


# ----------------------------------------------------------------------------------------------------
# The Gaussian mixture of experts with a temperature or activation gate.


@dataclass(frozen=True)
class GatedGaussianMoE(GatedModel):
    """A Gaussian mixture of experts with the gate ``softmax(h(beta1_i . x + beta0_i) / tau)``.

    .. math::  g(y \\mid x) = \\sum_i \\operatorname{softmax}_i\\big(h(\\beta_{1i}^\\top x + \\beta_{0i})
               / \\tau\\big) \\, \\mathcal{N}(y \\mid a_i^\\top x + b_i, \\sigma_i)

    ``act="linear"`` is the dense-to-sparse gate, ``"tanh"`` or ``"sigmoid"`` the activation gate
    of {cite}`nguyen2024temperature`. ``sigma`` holds variances. The book pins the last expert's gate row
    at zero (``beta0[-1] = 0``, ``beta1[-1] = 0``) in every model it fits: with a linear gate this is
    the usual translation pin; with an activation it is part of the model's definition.

    Examples
    --------
    >>> import numpy as np
    >>> m = GatedGaussianMoE([1.0, 0.0], [[3.0], [0.0]], 0.5, [[-2.0], [2.0]], [1.0, -1.0], [0.1, 0.1])
    >>> x, y = m.sample(4, np.random.default_rng(0))
    >>> x.shape, y.shape, bool(np.all(m.density(x, y) > 0))
    ((4, 1), (4,), True)
    """

    beta0: np.ndarray
    beta1: np.ndarray
    tau: float
    a: np.ndarray
    b: np.ndarray
    sigma: np.ndarray
    act: str = "linear"
    x_range: tuple = field(default=(-1.0, 1.0))

    def __post_init__(self):
        beta0, beta1, a, b, sigma = gaussian_moe_arrays(self.beta0, self.beta1, self.a, self.b, self.sigma)
        if not float(self.tau) > 0:
            raise ValueError(f"the temperature tau must be positive, got {self.tau}")
        activation(self.act)
        for name, value in (("beta0", beta0), ("beta1", beta1), ("a", a), ("b", b), ("sigma", sigma),
                            ("tau", float(self.tau)), ("x_range", tuple(float(v) for v in self.x_range))):
            object.__setattr__(self, name, value)

    def gate(self, x) -> np.ndarray:
        """Gate weights, shape (n, k)."""
        return gate_probs(self.beta0, self.beta1, _as_2d(x, self.d), self.tau, self.act)

    def log_components(self, x, y) -> np.ndarray:
        x = _as_2d(x, self.d)
        y = np.asarray(y, dtype=np.float64).reshape(-1)
        logits = gate_logits(self.beta0, self.beta1, x, self.tau, self.act)
        lg = logits - _lse(logits)
        resid = y[:, None] - (x @ self.a.T + self.b)
        return lg - 0.5 * (_LOG_2PI + np.log(self.sigma) + resid**2 / self.sigma)

    def log_density(self, x, y) -> np.ndarray:
        return _lse(self.log_components(x, y))[:, 0]

    def density(self, x, y) -> np.ndarray:
        return np.exp(self.log_density(x, y))

    def sample(self, n: int, rng: np.random.Generator):
        """``n`` pairs: x uniform on ``x_range^d``, y from ``g(. | x)``."""
        if int(n) != n or n < 1:
            raise ValueError(f"n must be a positive integer, got {n!r}")
        x = rng.uniform(*self.x_range, size=(int(n), self.d))
        w = self.gate(x)
        expert = np.minimum((np.cumsum(w, axis=1) < rng.random(int(n))[:, None]).sum(axis=1), self.k - 1)
        mean = (x * self.a[expert]).sum(axis=1) + self.b[expert]
        return x, mean + np.sqrt(self.sigma[expert]) * rng.standard_normal(int(n))

    def as_dict(self) -> dict:
        return dict(beta0=self.beta0.tolist(), beta1=self.beta1.tolist(), tau=self.tau, a=self.a.tolist(),
                    b=self.b.tolist(), sigma=self.sigma.tolist(), act=self.act, x_range=list(self.x_range))


def _lse(z):
    """log-sum-exp over the experts of an (n, k) array, kept as a column
    (:func:`~softlib.chapters.moe.model.lse`)."""
    return lse(z, axis=1)


def _pack_gated(m: GatedGaussianMoE, fit_tau: bool):
    parts = [m.beta0[:-1], m.beta1[:-1].ravel()]
    if fit_tau:
        parts.append([math.log(m.tau)])
    parts += [m.a.ravel(), m.b, np.log(m.sigma)]
    return np.concatenate([np.asarray(p, dtype=np.float64).ravel() for p in parts])


def _unpack_gated(theta, k, d, fit_tau, tau_fixed):
    i = 0
    beta0 = np.zeros(k)
    beta0[:-1] = theta[i:i + k - 1]
    i += k - 1
    beta1 = np.zeros((k, d))
    beta1[:-1] = theta[i:i + (k - 1) * d].reshape(k - 1, d)
    i += (k - 1) * d
    if fit_tau:
        log_tau = theta[i]
        i += 1
    else:
        log_tau = math.log(tau_fixed)
    a = theta[i:i + k * d].reshape(k, d)
    i += k * d
    b = theta[i:i + k]
    log_var = theta[i + k:i + 2 * k]
    return beta0, beta1, log_tau, a, b, log_var


def _negloglik_gated(theta, x, y, k, d, act, fit_tau, tau_fixed):
    """Mean negative log-likelihood and its gradient (analytic) for :func:`fit_gated_gaussian`."""
    beta0, beta1, log_tau, a, b, log_var = _unpack_gated(theta, k, d, fit_tau, tau_fixed)
    if abs(log_tau) > 30 or np.any(np.abs(log_var) > 60):
        return np.inf, np.zeros_like(theta)
    tau = math.exp(log_tau)
    h, dh = activation(act)
    # Arrays are (k, n): NumPy reduces over the k experts and broadcasts their parameters along long
    # rows (the (n, k) layout walks rows of k entries one at a time, several times slower).
    zlin = beta1 @ x.T + beta0[:, None]
    logits = h(zlin) / tau
    lg = logits - lse(logits, axis=0)
    var = np.exp(log_var)[:, None]
    resid = y - (a @ x.T + b[:, None])
    lc = lg - 0.5 * (_LOG_2PI + log_var[:, None] + resid**2 / var)
    total = lse(lc, axis=0)
    n = x.shape[0]
    R = np.exp(lc - total)
    G = np.exp(lg)
    dlogit = (R - G) / n                       # d mean loglik / d logit
    dz = dlogit * dh(zlin) / tau
    g_beta0 = dz.sum(axis=1)[:-1]
    g_beta1 = (dz @ x)[:-1].ravel()
    dmean = R * resid / var / n
    g_a = (dmean @ x).ravel()
    g_b = dmean.sum(axis=1)
    g_lv = (0.5 * R * (resid**2 / var - 1.0)).sum(axis=1) / n
    parts = [g_beta0, g_beta1]
    if fit_tau:
        parts.append([-np.sum(dlogit * logits)])
    parts += [g_a, g_b, g_lv]
    grad = np.concatenate([np.asarray(p).ravel() for p in parts])
    return -float(total.mean()), -grad


@dataclass
class GatedFit:
    """What :func:`fit_gated_gaussian` returns: the model, its mean log-likelihood, the optimiser's
    iterations and whether it met its gradient tolerance."""

    model: GatedGaussianMoE
    log_likelihood: float
    n_iter: int
    converged: bool


def fit_gated_gaussian(x, y, start: GatedGaussianMoE, fit_tau: bool = True, gtol: float = 1e-9,
                       max_iter: int = 3000) -> GatedFit:
    """Maximum-likelihood fit of a :class:`GatedGaussianMoE` from ``start``, by L-BFGS on the exact
    log-likelihood with its analytic gradient.

    The last expert's gate row stays pinned at zero. With ``fit_tau=False`` the temperature stays at
    ``start.tau``. The variances are optimised on the log scale.

    Examples
    --------
    >>> import numpy as np
    >>> truth = GatedGaussianMoE([1.0, 0.0], [[3.0], [0.0]], 0.5, [[-2.0], [2.0]], [1.0, -1.0],
    ...                          [0.09, 0.16], act="tanh")
    >>> x, y = truth.sample(4000, np.random.default_rng(0))
    >>> fit = fit_gated_gaussian(x, y, truth)
    >>> fit.converged, bool(abs(fit.model.tau - 0.5) < 0.2)
    (True, True)
    """
    x = _as_2d(x, start.d)
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if y.shape[0] != x.shape[0]:
        raise ValueError(f"x and y must have the same length, got {x.shape[0]} and {y.shape[0]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    k, d = start.k, start.d
    start = start.replace(beta0=start.beta0 - (start.beta0[-1] if start.act == "linear" else 0.0),
                          beta1=start.beta1 - (start.beta1[-1] if start.act == "linear" else 0.0))
    if start.act != "linear" and (start.beta0[-1] != 0 or np.any(start.beta1[-1] != 0)):
        raise ValueError("the last expert's gate row must be zero (it is pinned) for an activation gate")
    theta0 = _pack_gated(start, fit_tau)
    args = (x, y, k, d, start.act, fit_tau, start.tau)
    res = minimize(_negloglik_gated, theta0, args=args, jac=True, method="L-BFGS-B",
                   options={"maxiter": int(max_iter), "gtol": gtol, "ftol": 1e-15, "maxcor": 30})
    beta0, beta1, log_tau, a, b, log_var = _unpack_gated(res.x, k, d, fit_tau, start.tau)
    model = start.replace(beta0=beta0, beta1=beta1, tau=math.exp(log_tau), a=a, b=b, sigma=np.exp(log_var))
    gnorm = float(np.abs(res.jac).max()) if res.jac is not None else np.inf
    return GatedFit(model, -float(res.fun), int(res.nit), bool(res.success or gnorm < 1e-6))


def gated_parameter_errors(fitted: GatedGaussianMoE, truth: GatedGaussianMoE) -> dict:
    """Absolute errors of every parameter of an exact-fitted model, experts matched to the truth.

    Experts are matched by the permutation of the first ``k - 1`` (the last is pinned in both) that
    minimises the distance between the experts' ``(a, b, sigma)``. Returns the errors of ``tau``,
    ``beta0``, ``beta1`` (over the free rows), ``a``, ``b``, ``sigma`` (largest over experts), and of
    ``beta/tau``, the combination that a linear gate identifies.

    Examples
    --------
    >>> t = GatedGaussianMoE([1.0, 0.0], [[3.0], [0.0]], 0.5, [[-2.0], [2.0]], [1.0, -1.0], [0.1, 0.1])
    >>> e = gated_parameter_errors(t.replace(tau=1.0, beta0=[2.0, 0.0], beta1=[[6.0], [0.0]]), t)
    >>> e["tau"], e["beta1"], e["beta_over_tau"]     # the same gate, far away in (beta, tau)
    (0.5, 3.0, 0.0)
    """
    import itertools

    if fitted.k != truth.k or fitted.d != truth.d:
        raise ValueError("fitted and truth must have the same k and d")
    k = truth.k
    best, perm = np.inf, None
    for p in itertools.permutations(range(k - 1)):
        p = list(p) + [k - 1]
        dist = (np.abs(fitted.a[p] - truth.a).sum() + np.abs(fitted.b[p] - truth.b).sum()
                + np.abs(fitted.sigma[p] - truth.sigma).sum())
        if dist < best:
            best, perm = dist, p
    f = fitted
    bt_f = np.concatenate([f.beta0[perm][:, None], f.beta1[perm]], axis=1) / f.tau
    bt_t = np.concatenate([truth.beta0[:, None], truth.beta1], axis=1) / truth.tau
    return {
        "tau": abs(f.tau - truth.tau),
        "beta0": float(np.abs(f.beta0[perm] - truth.beta0).max()),
        "beta1": float(np.abs(f.beta1[perm] - truth.beta1).max()),
        "beta_over_tau": float(np.abs(bt_f - bt_t).max()),
        "a": float(np.abs(f.a[perm] - truth.a).max()),
        "b": float(np.abs(f.b[perm] - truth.b).max()),
        "sigma": float(np.abs(f.sigma[perm] - truth.sigma).max()),
    }


def temperature_truth(act: str = "linear") -> GatedGaussianMoE:
    """The two-expert truth of the book's temperature chapter (our choice), with gate ``act``.

    d = 1, x uniform on [-1, 1], gate rows (beta0, beta1) = (1, 3) and (0, 0) (pinned), tau = 0.5;
    experts y = -2 x + 1 and y = 2 x - 1 with variances 0.09 and 0.16.
    """
    return GatedGaussianMoE([1.0, 0.0], [[3.0], [0.0]], 0.5, [[-2.0], [2.0]], [1.0, -1.0], [0.09, 0.16],
                            act=act)


def gated_replication(spec: dict, n: int, seed: int) -> dict:
    """One replication of the temperature chapter's study (for
    :func:`~softlib.chapters.moe.replicate.replicated_study`).

    Draws ``n`` pairs from ``temperature_truth(spec["act"])``, starts the fit at the truth moved by
    noise of fixed size (``spec["noise"]``: log tau and the free gate row get standard deviation
    ``noise``, the experts ``noise / 6``), fits every parameter including tau, and returns
    :func:`gated_parameter_errors` plus ``converged``.

    Examples
    --------
    >>> e = gated_replication({"act": "tanh", "noise": 0.3}, 2000, 0)
    >>> sorted(e)
    ['a', 'b', 'beta0', 'beta1', 'beta_over_tau', 'converged', 'sigma', 'tau']
    """
    truth = temperature_truth(spec["act"])
    rng = np.random.default_rng(seed)
    x, y = truth.sample(n, rng)
    s = float(spec["noise"])
    z = rng.standard_normal(4 + 3 * truth.k)
    start = truth.replace(tau=truth.tau * math.exp(s * z[0]), beta0=truth.beta0 + [s * z[1], 0.0],
                          beta1=truth.beta1 + [[s * z[2]], [0.0]], a=truth.a + s / 6 * z[4:6, None],
                          b=truth.b + s / 6 * z[6:8], sigma=truth.sigma * np.exp(s / 6 * z[8:10]))
    fit = fit_gated_gaussian(x, y, start)
    return {**gated_parameter_errors(fit.model, truth), "converged": float(fit.converged)}
