"""softlib.chapters.moe.study: slopes of synthetic power laws, the convergence study and its cache keys."""

from pathlib import Path

import numpy as np
import pytest

from softlib.chapters.moe import convergence_study, loglog_slope, paper1_truth
from softlib.chapters.moe import runner as runner_mod
from softlib.chapters.moe import study as study_mod


def test_slope_of_noisy_power_laws():
    rng = np.random.default_rng(0)
    ns = np.array([500, 1000, 2000, 4000, 8000, 16000])
    for true_slope in (-0.5, -0.25, -0.125):
        v = 2.0 * ns[:, None] ** true_slope * rng.lognormal(0, 0.2, size=(ns.size, 40))
        s, (lo, hi) = loglog_slope(ns, v, rng=np.random.default_rng(1))
        assert lo < s < hi and lo <= true_slope <= hi and hi - lo < 0.1


def test_slope_refuses_bad_input():
    with pytest.raises(ValueError, match="non-negative"):
        loglog_slope([1, 2], [[1.0], [-1.0]])
    with pytest.raises(ValueError, match="positive mean"):
        loglog_slope([1, 2], [[1.0], [0.0]])
    with pytest.raises(ValueError, match="distinct"):
        loglog_slope([5, 5], [[1.0], [2.0]])


def _small(tmp_path, **kw):
    args = dict(truth=paper1_truth(), k=2, ns=[300, 600], reps=2, losses=("D1",), processes=1,
                cache_dir=tmp_path, progress=False, n_starts=1, max_iter=200)
    args.update(kw)
    return convergence_study(**args)


def test_study_shapes_and_slope(tmp_path):
    st = _small(tmp_path, losses=("D1", "D2", "hellinger"))
    assert st.losses["D1"].shape == (2, 2) and st.errors["a"].shape == (2, 2, 2)
    assert np.all(st.losses["D1"] > 0) and np.all(st.losses["hellinger"] > 0)
    assert isinstance(st.slope, float) and st.ci[0] <= st.ci[1]


def test_cache_is_keyed_by_arguments_and_source(tmp_path, monkeypatch):
    first = _small(tmp_path)
    assert len(list(tmp_path.glob("study-*.pkl"))) == 1
    again = _small(tmp_path)                       # same arguments: read from the cache
    assert again.seconds == first.seconds
    _small(tmp_path, seed=1)                       # another argument: another entry
    assert len(list(tmp_path.glob("study-*.pkl"))) == 2
    monkeypatch.setattr(runner_mod, "source_hash", lambda: "changed source")
    fresh = _small(tmp_path)                       # same arguments, other code: recomputed
    assert len(list(tmp_path.glob("study-*.pkl"))) == 3 and fresh.seconds != first.seconds


def test_parallel_matches_serial(tmp_path):
    a = _small(tmp_path / "a")
    b = _small(tmp_path / "b", processes=2)
    assert np.array_equal(a.losses["D1"], b.losses["D1"])


def test_default_cache_dir_is_under_build_in_the_repository():
    d = study_mod.default_cache_dir()
    assert d.name == "moe-cache" and d.parent.name == "_build"


def test_default_cache_dir_from_another_folder(tmp_path, monkeypatch):
    """Run from elsewhere, the studies still find the repository's cache from their own place in it
    (softlib/chapters/moe/), unless SOFTLIB_CACHE_DIR names a folder."""
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv(runner_mod.CACHE_ENV, raising=False)
    assert study_mod.default_cache_dir() == Path(__file__).resolve().parents[1] / "_build" / "moe-cache"
    monkeypatch.setenv(runner_mod.CACHE_ENV, str(tmp_path / "mine"))
    assert study_mod.default_cache_dir() == tmp_path / "mine"


def test_study_refuses_bad_input(tmp_path):
    with pytest.raises(ValueError, match="ns"):
        _small(tmp_path, ns=[300])
    with pytest.raises(ValueError, match="split"):
        _small(tmp_path, k=3)
    with pytest.raises(ValueError, match="losses"):
        _small(tmp_path, losses=("D7",))
