"""The built book's HTML, read as files: internal links resolve, pages stay light, every chapter has
its launch and download buttons, and the bibliography lists every paper the book cites.

No browser is needed; the tests skip when the book is not built (``make book``).
"""

from __future__ import annotations

import os
import re
from urllib.parse import unquote, urlsplit

import nbformat
import pytest
import yaml

from bookpages import HTML, ROOT, chapters, page_weight, pages, parse

PAGES = pages()
CHAPTERS = chapters()
MAX_PAGE_BYTES = 5_000_000  # what a reader on a slow connection should have to load for one page


@pytest.fixture(autouse=True)
def _built(built_book):
    pass


_ids: dict = {}


def ids_of(path):
    if path not in _ids:
        _ids[path] = parse(path).ids
    return _ids[path]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_internal_links_resolve(page):
    broken = []
    for href in parse(page.html).links:
        parts = urlsplit(href)
        if parts.scheme or parts.netloc or href.startswith("mailto:"):
            continue
        target = (page.html.parent / unquote(parts.path)).resolve() if parts.path else page.html
        if target.is_dir():
            target = target / "index.html"
        if not target.is_file():
            broken.append(href)
        elif parts.fragment and target.suffix == ".html" and unquote(parts.fragment) not in ids_of(target):
            broken.append(href)
    assert broken == [], f"links to missing pages or anchors on {page.name}"


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_weighs_under_5_mb(page):
    assert page_weight(page) < MAX_PAGE_BYTES, "use fewer frames, a smaller figsize or dpi in explore"


def config():
    return yaml.safe_load((ROOT / "_config.yml").read_text())


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_has_launch_download_and_repository_buttons(page):
    repo = config()["repository"]
    slug = urlsplit(repo["url"]).path.strip("/")
    notebook = f"{page.name}.ipynb"
    links = set(parse(page.html).links)
    expected = {
        "Binder": f"https://mybinder.org/v2/gh/{slug}/{repo['branch']}?urlpath=lab/tree/{notebook}",
        "Colab": f"https://colab.research.google.com/github/{slug}/blob/{repo['branch']}/{notebook}",
        "repository": repo["url"],
        "download .ipynb": os.path.relpath(HTML / "_sources" / notebook, page.html.parent),
    }
    missing = {name: url for name, url in expected.items() if url not in links}
    assert missing == {}, "buttons missing from the page's header"
    assert (HTML / "_sources" / notebook).is_file()
    downloaded = nbformat.read(HTML / "_sources" / notebook, as_version=4)
    assert downloaded.cells[0].cell_type == "markdown" and downloaded.cells[0].source.startswith("# ")


def cited_keys() -> set[str]:
    """Every bibliography key cited in the book's sources, chapters and pages alike."""
    cite = re.compile(r"\{cite(?::[a-z]+)?\}`([^`]+)`")
    keys = set()
    for page in PAGES:
        if page.is_notebook:
            text = "\n".join(c.source for c in nbformat.read(page.source, as_version=4).cells)
        else:
            text = page.source.read_text(encoding="utf-8")
        keys |= {k.strip() for group in cite.findall(text) for k in group.split(",")}
    return keys


def squash(text: str) -> str:
    """Lower-case letters and digits only: titles as the bibliography style prints them."""
    return re.sub(r"[^a-z0-9]", "", re.sub(r"\\[a-zA-Z]+|[{}]", "", text).lower())


def test_bibliography_lists_every_cited_paper():
    from pybtex.database import parse_file

    entries = parse_file(ROOT / "book" / "references.bib").entries
    keys = cited_keys()
    assert keys, "the book cites no paper"
    [bibliography] = [p for p in PAGES if p.name.endswith("bibliography")]
    listed = squash(bibliography.html.read_text(encoding="utf-8"))
    missing = [k for k in sorted(keys) if squash(entries[k].fields["title"]) not in listed]
    assert missing == [], "cited but not listed in the bibliography page"
