"""softlib.chapters.modular: the data, hand-written gradients against finite differences, losses, AdamW,
train."""

import math

import numpy as np
import pytest

from softlib.chapters import modular as mod
from softlib.chapters.stability import collapse_gap


def test_split_covers_every_pair_once():
    tr, ytr, te, yte = mod.modular_addition_split(7, 0.4, seed=3)
    pairs = np.concatenate([tr, te])
    assert len({tuple(x) for x in pairs}) == 49 and len(tr) == round(0.4 * 49)
    assert np.array_equal(ytr, tr.sum(axis=1) % 7) and np.array_equal(yte, te.sum(axis=1) % 7)
    again = mod.modular_addition_split(7, 0.4, seed=3)[0]
    assert np.array_equal(tr, again)  # seeded


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="p must be"):
        mod.modular_addition_split(1)
    with pytest.raises(ValueError, match="train_fraction"):
        mod.modular_addition_split(5, 1.0)
    with pytest.raises(ValueError, match="residues"):
        mod.one_hot_pairs(np.array([[0, 5]]), 5)
    with pytest.raises(ValueError, match="unknown loss"):
        mod.train(5, loss="hinge", epochs=1)
    with pytest.raises(ValueError, match="unknown optimizer"):
        mod.train(5, optimizer="sgd", epochs=1)
    with pytest.raises(ValueError, match="float32 or float64"):
        mod.train(5, loss_dtype=np.float16, epochs=1)
    with pytest.raises(ValueError, match="labels"):
        mod.softmax_cross_entropy(np.zeros((2, 3)), np.array([0]))


def test_embedding_equals_one_hot_product():
    p = 5
    params = mod.init_mlp(p, hidden=6, depth=1, seed=0, dtype=np.float64)
    pairs = mod.modular_addition_split(p, 0.6, seed=0)[0]
    logits, _ = mod.mlp_forward(params, pairs)
    x = mod.one_hot_pairs(pairs, p, np.float64)
    assert np.allclose(logits, np.maximum(x @ params["W1"], 0) @ params["W2"])


def _finite_difference_check(loss_fn, depth):
    p = 5
    pairs, labels = mod.modular_addition_split(p, 0.6, seed=1)[:2]
    params = mod.init_mlp(p, hidden=6, depth=depth, seed=2, dtype=np.float64)
    for w in params.values():
        w *= 3.0  # logits of order a few, on both sides of 0 (StableMax's two branches)

    def mean_loss():
        return loss_fn(mod.mlp_forward(params, pairs)[0], labels, np.float64)[0].mean()

    logits, cache = mod.mlp_forward(params, pairs)
    assert (logits > 0).any() and (logits < 0).any()
    grads = mod.mlp_backward(params, cache, loss_fn(logits, labels, np.float64)[1])
    h = 1e-6
    for name, w in params.items():
        numeric = np.empty_like(w)
        for idx in np.ndindex(w.shape):
            old = w[idx]
            w[idx] = old + h
            up = mean_loss()
            w[idx] = old - h
            down = mean_loss()
            w[idx] = old
            numeric[idx] = (up - down) / (2 * h)
        # Central differences: error O(h^2) plus rounding O(eps / h) ~ 1e-10 at these sizes.
        assert np.max(np.abs(numeric - grads[name])) < 1e-8, name


@pytest.mark.parametrize("depth", [1, 2])
@pytest.mark.parametrize("loss_fn", [mod.softmax_cross_entropy, mod.stablemax_cross_entropy])
def test_backward_matches_finite_differences(loss_fn, depth):
    _finite_difference_check(loss_fn, depth)


def test_loss_gradients_match_finite_differences_in_the_logits():
    rng = np.random.default_rng(4)
    z = rng.normal(scale=3, size=(4, 6))
    y = rng.integers(0, 6, size=4)
    for loss_fn in (mod.softmax_cross_entropy, mod.stablemax_cross_entropy):
        _, g = loss_fn(z, y, np.float64)
        numeric = np.zeros_like(z)
        for idx in np.ndindex(z.shape):
            e = np.zeros_like(z)
            e[idx] = 1e-6
            numeric[idx] = (loss_fn(z + e, y, np.float64)[0].mean() - loss_fn(z - e, y, np.float64)[0].mean()) / 2e-6
        assert np.max(np.abs(numeric - g)) < 1e-9


def test_softmax_cross_entropy_collapses_past_the_float32_gap():
    gap = collapse_gap("float32")  # 24 ln 2 = 16.64
    z = np.array([[gap + 0.5, 0.0, 0.0], [gap - 0.5, 0.0, 0.0]])
    losses, g = mod.softmax_cross_entropy(z, np.array([0, 0]), np.float32)
    assert losses[0] == 0 and g[0, 0] == 0  # collapsed: zero loss, zero correct-class gradient
    assert losses[1] > 0 and g[1, 0] < 0
    assert 0 < g[0, 1] < 2.0**-24  # the other classes keep a tiny gradient exp(-gap) / n
    losses64, g64 = mod.softmax_cross_entropy(z, np.array([0, 0]), np.float64)
    assert losses64[0] > 0 and g64[0, 0] < 0  # float64's gap is 36.7: no collapse yet


def test_stablemax_loss_is_log_of_ratio():
    z = np.array([[2.0, -1.0, 0.0]])
    losses, _ = mod.stablemax_cross_entropy(z, np.array([0]))
    assert losses[0] == pytest.approx(math.log((3 + 0.5 + 1) / 3))


def test_adamw_first_step_moves_each_weight_by_lr():
    # With bias correction, Adam's first step is lr * sign(g) (eps negligible).
    w = {"W": np.array([1.0, -2.0, 3.0])}
    opt = mod.AdamW(w, lr=0.1)
    opt.step(w, {"W": np.array([0.5, -4.0, 1e-3])})
    assert np.allclose(w["W"], [0.9, -1.9, 2.9])


def test_perpendicular_adamw_first_step_is_orthogonal_to_the_weights():
    w0 = np.array([3.0, 4.0])
    w = {"W": w0.copy()}
    opt = mod.AdamW(w, lr=0.1, perpendicular=True)
    opt.step(w, {"W": w0.copy()})  # a gradient along w has no perpendicular part
    assert np.allclose(w["W"], w0)
    opt = mod.AdamW(w, lr=0.1, perpendicular=True)
    opt.step(w, {"W": np.array([4.0, -3.0])})
    assert np.allclose(w["W"], w0 - 0.1 * np.array([1.0, -1.0]))  # Adam: lr * sign of each coordinate


def test_weight_decay_shrinks_weights():
    w = {"W": np.array([1.0])}
    opt = mod.AdamW(w, lr=0.1, weight_decay=0.5)
    opt.step(w, {"W": np.array([0.0])})
    assert w["W"][0] == pytest.approx(1.0 - 0.1 * 0.5)


def test_train_logs_metrics_and_is_seeded():
    a = mod.train(7, hidden=16, epochs=30, log_every=10, lr=1e-2, seed=5)
    b = mod.train(7, hidden=16, epochs=30, log_every=10, lr=1e-2, seed=5)
    assert a.epoch == [0, 10, 20, 30]
    assert a.train_acc == b.train_acc and a.weight_norm == b.weight_norm
    arr = a.arrays()
    assert set(arr) >= {"train_acc", "test_acc", "collapse", "zero_loss", "weight_norm", "cosine"}
    assert np.all((arr["collapse"] >= 0) & (arr["collapse"] <= 1))
    assert arr["train_loss"][-1] < arr["train_loss"][0]  # it learns
    assert a.first_epoch("train_acc", 2.0) != a.first_epoch("train_acc", 2.0)  # never: NaN


def test_training_a_small_model_fits_the_training_set():
    h = mod.train(11, hidden=64, epochs=300, log_every=100, lr=1e-2, seed=0)
    assert h.train_acc[-1] == 1.0


def test_perpendicular_training_keeps_the_cosine_and_norm_bounded_compared_with_adamw():
    kw = dict(p=11, hidden=32, epochs=400, log_every=400, lr=1e-2, seed=1)
    plain = mod.train(**kw)
    perp = mod.train(**kw, optimizer="perp_adamw")
    assert perp.weight_norm[-1] < plain.weight_norm[-1]


def test_backward_with_precomputed_inputs_is_identical():
    p = 7
    pairs = mod.modular_addition_split(p, 0.5, seed=0)[0]
    params = mod.init_mlp(p, hidden=8, seed=1)
    logits, cache = mod.mlp_forward(params, pairs)
    dlogits = np.random.default_rng(0).normal(size=logits.shape)
    built = mod.mlp_backward(params, cache, dlogits)
    given = mod.mlp_backward(params, cache, dlogits, inputs=mod.one_hot_pairs(pairs, p))
    assert all(np.array_equal(built[k], given[k]) for k in params)
    with pytest.raises(ValueError, match="one-hot pairs"):
        mod.mlp_backward(params, cache, dlogits, inputs=mod.one_hot_pairs(pairs, p, np.float64))


def test_stablemax_loss_gradient_matches_stablemax_s_exactly():
    # The loss computes s once for both branches; it must equal softlib.chapters.stability.stablemax_s
    # bit for bit.
    from softlib.chapters.stability import stablemax_s

    z = np.random.default_rng(2).normal(scale=50.0, size=(40, 9))
    y = np.arange(40) % 9
    losses, g = mod.stablemax_cross_entropy(z, y)
    s = stablemax_s(z)
    ds = np.where(z >= 0, 1.0, s * s)
    total = s.sum(axis=1, keepdims=True)
    expected = ds / total
    expected[np.arange(40), y] -= ds[np.arange(40), y] / s[np.arange(40), y]
    assert np.array_equal(losses, np.log(total[:, 0]) - np.log(s[np.arange(40), y]))
    assert np.array_equal(g, expected / 40)


def test_adamw_matches_the_textbook_update_over_several_steps():
    # The in-place step computes w -= lr * (m / c1) / (sqrt(v / c2) + eps), bit for bit, in float32.
    rng = np.random.default_rng(3)
    w = {"W": rng.normal(size=(4, 5)).astype(np.float32)}
    ref, m, v = w["W"].copy(), np.zeros((4, 5), np.float32), np.zeros((4, 5), np.float32)
    opt = mod.AdamW(w, lr=0.01, betas=(0.9, 0.99), eps=1e-8)
    for t in range(1, 6):
        g = rng.normal(size=(4, 5)).astype(np.float32)
        opt.step(w, {"W": g})
        m = 0.9 * m + (1 - 0.9) * g
        v = 0.99 * v + (1 - 0.99) * (g * g)
        ref -= 0.01 * ((m / (1 - 0.9**t)) / (np.sqrt(v / (1 - 0.99**t)) + 1e-8))
        assert w["W"].dtype == np.float32 and np.array_equal(w["W"], ref)
