"""Replicated fits of any model over a grid of sample sizes, in parallel, cached, with log-log slopes.

:func:`~softlib.chapters.moe.study.convergence_study` runs this loop for
:class:`~softlib.chapters.moe.model.GaussianMoE` fitted by EM. :func:`replicated_study` runs it for any model: the caller gives a module-level function
``fit_one(spec, n, seed)`` that draws a sample of size ``n``, fits, and returns a dict of non-negative
numbers (losses, parameter errors, flags). The results are collected into (sizes x replications) arrays,
whose log-log slopes come with the bootstrap intervals of :func:`~softlib.chapters.moe.study.loglog_slope`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .runner import cache_path, check_grid, load_cached, replication_seed, run_grid, store_cached
from .study import loglog_slope

__all__ = ["replicated_study", "Replications"]


@dataclass
class Replications:
    """Results of :func:`replicated_study`.

    Attributes
    ----------
    ns : ndarray (m,)
        Sample sizes.
    values : dict of str to ndarray (m, reps)
        Every quantity ``fit_one`` returned, per size and replication.
    seconds : float
        Wall-clock time the fits took (when read from the cache: the time they took then).
    """

    ns: np.ndarray
    values: dict
    seconds: float
    args: dict = field(default_factory=dict, repr=False)

    def __getitem__(self, name) -> np.ndarray:
        return self.values[name]

    def slope(self, name: str, n_boot: int = 2000):
        """(slope, (low, high)) of log mean ``values[name]`` against log n."""
        return loglog_slope(self.ns, self.values[name], n_boot=n_boot)

    def mean(self, name: str) -> np.ndarray:
        return np.nanmean(self.values[name], axis=1)


def _call(job):
    fit_one, spec, n, seed = job
    return fit_one(spec, n, seed)


def replicated_study(fit_one, spec: dict, ns, reps: int, *, seed: int = 0, processes=None,
                     cache_dir="default", progress: bool = True, desc: str = "fits") -> Replications:
    """Run ``fit_one(spec, n, seed)`` for every n in ``ns`` and ``reps`` seeds; collect the results.

    Parameters
    ----------
    fit_one : callable
        A module-level function (it is sent to worker processes) returning a dict of floats.
    spec : dict
        Everything ``fit_one`` needs besides n and the seed, JSON-serialisable (it keys the cache).
    ns : sequence of int
        At least two sample sizes.
    reps : int
        Replications per size; replication r of size n uses the seed drawn from ``(seed, n, r)``.
    processes : int, optional
        Worker processes (default: the number of CPUs); 1 runs in this process.
    cache_dir : path, "default" or None
        The on-disk cache (keyed by ``fit_one``'s name, ``spec``, the grid, the seed and the source of
        ``softlib.chapters.moe``); None disables it.
    progress : bool
        Show a tqdm progress bar.

    Returns
    -------
    Replications

    Examples
    --------
    >>> from softlib.chapters.moe.replicate import replicated_study, _demo_fit
    >>> st = replicated_study(_demo_fit, {"scale": 1.0}, [100, 10000], 20, processes=1,
    ...                       cache_dir=None, progress=False)
    >>> round(st.slope("error")[0], 1)                 # the error of a sample mean: n^-1/2
    -0.5
    """
    ns = check_grid(ns, reps)
    if not callable(fit_one):
        raise TypeError("fit_one must be a function fit_one(spec, n, seed) -> dict")
    args = dict(fit=f"{fit_one.__module__}.{fit_one.__qualname__}", spec=spec, ns=[int(n) for n in ns],
                reps=int(reps), seed=int(seed))
    path = cache_path(cache_dir, "reps", args)
    cached = load_cached(path)
    if cached is not None:
        return cached
    jobs = [((a, r), (fit_one, spec, int(n), replication_seed(seed, n, r)))
            for a, n in enumerate(ns) for r in range(int(reps))]
    jobs.sort(key=lambda j: -ns[j[0][0]])  # largest n first: better load balance
    results, seconds = run_grid(_call, jobs, processes, desc, progress)
    names = list(results[0, 0])
    values = {name: np.array([[float(results[a, r][name]) for r in range(int(reps))] for a in range(ns.size)])
              for name in names}
    out = Replications(ns, values, seconds, args)
    store_cached(path, out)
    return out


def _demo_fit(spec, n, seed):
    """The error of the mean of n standard normals (used in the docstring example)."""
    rng = np.random.default_rng(seed)
    return {"error": abs(spec["scale"] * rng.standard_normal(n).mean())}
