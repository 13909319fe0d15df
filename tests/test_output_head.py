"""softlib.output_head: head costs, the softmax bottleneck, sampled and two-level softmax, VQ-Logits, the Fourier head."""

import numpy as np
import pytest
from scipy.integrate import quad

from softlib import output_head as oh


def test_head_cost():
    assert oh.head_cost(1000, 10) == {"parameters": 10_000, "multiply_adds": 10_000, "exponentials": 1000}
    assert oh.head_cost(1000, 10, "sampled", n_samples=9)["multiply_adds"] == 100
    assert oh.head_cost(10_000, 10, "two_level", n_clusters=100)["multiply_adds"] == 2000
    assert oh.head_cost(1000, 10, "vq", n_codes=10)["parameters"] == 100
    with pytest.raises(ValueError):
        oh.head_cost(1000, 10, "tree")
    with pytest.raises(TypeError):
        oh.head_cost(1000, 10, "vq")
    with pytest.raises(ValueError):
        oh.head_cost(0, 10)


@pytest.mark.parametrize("d", [1, 3, 7])
def test_softmax_log_probs_have_rank_d_plus_one(d):
    rng = np.random.default_rng(d)
    lp = oh.log_softmax_np(rng.normal(size=(60, d)) @ rng.normal(size=(30, d)).T)
    assert oh.numerical_rank(lp) == d + 1


def test_mixture_of_softmaxes_breaks_the_rank_bound():
    rng = np.random.default_rng(0)
    lp = oh.mixture_of_softmaxes_log_probs(rng.normal(size=(3, 60, 4)), rng.normal(size=(30, 4)),
                                           rng.normal(size=(60, 3)))
    assert np.allclose(np.exp(lp).sum(-1), 1) and oh.numerical_rank(lp) > 5
    with pytest.raises(ValueError, match="shapes"):
        oh.mixture_of_softmaxes_log_probs(rng.normal(size=(3, 60, 4)), rng.normal(size=(30, 5)),
                                          rng.normal(size=(60, 3)))


def test_fit_low_rank_softmax():
    rng = np.random.default_rng(1)
    P = np.exp(oh.mixture_of_softmaxes_log_probs(rng.normal(size=(3, 40, 4)), rng.normal(size=(12, 4)),
                                                 rng.normal(size=(40, 3))))
    kl2, lp2 = oh.fit_low_rank_softmax(P, 2, maxiter=200)
    kl11, _ = oh.fit_low_rank_softmax(P, 11, maxiter=400)
    assert oh.numerical_rank(lp2) <= 3 and kl2 > 10 * kl11 and kl11 < 1e-3


def test_sampled_softmax_converges_and_needs_the_correction():
    rng = np.random.default_rng(0)
    V = 500
    q = np.exp(-0.8 * np.log(np.arange(1, V + 1)))
    q /= q.sum()
    z = rng.normal(size=(200, V)) + np.log(q)
    t = rng.integers(0, V, size=200)
    full = -oh.log_softmax_np(z)[np.arange(200), t]
    err = [np.abs(oh.sampled_softmax_loss(z, t, k, q, np.random.default_rng(1)) - full).mean() for k in (10, 1000)]
    assert err[1] < err[0] / 3 and err[1] < 0.05
    raw = oh.sampled_softmax_loss(z, t, 1000, q, np.random.default_rng(1), correct=False)
    assert np.abs(raw - full).mean() > 10 * err[1]
    with pytest.raises(ValueError, match="proposal"):
        oh.sampled_softmax_loss(z, t, 10, np.full(V, 1.0), rng)
    with pytest.raises(ValueError, match="targets"):
        oh.sampled_softmax_loss(z, t[:5], 10, q, rng)


def test_two_level_softmax_is_normalised_and_reduces_to_softmax_with_one_cluster():
    rng = np.random.default_rng(0)
    h, U, W = rng.normal(size=(5, 3)), rng.normal(size=(4, 3)), rng.normal(size=(20, 3))
    lp = oh.two_level_log_softmax(h, U, W, np.arange(20) % 4)
    assert np.allclose(np.exp(lp).sum(-1), 1, atol=1e-12)
    one = oh.two_level_log_softmax(h, U[:1], W, np.zeros(20, dtype=int))
    assert np.allclose(one, oh.log_softmax_np(h @ W.T), atol=1e-12)
    with pytest.raises(ValueError, match="clusters"):
        oh.two_level_log_softmax(h, U, W, np.arange(20))


def test_tied_softmax_identity_and_vq_logits():
    rng = np.random.default_rng(0)
    h, C = rng.normal(size=(6, 4)), rng.normal(size=(5, 4))
    mapping = rng.integers(0, 5, size=40)
    full = np.exp(oh.log_softmax_np(oh.vq_logits(h, C, mapping)))
    assert np.allclose(oh.tied_softmax(h @ C.T, mapping), full, rtol=1e-12, atol=0)
    with pytest.raises(ValueError, match="codes"):
        oh.vq_logits(h, C, np.array([0, 7]))


def test_tying_penalty():
    rng = np.random.default_rng(0)
    P = np.exp(oh.log_softmax_np(rng.normal(size=(50, 30))))
    mapping = np.arange(30) % 6
    pen = oh.tying_penalty(P, mapping)
    assert np.all(pen >= 0)
    # it is the KL to the best tied distribution, and that distribution beats any other tied one
    n = np.bincount(mapping)
    mass = np.stack([P[:, mapping == j].sum(1) for j in range(6)], 1)
    q = mass[:, mapping] / n[mapping]
    assert np.allclose(pen, oh.kl_divergence(P, q), atol=1e-12)
    other = oh.tied_softmax(rng.normal(size=(50, 6)), mapping)
    assert np.all(oh.kl_divergence(P, other) >= pen - 1e-12)
    # zero when every code is uniform inside, and for the identity map
    assert np.allclose(oh.tying_penalty(q, mapping), 0, atol=1e-12)
    assert np.allclose(oh.tying_penalty(P, np.arange(30)), 0, atol=1e-12)


def test_kmeans():
    rng = np.random.default_rng(0)
    X = np.concatenate([rng.normal(size=(50, 2)), rng.normal(size=(50, 2)) + 10])
    c, lab = oh.kmeans(X, 2)
    assert len(set(lab[:50])) == 1 and len(set(lab[50:])) == 1 and lab[0] != lab[-1]
    with pytest.raises(ValueError):
        oh.kmeans(X, 101)


@pytest.mark.parametrize("N", [0, 1, 4, 9])
def test_fourier_pdf_is_a_density_and_matches_the_autocorrelation_form(N):
    rng = np.random.default_rng(N)
    a = rng.normal(size=N + 1) + 1j * rng.normal(size=N + 1)
    x = np.linspace(-1, 1, 101)
    c = oh.fourier_autocorrelation(a)
    series = 0.5 + np.real(sum(c[k] / c[0] * np.exp(1j * np.pi * k * x) for k in range(1, N + 1)))
    f = oh.fourier_pdf(a, x)[0] if oh.fourier_pdf(a, x).ndim > 1 else oh.fourier_pdf(a, x)
    assert np.allclose(f, series, atol=1e-12) and np.all(f >= 0)
    integral, _ = quad(lambda t: float(np.ravel(oh.fourier_pdf(a, np.array([t])))[0]), -1, 1, limit=200)
    assert integral == pytest.approx(1.0, abs=1e-9)
    # scale gauge: a and (2 - 3i) a give the same density
    assert np.allclose(oh.fourier_pdf((2 - 3j) * a, x), oh.fourier_pdf(a, x), atol=1e-12)


def test_fourier_fit_beats_histogram_at_small_n():
    truth = oh.bimodal_bin_probs(50)
    counts = np.bincount(np.random.default_rng(0).choice(50, size=200, p=truth), minlength=50).astype(float)
    fit = oh.fit_fourier_pmf(counts, 6, restarts=2)
    assert np.isclose(fit.sum(), 1) and np.all(fit >= 0)
    assert oh.kl_divergence(truth, fit) < oh.kl_divergence(truth, oh.smoothed_histogram(counts))
    with pytest.raises(ValueError):
        oh.fit_fourier_pmf(np.zeros(50), 4)


def test_bad_inputs():
    with pytest.raises(TypeError):
        oh.numerical_rank(np.zeros((3, 3), dtype=int))
    with pytest.raises(ValueError):
        oh.numerical_rank(np.zeros(3))
    with pytest.raises(ValueError):
        oh.tying_penalty(np.ones((2, 3)) / 3, np.array([0, 1]))
    with pytest.raises(ValueError):
        oh.smoothed_histogram(np.array([1.0, -1.0]))


def test_plot_fourier_fit_updates_in_place():
    from softlib.book.viz import explore

    truth = oh.bimodal_bin_probs(20)
    counts = np.bincount(np.random.default_rng(0).choice(20, size=100, p=truth), minlength=20).astype(float)
    fits = {N: oh.fit_fourier_pmf(counts, N, restarts=1) for N in (1, 4)}
    fx = explore(lambda fig, frequencies: oh.plot_fourier_fit(fig, truth, counts, fits, frequencies),
                 {"frequencies": [1, 4]})
    fig = fx.new_figure()
    assert fx.render(fig, frequencies=1) != fx.render(fig, frequencies=4) and len(fig.axes) == 1


def test_time_full_head():
    ms = oh.time_full_head([50, 100], d_model=4, batch=2, repeats=2)
    assert ms.shape == (2,) and np.all(ms > 0)
    with pytest.raises(ValueError):
        oh.time_full_head([0])
