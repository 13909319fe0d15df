"""Convergence studies: fit the MoE over a grid of sample sizes and replications, fit the log-log slope.

The loss of the maximum-likelihood estimate behaves like ``C n^slope``; {cite}`nguyen2023demystifying`
plot log mean loss against log n and fit a line by least squares. :func:`convergence_study` does the
same, in parallel processes with a progress bar, with a bootstrap confidence interval, and keeps the
results in an on-disk cache keyed by every argument and by a hash of the source of ``softlib.chapters.moe``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .em import fit_em
from .model import GaussianMoE, density_hellinger
from .runner import (cache_path, check_grid, default_cache_dir, load_cached, replication_seed, run_grid,
                     source_hash, store_cached)
from .voronoi import parameter_errors, voronoi_fit, voronoi_loss

__all__ = ["convergence_study", "ConvergenceStudy", "loglog_slope", "plot_loglog", "start_near", "source_hash",
           "default_cache_dir"]

PARAMS = ("mass", "beta1", "a", "b", "sigma")


def loglog_slope(ns, values, n_boot: int = 2000, level: float = 0.95, rng=None):
    """Least-squares slope of log(mean value) against log n, with a bootstrap confidence interval.

    Parameters
    ----------
    ns : array_like, shape (m,)
        Sample sizes (at least two distinct).
    values : array_like, shape (m, reps)
        Non-negative values (losses, errors) with a positive mean per row, one row per sample size;
        NaN entries are ignored. A bootstrap resample whose mean is zero is dropped.
    n_boot : int
        Bootstrap resamples: the replications of each row are resampled with replacement.
    level : float
        Confidence level of the percentile interval.

    Returns
    -------
    slope : float
    ci : (float, float)

    Examples
    --------
    >>> import numpy as np
    >>> ns = np.array([100, 1000, 10000])
    >>> v = 3.0 * ns[:, None] ** -0.5 * np.ones((3, 4))
    >>> s, ci = loglog_slope(ns, v)
    >>> round(s, 6), round(ci[0], 6), round(ci[1], 6)
    (-0.5, -0.5, -0.5)
    """
    ns = np.asarray(ns, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    if v.ndim == 1:
        v = v[:, None]
    if v.shape[0] != ns.size or np.unique(ns).size < 2:
        raise ValueError("values needs one row per n, and ns at least two distinct sizes")
    if np.any(v[np.isfinite(v)] < 0):
        raise ValueError("values must be non-negative, with a positive mean per n, to take logs")
    rng = np.random.default_rng(0) if rng is None else rng
    lx = np.log(ns)
    lxc = lx - lx.mean()

    def slope_of(means):
        ly = np.log(means)
        return float(np.sum(lxc * (ly - ly.mean())) / np.sum(lxc**2))

    rows = [r[np.isfinite(r)] for r in v]
    if any(r.size == 0 or r.mean() <= 0 for r in rows):
        raise ValueError("every n needs finite values with a positive mean (values must be non-negative)")
    slope = slope_of(np.array([r.mean() for r in rows]))
    boots = np.empty((n_boot, ns.size))
    for i, r in enumerate(rows):
        idx = rng.integers(0, r.size, size=(n_boot, r.size))
        boots[:, i] = r[idx].mean(axis=1)
    boots = boots[np.all(boots > 0, axis=1)]
    ly = np.log(boots)
    bs = (ly - ly.mean(axis=1, keepdims=True)) @ lxc / np.sum(lxc**2)
    alpha = (1 - level) / 2
    return slope, (float(np.quantile(bs, alpha)), float(np.quantile(bs, 1 - alpha)))


def start_near(truth: GaussianMoE, k: int, rng: np.random.Generator, noise=(0.0, 0.0), split=None) -> GaussianMoE:
    """A starting model near the truth: ``truth`` with Gaussian noise, or with true experts split.

    Parameters
    ----------
    truth : GaussianMoE
    k : int
        Experts of the start; ``k > truth.k`` needs ``split``.
    noise : (float, float)
        Standard deviations of the noise added to the gate (beta0, beta1) and to the experts (a, b);
        the variances are multiplied by ``exp(expert noise)``.
    split : int or sequence of int, optional
        True experts to copy, one extra atom each (``k - truth.k`` in all); a copied expert and its
        copies share its gate mass (beta0 lowered by log of the number of atoms).

    Examples
    --------
    >>> import numpy as np
    >>> from softlib.chapters.moe import paper1_truth
    >>> s = start_near(paper1_truth(), 3, np.random.default_rng(0), split=1)
    >>> s.k, np.exp(s.beta0).round(2).tolist()
    (3, [0.0, 0.5, 0.5])
    """
    split = [] if split is None else ([split] if np.isscalar(split) else list(split))
    if truth.k + len(split) != k:
        raise ValueError(f"a start with k={k} from k*={truth.k} needs {k - truth.k} split experts, got {split}")
    idx = np.array(list(range(truth.k)) + [int(j) for j in split])
    counts = np.bincount(idx, minlength=truth.k)
    gs, es = noise
    z = lambda shape: rng.standard_normal(shape)  # noqa: E731
    return truth.replace(
        beta0=truth.beta0[idx] - np.log(counts[idx]) + gs * z(k),
        beta1=truth.beta1[idx] + gs * z((k, truth.d)),
        a=truth.a[idx] + es * z((k, truth.d)),
        b=truth.b[idx] + es * z(k),
        sigma=truth.sigma[idx] * np.exp(es * z(k)),
    )


@dataclass
class ConvergenceStudy:
    """Results of :func:`convergence_study`.

    Attributes
    ----------
    ns : ndarray, shape (m,)
    losses : dict of str to ndarray (m, reps)
        ``"D1"``, ``"D2"``, ``"D1_pinned"`` (no translation infimum), ``"D2_pinned"``, ``"hellinger"``
        (density error).
    errors : dict of str to ndarray (m, reps, k*)
        Per-parameter errors (:func:`~softlib.chapters.moe.voronoi.parameter_errors`), after the D2
        translation.
    cell_size : ndarray (m, reps, k*)
    converged, n_iter : ndarray (m, reps)
    loss : str
        The loss whose slope ``slope`` and ``ci`` report.
    """

    ns: np.ndarray
    losses: dict
    errors: dict
    cell_size: np.ndarray
    converged: np.ndarray
    n_iter: np.ndarray
    loss: str
    seconds: float
    args: dict = field(default_factory=dict, repr=False)

    def slope_of(self, values, n_boot: int = 2000):
        """(slope, ci) of a (m, reps) array, or of a loss named by a string."""
        if isinstance(values, str):
            values = self.losses[values]
        return loglog_slope(self.ns, values, n_boot=n_boot)

    @property
    def slope(self) -> float:
        return self.slope_of(self.loss)[0]

    @property
    def ci(self) -> tuple:
        return self.slope_of(self.loss)[1]


def _one_fit(job):
    """One replication: sample, start, fit, losses. Runs in a worker process."""
    (truth_d, k, n, seed, top_k, init, noise, noise_exponent, split, n_starts, tol, max_iter,
     losses, accelerate) = job
    truth = GaussianMoE(**truth_d)
    rng = np.random.default_rng(seed)
    x, y = truth.sample(n, rng)
    scale = n ** (-noise_exponent)
    if init == "near":
        start = start_near(truth, k, rng, (noise[0] * scale, noise[1] * scale), split)
        fit = fit_em(x, y, k, top_k=top_k, init=start, tol=tol, max_iter=max_iter, accelerate=accelerate)
    else:
        fit = fit_em(x, y, k, top_k=top_k, n_starts=n_starts, tol=tol, max_iter=max_iter, rng=rng,
                     accelerate=accelerate)
    m = fit.model
    out = {"converged": fit.converged, "n_iter": fit.n_iter}
    fits = {}  # each Voronoi infimum once: the losses and the parameter errors share it
    for name in losses:
        if name == "hellinger":
            out[name] = density_hellinger(m, truth)
        elif name.endswith("_pinned"):
            out[name] = voronoi_loss(m, truth, name[:2], translate=False)
        else:
            fits[name] = voronoi_fit(m, truth, name)
            out[name] = fits[name].value
    kind = "D2" if "D2" in losses else "D1"
    pe = parameter_errors(m, truth, kind, vfit=fits.get(kind))
    out["errors"] = {p: pe[p] for p in PARAMS}
    out["cell_size"] = pe["cell_size"]
    return out


def convergence_study(truth: GaussianMoE, k: int, ns, reps: int, *, top_k=None, init="near",
                      noise=(0.0, 0.0), noise_exponent=0.0, split=None, n_starts=3, tol=1e-10,
                      max_iter=2000, accelerate=True, losses=("D1", "D2", "hellinger"), loss=None, seed=0,
                      processes=None, cache_dir="default", progress=True) -> ConvergenceStudy:
    """Fit a k-expert MoE by EM to ``reps`` samples of each size in ``ns`` drawn from ``truth``.

    Parameters
    ----------
    truth : GaussianMoE
        The data-generating model.
    k : int
        Experts in the fitted model (``k > truth.k``: over-fitted).
    ns : sequence of int
        Sample sizes.
    reps : int
        Replications per sample size (independent samples, seeded from ``seed``, n and the index).
    top_k : int, optional
        Top-K gate of the fitted model.
    init : {"near", "random"}
        "near": one start near the truth (:func:`start_near` with ``noise`` scaled by
        ``n ** -noise_exponent`` and ``split``); "random": ``n_starts`` random starts.
    tol, max_iter, accelerate
        EM stopping rule and SQUAREM acceleration (:func:`~softlib.chapters.moe.em.fit_em`).
    losses : sequence of str
        Which of "D1", "D2", "D1_pinned", "D2_pinned", "hellinger" to compute.
    loss : str, optional
        The loss behind ``.slope`` and ``.ci``; by default the first of ``losses``.
    processes : int, optional
        Worker processes (default: the number of CPUs, at most 2 when unknown); 1 runs in-process.
    cache_dir : path, "default" or None
        Where results are cached (:func:`default_cache_dir` for "default"); None disables the cache.
        The key hashes every argument and :func:`source_hash`, so a change to the code or to any
        argument recomputes.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    ConvergenceStudy

    Examples
    --------
    >>> from softlib.chapters.moe import paper1_truth
    >>> st = convergence_study(paper1_truth(), k=2, ns=[400, 1600], reps=2, noise=(0.1, 0.1),
    ...                        losses=("D1",), processes=1, cache_dir=None, progress=False)
    >>> st.losses["D1"].shape, bool(st.converged.all()), st.slope < 0
    ((2, 2), True, True)
    """
    ns = check_grid(ns, reps)
    if init not in ("near", "random"):
        raise ValueError(f"init must be 'near' or 'random', got {init!r}")
    known = {"D1", "D2", "D1_pinned", "D2_pinned", "hellinger"}
    losses = tuple(losses)
    if not losses or not set(losses) <= known:
        raise ValueError(f"losses must be a non-empty subset of {sorted(known)}, got {losses}")
    loss = losses[0] if loss is None else loss
    if loss not in losses:
        raise ValueError(f"loss {loss!r} is not among the computed losses {losses}")
    if init == "near" and k != truth.k + (0 if split is None else np.size(split)):
        raise ValueError("init='near' needs split to name k - truth.k true experts to copy")
    args = dict(truth=truth.as_dict(), k=int(k), ns=[int(n) for n in ns], reps=int(reps), top_k=top_k,
                init=init, noise=[float(v) for v in noise], noise_exponent=float(noise_exponent),
                split=None if split is None else np.atleast_1d(split).astype(int).tolist(),
                n_starts=int(n_starts), tol=float(tol), max_iter=int(max_iter),
                accelerate=bool(accelerate), losses=list(losses),
                loss=loss, seed=int(seed))
    path = cache_path(cache_dir, "study", args)
    cached = load_cached(path)
    if cached is not None:
        return cached
    jobs = [((a, r), (args["truth"], int(k), int(n), replication_seed(seed, n, r), top_k, init, tuple(noise),
                      float(noise_exponent), args["split"], int(n_starts), float(tol), int(max_iter), losses,
                      bool(accelerate)))
            for a, n in enumerate(ns) for r in range(int(reps))]
    jobs.sort(key=lambda j: -ns[j[0][0]])  # largest n first: better load balance
    results, seconds = run_grid(_one_fit, jobs, processes, f"fits (k={k}, {len(ns)} sizes x {reps})", progress)

    m, R = ns.size, int(reps)
    study = ConvergenceStudy(
        ns=ns,
        losses={name: np.array([[results[a, r][name] for r in range(R)] for a in range(m)]) for name in losses},
        errors={p: np.array([[results[a, r]["errors"][p] for r in range(R)] for a in range(m)]) for p in PARAMS},
        cell_size=np.array([[results[a, r]["cell_size"] for r in range(R)] for a in range(m)]),
        converged=np.array([[results[a, r]["converged"] for r in range(R)] for a in range(m)]),
        n_iter=np.array([[results[a, r]["n_iter"] for r in range(R)] for a in range(m)]),
        loss=loss, seconds=seconds, args=args,
    )
    store_cached(path, study)
    return study


def plot_loglog(ax, ns, values, *, theory=None, label=None, color=None, marker="o"):
    """Plot the mean of ``values`` (m, reps) against n on log-log axes, with its fitted line and,
    optionally, a theory line of slope ``theory`` through the same centre.

    Returns the fitted slope and its confidence interval (:func:`loglog_slope`)."""
    ns = np.asarray(ns, dtype=np.float64)
    v = np.asarray(values, dtype=np.float64)
    v = v[:, None] if v.ndim == 1 else v
    means = np.array([r[np.isfinite(r)].mean() for r in v])
    slope, ci = loglog_slope(ns, v)
    lx, ly = np.log(ns), np.log(means)
    centre = (lx.mean(), ly.mean())
    line = ax.loglog(ns, means, marker, color=color, label=f"{label}: slope {slope:.2f} [{ci[0]:.2f}, {ci[1]:.2f}]"
                     if label else None)[0]
    color = line.get_color()
    ax.loglog(ns, np.exp(centre[1] + slope * (lx - centre[0])), "-", color=color, lw=1)
    if theory is not None:
        ax.loglog(ns, np.exp(centre[1] + theory * (lx - centre[0])), ":", color=color, lw=1.5)
    return slope, ci
