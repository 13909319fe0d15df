"""The package layout: softlib (the library), softlib.book (book support) and softlib.chapters (chapter
machinery); the old names of the moved modules import the same module objects, and the library role
imports without the other roles' dependencies."""

import importlib
import subprocess
import sys

import pytest

import softlib
from softlib._moved import MOVED


def _python(*args: str) -> str:
    """What a fresh interpreter run with ``args`` prints; it must succeed."""
    r = subprocess.run([sys.executable, *args], capture_output=True, text=True)
    assert r.returncode == 0, r.stderr
    return r.stdout.strip()


@pytest.mark.parametrize("old, new", sorted(MOVED.items()))
def test_old_name_is_the_new_module(old, new):
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert sys.modules[old] is sys.modules[new]
    # the module keeps its own name and spec, not the alias's
    assert module.__name__ == new and module.__spec__.name == new


def test_old_names_imported_first_in_a_fresh_interpreter():
    """An old name imported before its new name loads the module once, under its new name."""
    code = (
        "import importlib, sys\n"
        "from softlib._moved import MOVED\n"
        "for old, new in sorted(MOVED.items()):\n"
        "    m = importlib.import_module(old)\n"
        "    assert m is sys.modules[new] and m.__spec__.name == new, (old, m.__spec__)\n"
        "print('ok')\n"
    )
    assert _python("-c", code) == "ok"


@pytest.mark.parametrize(
    "old, new",
    [
        ("softlib.moe.model", "softlib.chapters.moe.model"),
        ("softlib.moe.runner", "softlib.chapters.moe.runner"),
        ("softlib.theory.ghosts", "softlib.chapters.theory.ghosts"),
        ("softlib.theory.comp_sum", "softlib.chapters.theory.comp_sum"),
    ],
)
def test_submodules_of_a_moved_package_follow_it(old, new):
    module = importlib.import_module(old)
    assert module is importlib.import_module(new)
    assert module.__spec__.name == new


def test_old_names_share_classes_and_attributes():
    from softlib.chapters.moe.model import GaussianMoE
    from softlib.moe.model import GaussianMoE as OldGaussianMoE
    from softlib.moe.runner import cache_path

    assert OldGaussianMoE is GaussianMoE
    assert cache_path is sys.modules["softlib.chapters.moe.runner"].cache_path
    import softlib.moe.model  # noqa: F401  (the attribute chain of an old dotted import)

    assert softlib.moe.model is softlib.chapters.moe.model


def test_from_a_moved_package_import_a_module_that_left_it():
    from softlib.attention import plots
    from softlib.moe import dselect_plots, multinomial_plots
    from softlib.moe import plots as moe_plots

    assert plots.__name__ == "softlib.book.attention_plots"
    assert moe_plots.__name__ == "softlib.book.moe_plots"
    assert dselect_plots.__name__ == "softlib.book.moe_dselect_plots"
    assert multinomial_plots.__name__ == "softlib.book.moe_multinomial_plots"


def test_a_name_that_never_existed_still_fails():
    with pytest.raises(ModuleNotFoundError):
        importlib.import_module("softlib.moe.no_such_module")


@pytest.mark.parametrize("old", ["softlib.bench", "softlib.attention.bench"])
def test_python_m_old_name_runs_the_moved_module(old):
    assert _python("-m", old, "--help").startswith("usage:")


def test_library_role_imports_numpy_only():
    """The library's modules import none of the other roles' dependencies (lazy imports inside),
    so they import where only NumPy is installed."""
    code = (
        "import sys\n"
        "import softlib, softlib.sampling, softlib.losses, softlib.sparse, softlib.quant\n"
        "import softlib.output_head, softlib.attention, softlib.attention.recurrent\n"
        "import softlib.attention.softmax_free, softlib.attention.depth, softlib.testing\n"
        "heavy = ('matplotlib', 'scipy', 'sklearn', 'ipywidgets', 'tqdm')\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
    )
    assert _python("-c", code) == "[]"


@pytest.mark.parametrize(
    "package, extra", [("softlib.book", "viz"), ("softlib.chapters", "chapters")]
)
def test_each_role_says_what_it_holds_and_its_extra(package, extra):
    doc = importlib.import_module(package).__doc__
    assert f"``{extra}`` extra" in doc
    assert all(
        role in softlib.__doc__
        for role in ("the library", "book support", "chapter machinery")
    )
