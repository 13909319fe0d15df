"""Maximum-likelihood fitting of :class:`~softlib.chapters.moe.model.GaussianMoE` by EM.

One EM iteration (vectorised NumPy, ``n`` samples, ``k`` experts, ``d`` inputs):

* **E-step**: responsibilities ``r_ni = gate_i(x_n) N(y_n | a_i . x_n + b_i, sigma_i) / g(y_n | x_n)``.
* **Experts**: a weighted least-squares fit of ``y`` on ``(1, x)`` per expert, weights ``r_{.i}``, and the
  weighted residual variance.
* **Gate**: one Newton (IRLS) step on ``Q(beta) = sum_n sum_i r_ni log gate_i(x_n; beta)``, a multinomial
  logistic regression with soft labels, with the last expert's gate pinned at zero (the translation
  invariance leaves one expert free to pin), halved until ``Q`` increases. With a top-K gate the Newton
  step uses the current selection and the backtracking checks ``Q`` with the new one.

Every step increases ``Q``, so the likelihood never decreases (a generalised EM). The iterations stop when
the mean log-likelihood ``l`` changes by less than ``tol * max(|l|, 1)`` between two iterations.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .model import _LOG_2PI, GaussianMoE, _as_x

__all__ = ["fit_em", "FitResult", "random_start"]

_VAR_FLOOR = 1e-10  # variances are kept above this fraction of var(y), so no expert collapses on a point


@dataclass
class FitResult:
    """What :func:`fit_em` returns.

    Attributes
    ----------
    model : GaussianMoE
        The fitted model (the best start's).
    log_likelihood : float
        Its mean log-likelihood on the sample.
    n_iter : int
        EM iterations of the best start.
    converged : bool
        Whether the best start met the tolerance before ``max_iter``.
    history : ndarray
        Mean log-likelihood after each iteration of the best start.
    starts : list of (float, bool, int)
        (log-likelihood, converged, iterations) of every start.
    """

    model: GaussianMoE
    log_likelihood: float
    n_iter: int
    converged: bool
    history: np.ndarray = field(repr=False)
    starts: list = field(default_factory=list)


def _design(x: np.ndarray) -> np.ndarray:
    return np.concatenate([np.ones((x.shape[0], 1)), x], axis=1)


# The EM below works on arrays with one row per expert and one column per sample, (k, n), and on the
# transposed design Xt = (1, x)^T, (p, n): NumPy then reduces over the experts, and broadcasts an
# expert's parameter over its row, with long contiguous loops. The (n, k) layout reduces and
# broadcasts over rows of 2 to 4 entries, one row at a time, several times slower.


def _topk_mask_t(L, top_k):
    """Boolean (k, n) mask of the ``top_k`` largest logits of each column (ties: the lower index wins)."""
    k = L.shape[0]
    if top_k is None or top_k >= k:
        return None
    # rank_i = #{j : l_j > l_i, or l_j == l_i and j < i}; expert i is kept when rank_i < top_k.
    rank = np.zeros(L.shape, dtype=np.int16)
    for i in range(k):
        for j in range(i + 1, k):
            j_first = L[j] > L[i]  # else i (the lower index) ranks first, ties included
            rank[i] += j_first
            rank[j] += ~j_first
    return rank < top_k


def _gate(W, Xt, top_k, mask=None):
    """The (top-K) softmax gate at the rows W: its log and its weights, both (k, n), with one
    exponential per entry (-inf and 0 outside the top K; ``mask`` is the top-K mask when known)."""
    L = W @ Xt
    mask = _topk_mask_t(L, top_k) if mask is None else mask
    if mask is not None:
        L = np.where(mask, L, -np.inf)
    m = L.max(axis=0)
    E = np.exp(L - m)
    s = E.sum(axis=0)
    return L - (m + np.log(s)), E / s


def _gate_q(R, lg, top_k):
    """Q = sum r log gate (terms with r = 0 count zero, also where the log gate is -inf)."""
    if top_k is None:
        return float(np.sum(R * lg))
    with np.errstate(invalid="ignore"):
        return float(np.where(R > 0, R * lg, 0.0).sum())


def _outer_cols(Xt):
    """Column-wise outer products x x^T, flattened: shape (p*p, n)."""
    return (Xt[:, None, :] * Xt[None, :, :]).reshape(-1, Xt.shape[1])


def _gate_newton(W, Xt, R, top_k, XXt=None, max_halvings=30, ridge=1e-8, gate=None):
    """One Newton step on Q for the gate rows 0..k-2 (row k-1 pinned at zero), with backtracking.

    ``R`` (k, n) are the responsibilities, ``gate`` is :func:`_gate` at ``W`` when the caller has it.
    Returns the new rows and their gate."""
    k, p = W.shape
    XXt = _outer_cols(Xt) if XXt is None else XXt
    lg, P = _gate(W, Xt, top_k) if gate is None else gate
    q0 = _gate_q(R, lg, top_k)
    Pf = P[:-1]
    grad = ((R[:-1] - Pf) @ Xt.T).reshape(-1)                               # (k-1)*p
    # Hessian of -Q: sum_n (diag(P) - P P^T) kron (x x^T), restricted to the free rows.
    diag = (Pf @ XXt.T).reshape(k - 1, p, p)
    PP = (Pf[:, None, :] * Pf[None, :, :]).reshape(-1, Pf.shape[1])
    cross = (PP @ XXt.T).reshape(k - 1, k - 1, p, p).transpose(0, 2, 1, 3)
    m = (k - 1) * p
    H = -cross.reshape(m, m)
    for i in range(k - 1):
        H[i * p:(i + 1) * p, i * p:(i + 1) * p] += diag[i]
    H += ridge * (np.trace(H) / m + 1.0) * np.eye(m)
    try:
        step = np.linalg.solve(H, grad)
    except np.linalg.LinAlgError:
        step = grad / (np.trace(H) / m + 1.0)
    step = step.reshape(k - 1, p)
    sparse = top_k is not None and top_k < k
    responsible = R > 0 if sparse else None
    t = 1.0
    for _ in range(max_halvings):
        W_new = W.copy()
        W_new[:-1] += t * step
        mask = _topk_mask_t(W_new @ Xt, top_k) if sparse else None
        # A step that drops an expert from the top K where it has responsibility makes Q = -inf:
        # rejected without computing the gate (most halvings of a sparse gate end here).
        if sparse and np.any(responsible & ~mask):
            t *= 0.5
            continue
        gate_new = _gate(W_new, Xt, top_k, mask)
        if _gate_q(R, gate_new[0], top_k) >= q0:
            return W_new, gate_new
        t *= 0.5
    return W, (lg, P)


def _m_experts(Xt, y, R, var_floor, XXt=None, Xyt=None):
    """Weighted least squares per expert (``R`` is (k, n)): coefficients (k, p) and variances (k,)."""
    p = Xt.shape[0]
    XXt = _outer_cols(Xt) if XXt is None else XXt
    Xyt = Xt * y if Xyt is None else Xyt
    G = (R @ XXt.T).reshape(-1, p, p) + 1e-12 * np.eye(p)
    coef = np.linalg.solve(G, (R @ Xyt.T)[:, :, None])[:, :, 0]
    resid = y - coef @ Xt
    mass = R.sum(axis=1)
    var = (R * resid**2).sum(axis=1) / np.maximum(mass, 1e-300)
    return coef, np.maximum(var, var_floor)


def _to_model(W, coef, var, top_k, x_range):
    return GaussianMoE(beta0=W[:, 0], beta1=W[:, 1:], a=coef[:, 1:], b=coef[:, 0], sigma=var,
                       top_k=top_k, x_range=x_range)


def _from_model(model: GaussianMoE):
    W = np.concatenate([model.beta0[:, None], model.beta1], axis=1)
    W = W - W[-1]  # pin the last expert's gate at zero: the same gate, by translation invariance
    coef = np.concatenate([model.b[:, None], model.a], axis=1)
    return W, coef, model.sigma.copy()


def _pack(W, coef, var):
    return np.concatenate([W[:-1].ravel(), coef.ravel(), np.log(var)])


def _unpack(theta, k, p):
    m = (k - 1) * p
    W = np.zeros((k, p))
    W[:-1] = theta[:m].reshape(k - 1, p)
    coef = theta[m:m + k * p].reshape(k, p)
    var = np.exp(theta[m + k * p:])
    return W, coef, var


class _EM:
    """The EM map on a packed parameter vector (gate rows 0..k-2, expert coefficients, log variances)."""

    def __init__(self, x, y, k, top_k, x_range):
        self.x, self.y, self.Xt = x, y, np.ascontiguousarray(_design(x).T)
        self.XXt, self.Xyt = _outer_cols(self.Xt), self.Xt * y
        self.k, self.p, self.top_k, self.x_range = k, self.Xt.shape[0], top_k, x_range
        self.var_floor = _VAR_FLOOR * max(float(np.var(y)), 1e-300)
        self.evals = 0

    def estep(self, theta, gate=None):
        """Mean log-likelihood at theta and the state the M-step needs: the responsibilities (k, n)
        and the gate (:func:`_gate`) at theta, which ``gate`` gives when the M-step computed it."""
        W, coef, var = _unpack(theta, self.k, self.p)
        if not (np.all(np.isfinite(W)) and np.all(np.isfinite(coef)) and np.all(np.isfinite(var))
                and np.all(var > 0)):
            return -np.inf, None
        gate = _gate(W, self.Xt, self.top_k) if gate is None else gate
        resid = self.y - coef @ self.Xt
        lc = gate[0] + ((-0.5 * (_LOG_2PI + np.log(var)))[:, None] - resid**2 * (0.5 / var)[:, None])
        m = lc.max(axis=0)
        if not np.all(np.isfinite(m)):
            return -np.inf, None
        E = np.exp(lc - m)  # one exponential per entry: the responsibilities are E / sum E
        s = E.sum(axis=0)
        return float(np.mean(m + np.log(s))), (E / s, gate)

    def mstep(self, theta, state):
        """One EM step from theta, whose E-step gave ``state``: the new parameters and their gate."""
        R, gate = state
        W, _, _ = _unpack(theta, self.k, self.p)
        coef, var = _m_experts(self.Xt, self.y, R, self.var_floor, self.XXt, self.Xyt)
        W, gate = _gate_newton(W, self.Xt, R, self.top_k, self.XXt, gate=gate)
        self.evals += 1
        return _pack(W, coef, var), gate

    def model(self, theta):
        return _to_model(*_unpack(theta, self.k, self.p), self.top_k, self.x_range)


def _polish_gate(em, theta, ll, steps=(0.05, 0.01, 0.002)):
    """Compass search on the gate parameters of the observed likelihood, experts fixed.

    With a top-K gate the responsibilities of unselected experts are zero, so EM gets no signal to
    move the boundaries where the selection changes; a direct search on the likelihood moves them.
    Returns the improved parameters and their mean log-likelihood."""
    m = (em.k - 1) * em.p
    theta = theta.copy()
    for h in steps:
        for _ in range(3):
            improved = False
            for i in range(m):
                for sign in (1.0, -1.0):
                    trial = theta.copy()
                    trial[i] += sign * h
                    ll_t = em.estep(trial)[0]
                    if ll_t > ll:
                        theta, ll, improved = trial, ll_t, True
                        break
            if not improved:
                break
    return theta, ll


def _run(x, y, start: GaussianMoE, tol, max_iter, accelerate):
    """EM from one start; with ``accelerate``, SQUAREM steps (Varadhan and Roland, 2008) that are kept
    only when they do not lower the likelihood, so the iterations stay monotone. A sparse gate alternates
    EM with :func:`_polish_gate` until neither improves the likelihood."""
    em = _EM(x, y, start.k, start.top_k, start.x_range)
    theta = _pack(*_from_model(start))
    if start.top_k is not None and start.top_k < start.k:
        history = []
        for _ in range(5):
            theta, ll, conv, hist = _em_loop(em, theta, tol, max_iter, accelerate)
            history.extend(hist)
            polished, ll_p = _polish_gate(em, theta, ll)
            if ll_p - ll <= tol * max(abs(ll), 1.0) or em.evals >= max_iter:
                break
            theta = polished
        model = em.model(theta)
        return model, model.log_likelihood(x, y), em.evals, conv, np.asarray(history)
    theta, ll, conv, history = _em_loop(em, theta, tol, max_iter, accelerate)
    model = em.model(theta)
    return model, model.log_likelihood(x, y), em.evals, conv, np.asarray(history)


def _em_loop(em, theta, tol, max_iter, accelerate):
    ll, R = em.estep(theta)
    history = [ll]
    converged = False
    alpha_min = -1.0
    while em.evals < max_iter:
        ll_old = ll
        theta1, gate1 = em.mstep(theta, R)
        ll1, R1 = em.estep(theta1, gate1)
        if not accelerate or em.evals >= max_iter:
            theta, ll, R = theta1, ll1, R1
        else:
            theta2, gate2 = em.mstep(theta1, R1)
            ll2, R2 = em.estep(theta2, gate2)
            theta0 = theta
            r = theta1 - theta0
            v = theta2 - theta1 - r
            nv = np.linalg.norm(v)
            theta, ll, R = theta2, ll2, R2
            if nv > 0:
                alpha = min(-1.0, -np.linalg.norm(r) / nv)
                alpha = max(alpha, 4.0 * alpha_min)  # let the extrapolation grow gradually
                theta_x = theta0 - 2 * alpha * r + alpha**2 * v
                ll_x, R_x = em.estep(theta_x)
                if np.isfinite(ll_x) and ll_x >= ll2:
                    theta, ll, R = theta_x, ll_x, R_x
                    alpha_min = alpha
                else:
                    alpha_min = min(-1.0, alpha_min / 4.0)
        history.append(ll)
        if abs(ll - ll_old) <= tol * max(abs(ll), 1.0):
            converged = True
            break
    return theta, ll, converged, history


def random_start(x, y, k: int, rng: np.random.Generator, top_k: int | None = None,
                 x_range=(0.0, 1.0)) -> GaussianMoE:
    """A random start: soft clusters of the standardised (x, y) around k random data points, then one
    M-step (experts by weighted least squares, gate by a few Newton steps)."""
    x = np.asarray(x, dtype=np.float64)
    z = np.concatenate([x, y[:, None]], axis=1)
    z = (z - z.mean(axis=0)) / (z.std(axis=0) + 1e-12)
    centres = z[rng.choice(z.shape[0], size=k, replace=False)]
    d2 = ((z[:, None, :] - centres[None]) ** 2).sum(axis=2)
    logits = -d2 / 0.2
    R = np.exp(logits.T - logits.max(axis=1))  # (k, n)
    R /= R.sum(axis=0)
    Xt = np.ascontiguousarray(_design(x).T)
    coef, var = _m_experts(Xt, y, R, _VAR_FLOOR * float(np.var(y)))
    W = np.zeros((k, Xt.shape[0]))
    for _ in range(5):
        W, _ = _gate_newton(W, Xt, R, None)
    return _to_model(W, coef, var, top_k, x_range)


def fit_em(x, y, k: int, top_k: int | None = None, init=None, n_starts: int = 1, tol: float = 1e-10,
           max_iter: int = 2000, rng: np.random.Generator | None = None, accelerate: bool = True) -> FitResult:
    """Fit a k-expert (top-K) Gaussian MoE to ``(x, y)`` by EM; keep the best of several starts.

    Parameters
    ----------
    x : array_like, shape (n, d) or (n,)
        Covariates.
    y : array_like, shape (n,)
        Responses.
    k : int
        Number of experts to fit.
    top_k : int, optional
        Fit a top-K sparse gate; None (default) fits the dense softmax gate.
    init : GaussianMoE or sequence of GaussianMoE, optional
        Starting model(s) (their ``top_k`` is replaced by the ``top_k`` argument). Without it, ``n_starts`` random starts (:func:`random_start`).
    n_starts : int
        Number of random starts when ``init`` is not given.
    tol : float
        Stop when the mean log-likelihood ``l`` changes by less than ``tol * max(|l|, 1)`` in one
        iteration. The default 1e-10 is tight; 1e-6 is the loose stop of paper 1's official code.
    max_iter : int
        Cap on EM steps (M-steps) per start; a start that reaches it is reported as not converged.
    rng : numpy.random.Generator, optional
        For the random starts.
    accelerate : bool
        Extrapolate the EM iterates with SQUAREM (Varadhan and Roland, 2008), keeping an extrapolated
        point only if it does not lower the likelihood. It saves most iterations when EM is slow, as in
        over-fitted models; False gives plain EM.

    Returns
    -------
    FitResult

    Examples
    --------
    >>> import numpy as np
    >>> from softlib.chapters.moe import paper1_truth
    >>> truth = paper1_truth()
    >>> x, y = truth.sample(2000, np.random.default_rng(1))
    >>> fit = fit_em(x, y, k=2, init=truth)
    >>> fit.converged, bool(np.abs(fit.model.a - truth.a).max() < 0.5)
    (True, True)
    """
    if int(k) != k or k < 1:
        raise ValueError(f"k must be a positive integer, got {k!r}")
    k = int(k)
    if tol <= 0 or max_iter < 1:
        raise ValueError("tol must be positive and max_iter at least 1")
    x = np.asarray(x, dtype=np.float64)
    if x.ndim == 1:
        x = x[:, None]
    y = np.asarray(y, dtype=np.float64).reshape(-1)
    if x.ndim != 2 or x.shape[0] != y.shape[0]:
        raise ValueError(f"x must be (n, d) with n = len(y) = {y.shape[0]}, got {x.shape}")
    if x.shape[0] < k * (x.shape[1] + 2):
        raise ValueError(f"{x.shape[0]} samples are too few for {k} experts in d = {x.shape[1]}")
    if not (np.all(np.isfinite(x)) and np.all(np.isfinite(y))):
        raise ValueError("x and y must be finite")
    if init is None:
        if int(n_starts) != n_starts or n_starts < 1:
            raise ValueError(f"n_starts must be a positive integer, got {n_starts!r}")
        rng = np.random.default_rng() if rng is None else rng
        lo, hi = float(x.min()), float(x.max())
        starts = [random_start(x, y, k, rng, top_k, (lo, hi) if lo < hi else (lo, lo + 1.0))
                  for _ in range(int(n_starts))]
    else:
        starts = [init] if isinstance(init, GaussianMoE) else list(init)
        for s in starts:
            if not isinstance(s, GaussianMoE):
                raise TypeError(f"init must be a GaussianMoE or a sequence of them, got {type(s).__name__}")
            if s.k != k or s.d != x.shape[1]:
                raise ValueError(f"a start has k={s.k}, d={s.d}; expected k={k}, d={x.shape[1]}")
        starts = [s.replace(top_k=top_k) for s in starts]  # the fitted gate is the one asked for
    _as_x(x, starts[0].d)
    runs = [_run(x, y, s, tol, int(max_iter), accelerate) for s in starts]
    best = max(range(len(runs)), key=lambda i: runs[i][1])
    model, ll, it, conv, hist = runs[best]
    return FitResult(model, ll, it, conv, hist, [(r[1], r[3], r[2]) for r in runs])
