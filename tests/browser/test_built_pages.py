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


def page_named(suffix):
    return next(p for p in PAGES if p.name.endswith(suffix))


def text_of(page) -> str:
    return page.html.read_text(encoding="utf-8")


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_and_equations_are_numbered(page):
    text = text_of(page)
    number = re.search(r'<h1>\s*<span class="section-number">(\d+)\.\s*</span>', text)
    assert number, "the chapter title carries no number: _toc.yml needs numbered: true"
    equations = re.findall(r'<span class="eqno">\((\d+)\.(\d+)\)', text)
    assert all(chapter == number.group(1) for chapter, _ in equations), \
        "equations must be numbered within their chapter, (3.2)"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_interactive_figures_are_numbered_with_captions(page):
    text = text_of(page)
    figures = re.findall(r"<figure[^>]*>(.*?)</figure>", text, flags=re.S)
    explorers_in_figures = sum(f.count('class="softlib-explorer"') for f in figures)
    assert explorers_in_figures == text.count('class="softlib-explorer"'), \
        "every interactive figure sits in a numbered figure (cell metadata mystnb.figure)"
    for figure in figures:
        assert re.search(r'<span class="caption-number">Figure \d+\.\d+', figure), "figure without number"
        assert not re.search(r'alt="[^"]*\.png"', figure), "alt text names a file, not what it shows"


def public_functions() -> dict[str, set]:
    """Every public function and class of softlib's modules, by module (their __all__)."""
    import importlib
    import pkgutil

    import softlib

    found = {}
    for info in pkgutil.walk_packages(softlib.__path__, "softlib."):
        if any(part.startswith("_") for part in info.name.split(".")):
            continue
        module = importlib.import_module(info.name)
        names = getattr(module, "__all__", None)
        if names is None:
            continue
        found[info.name] = {n for n in names if callable(getattr(module, n, None))}
    found["softlib"] = {n for n in softlib.__all__ if callable(getattr(softlib, n))}
    return found


def test_api_reference_lists_every_public_function_with_its_source():
    api = text_of(page_named("api"))
    ids = parse(page_named("api").html).ids
    documented = {i for i in ids if i.startswith("softlib.")}
    short = {i.rsplit(".", 1)[-1] for i in documented}
    missing = sorted(f"{module}.{name}" for module, names in public_functions().items()
                     for name in names if f"{module}.{name}" not in documented and name not in short)
    assert missing == [], "add these modules to book/api.md (one automodule each)"
    assert api.count('class="viewcode-link"') >= len(documented) // 2, "[source] links missing"


def test_compiled_functions_link_to_their_cpp_kernels():
    api = text_of(page_named("api"))
    repo = config()["repository"]["url"]
    kernels = re.findall(re.escape(repo) + r"/blob/[^/]+/(cpp/[^\"#]+)", api)
    assert kernels, "no link from the API reference to a C++ kernel"
    assert all((ROOT / path).is_file() for path in kernels), "links to C++ files that do not exist"
    for name in ("softmax", "log_softmax", "logsumexp", "softmax_topk"):
        section = api.split(f'id="softlib.{name}"', 1)[1].split('<dl class="py ', 1)[0]
        assert "cpp/" in section, f"softlib.{name} does not link to its C++ kernel"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_links_to_the_functions_it_uses(page):
    code = "\n".join(c.source for c in nbformat.read(page.source, as_version=4).cells
                     if c.cell_type == "code")
    if not re.search(r"\bsoftlib\.\w+\(", code):
        pytest.skip("the chapter calls no softlib function by its full name")
    links = [href for href in parse(page.html).links if "api.html#softlib." in href]
    assert links, "link the softlib functions the chapter uses to the API reference: {func}`softlib.softmax`"


def test_bibliography_labels_are_author_year():
    labels = re.findall(r'<span class="label"><span class="fn-bracket">\[</span>([^<]*)',
                        text_of(page_named("bibliography")))
    assert labels, "the bibliography has no labels"
    assert all(re.fullmatch(r".+ (\d{4}[a-z]?|n\.d\.)", label) for label in labels), labels
    assert len(set(labels)) == len(labels), "two papers share a label: they need 2024a, 2024b"
