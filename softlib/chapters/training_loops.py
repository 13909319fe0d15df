"""Small NumPy training loops on scikit-learn's bundled digits, for the chapters on losses and outputs.

A model is a ReLU network given as a flat list ``[W_1, b_1, ..., W_L, b_L]``
(:mod:`softlib.chapters.theory.mlp`; ``sizes = [64, 10]`` is softmax regression). Training takes a
**logit-gradient function** ``grad_fn(logits, index)`` that returns the gradient of the batch's loss
with respect to the batch's logits (``index`` says which training rows the batch holds, so that a
function can look up labels or a teacher's logits); backpropagation and the optimiser (Adam or plain
SGD) are the same for every loss. Everything is seeded, runs in float64 and takes well under a second
per model at the sizes the chapters use.

Examples
--------
>>> from softlib import losses as L
>>> data = load_digits_split(seed=0)
>>> params = train(data.X_train, [64, 10], lambda z, i: L.cross_entropy_grad(z, data.y_train[i], reduction="mean"),
...                epochs=100, seed=0)
>>> accuracy(params, data.X_test, data.y_test) > 0.9
True
"""

from __future__ import annotations

from collections.abc import Callable
import contextlib
from dataclasses import dataclass
import functools

import numpy as np

from .. import losses as L
from .theory.mlp import mlp_gradients, mlp_init, mlp_logits

__all__ = ["DigitsSplit", "load_digits_split", "forward_backward", "train", "accuracy", "top_k_accuracy",
           "logits", "ContinualResult", "train_two_tasks", "fit_lbfgs"]


@dataclass(frozen=True)
class DigitsSplit:
    """A train/test split of the 8x8 digits: pixels scaled to [0, 1] (plus any added noise)."""

    X_train: np.ndarray
    y_train: np.ndarray
    X_test: np.ndarray
    y_test: np.ndarray


def load_digits_split(test_fraction: float = 0.5, seed: int = 0, noise: float = 0.0) -> DigitsSplit:
    """scikit-learn's 1797 digits (8x8, 10 classes), shuffled with ``seed`` and split.

    Parameters
    ----------
    test_fraction : float, optional
        The share of examples held out, in (0, 1).
    seed : int, optional
        Seeds the shuffle and the noise.
    noise : float, optional
        Standard deviation of Gaussian noise added once to every pixel (pixels are in [0, 1]): a harder
        task, on which a network over-fits and becomes over-confident.

    Examples
    --------
    >>> d = load_digits_split(0.5, seed=1)
    >>> d.X_train.shape, d.X_test.shape, sorted(set(d.y_train.tolist())) == list(range(10))
    ((899, 64), (898, 64), True)
    """
    if not 0 < test_fraction < 1:
        raise ValueError(f"test_fraction must lie in (0, 1), got {test_fraction}")
    if noise < 0:
        raise ValueError(f"noise must be nonnegative, got {noise}")
    X, y = _digits()
    rng = np.random.default_rng(seed)
    X = X / 16.0
    if noise:
        X = X + noise * rng.standard_normal(X.shape)
    order = rng.permutation(len(y))
    n_test = int(round(test_fraction * len(y)))
    test, tr = order[:n_test], order[n_test:]
    return DigitsSplit(X[tr], y[tr].astype(np.intp), X[test], y[test].astype(np.intp))


def _one_blas_thread(func):
    """Run ``func`` with BLAS limited to one thread: these matrices are small, and on a shared machine a
    multi-threaded BLAS spends more time synchronising threads than multiplying (measured: 5-10x slower)."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        try:
            from threadpoolctl import threadpool_limits
            limit = threadpool_limits(1, user_api="blas")
        except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
            limit = contextlib.nullcontext()
        with limit:
            return func(*args, **kwargs)

    return wrapper


@functools.lru_cache(maxsize=1)
def _digits() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's bundled digits, read from its CSV without importing scikit-learn (whose import
    pulls in much of SciPy: seconds on a loaded machine); ``load_digits`` if the file is not found."""
    import gzip
    from importlib.util import find_spec
    from pathlib import Path

    spec = find_spec("sklearn")
    path = (Path(spec.submodule_search_locations[0]) / "datasets" / "data" / "digits.csv.gz"
            if spec is not None and spec.submodule_search_locations else None)
    if path is not None and path.exists():
        with gzip.open(path, "rt") as f:
            data = np.loadtxt(f, delimiter=",")
        return data[:, :-1], data[:, -1].astype(np.intp)
    from sklearn.datasets import load_digits  # pragma: no cover

    return load_digits(return_X_y=True)  # pragma: no cover


def logits(params, X) -> np.ndarray:
    """The network's logits for inputs ``X`` (n, d)."""
    return mlp_logits(params, X)


def forward_backward(params, X, grad_fn: Callable, index) -> list[np.ndarray]:
    """Gradients of the loss with respect to ``params``, given ``grad_fn(logits, index)`` for the logits."""
    return mlp_gradients(params, X, lambda z: grad_fn(z, index))


@_one_blas_thread
def train(X, sizes, grad_fn: Callable, *, epochs: int = 100, lr: float = 1e-2, batch_size: int | None = None,
          optimizer: str = "adam", weight_decay: float = 0.0, seed: int = 0, params=None,
          batches: Callable | None = None, rows: int | None = None) -> list[np.ndarray]:
    """Train a ReLU network of widths ``sizes`` on inputs ``X`` with the logit gradient ``grad_fn``.

    Parameters
    ----------
    X : ndarray, shape (n, d)
    sizes : sequence of int
        ``[d, hidden..., K]``.
    grad_fn : callable
        ``grad_fn(logits, index) -> ndarray`` of the logits' shape: the gradient of the batch loss (a
        mean over the batch, e.g. ``reduction="mean"``) with respect to the batch logits; ``index`` are
        the batch's rows of ``X``.
    epochs : int
        Passes over ``X``.
    lr : float
        Step size.
    batch_size : int or None
        None: full batch (one step per epoch).
    optimizer : {"adam", "sgd"}
    weight_decay : float
        L2 coefficient added to the weights' gradients (not the biases').
    seed : int
        Seeds the initialisation (PyTorch's ``nn.Linear`` rule) and the shuffles.
    params : list of ndarray, optional
        Start from these (copied) instead of a fresh initialisation.
    batches : callable, optional
        ``batches(index) -> index``: rewrites each batch (e.g. appends replayed rows).
    rows : int, optional
        An epoch goes through the first ``rows`` rows of ``X`` (default: all); ``batches`` may add
        others.

    Returns
    -------
    list of ndarray
        The trained parameters.
    """
    if optimizer not in ("adam", "sgd"):
        raise ValueError(f"optimizer must be 'adam' or 'sgd', got {optimizer!r}")
    rng = np.random.default_rng(seed)
    params = mlp_init(sizes, rng) if params is None else [p.copy() for p in params]
    X = np.asarray(X, dtype=np.float64)
    n = len(X) if rows is None else int(rows)
    bs = n if batch_size is None else int(batch_size)
    m = [np.zeros_like(p) for p in params]
    v = [np.zeros_like(p) for p in params]
    step = 0
    for _ in range(epochs):
        order = rng.permutation(n) if bs < n else np.arange(n)
        for start in range(0, n, bs):
            index = order[start:start + bs]
            if batches is not None:
                index = batches(index)
            grads = forward_backward(params, X[index], grad_fn, index)
            step += 1
            for j, (p, g) in enumerate(zip(params, grads)):
                if weight_decay and j % 2 == 0:
                    g = g + weight_decay * p
                if optimizer == "sgd":
                    p -= lr * g
                    continue
                m[j] += 0.1 * (g - m[j])
                v[j] += 0.001 * (g * g - v[j])
                p -= lr * (m[j] / (1 - 0.9 ** step)) / (np.sqrt(v[j] / (1 - 0.999 ** step)) + 1e-8)
    return params


def accuracy(params, X, y) -> float:
    """Top-1 accuracy of the network on ``(X, y)``."""
    return float(np.mean(logits(params, X).argmax(axis=1) == np.asarray(y)))


def top_k_accuracy(params, X, y, k: int) -> float:
    """How often the label is among the ``k`` largest logits."""
    z = logits(params, X)
    top = np.argsort(-z, axis=1)[:, :k]
    return float(np.mean(np.any(top == np.asarray(y)[:, None], axis=1)))


@dataclass(frozen=True)
class ContinualResult:
    """Accuracies after two tasks (old: classes of task 1, new: classes of task 2), on the test set."""

    old: float
    new: float
    old_after_task1: float


def train_two_tasks(data: DigitsSplit, mask_value: float | None, *, seed: int = 0, hidden: int = 64,
                    epochs: int = 60, lr: float = 0.1, batch_size: int = 32, replay: int = 10,
                    buffer: int = 20) -> ContinualResult:
    """Class-incremental learning on digits 0-4 (task 1) then 5-9 (task 2), with a small replay buffer.

    Each task's examples are trained with plain cross-entropy over all ten logits (``mask_value=None``)
    or with the masked cross-entropy of Kim, Kwon & Kim (2023), where the logits of the classes outside
    the current task are replaced by ``mask_value`` (``-np.inf``: dropped from the softmax; a number: a
    constant logit with no gradient). Task 1 trains a 64-``hidden``-10 network on digits 0-4. Task 2
    trains on digits 5-9; each batch of ``batch_size`` new examples is joined by ``replay`` examples
    drawn from a buffer of ``buffer`` examples kept from task 1 (a random sample), which always use
    plain cross-entropy over all ten classes. SGD with step ``lr``.

    Returns
    -------
    ContinualResult
        Test accuracy (over all ten classes' logits) on old-class and new-class examples.
    """
    rng = np.random.default_rng(seed)
    old_tr, new_tr = data.y_train < 5, data.y_train >= 5
    X1, y1 = data.X_train[old_tr], data.y_train[old_tr]
    X2, y2 = data.X_train[new_tr], data.y_train[new_tr]
    keep = np.arange(10) >= 5

    def task1(z, i):
        if mask_value is None:
            return L.cross_entropy_grad(z, y1[i], reduction="mean")
        return L.masked_cross_entropy_grad(z, y1[i], ~keep, mask_value, reduction="mean")

    params = train(X1, [64, hidden, 10], task1, epochs=epochs, lr=lr, batch_size=batch_size,
                   optimizer="sgd", seed=seed)
    old_test = data.y_test < 5
    after1 = accuracy(params, data.X_test[old_test], data.y_test[old_test])
    mem = rng.choice(len(y1), size=buffer, replace=False)
    Xall = np.concatenate([X2, X1[mem]])
    yall = np.concatenate([y2, y1[mem]])
    n2 = len(y2)

    def with_replay(index):
        return np.concatenate([index, n2 + rng.integers(0, buffer, size=replay)])

    def grad2(z, index):
        new = index < n2
        g = np.empty_like(z)
        if mask_value is None:
            g[new] = L.cross_entropy_grad(z[new], yall[index[new]])
        else:
            g[new] = L.masked_cross_entropy_grad(z[new], yall[index[new]], keep, mask_value)
        g[~new] = L.cross_entropy_grad(z[~new], yall[index[~new]])
        return g / len(index)

    params = train(Xall, [64, hidden, 10], grad2, epochs=epochs, lr=lr, batch_size=batch_size,
                   optimizer="sgd", seed=seed + 1, params=params, batches=with_replay, rows=n2)
    return ContinualResult(accuracy(params, data.X_test[old_test], data.y_test[old_test]),
                           accuracy(params, data.X_test[~old_test], data.y_test[~old_test]), after1)


@_one_blas_thread
def fit_lbfgs(X, sizes, loss_grad_fn: Callable, *, max_iter: int = 500, seed: int = 0, params=None,
              tol: float = 1e-10) -> tuple[list[np.ndarray], dict]:
    """Full-batch L-BFGS (SciPy) on ``loss_grad_fn(logits) -> (mean loss, d loss / d logits)``.

    For the small convex problems of the chapters (softmax regression on digits) L-BFGS reaches a
    stationary point to many digits, so properties that hold *at* a stationary point can be checked.

    Returns
    -------
    params : list of ndarray
    info : dict
        ``loss``, ``iterations``, ``grad_norm`` (of the parameters' gradient at the end), ``message``.
    """
    from scipy.optimize import minimize

    rng = np.random.default_rng(seed)
    params = mlp_init(sizes, rng) if params is None else [p.copy() for p in params]
    shapes = [p.shape for p in params]
    cuts = np.cumsum([0] + [int(np.prod(s)) for s in shapes])
    X = np.asarray(X, dtype=np.float64)

    def unflat(theta):
        return [theta[a:b].reshape(s) for a, b, s in zip(cuts[:-1], cuts[1:], shapes)]

    def fun(theta):
        ps = unflat(theta)
        box = {}

        def g(z, index):
            box["loss"], grad = loss_grad_fn(z)
            return grad

        grads = forward_backward(ps, X, g, None)
        return float(box["loss"]), np.concatenate([q.ravel() for q in grads])

    res = minimize(fun, np.concatenate([p.ravel() for p in params]), jac=True, method="L-BFGS-B",
                   options={"maxiter": max_iter, "gtol": tol, "ftol": 0.0, "maxcor": 20})
    return unflat(res.x), {"loss": float(res.fun), "iterations": int(res.nit),
                           "grad_norm": float(np.linalg.norm(res.jac)), "message": str(res.message)}
