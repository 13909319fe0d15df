"""A compact NumPy trainer for modular addition: the grokking testbed of Prieto et al. (2025).

The task: given ``a, b`` in ``{0, ..., p-1}``, predict ``(a + b) mod p``. The model is an MLP without
biases whose input is one-hot(a) concatenated with one-hot(b), so its first layer is an embedding
lookup (the sum of row ``a`` and row ``p + b`` of the first weight matrix):

    h1 = relu(x W1),  h2 = relu(h1 W2),  z = h2 W3,

trained full batch on a random split of the ``p**2`` pairs, with hand-written forward and backward
passes, softmax or StableMax cross-entropy (the loss in float32 or float64), and AdamW or its
perpendicular variant ⊥AdamW (each parameter's gradient projected orthogonally to the parameter and
rescaled to its norm before the AdamW step).

:func:`train` runs one configuration and returns a :class:`History` of the metrics of
:mod:`softlib.chapters.stability` over the epochs; :func:`train_many` runs several in parallel processes.
"""

from __future__ import annotations

from contextlib import nullcontext
from dataclasses import dataclass, field

import numpy as np

from .stability import (
    gradient_weight_cosine,
    perpendicular_gradient,
    softmax_collapse_fraction,
    stablemax_collapse_fraction,
)

__all__ = [
    "modular_addition_split",
    "one_hot_pairs",
    "init_mlp",
    "mlp_forward",
    "mlp_backward",
    "softmax_cross_entropy",
    "stablemax_cross_entropy",
    "AdamW",
    "History",
    "train",
    "train_many",
]

LOSSES = ("softmax", "stablemax")
OPTIMIZERS = ("adamw", "perp_adamw")
LAYERS = ("W1", "W2", "W3")


def modular_addition_split(p: int, train_fraction: float = 0.4, seed: int = 0):
    """All pairs ``(a, b)`` of residues mod ``p`` with their sums, randomly split into train and test.

    Returns
    -------
    train_pairs, train_labels, test_pairs, test_labels : ndarray
        Pairs of shape (n, 2) and labels ``(a + b) % p`` of shape (n,); the training set holds
        ``round(train_fraction * p**2)`` pairs.

    Examples
    --------
    >>> tr, ytr, te, yte = modular_addition_split(5, 0.4, seed=0)
    >>> tr.shape, te.shape, bool(np.all(ytr == tr.sum(axis=1) % 5))
    ((10, 2), (15, 2), True)
    """
    if not isinstance(p, (int, np.integer)) or p < 2:
        raise ValueError(f"p must be an integer >= 2; got {p!r}")
    if not 0.0 < train_fraction < 1.0:
        raise ValueError(f"train_fraction must be in (0, 1); got {train_fraction!r}")
    a, b = np.meshgrid(np.arange(p), np.arange(p), indexing="ij")
    pairs = np.stack([a.ravel(), b.ravel()], axis=1)
    labels = pairs.sum(axis=1) % p
    order = np.random.default_rng(seed).permutation(p * p)
    n_train = int(round(train_fraction * p * p))
    if not 0 < n_train < p * p:
        raise ValueError(f"train_fraction {train_fraction} leaves an empty train or test set for p={p}")
    tr, te = order[:n_train], order[n_train:]
    return pairs[tr], labels[tr], pairs[te], labels[te]


def one_hot_pairs(pairs, p: int, dtype=np.float32) -> np.ndarray:
    """The network input: one-hot(a) concatenated with one-hot(b), shape (n, 2p).

    Examples
    --------
    >>> one_hot_pairs(np.array([[0, 2]]), 3)
    array([[1., 0., 0., 0., 0., 1.]], dtype=float32)
    """
    pairs = np.asarray(pairs)
    if pairs.ndim != 2 or pairs.shape[1] != 2 or pairs.dtype.kind not in "iu":
        raise ValueError(f"pairs must be an (n, 2) integer array; got shape {pairs.shape}, dtype {pairs.dtype}")
    if pairs.size and (pairs.min() < 0 or pairs.max() >= p):
        raise ValueError(f"pairs must hold residues in [0, {p})")
    x = np.zeros((pairs.shape[0], 2 * p), dtype=dtype)
    rows = np.arange(pairs.shape[0])
    x[rows, pairs[:, 0]] = 1
    x[rows, p + pairs[:, 1]] = 1
    return x


def init_mlp(p: int, hidden: int = 128, depth: int = 2, seed: int = 0, dtype=np.float32,
             scale: float = 1.0) -> dict[str, np.ndarray]:
    """Weights of the MLP 2p -> hidden (x depth) -> p, uniform in ±scale/sqrt(fan_in).

    ``scale=1`` is PyTorch's default initialisation of a linear layer.

    Examples
    --------
    >>> {k: v.shape for k, v in init_mlp(5, hidden=4).items()}
    {'W1': (10, 4), 'W2': (4, 4), 'W3': (4, 5)}
    """
    if depth < 1 or hidden < 1:
        raise ValueError(f"depth and hidden must be >= 1; got depth={depth}, hidden={hidden}")
    rng = np.random.default_rng(seed)
    sizes = [2 * p] + [hidden] * depth + [p]
    return {f"W{i + 1}": (rng.uniform(-scale, scale, size=(m, n)) / np.sqrt(m)).astype(dtype)
            for i, (m, n) in enumerate(zip(sizes[:-1], sizes[1:]))}


def mlp_forward(params, pairs):
    """Logits of the MLP and the activations the backward pass needs.

    The first layer is an embedding lookup: ``onehot(a, b) W1 = W1[a] + W1[p + b]``. Every hidden
    layer is followed by a ReLU; there are no biases.

    Returns
    -------
    logits : ndarray, shape (n, p)
    cache : tuple
        ``(pairs, hidden activations after ReLU)``.
    """
    weights = list(params.values())
    p = weights[-1].shape[1]
    h = np.maximum(weights[0][pairs[:, 0]] + weights[0][p + pairs[:, 1]], 0)
    hs = [h]
    for w in weights[1:-1]:
        h = np.maximum(h @ w, 0)
        hs.append(h)
    return h @ weights[-1], (pairs, hs)


def mlp_backward(params, cache, dlogits, *, inputs=None) -> dict[str, np.ndarray]:
    """Gradients of a loss with respect to the weights, given its gradient ``dlogits`` w.r.t. the logits.

    Backpropagation through ``z = h_L W_out`` and ``h_k = relu(h_{k-1} W_k)``: the gradient of a
    ReLU output passes where the output is positive. The embedding's gradient adds each row's
    gradient into rows ``a`` and ``p + b``, as the product ``x.T @ delta`` with the one-hot inputs
    ``x`` of :func:`one_hot_pairs`.

    Parameters
    ----------
    params : dict
        The weights, as from :func:`init_mlp`.
    cache : tuple
        The second output of :func:`mlp_forward`.
    dlogits : ndarray, shape (n, p)
        Gradient of the loss with respect to the logits.
    inputs : ndarray, shape (n, 2p), optional
        ``one_hot_pairs(pairs, p, dtype)`` of the cached pairs in the weights' dtype, when the
        caller keeps it (a trainer does: its pairs never change); built here otherwise.

    Examples
    --------
    >>> params = init_mlp(5, hidden=4, seed=0)
    >>> pairs = np.array([[1, 2], [3, 3]])
    >>> logits, cache = mlp_forward(params, pairs)
    >>> {k: g.shape for k, g in mlp_backward(params, cache, np.ones_like(logits)).items()}
    {'W1': (10, 4), 'W2': (4, 4), 'W3': (4, 5)}
    """
    pairs, hs = cache
    names = list(params)
    weights = list(params.values())
    p = weights[-1].shape[1]
    delta = dlogits.astype(weights[-1].dtype, copy=False)
    grads = {}
    for k in range(len(weights) - 1, 0, -1):
        grads[names[k]] = hs[k - 1].T @ delta
        delta = delta @ weights[k].T
        delta *= hs[k - 1] > 0  # in place: the ReLU's gate
    if inputs is None:
        inputs = one_hot_pairs(pairs, p, delta.dtype)
    elif inputs.shape != (pairs.shape[0], 2 * p) or inputs.dtype != delta.dtype:
        raise ValueError(f"inputs must be the ({pairs.shape[0]}, {2 * p}) one-hot pairs in {delta.dtype}; "
                         f"got shape {inputs.shape}, dtype {inputs.dtype}")
    grads[names[0]] = inputs.T @ delta
    return {k: grads[k] for k in names}


def _check_labels(logits, labels):
    if logits.ndim != 2:
        raise ValueError(f"logits must be (n, classes); got shape {logits.shape}")
    labels = np.asarray(labels)
    if labels.shape != (logits.shape[0],) or labels.dtype.kind not in "iu":
        raise ValueError(f"labels must be {logits.shape[0]} integers; got shape {labels.shape}")
    return labels


def softmax_cross_entropy(logits, labels, dtype=np.float32):
    """Per-row cross-entropy of softmax and the gradient of the mean loss w.r.t. the logits.

    Computed in ``dtype`` (the paper's "softmax precision"): ``l = log sum_j exp(z_j - m) - (z_y - m)``
    with ``m`` the largest logit, and ``dl/dz = (softmax(z) - onehot(y)) / n``. In float32, a row
    whose other logits all sit more than about 16.6 below its largest collapses: its sum is exactly 1,
    its loss exactly 0, and the gradient of its correct logit exactly 0.

    Returns
    -------
    losses : ndarray, shape (n,), dtype ``dtype``
    dlogits : ndarray, shape (n, classes), dtype ``dtype``

    Examples
    --------
    >>> l, g = softmax_cross_entropy(np.array([[0.0, 0.0]]), np.array([0]))
    >>> float(l[0]), g.tolist()
    (0.6931471824645996, [[-0.5, 0.5]])
    """
    labels = _check_labels(np.asarray(logits), labels)
    z = np.asarray(logits, dtype=dtype)
    rows = np.arange(z.shape[0])
    with np.errstate(under="ignore"):
        shifted = z - z.max(axis=1, keepdims=True)
        e = np.exp(shifted)
        total = e.sum(axis=1, keepdims=True)
        losses = np.log(total[:, 0]) - shifted[rows, labels]
        dlogits = e / total
    dlogits[rows, labels] -= 1
    dlogits /= z.shape[0]
    return losses, dlogits


def stablemax_cross_entropy(logits, labels, dtype=np.float64):
    """Per-row StableMax cross-entropy and the gradient of the mean loss w.r.t. the logits.

    ``l = log sum_j s(z_j) - log s(z_y)`` with ``s`` from :func:`softlib.chapters.stability.stablemax_s`;
    since ``s'(x) = 1`` for ``x >= 0`` and ``1 / (1 - x)**2`` for ``x < 0``,

        dl/dz_k = s'(z_k) / sum_j s(z_j) - [k = y] s'(z_y) / s(z_y).

    The authors compute this loss in float64, the default here.

    Examples
    --------
    >>> l, g = stablemax_cross_entropy(np.array([[1.0, 0.0]]), np.array([0]))
    >>> round(float(l[0]), 12), np.round(g, 12).tolist()  # s = (2, 1): loss log(3/2), gradient (1/3 - 1/2, 1/3)
    (0.405465108108, [[-0.166666666667, 0.333333333333]])
    """
    labels = _check_labels(np.asarray(logits), labels)
    z = np.asarray(logits, dtype=dtype)
    rows = np.arange(z.shape[0])
    # s(z) of softlib.chapters.stability.stablemax_s, bit for bit and without masks:
    # 1 / (1 - z) + 0 for z < 0, 1 / (1 - 0) + z = 1 + z for z >= 0.
    s = 1 / (1 - np.minimum(z, 0))
    s += np.maximum(z, 0)
    ds = s * s
    np.copyto(ds, 1.0, where=z >= 0)
    total = s.sum(axis=1, keepdims=True)
    s_label = s[rows, labels]
    losses = np.log(total[:, 0]) - np.log(s_label)
    dlogits = ds / total
    dlogits[rows, labels] -= ds[rows, labels] / s_label
    dlogits /= z.shape[0]
    return losses, dlogits


class AdamW:
    """AdamW (Loshchilov & Hutter), optionally on perpendicular gradients (⊥AdamW).

    The step for a weight ``w`` with gradient ``g`` (bias-corrected moments ``m``, ``v``):
    ``w <- w - lr (m / (sqrt(v) + eps) + weight_decay w)``. With ``perpendicular=True`` each ``g`` is
    first replaced by :func:`softlib.chapters.stability.perpendicular_gradient` with the norm-restoring
    rescale. The defaults follow the authors' code: beta2 0.99 and a tiny eps.
    """

    def __init__(self, params, lr=1e-3, betas=(0.9, 0.99), eps=1e-25, weight_decay=0.0, perpendicular=False):
        if lr <= 0 or eps < 0 or weight_decay < 0 or not all(0 <= b < 1 for b in betas):
            raise ValueError("AdamW needs lr > 0, eps >= 0, weight_decay >= 0 and betas in [0, 1)")
        self.lr, self.betas, self.eps, self.weight_decay = lr, betas, eps, weight_decay
        self.perpendicular = perpendicular
        self.m = {k: np.zeros_like(w) for k, w in params.items()}
        self.v = {k: np.zeros_like(w) for k, w in params.items()}
        self.t = 0

    def step(self, params, grads) -> None:
        """Update ``params`` in place from ``grads``."""
        self.t += 1
        b1, b2 = self.betas
        c1, c2 = 1 - b1**self.t, 1 - b2**self.t
        for k, w in params.items():
            g = grads[k]
            if self.perpendicular:
                g = perpendicular_gradient(w, g, rescale=True)
            m, v = self.m[k], self.v[k]
            m *= b1
            m += (1 - b1) * g
            v *= b2
            with np.errstate(under="ignore"):
                v += (1 - b2) * (g * g)
            denom = v / c2  # the same operations as (m / c1) / (sqrt(v / c2) + eps), in place
            np.sqrt(denom, out=denom)
            denom += self.eps
            update = m / c1
            update /= denom
            if self.weight_decay:
                update += self.weight_decay * w
            update *= self.lr
            w -= update.astype(w.dtype, copy=False)


@dataclass
class History:
    """Metrics of one training run, one entry per logged epoch (plus the configuration)."""

    config: dict
    epoch: list = field(default_factory=list)
    train_loss: list = field(default_factory=list)
    train_acc: list = field(default_factory=list)
    test_acc: list = field(default_factory=list)
    collapse: list = field(default_factory=list)
    zero_loss: list = field(default_factory=list)
    weight_norm: list = field(default_factory=list)
    cosine: list = field(default_factory=list)

    def arrays(self) -> dict[str, np.ndarray]:
        """The metrics as NumPy arrays."""
        names = ("epoch", "train_loss", "train_acc", "test_acc", "collapse", "zero_loss", "weight_norm", "cosine")
        return {k: np.asarray(getattr(self, k)) for k in names}

    def first_epoch(self, metric: str, threshold: float) -> float:
        """The first logged epoch at which ``metric`` reaches ``threshold`` (NaN if it never does)."""
        values = np.asarray(getattr(self, metric))
        hit = np.flatnonzero(values >= threshold)
        return float(self.epoch[hit[0]]) if hit.size else float("nan")


def train(p: int = 23, *, hidden: int = 128, depth: int = 2, init_scale: float = 1.0, train_fraction: float = 0.4, loss: str = "softmax",
          loss_dtype=np.float32, dtype=np.float32, optimizer: str = "adamw", lr: float = 5e-3,
          weight_decay: float = 0.0, betas=(0.9, 0.99), eps: float = 1e-25, epochs: int = 1000,
          log_every: int = 10, seed: int = 0, split_seed: int | None = None, progress=None) -> History:
    """Train the modular-addition MLP full batch and log its metrics.

    Parameters
    ----------
    p : int
        The modulus (classes and residues).
    hidden, depth : int
        Width and number of the hidden layers.
    init_scale : float
        Multiplies the initial weights (1: PyTorch's default).
    train_fraction : float
        Fraction of the ``p**2`` pairs used for training.
    loss : {"softmax", "stablemax"}
        Cross-entropy of softmax or of StableMax.
    loss_dtype : float32 or float64
        Precision of the loss and its gradient (the logits are cast to it); the collapse fraction
        (:func:`~softlib.chapters.stability.softmax_collapse_fraction`, or its StableMax analogue) is
        measured in it too.
    dtype : float32 or float64
        Precision of the weights and the forward and backward passes.
    optimizer : {"adamw", "perp_adamw"}
    lr, weight_decay, betas, eps : AdamW's hyperparameters.
    epochs, log_every : int
        Full-batch steps, and how often the metrics are logged (also after the last step).
    seed, split_seed : int
        Seeds of the weights and of the train/test split (``split_seed`` defaults to ``seed``).
    progress : callable, optional
        Wraps the range of epochs, e.g. ``tqdm.auto.tqdm``.

    Returns
    -------
    History

    Examples
    --------
    >>> h = train(7, hidden=16, epochs=20, log_every=10, lr=1e-2)
    >>> h.epoch, 0.0 <= h.train_acc[-1] <= 1.0
    ([0, 10, 20], True)
    """
    if loss not in LOSSES:
        raise ValueError(f"unknown loss {loss!r}; expected one of {', '.join(LOSSES)}")
    if optimizer not in OPTIMIZERS:
        raise ValueError(f"unknown optimizer {optimizer!r}; expected one of {', '.join(OPTIMIZERS)}")
    for name, dt in (("dtype", dtype), ("loss_dtype", loss_dtype)):
        if np.dtype(dt) not in (np.float32, np.float64):
            raise ValueError(f"{name} must be float32 or float64; got {np.dtype(dt)}")
    if epochs < 0 or log_every < 1:
        raise ValueError("epochs must be >= 0 and log_every >= 1")
    config = dict(p=p, hidden=hidden, depth=depth, init_scale=init_scale, train_fraction=train_fraction, loss=loss, loss_dtype=np.dtype(loss_dtype).name,
                  dtype=np.dtype(dtype).name, optimizer=optimizer, lr=lr, weight_decay=weight_decay,
                  betas=tuple(betas), eps=eps, epochs=epochs, seed=seed,
                  split_seed=seed if split_seed is None else split_seed)
    tr, ytr, te, yte = modular_addition_split(p, train_fraction, config["split_seed"])
    params = init_mlp(p, hidden, depth, seed, dtype, init_scale)
    opt = AdamW(params, lr=lr, betas=betas, eps=eps, weight_decay=weight_decay, perpendicular=optimizer == "perp_adamw")
    loss_fn = softmax_cross_entropy if loss == "softmax" else stablemax_cross_entropy
    collapse = softmax_collapse_fraction if loss == "softmax" else stablemax_collapse_fraction
    history = History(config)
    steps = range(epochs + 1)
    with _one_blas_thread():
        _train_loop(params, opt, loss_fn, loss_dtype, collapse, tr, ytr, te, yte, epochs, log_every,
                    progress(steps) if progress is not None else steps, history)
    return history


def _train_config(config):
    return train(**config)


def train_many(configs: dict, processes: int | None = None, progress: bool = True) -> dict:
    """Run :func:`train` for each of several configurations, ``processes`` at a time.

    The runs share nothing and each uses one BLAS thread, so every History is the one
    ``train(**config)`` returns on its own, whatever the number of processes.

    Parameters
    ----------
    configs : dict of str to dict
        A name per run, and the keyword arguments of :func:`train` (without ``progress``).
    processes : int, optional
        Worker processes (default: the number of CPUs); 1 runs them here, one after the other.
        Worker processes are forked on Linux and spawned elsewhere.
    progress : bool
        Show one tqdm bar over the runs.

    Returns
    -------
    dict of str to History
        In the order of ``configs``.

    Examples
    --------
    >>> runs = train_many({"a": dict(p=5, hidden=8, epochs=4), "b": dict(p=5, hidden=8, epochs=4, seed=1)},
    ...                   processes=2, progress=False)
    >>> list(runs), runs["a"].epoch == train(p=5, hidden=8, epochs=4).epoch
    (['a', 'b'], True)
    """
    import multiprocessing
    import os
    import sys

    from tqdm.auto import tqdm

    if not isinstance(configs, dict) or not configs:
        raise ValueError("configs must be a non-empty dict of run names to train() arguments")
    for name, config in configs.items():
        if not isinstance(config, dict) or "progress" in config:
            raise ValueError(f"the configuration of {name!r} must be a dict of train() arguments "
                             "without 'progress' (the runs show one bar together)")
    names = list(configs)
    processes = max(1, min(int(processes or os.cpu_count() or 1), len(names)))

    def cost(name):  # epochs times training pairs: the longest runs start first
        c = configs[name]
        return c.get("epochs", 1000) * c.get("train_fraction", 0.4) * c.get("p", 23) ** 2

    order = sorted(names, key=cost, reverse=True)
    results = {}
    # No bar when TQDM_DISABLE is set (the book build), which tqdm's notebook bar ignores by itself.
    disabled = os.environ.get("TQDM_DISABLE", "").strip().lower() not in ("", "0", "false", "no")
    with tqdm(total=len(names), desc="training runs", disable=disabled or not progress) as bar:
        if processes == 1:
            for name in order:
                results[name] = train(**configs[name])
                bar.update()
        else:
            from concurrent.futures import ProcessPoolExecutor, as_completed

            method = "fork" if sys.platform.startswith("linux") else "spawn"
            with ProcessPoolExecutor(processes, mp_context=multiprocessing.get_context(method)) as pool:
                futures = {pool.submit(_train_config, configs[name]): name for name in order}
                for future in as_completed(futures):
                    results[futures[future]] = future.result()
                    bar.update()
    return {name: results[name] for name in names}


def _one_blas_thread():
    """Run BLAS on one thread: these matrices are small, and threads only add overhead and contention."""
    try:
        from threadpoolctl import threadpool_limits
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn, a book dependency
        return nullcontext()
    return threadpool_limits(limits=1, user_api="blas")


def _train_loop(params, opt, loss_fn, loss_dtype, collapse, tr, ytr, te, yte, epochs, log_every, steps, history):
    p = params["W1"].shape[0] // 2
    inputs = one_hot_pairs(tr, p, params["W1"].dtype)  # built once: the training pairs never change
    for epoch in steps:
        logits, cache = mlp_forward(params, tr)
        losses, dlogits = loss_fn(logits, ytr, loss_dtype)
        grads = mlp_backward(params, cache, dlogits, inputs=inputs)
        if epoch % log_every == 0 or epoch == epochs:
            history.epoch.append(epoch)
            history.train_loss.append(float(np.mean(losses, dtype=np.float64)))
            history.train_acc.append(float(np.mean(logits.argmax(axis=1) == ytr)))
            history.test_acc.append(float(np.mean(mlp_forward(params, te)[0].argmax(axis=1) == yte)))
            history.collapse.append(collapse(logits, np.dtype(loss_dtype)))
            history.zero_loss.append(float(np.mean(losses == 0)))
            history.weight_norm.append(float(np.sqrt(sum(np.vdot(w, w) for w in params.values()))))
            history.cosine.append(gradient_weight_cosine(params, grads))
        if epoch < epochs:
            opt.step(params, grads)
