"""The old names of the modules that moved to ``softlib.book`` and ``softlib.chapters``.

softlib was one flat package until its modules were grouped by role. The old names are API (readers'
code and earlier issues use ``softlib.viz.explore``, ``softlib.moe.runner``, ``python -m
softlib.bench``), so ``import softlib`` puts :class:`OldNames` first on ``sys.meta_path``: an old name
imports the module of its new name, the same object (one copy of each class and of module state), and
a moved package's submodules follow it. softlib itself uses the new names only.
"""

from __future__ import annotations

import importlib
import importlib.abc
import importlib.machinery
import importlib.util
import sys

__all__ = ["MOVED", "new_name", "OldNames", "install"]

#: Old dotted name -> new dotted name, for every module and package that moved.
MOVED = {
    # book support
    "softlib.viz": "softlib.book.viz",
    "softlib.timing": "softlib.book.timing",
    "softlib.bench": "softlib.book.bench",
    "softlib.algorithms": "softlib.book.algorithms",
    "softlib.foundations_plots": "softlib.book.foundations_plots",
    "softlib.losses_plots": "softlib.book.losses_plots",
    "softlib.sampling_plots": "softlib.book.sampling_plots",
    "softlib.stability_plots": "softlib.book.stability_plots",
    "softlib.attention.plots": "softlib.book.attention_plots",
    "softlib.attention.bench": "softlib.book.attention_bench",
    "softlib.moe.plots": "softlib.book.moe_plots",
    "softlib.moe.multinomial_plots": "softlib.book.moe_multinomial_plots",
    "softlib.moe.dselect_plots": "softlib.book.moe_dselect_plots",
    # chapter machinery
    "softlib.moe": "softlib.chapters.moe",
    "softlib.theory": "softlib.chapters.theory",
    "softlib.modular": "softlib.chapters.modular",
    "softlib.stability": "softlib.chapters.stability",
    "softlib.soft_thinking": "softlib.chapters.soft_thinking",
    "softlib.training_loops": "softlib.chapters.training_loops",
}

# ``from softlib.moe import plots`` looks for the submodule by the package's real name,
# ``softlib.chapters.moe.plots``: the modules that left a moved package are found there too.
_LEFT = {
    MOVED[package] + old[len(package) :]: new
    for old, new in MOVED.items()
    for package in MOVED
    if old.startswith(package + ".")
}


def new_name(name: str) -> str | None:
    """The current name of the module once called ``name``, or None when it did not move.

    A module inside a moved package moved with it, unless the table names it (the figure modules of
    ``softlib.moe`` went to ``softlib.book``).

    Examples
    --------
    >>> new_name("softlib.moe.runner"), new_name("softlib.moe.plots"), new_name("softlib.ops")
    ('softlib.chapters.moe.runner', 'softlib.book.moe_plots', None)
    """
    if name in _LEFT:
        return _LEFT[name]
    head, tail = name, ""
    while head:
        if head in MOVED:
            return MOVED[head] + tail
        head, _, last = head.rpartition(".")
        tail = f".{last}{tail}"
    return None


class OldNames(importlib.abc.MetaPathFinder):
    """Finds a moved module by its old name; the spec's loader hands over the module of the new name."""

    def find_spec(self, fullname, path=None, target=None):
        new = new_name(fullname)
        if new is None:
            return None
        # find_spec imports the parent packages of ``new``, not ``new`` itself
        real = importlib.util.find_spec(new)
        if real is None:
            return None
        spec = importlib.machinery.ModuleSpec(fullname, _Alias(new), origin=real.origin)
        spec.submodule_search_locations = real.submodule_search_locations
        return spec


class _Alias(importlib.abc.Loader):
    """Loads an old name as the already imported module of its new name ``new``."""

    def __init__(self, new: str):
        self.new = new
        self.real_spec = None

    def create_module(self, spec):
        module = importlib.import_module(self.new)
        # importlib sets module.__spec__ to the old name's spec after this: exec_module puts it back,
        # so the module keeps its own name, loader and origin (pickle, inspect and reload read them).
        self.real_spec = module.__spec__
        return module

    def exec_module(self, module):
        module.__spec__ = self.real_spec

    def get_code(self, fullname):
        """The new module's code: what runpy runs for ``python -m <old name>``."""
        spec = importlib.util.find_spec(self.new)
        return spec.loader.get_code(self.new)


def install() -> None:
    """Put :class:`OldNames` first on ``sys.meta_path`` (once), ahead of the finders that would
    otherwise import a moved file a second time under its old name."""
    if not any(isinstance(finder, OldNames) for finder in sys.meta_path):
        sys.meta_path.insert(0, OldNames())
