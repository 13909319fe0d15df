"""softlib: fast, exact softmax on the CPU, and the theory helpers of The Softmax Book.

The numerical functions take NumPy arrays and an ``axis``, like their ``scipy.special``
namesakes::

    >>> import numpy as np, softlib
    >>> softlib.softmax(np.log([1.0, 3.0]))
    array([0.25, 0.75])
"""

from ._dispatch import isa, isas
from ._version import __version__
from .ops import log_softmax, log_stablemax, logsumexp, softmax, softmax_topk, stablemax
from . import losses

from .sparse import entmax15, entmax_bisect, sparsemax

__all__ = ["__version__", "entmax15", "entmax_bisect", "isa", "isas", "log_softmax", "log_stablemax", "logsumexp",
           "losses", "softmax", "softmax_topk", "sparsemax", "stablemax"]
