"""The book's pages as _toc.yml lists them, their sources and their built HTML.

Shared by the browser tests, tests/test_chapters.py and ``book_report.py``: a chapter added to
_toc.yml is covered by all of them without further ado.
"""

from __future__ import annotations

from dataclasses import dataclass
from html.parser import HTMLParser
from pathlib import Path
import os
import re

import yaml

ROOT = Path(__file__).resolve().parents[2]
HTML = ROOT / "_build" / "html"
SCREENSHOTS = ROOT / "_build" / "screenshots"


@dataclass(frozen=True)
class Page:
    """One page of the book: ``name`` is its path in _toc.yml (``book/getting_started``)."""

    name: str
    source: Path

    @property
    def is_notebook(self) -> bool:
        return self.source.suffix == ".ipynb"

    @property
    def html(self) -> Path:
        return HTML / f"{self.name}.html"

    @property
    def slug(self) -> str:
        return self.name.replace("/", "-")


def _toc_files(node) -> list[str]:
    """Every ``file`` entry of a _toc.yml node, depth first, in reading order."""
    files = []
    if isinstance(node, dict):
        if "file" in node:
            files.append(node["file"])
        if "root" in node:
            files.append(node["root"])
        for key in ("parts", "chapters", "sections"):
            for child in node.get(key, []):
                files.extend(_toc_files(child))
    return files


def pages() -> list[Page]:
    """The pages of _toc.yml, each with its source file (``.ipynb`` or ``.md``)."""
    # A small build of a few pages (jupyter-book build --toc /tmp/x_toc.yml) is tested with
    # SOFTLIB_BOOK_TOC=/tmp/x_toc.yml.
    toc = yaml.safe_load(Path(os.environ.get("SOFTLIB_BOOK_TOC", ROOT / "_toc.yml")).read_text())
    found = []
    for name in _toc_files(toc):
        name = re.sub(r"\.(ipynb|md)$", "", name)
        sources = [ROOT / f"{name}{ext}" for ext in (".ipynb", ".md")]
        existing = [s for s in sources if s.exists()]
        if len(existing) != 1:
            raise FileNotFoundError(f"_toc.yml lists {name!r}, which has {len(existing)} source files")
        found.append(Page(name, existing[0]))
    return found


def chapters() -> list[Page]:
    """The chapters: the notebooks of _toc.yml."""
    return [page for page in pages() if page.is_notebook]


class _Anchors(HTMLParser):
    """Collects a page's ids, its links and its image sources."""

    def __init__(self):
        super().__init__()
        self.ids, self.links, self.images = set(), [], []

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if attrs.get("id"):
            self.ids.add(attrs["id"])
        if tag == "a" and attrs.get("href"):
            self.links.append(attrs["href"])
        if tag == "img" and attrs.get("src"):
            self.images.append(attrs["src"])


def parse(path: Path) -> _Anchors:
    parser = _Anchors()
    parser.feed(path.read_text(encoding="utf-8"))
    return parser


def page_weight(page: Page) -> int:
    """Bytes a reader downloads for the page's own content: its HTML and the images it links to
    (the theme's shared scripts and styles, cached across pages, are not counted)."""
    total = page.html.stat().st_size
    for src in parse(page.html).images:
        if not re.match(r"^[a-z]+:", src):
            target = (page.html.parent / src.split("#")[0].split("?")[0]).resolve()
            if target.is_file():
                total += target.stat().st_size
    return total


def explorers(path: Path) -> list[dict]:
    """The kernel-free figures of a built page, with their ``data-*`` attributes."""
    text = path.read_text(encoding="utf-8")
    found = []
    for match in re.finditer(r'<div class="softlib-explorer"([^>]*)>', text):
        found.append(dict(re.findall(r'data-([a-z0-9-]+)="([^"]*)"', match.group(1))))
    return found
