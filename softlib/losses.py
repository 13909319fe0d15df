r"""Classification losses built on softmax, and what they leave free: the chapters *What the normaliser
leaves free* and *Temperature: calibration and distillation*.

Every function takes logits (or probabilities) with the class axis ``axis`` (default the last) and, for
the losses, integer ``labels`` of the logits' shape with ``axis`` removed. Losses return one value per
sample (``reduction="none"``, the default) or their mean or sum (``reduction="mean"`` / ``"sum"``); the
``*_grad`` functions return the gradient with respect to the logits, of the logits' shape, for the same
reduction.

Dtypes: float32 and float64 come back in the same dtype; integer and bool logits are computed in
float64. NaN or infinite logits give NaN losses in their rows (NumPy's convention), except where a
docstring says otherwise. Empty batches give empty results (and NaN for ``reduction="mean"``, as
``np.mean`` does).

The functions, by chapter:

- :func:`cross_entropy`, :func:`cross_entropy_grad` (with label smoothing), :func:`log_z_penalty`,
  :func:`log_z_penalty_grad` (the :math:`(\log Z)^2` regulariser of PaLM and ST-MoE),
  :func:`z_normalize`, :func:`z_loss`, :func:`z_loss_grad`, :func:`z_loss_from_moments` (the Z-loss of
  de Brébisson & Vincent 2016), :func:`masked_cross_entropy`, :func:`masked_cross_entropy_grad` (the
  masked softmax of Kim, Kwon & Kim 2023).
- :func:`distillation_loss`, :func:`distillation_grad` (Hinton, Vinyals & Dean 2015),
  :func:`fit_temperature`, :func:`expected_calibration_error`, :func:`reliability_diagram` (Guo et al.
  2017), :func:`temper_probs`, :func:`top_k_renormalize` (probability-domain tempering).
"""

from __future__ import annotations

from dataclasses import dataclass
import operator

import numpy as np

from .ops import log_softmax, logsumexp, softmax

__all__ = [
    "cross_entropy",
    "cross_entropy_grad",
    "distillation_grad",
    "distillation_loss",
    "expected_calibration_error",
    "fit_temperature",
    "log_z_penalty",
    "log_z_penalty_grad",
    "masked_cross_entropy",
    "masked_cross_entropy_grad",
    "reliability_diagram",
    "Reliability",
    "temper_probs",
    "top_k_renormalize",
    "z_loss",
    "z_loss_from_moments",
    "z_loss_grad",
    "z_normalize",
]

REDUCTIONS = ("none", "mean", "sum")


# ----------------------------------------------------------------------------------------------------
# Input checks shared by every function
# ----------------------------------------------------------------------------------------------------

def _float_array(name: str, x) -> np.ndarray:
    x = np.asarray(x)
    if x.dtype.kind in "biu":
        return x.astype(np.float64)
    if x.dtype == np.float16:
        return x.astype(np.float32)
    if x.dtype not in (np.float32, np.float64):
        raise TypeError(f"{name} must be real numbers (float32, float64, integers or bool), got dtype {x.dtype}")
    return x


def _last_axis(name: str, x, axis) -> np.ndarray:
    """``x`` as a float array with the class axis moved last (at least one class)."""
    x = _float_array(name, x)
    if x.ndim == 0:
        raise ValueError(f"{name} needs a class axis; got a 0-d array")
    try:
        axis = operator.index(axis)
    except TypeError:
        raise TypeError(f"axis must be an integer, got {type(axis).__name__}") from None
    if not -x.ndim <= axis < x.ndim:
        raise np.exceptions.AxisError(axis, x.ndim)
    x = np.moveaxis(x, axis, -1)
    if x.shape[-1] == 0:
        raise ValueError(f"{name} has no classes: the class axis has length 0")
    return x


def _labels(labels, batch_shape: tuple, n_classes: int) -> np.ndarray:
    labels = np.asarray(labels)
    if labels.dtype.kind not in "iu":
        raise TypeError(f"labels must be integers, got dtype {labels.dtype}")
    if labels.shape != batch_shape:
        raise ValueError(f"labels have shape {labels.shape}; expected {batch_shape} (the logits' shape "
                         "without the class axis)")
    if labels.size and (labels.min() < 0 or labels.max() >= n_classes):
        raise ValueError(f"labels must lie in [0, {n_classes}); got values in [{labels.min()}, {labels.max()}]")
    return labels.astype(np.intp)


def _reduce(values: np.ndarray, reduction: str):
    if reduction == "none":
        return values
    if reduction == "mean":
        return values.dtype.type(np.mean(values)) if values.size else values.dtype.type(np.nan)
    return values.dtype.type(np.sum(values))


def _check_reduction(reduction) -> None:
    if reduction not in REDUCTIONS:
        raise ValueError(f"reduction must be one of {REDUCTIONS}, got {reduction!r}")


def _grad_scale(grad: np.ndarray, reduction: str, axis) -> np.ndarray:
    """The per-sample gradients ``grad`` (class axis last) for the reduction, with the axis put back."""
    if reduction == "mean":
        n = grad.size // grad.shape[-1]
        grad = grad / grad.dtype.type(max(n, 1))
    return np.moveaxis(grad, -1, axis)


def _positive(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not (np.isfinite(value) and value > 0):
        raise ValueError(f"{name} must be a positive finite number, got {value}")
    return value


def _take(x: np.ndarray, labels: np.ndarray) -> np.ndarray:
    return np.take_along_axis(x, labels[..., None], axis=-1)[..., 0]


def _one_hot(labels: np.ndarray, n: int, dtype) -> np.ndarray:
    out = np.zeros(labels.shape + (n,), dtype=dtype)
    np.put_along_axis(out, labels[..., None], 1, axis=-1)
    return out


# ----------------------------------------------------------------------------------------------------
# Cross-entropy and the (log Z)^2 penalty
# ----------------------------------------------------------------------------------------------------

def cross_entropy(logits, labels, axis: int = -1, label_smoothing: float = 0.0, *, reduction: str = "none"):
    r"""Cross-entropy of ``softmax(logits)`` against integer labels, with optional label smoothing.

    With :math:`K` classes and smoothing :math:`\varepsilon` the target is
    :math:`t = (1 - \varepsilon)\, e_y + \varepsilon / K` (PyTorch's convention, Szegedy et al. 2016) and

    .. math:: \ell(z, y) = -\sum_k t_k \log \operatorname{softmax}(z)_k
              = (1 - \varepsilon)(\log Z - z_y) + \varepsilon (\log Z - \bar z),

    with :math:`\log Z = \operatorname{logsumexp}(z)` and :math:`\bar z` the mean logit. Computed from
    :func:`softlib.log_softmax`, so it neither overflows nor gives ``inf`` for a confident wrong class
    unless the logits are infinite. It is unchanged by a shift of the logits, :math:`z \to z + c`.

    Parameters
    ----------
    logits : array_like
        Real scores, classes along ``axis``.
    labels : array_like of int
        The logits' shape without ``axis``; values in ``[0, K)``.
    axis : int, optional
        The class axis.
    label_smoothing : float, optional
        :math:`\varepsilon \in [0, 1]`.
    reduction : {"none", "mean", "sum"}, optional
        Per-sample values (default), their mean or their sum.

    Returns
    -------
    ndarray or scalar
        The logits' dtype (float64 for integer logits).

    Examples
    --------
    >>> import numpy as np
    >>> cross_entropy(np.log([[0.25, 0.75]]), [1])
    array([0.28768207])
    >>> float(cross_entropy([[0.0, 0.0]], [0], label_smoothing=0.1, reduction="mean"))
    0.6931471805599453
    """
    _check_reduction(reduction)
    z = _last_axis("logits", logits, axis)
    labels = _labels(labels, z.shape[:-1], z.shape[-1])
    eps = _smoothing(label_smoothing)
    logp = log_softmax(z, axis=-1)
    loss = -_take(logp, labels)
    if eps:
        loss = (1 - eps) * loss - eps * logp.mean(axis=-1)
    return _reduce(loss.astype(z.dtype, copy=False), reduction)


def _smoothing(eps) -> float:
    try:
        eps = float(eps)
    except (TypeError, ValueError):
        raise TypeError(f"label_smoothing must be a number in [0, 1], got {eps!r}") from None
    if not 0.0 <= eps <= 1.0:
        raise ValueError(f"label_smoothing must lie in [0, 1], got {eps}")
    return eps


def cross_entropy_grad(logits, labels, axis: int = -1, label_smoothing: float = 0.0, *,
                       reduction: str = "none") -> np.ndarray:
    r"""Gradient of :func:`cross_entropy` with respect to the logits: :math:`\operatorname{softmax}(z) - t`.

    Each sample's gradient sums to zero over the classes (the loss ignores shifts). With
    ``reduction="mean"`` it is divided by the number of samples; ``"none"`` and ``"sum"`` give each
    sample's own gradient.

    Examples
    --------
    >>> cross_entropy_grad(np.log([[0.25, 0.75]]), [1])
    array([[ 0.25, -0.25]])
    """
    _check_reduction(reduction)
    z = _last_axis("logits", logits, axis)
    labels = _labels(labels, z.shape[:-1], z.shape[-1])
    eps = _smoothing(label_smoothing)
    target = _one_hot(labels, z.shape[-1], z.dtype)
    if eps:
        target = (1 - eps) * target + eps / z.shape[-1]
    return _grad_scale(softmax(z, axis=-1) - target, reduction, axis)


def log_z_penalty(logits, axis: int = -1, *, reduction: str = "none"):
    r"""The squared log-normaliser :math:`(\log Z)^2`, :math:`\log Z = \operatorname{logsumexp}(z)`.

    PaLM (Chowdhery et al. 2022) adds :math:`10^{-4} (\log Z)^2` to the cross-entropy of each token, and
    ST-MoE (Zoph et al. 2022, the *router z-loss*) the mean of it over tokens for the router's logits.
    Cross-entropy ignores a shift of the logits; this penalty does not: it pins the shift so that
    :math:`\log Z` stays near 0, i.e. the logits are close to log-probabilities. It is **not** the Z-loss
    of :func:`z_loss` (de Brébisson & Vincent 2016), a different loss that is invariant to both shift and
    scale. The coefficient is the caller's: this function returns :math:`(\log Z)^2` itself.

    Examples
    --------
    >>> float(log_z_penalty(np.log([[0.25, 0.75]]), reduction="mean")) < 1e-30    # log Z = log 1 = 0
    True
    >>> np.round(log_z_penalty([[1.0, 1.0]]), 6)                           # log Z = 1 + log 2
    array([2.866747])
    """
    _check_reduction(reduction)
    z = _last_axis("logits", logits, axis)
    return _reduce(logsumexp(z, axis=-1) ** 2, reduction)


def log_z_penalty_grad(logits, axis: int = -1, *, reduction: str = "none") -> np.ndarray:
    r"""Gradient of :func:`log_z_penalty`: :math:`2 \log Z \cdot \operatorname{softmax}(z)`.

    Examples
    --------
    >>> log_z_penalty_grad([[0.0, 0.0]])            # 2 log 2 * (1/2, 1/2)
    array([[0.69314718, 0.69314718]])
    """
    _check_reduction(reduction)
    z = _last_axis("logits", logits, axis)
    grad = 2 * logsumexp(z, axis=-1)[..., None] * softmax(z, axis=-1)
    return _grad_scale(grad, reduction, axis)


# ----------------------------------------------------------------------------------------------------
# The Z-loss (de Brébisson & Vincent 2016)
# ----------------------------------------------------------------------------------------------------

def _z(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Z-normalised rows (class axis last) and their standard deviations; constant rows give z = 0."""
    centred = z - z.mean(axis=-1, keepdims=True)  # centred first: no cancellation when |mean| >> std
    centred -= centred.mean(axis=-1, keepdims=True)  # removes the rounding error of the first mean
    # A constant row must give sigma = 0 exactly; its computed mean can differ from its value by
    # rounding, which the correction above cancels, and max == min catches whatever is left.
    constant = z.max(axis=-1, keepdims=True) == z.min(axis=-1, keepdims=True) if z.size else False
    centred = np.where(constant, 0, centred).astype(z.dtype, copy=False)
    sigma = np.sqrt(np.mean(centred * centred, axis=-1, keepdims=True))
    with np.errstate(invalid="ignore", divide="ignore"):
        out = centred / sigma
    out = np.where(sigma > 0, out, 0).astype(z.dtype, copy=False)
    # NaN rows stay NaN (np.where above keeps them: sigma is NaN, not > 0, so mask by isnan too).
    bad = ~np.isfinite(sigma)
    if bad.any():
        out = np.where(bad, np.nan, out).astype(z.dtype, copy=False)
    return out, sigma


def z_normalize(logits, axis: int = -1) -> np.ndarray:
    r"""Logits Z-normalised along ``axis``: :math:`z_k = (o_k - \mu) / \sigma`.

    :math:`\mu` is the mean of the row and :math:`\sigma` its population standard deviation (divided by
    the number of classes :math:`D`), as in de Brébisson & Vincent (2016, section 3). The result is
    unchanged by :math:`o \to \alpha o + \beta` for every :math:`\alpha > 0` and real :math:`\beta`
    (:math:`\alpha < 0` flips its sign). A constant row (:math:`\sigma = 0`) gives zeros: no class
    stands out. Rows with NaN or infinite entries give NaN.

    Examples
    --------
    >>> z_normalize([[1.0, 2.0, 3.0], [5.0, 5.0, 5.0]])
    array([[-1.22474487,  0.        ,  1.22474487],
           [ 0.        ,  0.        ,  0.        ]])
    """
    z = _last_axis("logits", logits, axis)
    return np.moveaxis(_z(z)[0], -1, axis)


def z_loss(logits, labels, a: float = 1.0, b: float = 0.0, axis: int = -1, *, reduction: str = "none"):
    r"""The Z-loss of de Brébisson & Vincent (2016): a softplus of the Z-normalised true-class logit.

    .. math:: L_Z(o, c) = \frac{1}{a} \operatorname{softplus}\big(a\,(b - z_c)\big), \qquad
              z_c = \frac{o_c - \mu}{\sigma},

    with :math:`\mu, \sigma` the mean and population standard deviation of the row (see
    :func:`z_normalize`). It is invariant to a shift **and** to a positive rescaling of the logits, so
    it cannot be lowered by growing them, unlike cross-entropy. Since :math:`z_c \le \sqrt{D - 1}`, it
    is bounded below by :math:`\operatorname{softplus}(a (b - \sqrt{D-1}))/a`; ``a`` sets how sharply and
    ``b`` where it saturates (the paper tunes both; its released example uses :math:`a = 1, b = 0`).
    It depends on the row only through :math:`\sum_k o_k`, :math:`\sum_k o_k^2` and :math:`o_c`, which
    is what makes it a member of the *spherical family* (:func:`z_loss_from_moments`).

    Different from :func:`log_z_penalty`, the :math:`(\log Z)^2` regulariser that PaLM and ST-MoE also
    call a "z-loss": that one breaks cross-entropy's shift invariance on purpose; this one is a loss on
    its own, with no softmax in it.

    Parameters
    ----------
    logits : array_like
        Real scores, classes along ``axis``; at least two classes are meaningful.
    labels : array_like of int
        The logits' shape without ``axis``.
    a, b : float, optional
        Sharpness ``a > 0`` and location ``b`` (finite).
    axis : int, optional
    reduction : {"none", "mean", "sum"}, optional

    Returns
    -------
    ndarray or scalar
        **Constant rows** (all logits equal, :math:`\sigma = 0`) get :math:`z_c = 0`, hence the defined
        value :math:`\operatorname{softplus}(a b)/a` (:math:`\log 2` for the defaults), never NaN. Rows
        with NaN or infinite logits give NaN.

    Examples
    --------
    >>> np.round(z_loss([[0.0, 0.0, 3.0]], [2]), 6)        # z_c = sqrt(2): softplus(-1.414)
    array([0.217622])
    >>> z_loss([[7.0, 7.0]], [0])                          # a constant row: log 2
    array([0.69314718])
    >>> bool(np.allclose(z_loss([[0.0, 0.0, 3.0]], [2]), z_loss([[5.0, 5.0, 11.0]], [2])))
    True
    """
    _check_reduction(reduction)
    a, b = _positive("a", a), _finite("b", b)
    o = _last_axis("logits", logits, axis)
    labels = _labels(labels, o.shape[:-1], o.shape[-1])
    zc = _take(_z(o)[0], labels)
    with np.errstate(invalid="ignore"):  # NaN rows stay NaN, quietly, as in np.exp
        loss = np.logaddexp(0, a * (b - zc)) / a
    return _reduce(loss.astype(o.dtype, copy=False), reduction)


def _finite(name: str, value) -> float:
    try:
        value = float(value)
    except (TypeError, ValueError):
        raise TypeError(f"{name} must be a real number, got {value!r}") from None
    if not np.isfinite(value):
        raise ValueError(f"{name} must be finite, got {value}")
    return value


def z_loss_grad(logits, labels, a: float = 1.0, b: float = 0.0, axis: int = -1, *,
                reduction: str = "none") -> np.ndarray:
    r"""Gradient of :func:`z_loss` with respect to the logits.

    With :math:`s = \sigma(a (b - z_c))` (the logistic function) and :math:`D` classes,

    .. math:: \frac{\partial L_Z}{\partial o_k} = -\frac{s}{\sigma}
              \Big(\delta_{kc} - \frac{1}{D} - \frac{z_c z_k}{D}\Big).

    Each row's gradient sums to zero (shift invariance) and is orthogonal to the logits (scale
    invariance, by Euler's theorem for a function homogeneous of degree 0). Constant rows have no
    gradient (the loss is not differentiable there): they get zeros.

    Examples
    --------
    >>> g = z_loss_grad([[0.0, 1.0, 3.0]], [1])
    >>> bool(abs(g.sum()) < 1e-15), bool(abs(g @ [0.0, 1.0, 3.0]) < 1e-15)
    (True, True)
    """
    _check_reduction(reduction)
    a, b = _positive("a", a), _finite("b", b)
    o = _last_axis("logits", logits, axis)
    labels = _labels(labels, o.shape[:-1], o.shape[-1])
    zn, sigma = _z(o)
    d = o.shape[-1]
    zc = _take(zn, labels)[..., None]
    s = 0.5 * (1 + np.tanh(0.5 * a * (b - zc)))  # the logistic function without overflow
    with np.errstate(invalid="ignore", divide="ignore"):
        grad = -s / sigma * (_one_hot(labels, d, o.dtype) - 1.0 / d - zc * zn / d)
    grad = np.where(sigma > 0, grad, 0).astype(o.dtype, copy=False)
    return _grad_scale(grad, reduction, axis)


def z_loss_from_moments(s1, s2, o_c, n_classes: int, a: float = 1.0, b: float = 0.0) -> np.ndarray:
    r"""The Z-loss from the spherical statistics :math:`S_1 = \sum_k o_k`, :math:`S_2 = \sum_k o_k^2`, :math:`o_c`.

    With :math:`\mu = S_1 / D` and :math:`\sigma^2 = S_2 / D - \mu^2`, :math:`L_Z = \operatorname{softplus}(a(b
    - (o_c - \mu)/\sigma))/a`. For a linear output layer :math:`o = W h` (``W`` of shape ``(D, d)``),
    :math:`S_1 = h \cdot \bar w` with :math:`\bar w = \sum_k w_k` and :math:`S_2 = h^\top Q h` with
    :math:`Q = W^\top W`, so once :math:`\bar w` and :math:`Q` are kept, the loss costs :math:`O(d^2)` per
    example instead of :math:`O(Dd)`: the point of the spherical family (de Brébisson & Vincent 2016,
    section 2). :math:`\sigma^2` is clamped at 0 (rounding can make it slightly negative when
    :math:`|\mu| \gg \sigma`: prefer :func:`z_loss` on the logits then); :math:`\sigma = 0` gives
    :math:`z_c = 0` as in :func:`z_loss`.

    Examples
    --------
    >>> o = np.array([[0.0, 1.0, 3.0]])
    >>> loss = z_loss_from_moments(o.sum(-1), (o * o).sum(-1), o[:, 1], 3)
    >>> bool(np.allclose(loss, z_loss(o, [1])))
    True
    """
    a, b = _positive("a", a), _finite("b", b)
    try:
        d = operator.index(n_classes)
    except TypeError:
        raise TypeError(f"n_classes must be an integer, got {n_classes!r}") from None
    if d < 1:
        raise ValueError(f"n_classes must be positive, got {d}")
    s1, s2, o_c = (np.asarray(v, dtype=np.result_type(v, np.float32)) for v in (s1, s2, o_c))
    mu = s1 / d
    var = np.maximum(s2 / d - mu * mu, 0)
    sigma = np.sqrt(var)
    with np.errstate(invalid="ignore", divide="ignore"):
        zc = np.where(sigma > 0, (o_c - mu) / sigma, 0)
    return np.logaddexp(0, a * (b - zc)) / a


# ----------------------------------------------------------------------------------------------------
# Masked softmax for continual learning (Kim, Kwon & Kim 2023)
# ----------------------------------------------------------------------------------------------------

def _allowed(allowed, n: int) -> np.ndarray:
    allowed = np.asarray(allowed)
    if allowed.dtype != bool or allowed.shape != (n,):
        raise ValueError(f"allowed must be a boolean array of shape ({n},), one entry per class")
    if not allowed.any():
        raise ValueError("allowed must keep at least one class")
    return allowed


def _masked_logits(logits, labels, allowed, mask_value, axis, reduction):
    """The checks of the masked loss and its gradient: ``(masked logits, labels, keep)``."""
    _check_reduction(reduction)
    z = _last_axis("logits", logits, axis)
    labels = _labels(labels, z.shape[:-1], z.shape[-1])
    keep = _allowed(allowed, z.shape[-1])
    if not keep[labels].all():
        raise ValueError("every label must be an allowed class")
    m = float(mask_value)
    if np.isnan(m) or m == np.inf:
        raise ValueError(f"mask_value must be a number or -inf, got {m}")
    return np.where(keep, z, z.dtype.type(m)), labels, keep


def masked_cross_entropy(logits, labels, allowed, mask_value: float = -np.inf, axis: int = -1, *,
                         reduction: str = "none"):
    r"""Cross-entropy after replacing the logits of the classes outside ``allowed`` by ``mask_value``.

    The general masked softmax of Kim, Kwon & Kim (2023): masked logits become the constant :math:`m`
    (no gradient flows to them). :math:`m = -\infty` is the classic masking, which drops those classes
    from the softmax; a finite :math:`m` keeps them in the normaliser with a fixed score. In continual
    learning the masked classes are those of earlier tasks, so cross-entropy on new data stops pushing
    their logits down. Labels must be allowed classes.

    Examples
    --------
    >>> z = np.array([[5.0, 0.0, 0.0]])
    >>> masked_cross_entropy(z, [1], np.array([False, True, True]))      # class 0 dropped: log 2
    array([0.69314718])
    """
    masked, labels, _ = _masked_logits(logits, labels, allowed, mask_value, axis, reduction)
    return cross_entropy(masked, labels, reduction=reduction)


def masked_cross_entropy_grad(logits, labels, allowed, mask_value: float = -np.inf, axis: int = -1, *,
                              reduction: str = "none") -> np.ndarray:
    r"""Gradient of :func:`masked_cross_entropy`: :math:`p - e_y` on the allowed logits, 0 on the masked.

    :math:`p` is the softmax of the masked logits; the row sums to :math:`-P(\text{masked classes})`
    (zero for :math:`m = -\infty`), where plain cross-entropy's sums to zero: the mass that a finite
    :math:`m` keeps in the normaliser is the push that the masked logits no longer receive.

    Examples
    --------
    >>> masked_cross_entropy_grad([[5.0, 0.0, 0.0]], [1], np.array([False, True, True]))
    array([[ 0. , -0.5,  0.5]])
    """
    masked, labels, keep = _masked_logits(logits, labels, allowed, mask_value, axis, reduction)
    grad = softmax(masked, axis=-1) - _one_hot(labels, masked.shape[-1], masked.dtype)
    return _grad_scale(np.where(keep, grad, 0).astype(masked.dtype, copy=False), reduction, axis)


# ----------------------------------------------------------------------------------------------------
# Distillation (Hinton, Vinyals & Dean 2015)
# ----------------------------------------------------------------------------------------------------

def distillation_loss(student_logits, teacher_logits, temperature, axis: int = -1, *, reduction: str = "none"):
    r"""Hinton's soft-target loss with the :math:`T^2` factor: :math:`T^2\,\mathrm{KL}(p_T \,\|\, q_T)`.

    :math:`p_T = \operatorname{softmax}(v / T)` are the teacher's soft targets and
    :math:`q_T = \operatorname{softmax}(z / T)` the student's (Hinton, Vinyals & Dean 2015, eq. 1). The
    KL divergence differs from the paper's cross-entropy :math:`-\sum p_T \log q_T` by the teacher's
    entropy, a constant, so it has the same gradient (:func:`distillation_grad`) and is 0 when the
    student matches. The gradient of the bare soft loss shrinks like :math:`1/T^2` for large :math:`T`
    (eq. 4 of the paper), which the factor :math:`T^2` undoes, so that the soft loss keeps its weight
    against a hard-label loss when :math:`T` changes.

    Parameters
    ----------
    student_logits, teacher_logits : array_like
        Same shape, classes along ``axis``.
    temperature : float
        :math:`T > 0`, finite.
    axis : int, optional
    reduction : {"none", "mean", "sum"}, optional

    Examples
    --------
    >>> v = np.array([[2.0, 0.0, -1.0]])
    >>> float(distillation_loss(v, v, 4.0)[0])
    0.0
    >>> np.round(distillation_loss([[0.0, 0.0, 0.0]], v, 2.0), 6)
    array([0.770612])
    """
    _check_reduction(reduction)
    z, v, t = _student_teacher(student_logits, teacher_logits, temperature, axis)
    logq = log_softmax(z / t, axis=-1)
    logp = log_softmax(v / t, axis=-1)
    p = np.exp(logp)
    with np.errstate(invalid="ignore"):
        kl = np.sum(np.where(p > 0, p * (logp - logq), 0), axis=-1)
    return _reduce((t * t * kl).astype(z.dtype, copy=False), reduction)


def _student_teacher(student_logits, teacher_logits, temperature, axis):
    t = _positive("temperature", temperature)
    z = _last_axis("student_logits", student_logits, axis)
    v = _last_axis("teacher_logits", teacher_logits, axis)
    if z.shape != v.shape:
        raise ValueError(f"student_logits and teacher_logits must have the same shape; got "
                         f"{np.moveaxis(z, -1, axis).shape} and {np.moveaxis(v, -1, axis).shape}")
    dtype = np.result_type(z, v)
    return z.astype(dtype, copy=False), v.astype(dtype, copy=False), dtype.type(t)


def distillation_grad(student_logits, teacher_logits, temperature, axis: int = -1, *,
                      reduction: str = "none") -> np.ndarray:
    r"""Gradient of :func:`distillation_loss` with respect to the student's logits: :math:`T (q_T - p_T)`.

    Without the factor :math:`T^2` it would be :math:`(q_T - p_T)/T` (Hinton et al. 2015, eq. 2). For
    :math:`T` large against the logits, :math:`q_T - p_T \approx (z - \bar z - v + \bar v)/(D T)`, so
    :math:`T (q_T - p_T) \to (z - \bar z - v + \bar v)/D`: the scaled gradient levels off (eq. 3-4).

    Examples
    --------
    >>> g = distillation_grad([[1.0, 0.0, 0.0]], [[0.0, 0.0, 1.0]], 1000.0)
    >>> np.round(g, 3)                                   # -> (z - v)/3 for large T
    array([[ 0.333,  0.   , -0.333]])
    """
    _check_reduction(reduction)
    z, v, t = _student_teacher(student_logits, teacher_logits, temperature, axis)
    grad = t * (softmax(z / t, axis=-1) - softmax(v / t, axis=-1))
    return _grad_scale(grad, reduction, axis)


# ----------------------------------------------------------------------------------------------------
# Calibration (Guo, Pleiss, Sun & Weinberger 2017)
# ----------------------------------------------------------------------------------------------------

def fit_temperature(logits, labels, axis: int = -1, *, bounds: tuple[float, float] = (0.01, 100.0)) -> float:
    r"""The temperature :math:`T` that minimises the mean NLL of ``softmax(logits / T)`` on ``labels``.

    Temperature scaling (Guo et al. 2017, section 4.2) fits this one number on a validation set. The
    mean NLL is convex in :math:`\beta = 1/T`, with derivative
    :math:`\operatorname{mean}(\mathbb{E}_{p_\beta}[z] - z_y)` and second derivative the mean variance of
    the logits under :math:`p_\beta`, so bisection on the sign of the derivative finds the minimiser to
    machine precision (the official code runs 50 L-BFGS steps instead). Dividing by :math:`T > 0` keeps
    every argmax, so accuracy is unchanged. If the minimiser lies outside ``bounds`` (e.g. every
    validation example is classified correctly, so the NLL keeps falling as :math:`T \to 0`) the nearest
    bound is returned.

    Parameters
    ----------
    logits : array_like
        Validation logits, classes along ``axis``.
    labels : array_like of int
        Their labels.
    axis : int, optional
    bounds : (float, float), optional
        The range searched, ``0 < low < high``.

    Returns
    -------
    float

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> y = rng.integers(0, 5, size=2000)
    >>> x = rng.normal(size=(2000, 5)) + 1.5 * np.eye(5)[y]
    >>> z = 1.5 * x                        # the exact log-posterior, up to a shift: calibrated at T = 1
    >>> round(fit_temperature(3 * z, y), 1)                     # over-confident by 3: T* near 3
    3.0
    """
    z = _last_axis("logits", logits, axis).astype(np.float64)
    labels = _labels(labels, z.shape[:-1], z.shape[-1])
    if z.size == 0:
        raise ValueError("fit_temperature needs at least one example")
    if not np.all(np.isfinite(z)):
        raise ValueError("fit_temperature needs finite logits")
    low, high = (_positive("bounds", v) for v in bounds)
    if not low < high:
        raise ValueError(f"bounds must satisfy low < high, got {bounds}")
    z = z.reshape(-1, z.shape[-1])
    zy = _take(z, labels.reshape(-1))

    def slope(beta):  # d/d beta of the mean NLL of softmax(beta z)
        return float(np.mean(np.sum(softmax(beta * z, axis=-1) * z, axis=-1) - zy))

    lo, hi = 1 / high, 1 / low  # in beta
    if slope(lo) >= 0:
        return high
    if slope(hi) <= 0:
        return low
    for _ in range(100):
        mid = 0.5 * (lo + hi)
        if slope(mid) < 0:
            lo = mid
        else:
            hi = mid
        if hi - lo <= 1e-15 * hi:
            break
    return float(1 / (0.5 * (lo + hi)))


def _probs_labels(probs, labels, axis, bins):
    p = _last_axis("probs", probs, axis)
    labels = _labels(labels, p.shape[:-1], p.shape[-1])
    if isinstance(bins, bool):
        raise TypeError("bins must be a positive integer")
    try:
        bins = operator.index(bins)
    except TypeError:
        raise TypeError(f"bins must be a positive integer, got {bins!r}") from None
    if bins < 1:
        raise ValueError(f"bins must be a positive integer, got {bins}")
    if p.size:
        if not np.all(np.isfinite(p)) or p.min() < 0 or p.max() > 1:
            raise ValueError("probs must be finite probabilities in [0, 1]")
        tol = 10 * np.sqrt(np.finfo(p.dtype).eps)
        if np.max(np.abs(p.sum(axis=-1) - 1)) > tol:
            raise ValueError(f"each row of probs must sum to 1 (within {tol:.1e}); pass softmax outputs")
    return p.reshape(-1, p.shape[-1]), labels.reshape(-1), bins


@dataclass(frozen=True)
class Reliability:
    """The data of a reliability diagram (see :func:`reliability_diagram`).

    Attributes
    ----------
    edges : ndarray, shape (bins + 1,)
        Bin edges on the confidence axis; bin ``b`` is ``(edges[b], edges[b + 1]]``.
    counts : ndarray of int, shape (bins,)
        Examples per bin.
    confidence, accuracy : ndarray, shape (bins,)
        Mean confidence (largest probability) and accuracy in each bin; NaN in an empty bin.
    ece : float
        The expected calibration error, :math:`\\sum_b (n_b / n) |\\mathrm{acc}_b - \\mathrm{conf}_b|`.
    """

    edges: np.ndarray
    counts: np.ndarray
    confidence: np.ndarray
    accuracy: np.ndarray
    ece: float


def reliability_diagram(probs, labels, bins: int = 15, axis: int = -1) -> Reliability:
    r"""Per-bin confidence and accuracy of a classifier's probabilities: a reliability diagram's data.

    The confidence of a prediction is its largest probability; predictions are grouped into ``bins``
    equal-width bins :math:`(\frac{b}{B}, \frac{b+1}{B}]` as in Guo et al. (2017, section 2) and their
    official code. A calibrated classifier has accuracy equal to confidence in every bin.

    Parameters
    ----------
    probs : array_like
        Probabilities, classes along ``axis``; each row must sum to 1 (within
        :math:`10\sqrt{\epsilon}` of its dtype).
    labels : array_like of int
    bins : int, optional
        Number of bins, at least 1.
    axis : int, optional

    Returns
    -------
    Reliability

    Examples
    --------
    >>> r = reliability_diagram([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1], bins=5)
    >>> r.counts, r.accuracy[[3, 4]], round(r.ece, 3)
    (array([0, 0, 0, 2, 1]), array([0.5, 1. ]), 0.2)
    """
    p, y, bins = _probs_labels(probs, labels, axis, bins)
    edges = np.linspace(0.0, 1.0, bins + 1)
    conf = p.max(axis=-1).astype(np.float64)
    correct = (p.argmax(axis=-1) == y).astype(np.float64)
    index = np.clip(np.searchsorted(edges, conf, side="left") - 1, 0, bins - 1)  # (lo, hi] bins
    counts = np.bincount(index, minlength=bins)
    with np.errstate(invalid="ignore", divide="ignore"):
        mean_conf = np.bincount(index, conf, minlength=bins) / counts
        mean_acc = np.bincount(index, correct, minlength=bins) / counts
    filled = counts > 0
    ece = float(np.sum(counts[filled] * np.abs(mean_acc[filled] - mean_conf[filled])) / max(len(y), 1))
    return Reliability(edges, counts, mean_conf, mean_acc, ece)


def expected_calibration_error(probs, labels, bins: int = 15, axis: int = -1) -> float:
    r"""The expected calibration error (ECE) of Guo et al. (2017, section 2) with ``bins`` equal-width bins.

    .. math:: \mathrm{ECE} = \sum_{b=1}^{B} \frac{n_b}{n}\,\big|\mathrm{acc}(b) - \mathrm{conf}(b)\big|

    Bins are :math:`(\frac{b-1}{B}, \frac{b}{B}]` on the largest probability, 15 by default as in the
    paper. An empty input gives 0.

    Examples
    --------
    >>> round(expected_calibration_error([[0.9, 0.1], [0.8, 0.2], [0.3, 0.7]], [0, 1, 1], bins=5), 3)
    0.2
    """
    return reliability_diagram(probs, labels, bins, axis).ece


# ----------------------------------------------------------------------------------------------------
# Tempering probabilities
# ----------------------------------------------------------------------------------------------------

def temper_probs(probs, temperature, axis: int = -1) -> np.ndarray:
    r"""Probabilities tempered in the probability domain: :math:`p^{1/T} / \sum_k p_k^{1/T}`.

    Computed in log space as ``softmax(log(p) / T)``, so it equals ``softmax(z / T)`` when
    ``p = softmax(z)`` (a teacher that exposes only probabilities can still be tempered), and zeros
    stay zeros. Rows need not be normalised (only ratios matter); entries must be finite and
    nonnegative, with at least one positive entry per row.

    Examples
    --------
    >>> temper_probs([0.2, 0.8], 2.0)                   # sqrt(0.2), sqrt(0.8), normalised
    array([0.33333333, 0.66666667])
    """
    t = _positive("temperature", temperature)
    p = _last_axis("probs", probs, axis)
    if p.size and (not np.all(np.isfinite(p)) or p.min() < 0 or np.any(p.max(axis=-1) <= 0)):
        raise ValueError("probs must be finite and nonnegative, with a positive entry in every row")
    with np.errstate(divide="ignore"):
        logp = np.log(p)
    return np.moveaxis(softmax(logp / p.dtype.type(t), axis=-1), -1, axis)


def top_k_renormalize(probs, k: int, axis: int = -1) -> np.ndarray:
    r"""Keep each row's ``k`` largest probabilities, set the rest to 0, and renormalise.

    What a black-box teacher that reveals only its top-k probabilities gives. Ties at the k-th value
    keep the lower indices. Tempering (:func:`temper_probs`) commutes with it: both orders give the same
    distribution, because :math:`p \mapsto p^{1/T}` keeps the order of the entries and renormalising
    twice is renormalising once.

    Examples
    --------
    >>> top_k_renormalize([0.5, 0.1, 0.3, 0.1], 2)
    array([0.625, 0.   , 0.375, 0.   ])
    """
    p = _last_axis("probs", probs, axis)
    try:
        k = operator.index(k)
    except TypeError:
        raise TypeError(f"k must be an integer, got {k!r}") from None
    if not 1 <= k <= p.shape[-1]:
        raise ValueError(f"k must lie in [1, {p.shape[-1]}], got {k}")
    order = np.argsort(-p, axis=-1, kind="stable")[..., :k]
    kept = np.zeros_like(p)
    np.put_along_axis(kept, order, np.take_along_axis(p, order, axis=-1), axis=-1)
    total = kept.sum(axis=-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        out = kept / total
    return np.moveaxis(out, -1, axis)
