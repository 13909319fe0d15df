"""The chapters' sources: listed in _toc.yml, committed without outputs, opening with the cell that
installs softlib on its own, and citing their papers from book/references.bib; and their execution:
the book build ran each chapter's current source on the current softlib without an error.

Every notebook of the book is found through _toc.yml, so a new chapter is checked without further ado.
"""

from __future__ import annotations

import builtins
import os
from pathlib import Path
import re
import sys

import nbformat
import pytest
import yaml

sys.path.insert(0, str(Path(__file__).parent / "browser"))
from bookpages import ROOT, chapters, pages  # noqa: E402

CHAPTERS = chapters()
CITE = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")


def notebook(page):
    return nbformat.read(page.source, as_version=4)


def bib_keys() -> set[str]:
    from pybtex.database import parse_file

    return set(parse_file(ROOT / "book" / "references.bib").entries)


def repository_url() -> str:
    return yaml.safe_load((ROOT / "_config.yml").read_text())["repository"]["url"]


def test_every_notebook_of_the_book_is_in_the_toc():
    listed = {page.source for page in pages()}
    on_disk = {p.resolve() for p in (ROOT / "book").rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts}
    assert on_disk - listed == set(), "add these notebooks to _toc.yml"
    assert CHAPTERS, "the book has no chapter"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_is_committed_without_outputs(page):
    dirty = [i for i, cell in enumerate(notebook(page).cells)
             if cell.cell_type == "code" and (cell.outputs or cell.execution_count is not None)]
    assert dirty == [], f"cells {dirty} have outputs: jupyter nbconvert --clear-output --inplace {page.source}"


def first_code_cell(page):
    return next(cell for cell in notebook(page).cells if cell.cell_type == "code")


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_first_cell_installs_softlib_from_the_repository(page):
    cell = first_code_cell(page)
    assert "hide-input" in cell.metadata.get("tags", []), "tag the install cell hide-input"
    assert re.search(r"^try:\n\s+import softlib\nexcept ImportError:", cell.source, re.M), cell.source
    assert f"git+{repository_url()}" in cell.source, "install from the repository of _config.yml"


class _Shell:
    """Records the line magics (``%pip``) that the install cell asks IPython to run."""

    def __init__(self):
        self.magics = []

    def run_line_magic(self, name, line, *args, **kwargs):
        self.magics.append((name, line))


def run_install_cell(page, softlib_importable: bool) -> list:
    from IPython.core.inputtransformer2 import TransformerManager

    code = TransformerManager().transform_cell(first_code_cell(page).source)
    shell = _Shell()
    real_import = builtins.__import__

    def fake_import(name, *args, **kwargs):
        if name == "softlib" and not softlib_importable and not shell.magics:
            raise ImportError("No module named 'softlib'")
        return real_import(name, *args, **kwargs)

    builtins.__import__ = fake_import
    try:
        exec(compile(code, str(page.source), "exec"), {"get_ipython": lambda: shell})
    finally:
        builtins.__import__ = real_import
    return shell.magics


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_install_cell_is_harmless_when_softlib_is_present(page):
    assert run_install_cell(page, softlib_importable=True) == []


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_install_cell_installs_softlib_when_missing(page):
    magics = run_install_cell(page, softlib_importable=False)
    assert [name for name, _ in magics] == ["pip"] and "install" in magics[0][1]


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_cites_its_papers_from_the_bibliography(page):
    text = "\n".join(cell.source for cell in notebook(page).cells if cell.cell_type == "markdown")
    keys = {key.strip() for group in CITE.findall(text) for key in group.split(",")}
    assert keys, "cite the papers the chapter follows with {cite:t}`key` from book/references.bib"
    assert keys - bib_keys() == set(), "add these keys to book/references.bib"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_interactive_figures_go_through_explore(page):
    code = "\n".join(cell.source for cell in notebook(page).cells if cell.cell_type == "code")
    assert "ipywidgets" not in code and "interact(" not in code, \
        "make interactive figures with softlib.book.viz.explore, so that they also move in the built book"


def test_repository_links_in_the_pages_agree_with_the_config():
    url = repository_url()
    for page in pages():
        text = page.source.read_text(encoding="utf-8")
        others = set(re.findall(r"https://github\.com/[\w.-]+/[\w.-]+", text)) - {url}
        assert others == set(), f"{page.name} links to a repository other than {url} (_config.yml)"


# The execution of the chapters. `make book` executes every chapter into the jupyter-cache (a cell that
# raises fails the build); `make test` then checks here, instead of executing each chapter again under
# nbval, that the cache holds a run of each chapter's current code, on the current softlib, without an
# error; and that the built page shows no progress bar.
CACHE = ROOT / "_build" / ".jupyter_cache"
PROGRESS_BAR = re.compile(r"\d+%\|[^|\n]*\|\s*\d+/\d+")  # tqdm: "  40%|####      | 4/10 [...]"


def _book_cache():
    if not (CACHE / "global.db").exists():
        message = "the book is not built (no _build/.jupyter_cache): run `make book`"
        if os.environ.get("SOFTLIB_REQUIRE_BOOK"):  # set by `make test`, which builds it first
            pytest.fail(message)
        pytest.skip(message)
    from jupyter_cache import get_cache

    return get_cache(str(CACHE))


def test_the_book_build_ran_the_chapters_on_the_current_softlib():
    _book_cache()
    from book_build import softlib_fingerprint

    stamp = CACHE / "softlib.sha256"
    assert stamp.exists() and stamp.read_text() == softlib_fingerprint(), \
        "softlib changed since the chapters were executed: run `make book` again"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_ran_without_error_in_the_book_build(page):
    cache = _book_cache()
    try:
        record = cache.match_cache_notebook(notebook(page))
    except KeyError:
        pytest.fail(f"no successful execution of the current {page.source.name} in the build's cache: "
                    "it changed since `make book`, or it failed there (the build shows why)")
    executed = cache.get_cache_bundle(record.pk).nb
    errors = [(i, out.ename, out.evalue) for i, cell in enumerate(executed.cells) if cell.cell_type == "code"
              for out in cell.get("outputs", [])
              if out.output_type == "error" and "raises-exception" not in cell.metadata.get("tags", [])]
    assert errors == [], f"cells raised in the build's execution: {errors}"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_built_chapter_shows_no_progress_bar(page):
    """A tqdm bar in a page is frozen where the output was captured: the build keeps them out
    (TQDM_DISABLE=1, and book/_ext/runtimes.py drops any bar output)."""
    if not page.html.exists():
        if os.environ.get("SOFTLIB_REQUIRE_BOOK"):
            pytest.fail(f"{page.html} is missing: run `make book`")
        pytest.skip("the book is not built: run `make book`")
    text = page.html.read_text(encoding="utf-8")
    bars = [line for line in text.splitlines() if PROGRESS_BAR.search(line)]
    assert bars == [], f"{page.name} shows progress bars: {bars[:2]}"


def test_the_build_recognises_progress_bars_and_nothing_else():
    sys.path.insert(0, str(ROOT / "book" / "_ext"))
    from runtimes import _is_progress_bar, _seconds

    assert _is_progress_bar("fits (k=3, 4 sizes x 6):   0%|          | 0/24 [00:00<?, ?it/s]")
    assert _is_progress_bar("training runs: 100%|##########| 7/7 [01:59<00:00, 17.0s/it]\n")
    assert not _is_progress_bar("D1 slope -0.494, 95% CI [-0.619, -0.363]; converged 100%")
    assert not _is_progress_bar("fits: 50%| done\nfits:   0%|          | 0/24 [00:00<?, ?it/s]")
    assert (_seconds(23.4), _seconds(65)) == ("23 s", "1 min 05 s")
