"""The compiled core and its code paths.

The extension picks its code path once, at import, from the CPU's features; ``SOFTLIB_ISA``
(``portable``, ``avx2`` or ``avx512``) forces one, with a clear error when the CPU cannot run it.
"""

from __future__ import annotations

try:
    from . import _core as core
except ImportError as error:  # pragma: no cover - only without a build
    raise ImportError(
        "softlib's compiled core is missing: build it with `pip install .` or `make setup` "
        f"from the repository ({error})"
    ) from error


def isa() -> str:
    """The code path the kernels run on: ``"portable"``, ``"avx2"`` or ``"avx512"``.

    Examples
    --------
    >>> import softlib
    >>> softlib.isa() in softlib.isas()
    True
    """
    return core.isa()


def isas() -> list[str]:
    """The code paths this CPU supports and this build contains, baseline first.

    Examples
    --------
    >>> import softlib
    >>> softlib.isas()[0]
    'portable'
    """
    return list(core.isas())
