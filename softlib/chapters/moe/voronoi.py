"""Voronoi losses between a fitted mixture of experts and the truth {cite}`nguyen2023demystifying`.

Write ``theta_i = (beta1_i, a_i, b_i, sigma_i)`` for fitted expert i and ``theta*_j`` for true expert j.
The **Voronoi cell** of true expert j is ``A_j = {i : |theta_i - theta*_j| <= |theta_i - theta*_l| for all l}``
(ties go to the lower j). With ``dX_ij = X_i - X*_j``:

* D1 (exact-fitted, paper 1's eq. for D_1):
  ``sum_j |sum_{i in A_j} exp(beta0_i) - exp(beta0*_j)|
  + sum_j sum_{i in A_j} exp(beta0_i) (|dbeta1_ij| + |da_ij| + |db_ij| + |dsigma_ij|)``;
* D2 (over-fitted): the same, except that in a cell with ``m = |A_j| > 1`` atoms the bracket becomes
  ``|dbeta1|^r + |db|^r + |da|^(r/2) + |dsigma|^(r/2)`` with ``r = rbar(m)``, ``rbar(2) = 4``,
  ``rbar(3) = 6``.

**Translation.** The gate is unchanged when every ``(beta0_i, beta1_i)`` is moved by the same
``(t0, t1)``, so the loss of a fitted model is the infimum over translations of the loss of the moved model.
How :func:`voronoi_fit` computes that infimum exactly:

1. Fix an assignment ``c`` of fitted experts to true ones (the cells). Writing ``s = exp(t0)``, the loss is
   ``f_c(s, t1) = sum_j |s S_j - w_j| + s K_c(t1)``, with ``S_j`` the fitted gate mass in cell j, ``w_j =
   exp(beta0*_j)`` and ``K_c(t1) = C_c + M_c(t1)``, where only ``M_c`` (the beta1 terms) depends on t1.
   ``M_c`` is a sum of increasing convex functions of ``|beta1_i + t1 - beta1*_c(i)|``, hence convex, and
   it does not involve s. So ``min_{s, t1} f_c = min_s [ sum_j |s S_j - w_j| + s min_t1 K_c ]``: first the
   convex problem in t1 (its minimiser lies in the convex hull of the points ``beta1*_c(i) - beta1_i``),
   then a convex piecewise-linear function of s, whose minimum is at one of its kinks ``s = w_j / S_j`` or
   at ``s -> 0``.
2. The Voronoi cells depend on t1 (not on t0). The infimum over all t of the Voronoi loss is the minimum,
   over assignments c, of ``f_c`` restricted to the translations t1 whose Voronoi cells are c; it is
   therefore at least ``L = min_c min f_c`` over every assignment. When an assignment attaining ``L`` has its
   minimising t1 inside its own Voronoi region (its cells at that t1 are c), ``L`` is attained and is the
   infimum: the result is exact (``exact=True``). This is what happens near the truth, where the rates
   live. Otherwise the function returns the best Voronoi-consistent value found, an upper bound
   (``exact=False``).

Pinning the last expert of both models at zero, as paper 1's official code does, is a particular
translation and not the minimising one: when the pinned expert is one of several fitted copies of a true
expert, the loss stays of order one however good the fit (``translate=False`` reproduces it).
"""

from __future__ import annotations

from dataclasses import dataclass
import itertools

import numpy as np
from scipy.optimize import minimize, minimize_scalar

from .model import GaussianMoE

__all__ = ["voronoi_loss", "voronoi_fit", "VoronoiFit", "voronoi_cells", "parameter_errors", "RBAR"]

RBAR = {1: 1, 2: 4, 3: 6}
"""rbar(m) of paper 1 for a Voronoi cell of m atoms (1 means the exact-fitted exponents)."""

_MAX_ASSIGNMENTS = 20000


@dataclass(frozen=True)
class VoronoiFit:
    """A Voronoi loss with the translation that attains it.

    Attributes
    ----------
    value : float
        The loss.
    t0 : float
        Gate-intercept translation added to every fitted beta0_i (-inf when the infimum sends the
        fitted gate mass to zero).
    t1 : ndarray, shape (d,)
        Gate-slope translation added to every fitted beta1_i.
    cells : ndarray of int, shape (k,)
        The true expert whose Voronoi cell holds each fitted expert.
    exact : bool
        Whether ``value`` is provably the infimum over translations (see the module docstring).
    """

    value: float
    t0: float
    t1: np.ndarray
    cells: np.ndarray
    exact: bool


def _theta(model: GaussianMoE, t1) -> np.ndarray:
    return np.concatenate([model.beta1 + t1, model.a, model.b[:, None], model.sigma[:, None]], axis=1)


def voronoi_cells(fitted: GaussianMoE, truth: GaussianMoE, t1=None) -> np.ndarray:
    """For each fitted expert, the index of the true expert whose Voronoi cell holds it.

    Examples
    --------
    >>> from softlib.chapters.moe import paper1_truth
    >>> t = paper1_truth()
    >>> voronoi_cells(t, t).tolist()
    [0, 1]
    """
    t1 = np.zeros(truth.d) if t1 is None else np.asarray(t1, dtype=np.float64)
    th, ts = _theta(fitted, t1), _theta(truth, 0.0)
    dist = np.linalg.norm(th[:, None, :] - ts[None, :, :], axis=2)
    return np.argmin(dist, axis=1)


def _exponents(cells, k_true, kind):
    """Per fitted atom: exponents (p for beta1 and b, q for a and sigma)."""
    sizes = np.bincount(cells, minlength=k_true)
    p = np.ones(cells.size)
    q = np.ones(cells.size)
    if kind == "D2":
        for i, j in enumerate(cells):
            m = int(sizes[j])
            if m > 1:
                if m not in RBAR:
                    raise ValueError(f"D2 knows rbar(m) for cells of at most 3 atoms; a cell has {m}")
                p[i], q[i] = RBAR[m], RBAR[m] / 2
    return p, q


def _parts(fitted, truth, cells, kind):
    """Pieces of f_c: atom weights u_i (up to the factor s), the t1-free term per atom, exponents."""
    p, q = _exponents(cells, truth.k, kind)
    da = np.linalg.norm(fitted.a - truth.a[cells], axis=1)
    db = np.abs(fitted.b - truth.b[cells])
    ds = np.abs(fitted.sigma - truth.sigma[cells])
    rest = db**p + da**q + ds**q
    return rest, p


def _min_t1(fitted, truth, cells, u, p):
    """argmin over t1 of sum_i u_i |beta1_i + t1 - beta1*_c(i)|^p_i (convex)."""
    targets = truth.beta1[cells] - fitted.beta1  # the minimiser lies in their convex hull

    def m(t):
        return float(np.sum(u * np.linalg.norm(targets - t, axis=1) ** p))

    if truth.d == 1:
        lo, hi = targets.min(), targets.max()
        if hi - lo < 1e-14:
            return np.array([lo]), m(np.array([lo]))
        points = targets[:, 0]

        def m1(t):  # m for d = 1, where the norm is an absolute value (the optimiser calls it ~50 times)
            return float(np.sum(u * np.abs(points - t) ** p))

        res = minimize_scalar(m1, bounds=(lo, hi), method="bounded",
                              options={"xatol": 1e-12 * max(1.0, abs(hi - lo))})
        best = min([(res.fun, res.x), *((m1(c), c) for c in points)])
        return np.array([best[1]]), best[0]
    start = np.average(targets, axis=0, weights=u + 1e-300)
    res = minimize(m, start, method="Nelder-Mead", options={"xatol": 1e-10, "fatol": 1e-14, "maxiter": 4000})
    return np.asarray(res.x), float(res.fun)


def _best_s(S, w, K):
    """min over s >= 0 of sum_j |s S_j - w_j| + s K (convex, piecewise linear): value and s."""
    cands = [0.0] + [wj / Sj for Sj, wj in zip(S, w) if Sj > 0]
    vals = [float(np.sum(np.abs(s * S - w)) + s * K) for s in cands]
    i = int(np.argmin(vals))
    return vals[i], cands[i]


def _assignment_value(fitted, truth, cells, kind, u):
    rest, p = _parts(fitted, truth, cells, kind)
    t1, mval = _min_t1(fitted, truth, cells, u, p)
    K = float(np.sum(u * rest)) + mval
    S = np.bincount(cells, weights=u, minlength=truth.k)
    val, s = _best_s(S, np.exp(truth.beta0), K)
    return val, s, t1


def voronoi_fit(fitted: GaussianMoE, truth: GaussianMoE, kind: str = "D1", translate: bool = True) -> VoronoiFit:
    """The Voronoi loss D1 or D2 of ``fitted`` against ``truth``, minimised over gate translations.

    See the module docstring for the definition and the argument that the minimisation is exact.

    Parameters
    ----------
    fitted, truth : GaussianMoE
        Same input dimension; ``fitted`` may have more experts than ``truth``.
    kind : {"D1", "D2"}
        Exact-fitted or over-fitted loss.
    translate : bool
        If False, skip the infimum and compare the models with the last expert of each pinned at
        zero (the convention of paper 1's official code; shown in the book as a pitfall).

    Returns
    -------
    VoronoiFit
    """
    if kind not in ("D1", "D2"):
        raise ValueError(f"kind must be 'D1' or 'D2', got {kind!r}")
    if not isinstance(fitted, GaussianMoE) or not isinstance(truth, GaussianMoE):
        raise TypeError("fitted and truth must be GaussianMoE instances")
    if fitted.d != truth.d:
        raise ValueError(f"input dimensions differ: fitted d={fitted.d}, truth d={truth.d}")
    # A common shift of the fitted beta0 is a translation t0; shift so the largest is 0 (no overflow).
    shift0 = fitted.beta0.max()
    u = np.exp(fitted.beta0 - shift0)
    if not translate:
        f = fitted.replace(beta0=fitted.beta0 - fitted.beta0[-1], beta1=fitted.beta1 - fitted.beta1[-1])
        t = truth.replace(beta0=truth.beta0 - truth.beta0[-1], beta1=truth.beta1 - truth.beta1[-1])
        cells = voronoi_cells(f, t)
        rest, p = _parts(f, t, cells, kind)
        uf = np.exp(f.beta0)
        dbeta1 = np.linalg.norm(f.beta1 - t.beta1[cells], axis=1) ** p
        S = np.bincount(cells, weights=uf, minlength=t.k)
        value = float(np.sum(np.abs(S - np.exp(t.beta0))) + np.sum(uf * (rest + dbeta1)))
        return VoronoiFit(value, float(-fitted.beta0[-1]), -fitted.beta1[-1] + truth.beta1[-1], cells, False)

    k, k_true = fitted.k, truth.k
    if k_true ** k <= _MAX_ASSIGNMENTS:
        assignments = [np.array(c) for c in itertools.product(range(k_true), repeat=k)]
    else:  # too many to enumerate: the Voronoi cells at t1 = 0 only
        assignments = [voronoi_cells(fitted, truth)]
    results = []
    for cells in assignments:
        try:
            val, s, t1 = _assignment_value(fitted, truth, cells, kind, u)
        except ValueError:  # a cell too large for D2: not a candidate
            continue
        results.append((val, s, t1, cells))
    results.sort(key=lambda r: r[0])
    lower = results[0][0]
    for val, s, t1, cells in results:
        if np.array_equal(voronoi_cells(fitted, truth, t1), cells):
            exact = val <= lower * (1 + 1e-9) + 1e-300
            t0 = np.log(s) - shift0 if s > 0 else -np.inf
            return VoronoiFit(float(val), float(t0), t1, cells, bool(exact))
    raise RuntimeError("no Voronoi-consistent assignment found")  # unreachable: t1's own cells qualify


def voronoi_loss(fitted: GaussianMoE, truth: GaussianMoE, kind: str = "D1", translate: bool = True) -> float:
    """The Voronoi loss D1 or D2 (a float); see :func:`voronoi_fit`.

    Examples
    --------
    >>> import numpy as np
    >>> from softlib.chapters.moe import paper1_truth
    >>> t = paper1_truth()
    >>> voronoi_loss(t, t)
    0.0
    >>> moved = t.replace(beta0=t.beta0 + 3.0, beta1=t.beta1 - 7.0)  # the same gate
    >>> round(voronoi_loss(moved, t), 12)
    0.0
    """
    return voronoi_fit(fitted, truth, kind, translate).value


def parameter_errors(fitted: GaussianMoE, truth: GaussianMoE, kind: str = "D1", *,
                     vfit: VoronoiFit | None = None) -> dict:
    """Per true expert j, the gate-weighted mean error of each parameter over its Voronoi cell.

    After the translation that attains the loss ``kind``, the error of parameter X for true expert j is
    ``sum_{i in A_j} exp(beta0_i) |X_i - X*_j| / sum_{i in A_j} exp(beta0_i)``, and the gate mass error
    is ``|sum_{i in A_j} exp(beta0_i) - exp(beta0*_j)|`` (NaN for an empty cell).

    ``vfit``, when given, is ``voronoi_fit(fitted, truth, kind)`` already computed (it is not
    computed again).

    Returns
    -------
    dict
        ``{"mass", "beta1", "a", "b", "sigma"}`` to arrays of shape (truth.k,), and ``"cell_size"``.

    Examples
    --------
    >>> from softlib.chapters.moe import paper1_truth
    >>> t = paper1_truth()
    >>> parameter_errors(t.replace(b=[15.0, -4.5]), t)["b"].tolist()
    [0.0, 0.5]
    """
    vf = voronoi_fit(fitted, truth, kind) if vfit is None else vfit
    c = vf.cells
    # Within a cell only relative gate masses matter, so the weights need no t0 (which may be -inf).
    w = np.exp(fitted.beta0 - fitted.beta0.max())
    errs = {
        "beta1": np.linalg.norm(fitted.beta1 + vf.t1 - truth.beta1[c], axis=1),
        "a": np.linalg.norm(fitted.a - truth.a[c], axis=1),
        "b": np.abs(fitted.b - truth.b[c]),
        "sigma": np.abs(fitted.sigma - truth.sigma[c]),
    }
    mass = np.exp(fitted.beta0 + vf.t0) if np.isfinite(vf.t0) else np.zeros(fitted.k)
    occupied = np.bincount(c, minlength=truth.k) > 0
    out = {"mass": np.where(occupied, np.abs(np.bincount(c, weights=mass, minlength=truth.k) - np.exp(truth.beta0)), np.nan)}
    S = np.bincount(c, weights=w, minlength=truth.k)
    for name, e in errs.items():
        num = np.bincount(c, weights=w * e, minlength=truth.k)
        with np.errstate(invalid="ignore", divide="ignore"):
            out[name] = np.where(occupied, num / np.where(S > 0, S, 1.0), np.nan)
    out["cell_size"] = np.bincount(c, minlength=truth.k)
    return out
