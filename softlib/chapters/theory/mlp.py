"""A small ReLU network in NumPy: logits, cross-entropy gradient and directional logit slopes.

Parameters are a flat list ``[W_1, b_1, ..., W_L, b_L]`` with ``W_l`` of shape ``(n_in, n_out)``; the
logits are ``z = h_{L-1} W_L + b_L`` with ``h_l = relu(h_{l-1} W_l + b_l)`` and ``h_0 = x``. With a single
layer (``sizes = [d, K]``) this is **softmax regression**, whose logits are linear in the parameters.

The **directional logit slopes** along a parameter direction ``v`` are the Jacobian-vector product
``a_k(x; v) = d z_k(x; theta + tau v) / d tau`` at ``tau = 0``, computed by forward-mode
differentiation (one extra pass, no Jacobian). They are the input of :mod:`softlib.chapters.theory.ghosts`
(Sao 2026, arXiv 2603.13552).
"""

from __future__ import annotations

import numpy as np

__all__ = ["mlp_init", "mlp_logits", "mlp_slopes", "mlp_loss_grad", "mlp_gradients"]


def _check(params, X):
    if len(params) == 0 or len(params) % 2:
        raise ValueError("params must be a flat list [W_1, b_1, ..., W_L, b_L]")
    X = np.asarray(X, dtype=np.float64)
    if X.ndim != 2 or X.shape[1] != params[0].shape[0]:
        raise ValueError(f"X must have shape (n, {params[0].shape[0]}), got {X.shape}")
    return X


def mlp_init(sizes, rng: np.random.Generator) -> list[np.ndarray]:
    """Parameters of a ReLU network with layer widths ``sizes``, drawn like PyTorch's ``nn.Linear``.

    Weights and biases of a layer with ``n_in`` inputs are uniform on ``[-1/sqrt(n_in), 1/sqrt(n_in)]``.

    Parameters
    ----------
    sizes : sequence of int
        ``[d, hidden..., K]``; ``[d, K]`` gives softmax regression.
    rng : numpy.random.Generator
        The source of randomness.

    Returns
    -------
    list of ndarray
        ``[W_1, b_1, ..., W_L, b_L]``.

    Examples
    --------
    >>> params = mlp_init([64, 128, 10], np.random.default_rng(0))
    >>> [p.shape for p in params]
    [(64, 128), (128,), (128, 10), (10,)]
    """
    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ValueError("sizes needs at least an input and an output width, all positive")
    params = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        bound = 1.0 / np.sqrt(n_in)
        params.append(rng.uniform(-bound, bound, size=(n_in, n_out)))
        params.append(rng.uniform(-bound, bound, size=n_out))
    return params


def mlp_logits(params, X) -> np.ndarray:
    """Logits ``z`` of shape ``(n, K)`` for inputs ``X`` of shape ``(n, d)``.

    Examples
    --------
    >>> params = [np.eye(2), np.zeros(2)]          # softmax regression with W = I
    >>> mlp_logits(params, [[1.0, 2.0]])
    array([[1., 2.]])
    """
    h = _check(params, X)
    n_layers = len(params) // 2
    for l in range(n_layers):
        h = h @ params[2 * l] + params[2 * l + 1]
        if l < n_layers - 1:
            h = np.maximum(h, 0.0)
    return h


def mlp_slopes(params, direction, X) -> tuple[np.ndarray, np.ndarray]:
    """Logits and directional logit slopes (a Jacobian-vector product) of the network.

    For ``theta(tau) = params + tau * direction``, returns ``z = z(0)`` and ``a = dz/dtau (0)``, both of
    shape ``(n, K)``. ReLU's derivative is taken as 0 at 0. For softmax regression the result is exact
    for every ``tau``: ``z(tau) = z + tau a``.

    Parameters
    ----------
    params, direction : list of ndarray
        The parameters and a direction of the same structure (not necessarily of unit norm; the
        slopes are linear in it).
    X : array_like, shape (n, d)
        Inputs.

    Returns
    -------
    z, a : ndarray, shape (n, K)

    Examples
    --------
    >>> params = [np.eye(2), np.zeros(2)]
    >>> z, a = mlp_slopes(params, [np.zeros((2, 2)), np.array([1.0, -1.0])], [[1.0, 2.0]])
    >>> a                                          # moving the biases moves the logits one for one
    array([[ 1., -1.]])
    """
    h = _check(params, X)
    if len(direction) != len(params) or any(np.shape(d) != p.shape for d, p in zip(direction, params)):
        raise ValueError("direction must have the structure and shapes of params")
    dh = np.zeros_like(h)
    n_layers = len(params) // 2
    for l in range(n_layers):
        W, b = params[2 * l], params[2 * l + 1]
        dW, db = direction[2 * l], direction[2 * l + 1]
        pre = h @ W + b
        dpre = dh @ W + h @ dW + db
        if l < n_layers - 1:
            on = pre > 0
            h, dh = np.where(on, pre, 0.0), np.where(on, dpre, 0.0)
        else:
            h, dh = pre, dpre
    return h, dh


def mlp_loss_grad(params, X, y, temperature: float = 1.0) -> tuple[float, list[np.ndarray]]:
    """Mean cross-entropy of ``softmax(z / T)`` against labels ``y``, and its gradient by backpropagation.

    Parameters
    ----------
    params : list of ndarray
    X : array_like, shape (n, d)
    y : array_like of int, shape (n,)
    temperature : float, optional
        ``T > 0``; the loss is ``CE(z / T)``.

    Returns
    -------
    loss : float
    grad : list of ndarray
        Same structure as ``params``.

    Examples
    --------
    >>> params = [np.zeros((2, 3)), np.zeros(3)]
    >>> loss, grad = mlp_loss_grad(params, [[1.0, 0.0]], [2])
    >>> bool(np.isclose(loss, np.log(3)))          # uniform prediction over 3 classes
    True
    """
    X = _check(params, X)
    y = np.asarray(y)
    if y.shape != (X.shape[0],) or not np.issubdtype(y.dtype, np.integer):
        raise ValueError("y must be integer labels, one per row of X")
    K = params[-1].shape[0]
    if y.size and (y.min() < 0 or y.max() >= K):
        raise ValueError(f"labels must lie in [0, {K})")
    T = float(temperature)
    if not T > 0:
        raise ValueError("temperature must be positive")
    n = X.shape[0]
    loss = 0.0

    def logit_grad(h):
        nonlocal loss
        s = h / T
        s = s - s.max(axis=1, keepdims=True)
        log_p = s - np.log(np.exp(s).sum(axis=1, keepdims=True))
        loss = float(-log_p[np.arange(n), y].mean())
        delta = np.exp(log_p)
        delta[np.arange(n), y] -= 1.0
        return delta / (n * T)

    grads = mlp_gradients(params, X, logit_grad)
    return loss, grads


def mlp_gradients(params, X, logit_grad) -> list[np.ndarray]:
    """Backpropagation: the gradients of a loss with respect to ``params``, given its gradient with
    respect to the logits, ``logit_grad(logits)`` (an array of the logits' shape).

    Examples
    --------
    >>> params = [np.ones((2, 3)), np.zeros(3)]
    >>> [g.shape for g in mlp_gradients(params, [[1.0, 2.0]], lambda z: np.ones_like(z))]
    [(2, 3), (3,)]
    """
    X = _check(params, X)
    n_layers = len(params) // 2
    acts, pres, h = [X], [], X
    for l in range(n_layers):
        pre = h @ params[2 * l] + params[2 * l + 1]
        pres.append(pre)
        h = np.maximum(pre, 0.0) if l < n_layers - 1 else pre
        if l < n_layers - 1:
            acts.append(h)
    delta = np.asarray(logit_grad(h), dtype=np.float64)
    if delta.shape != h.shape:
        raise ValueError(f"the logit gradient has shape {delta.shape}; expected the logits' shape {h.shape}")
    grads = [None] * len(params)
    for l in range(n_layers - 1, -1, -1):
        grads[2 * l] = acts[l].T @ delta
        grads[2 * l + 1] = delta.sum(axis=0)
        if l > 0:
            delta = (delta @ params[2 * l].T) * (pres[l - 1] > 0)
    return grads
