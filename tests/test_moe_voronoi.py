"""softlib.chapters.moe.voronoi: the losses vanish at the truth, ignore gate translations, and grow with
errors."""

import numpy as np
import pytest

from softlib.chapters.moe import (parameter_errors, paper1_truth, start_near, topk_truth, voronoi_fit,
                                  voronoi_loss)


@pytest.mark.parametrize("kind", ["D1", "D2"])
def test_zero_at_the_truth(kind):
    for t in (paper1_truth(), topk_truth()):
        assert voronoi_loss(t, t, kind) == 0.0


def _split_exactly(t, j):
    """The truth with expert j written as two identical atoms sharing its gate mass."""
    idx = list(range(t.k)) + [j]
    b0 = t.beta0[idx].copy()
    b0[j] -= np.log(2)
    b0[-1] -= np.log(2)
    return t.replace(beta0=b0, beta1=t.beta1[idx], a=t.a[idx], b=t.b[idx], sigma=t.sigma[idx])


@pytest.mark.parametrize("kind", ["D1", "D2"])
def test_invariant_under_gate_translation(kind):
    t = paper1_truth()
    rng = np.random.default_rng(0)
    for _ in range(5):
        f = start_near(t, 3, rng, (0.2, 0.2), split=int(rng.integers(2)))
        base = voronoi_loss(f, t, kind)
        t0, t1 = rng.normal(0, 5), rng.normal(0, 20)
        moved = f.replace(beta0=f.beta0 + t0, beta1=f.beta1 + t1)
        assert np.isclose(voronoi_loss(moved, t, kind), base, rtol=1e-7, atol=1e-12)


def test_split_truth_has_zero_loss_whichever_expert_is_split():
    t = paper1_truth()
    for j in (0, 1):
        s = _split_exactly(t, j)
        assert np.allclose(s.gate(np.linspace(0, 1, 5)[:, None])[:, [0, 1]].sum(axis=1) + s.gate(np.linspace(0, 1, 5)[:, None])[:, 2], 1)
        assert voronoi_loss(s, t, "D2") < 1e-12
        assert voronoi_loss(s.replace(beta0=s.beta0 + 1.7, beta1=s.beta1 - 9.0), t, "D2") < 1e-12


def test_pinning_the_split_expert_is_the_pitfall():
    t = paper1_truth()
    s = _split_exactly(t, 1)  # the duplicated expert is the last, pinned one
    assert voronoi_loss(s, t, "D2") < 1e-12
    assert voronoi_loss(s, t, "D2", translate=False) > 0.9   # stays of order one


def test_translation_found_is_exact_near_the_truth():
    t = paper1_truth()
    f = start_near(t, 3, np.random.default_rng(1), (0.05, 0.05), split=0)
    vf = voronoi_fit(f, t, "D2")
    assert vf.exact and vf.cells.tolist() == [0, 1, 0]
    # A brute-force grid over (t0, t1) never beats it.
    best = min(voronoi_loss(f.replace(beta0=f.beta0 + a, beta1=f.beta1 + b), t, "D2", translate=False)
               for a in np.linspace(-0.3, 0.3, 13) for b in np.linspace(-0.3, 0.3, 13))
    assert vf.value <= best + 1e-12


def test_losses_grow_with_the_error():
    t = paper1_truth()
    vals = [voronoi_loss(t.replace(a=t.a + e, b=t.b - e), t) for e in (0.001, 0.01, 0.1)]
    assert 0 < vals[0] < vals[1] < vals[2]
    assert np.isclose(vals[1] / vals[0], 10, rtol=1e-6)  # D1 is linear in the errors


def test_parameter_errors():
    t = paper1_truth()
    pe = parameter_errors(t.replace(a=[[-20.0], [20.3]], sigma=[0.1, 0.16]), t)
    assert np.allclose(pe["a"], [0.0, 0.3]) and np.allclose(pe["sigma"], [0.01, 0.0])
    assert np.allclose(pe["mass"], 0) and pe["cell_size"].tolist() == [1, 1]


def test_bad_input_is_refused():
    t = paper1_truth()
    with pytest.raises(ValueError, match="kind"):
        voronoi_loss(t, t, "D3")
    with pytest.raises(TypeError):
        voronoi_loss(t.as_dict(), t)
