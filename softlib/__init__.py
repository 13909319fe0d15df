"""softlib: fast, exact softmax on the CPU, and the theory helpers of The Softmax Book.

The numerical functions take NumPy arrays and an ``axis``, like their ``scipy.special``
namesakes::

    >>> import numpy as np, softlib
    >>> softlib.softmax(np.log([1.0, 3.0]))
    array([0.25, 0.75])

softlib has three roles, one per package, each with its own dependencies:

- ``softlib`` itself is **the library** (NumPy alone): ``ops``, ``reference``, ``testing``, the
  compiled core, and ``sampling``, ``losses``, ``sparse``, ``quant``, ``output_head``, ``attention``;
- :mod:`softlib.book` is **book support** (the ``viz`` extra): figures, tables, timings, benchmarks;
- :mod:`softlib.chapters` is **chapter machinery** (the ``chapters`` extra): the chapters' models and
  experiments.

A module moved into ``book`` or ``chapters`` still imports by its old name (``softlib._moved``).
"""

from . import _moved
from ._dispatch import isa, isas
from ._version import __version__
from .ops import log_softmax, log_stablemax, logsumexp, softmax, softmax_topk, stablemax
from . import losses

from .sparse import entmax15, entmax_bisect, sparsemax

_moved.install()  # the old names of the moved modules import the new ones

__all__ = ["__version__", "entmax15", "entmax_bisect", "isa", "isas", "log_softmax", "log_stablemax", "logsumexp",
           "losses", "softmax", "softmax_topk", "sparsemax", "stablemax"]
