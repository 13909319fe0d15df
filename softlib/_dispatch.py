"""The compiled core and its code paths.

The extension picks its code path once, at import, from the CPU's features (CPUID, and XCR0 for the
registers the OS saves); ``SOFTLIB_ISA`` (``portable``, ``avx2`` or ``avx512``) forces one, and the
import fails with a ValueError naming the paths this CPU supports when it cannot run the one asked for.
Without the compiled extension, softlib still imports and computes with :mod:`softlib.reference`.
"""

from __future__ import annotations

import os
import warnings

try:
    from . import _core as core
except ImportError as error:  # pragma: no cover - only without a build
    core = None
    warnings.warn(
        "softlib's compiled core is missing, so every function runs the NumPy reference: build it with "
        f"`pip install .` or `make setup` from the repository ({error})",
        RuntimeWarning,
        stacklevel=2,
    )

# The test-only and bench-only kernels (exp alone, the exp ULP scan, the plain variants, one named
# kernel alone): a separate module, built with the CMake option SOFTLIB_TESTING (on by default), so
# the shipping module holds none of them. None when it is not built.
try:
    from . import _core_testing as core_testing
except ImportError:  # pragma: no cover - a build with SOFTLIB_TESTING=OFF
    core_testing = None

if core is not None and os.environ.get("SOFTLIB_ISA"):
    # Raises ValueError ("this CPU cannot run the 'avx512' code path (it supports: ...)" or "unknown
    # code path"): the import fails rather than silently running another path.
    core.select_isa(os.environ["SOFTLIB_ISA"])
    if core_testing is not None:
        core_testing.select_isa(os.environ["SOFTLIB_ISA"])


def isa() -> str:
    """The code path the kernels run on: ``"portable"``, ``"avx2"`` or ``"avx512"``.

    ``"reference"`` when the compiled core is missing.

    Examples
    --------
    >>> import softlib
    >>> softlib.isa() in softlib.isas()
    True
    """
    return core.isa() if core is not None else "reference"


def isas() -> list[str]:
    """The code paths this CPU supports and this build contains, baseline first.

    Examples
    --------
    >>> import softlib
    >>> softlib.isas()[0]
    'portable'
    """
    return list(core.isas()) if core is not None else ["reference"]
