"""How every chapter's notebook reads, checked on its source (no kernel, no build).

- code lines of at most 88 columns, so no line is cut off on the page;
- visible code cells (not tagged ``hide-input``) of at most 15 lines: long drawing code lives in
  softlib or is tagged ``hide-input``;
- every interactive figure (``explore(...)``) numbered and captioned through its cell's metadata
  (``mystnb.figure.caption`` and a ``name`` starting with ``fig-``), and described for readers who
  cannot see it (``alt=``);
- no ``print(inspect.getsource(...))``: algorithms are shown with ``softlib.book.viz.show_source``;
- the notebook committed in the form JupyterLab writes (tools/nbnormalize.py), so opening it in
  ``make lab`` does not mark it modified.

Every chapter of _toc.yml is checked; a failure lists every offending cell with its index and first
line, so one run says everything to fix.
"""

from __future__ import annotations

import json
from pathlib import Path
import sys

import pytest

sys.path.insert(0, str(Path(__file__).parent / "browser"))
sys.path.insert(0, str(Path(__file__).parents[1] / "tools"))
from bookpages import chapters  # noqa: E402
import nbnormalize  # noqa: E402

CHAPTERS = chapters()
MAX_COLUMNS = 88
MAX_VISIBLE_LINES = 15


def cells(page):
    return json.loads(page.source.read_text(encoding="utf-8"))["cells"]


def source(cell) -> str:
    text = cell["source"]
    return "".join(text) if isinstance(text, list) else text


def where(index, cell) -> str:
    first = source(cell).strip().splitlines()[0] if source(cell).strip() else ""
    return f"cell {index} ({first[:60]!r})"


def code_cells(page):
    return [(i, c) for i, c in enumerate(cells(page)) if c["cell_type"] == "code"]


def hidden(cell) -> bool:
    tags = cell.get("metadata", {}).get("tags", [])
    return bool({"hide-input", "remove-input", "remove-cell"} & set(tags))


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_code_lines_fit_in_88_columns(page):
    long = [f"{where(i, c)} line {n}: {len(line)} columns"
            for i, c in code_cells(page) for n, line in enumerate(source(c).splitlines(), 1)
            if len(line) > MAX_COLUMNS]
    assert long == [], f"{page.source.name}: lines over {MAX_COLUMNS} columns:\n" + "\n".join(long)


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_visible_code_cells_are_short(page):
    tall = [f"{where(i, c)}: {len(source(c).splitlines())} lines" for i, c in code_cells(page)
            if not hidden(c) and len(source(c).splitlines()) > MAX_VISIBLE_LINES]
    assert tall == [], (f"{page.source.name}: visible code cells over {MAX_VISIBLE_LINES} lines (move "
                        "the machinery to softlib or tag the cell hide-input):\n" + "\n".join(tall))


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_interactive_figures_are_numbered_captioned_and_described(page):
    problems = []
    for i, c in code_cells(page):
        if "explore(" not in source(c) or "def " in source(c).split("explore(")[0].split("\n")[-1]:
            continue
        figure = c.get("metadata", {}).get("mystnb", {}).get("figure", {})
        if not figure.get("caption"):
            problems.append(f"{where(i, c)}: no metadata mystnb.figure.caption")
        if not str(figure.get("name", "")).startswith("fig-"):
            problems.append(f"{where(i, c)}: no metadata mystnb.figure.name 'fig-<chapter>-<name>'")
        if "alt=" not in source(c):
            problems.append(f"{where(i, c)}: explore(..., alt='what the figure shows') missing")
    assert problems == [], f"{page.source.name} (see CONTRIBUTING.md, Figures):\n" + "\n".join(problems)


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_algorithms_are_shown_highlighted(page):
    printed = [where(i, c) for i, c in code_cells(page) if "print(inspect.getsource" in source(c)]
    assert printed == [], (f"{page.source.name}: show code with softlib.book.viz.show_source(f), not "
                           "print(inspect.getsource(f)):\n" + "\n".join(printed))


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_notebook_is_in_the_form_jupyterlab_writes(page):
    text = page.source.read_text(encoding="utf-8")
    assert nbnormalize.normalized_text(text) == text, \
        f"run: .venv/bin/python tools/nbnormalize.py {page.name}.ipynb"
