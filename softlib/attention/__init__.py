"""Softmax in attention: the full and blockwise schedules, the recurrent (Taylor) view, softmax-free
attention, and attention at depth.

The API of the part "Softmax in attention" of the book::

    >>> import numpy as np
    >>> from softlib.attention import attention, blockwise_attention
    >>> q = k = v = np.eye(3)
    >>> bool(np.allclose(attention(q, k, v), blockwise_attention(q, k, v, block=2)))
    True

Modules: :mod:`~softlib.attention.core` (``attention``, ``blockwise_attention``),
:mod:`~softlib.attention.recurrent` (Taylor features and the normalised linear recurrence),
:mod:`~softlib.attention.softmax_free` (sigmoid, softplus, Gaussian kernel and Nystrom),
:mod:`~softlib.attention.depth` (rank collapse, shaped attention, Sinkhorn). The chapters' figures
and the benchmark are book support: :mod:`softlib.book.attention_plots`,
:mod:`softlib.book.attention_bench`.
"""

from .core import KINDS, attention, blockwise_attention, blockwise_trace

__all__ = ["KINDS", "attention", "blockwise_attention", "blockwise_trace"]
