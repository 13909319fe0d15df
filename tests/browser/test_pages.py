"""Every page of the built book in headless Chromium, as a reader sees it.

Each page of _toc.yml loads without JavaScript errors of our own making, every chapter shows its
figures, every kernel-free scrubber changes its figure when moved, and the figures stay legible in the
theme's dark mode. Screenshots of every page, light and dark, go to _build/screenshots/.

The machine may be offline: requests that leave 127.0.0.1 (the CDN's MathJax, for example) are
refused at once, and what they break is not counted as our error.
"""

from __future__ import annotations

import io

import numpy as np
import pytest
from PIL import Image

from bookpages import SCREENSHOTS, chapters, explorers, pages

PAGES = pages()
CHAPTERS = chapters()
# Kernel-free figures found in the built book: (page, index of the figure on the page).
SCRUBBERS = [(page, i) for page in CHAPTERS if page.html.exists() for i in range(len(explorers(page.html)))]


class Tab:
    """A browser tab on one page of the book, recording the errors the page makes."""

    def __init__(self, browser, server, page, color_scheme="light"):
        self.context = browser.new_context(viewport={"width": 1280, "height": 900}, color_scheme=color_scheme)
        self.tab = self.context.new_page()
        self.errors = []
        local = server + "/"

        def route(request_route):
            if request_route.request.url.startswith(local):
                request_route.continue_()
            else:  # offline: the network beyond this machine is not part of the test
                request_route.abort()

        def on_console(message):
            source = (message.location or {}).get("url", "")
            if message.type == "error" and source.startswith(local) and "net::ERR_FAILED" not in message.text:
                self.errors.append(f"console: {message.text} ({source})")

        def on_response(response):
            if response.url.startswith(local) and response.status >= 400:
                self.errors.append(f"HTTP {response.status}: {response.url}")

        self.tab.route("**/*", route)
        self.tab.on("pageerror", lambda error: self.errors.append(f"uncaught: {error}"))
        self.tab.on("console", on_console)
        self.tab.on("response", on_response)
        # Generous limits: a page of about 1 MB with its MathJax loads in a second or two, but the
        # tests share two cores with the other test worker (30 s was seen to run out under load).
        self.tab.goto(f"{server}/{page.name}.html", wait_until="load", timeout=120_000)
        from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

        try:
            self.tab.wait_for_load_state("networkidle", timeout=20_000)
        except PlaywrightTimeoutError:
            # Network idle is a heuristic that a lingering connection can hold off (seen once in
            # 25 pages); what the tests need is the page with every image decoded, so wait for that.
            self.tab.wait_for_function(
                "() => document.readyState === 'complete' && Array.from(document.images)"
                ".every(img => img.complete)", timeout=120_000)

    def close(self):
        self.context.close()


@pytest.fixture
def open_tab(browser, server):
    tabs = []

    def open_(page, color_scheme="light"):
        tabs.append(Tab(browser, server, page, color_scheme))
        return tabs[-1]

    yield open_
    for tab in tabs:
        tab.close()


# Messages that are not errors of ours: pydata-sphinx-theme logs the first one on a reader's first
# visit (no light/dark choice stored yet), then picks "auto" as it should.
NOT_OURS = ("Got invalid theme mode: . Resetting to auto.",)


def offline_errors(errors):
    """The errors of our own making (requests refused outside the machine are not recorded)."""
    return [e for e in errors if not any(message in e for message in NOT_OURS)]


@pytest.mark.parametrize("page", PAGES, ids=lambda p: p.name)
def test_page_loads_without_errors(open_tab, page):
    tab = open_tab(page)
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.tab.screenshot(path=str(SCREENSHOTS / f"{page.slug}.png"), full_page=True)
    assert offline_errors(tab.errors) == []
    assert tab.tab.locator("main h1").count() >= 1, "the page has no title"


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_chapter_shows_its_figures(open_tab, page):
    tab = open_tab(page)
    images = tab.tab.locator("main .cell_output img")
    assert images.count() >= 1, "a chapter shows at least one figure"
    broken = tab.tab.evaluate(
        "() => Array.from(document.querySelectorAll('main img'))"
        ".filter(img => !(img.complete && img.naturalWidth > 0)).map(img => img.src.slice(0, 80))"
    )
    assert broken == [], "these images did not load"
    source = page.source.read_text(encoding="utf-8")
    if "explore(" in source:
        assert tab.tab.locator("main .softlib-explorer").count() >= 1, \
            "the chapter calls explore but its page has no kernel-free figure: was it built by make book?"


def frame_of(figure):
    return figure.locator("img.softlib-explorer-frame").get_attribute("src")


@pytest.mark.parametrize("page,index", SCRUBBERS, ids=[f"{p.name}-{i}" for p, i in SCRUBBERS])
def test_scrubber_changes_the_figure(open_tab, page, index):
    tab = open_tab(page)
    figure = tab.tab.locator("main .softlib-explorer").nth(index)
    figure.scroll_into_view_if_needed()
    for slider in figure.locator("input[type=range]").all():
        output = slider.locator("xpath=following-sibling::output")
        seen = {frame_of(figure)}
        labels = {output.text_content()}
        # The keyboard, as a reader tabbing to the slider would, then a click halfway along it.
        for key in ("End", "Home"):
            slider.focus()
            slider.press(key)
            seen.add(frame_of(figure))
            labels.add(output.text_content())
        box = slider.bounding_box()
        tab.tab.mouse.click(box["x"] + box["width"] * 0.5, box["y"] + box["height"] / 2)
        seen.add(frame_of(figure))
        labels.add(output.text_content())  # the default may sit at an end, so the click counts too
        positions = min(3, int(slider.get_attribute("max")) + 1)  # a slider over two values has two
        assert len(seen) >= positions and len(labels) >= positions, "moving the slider does not change the figure"
    for button in figure.locator("button[data-index]").all():
        before = frame_of(figure)
        if button.get_attribute("aria-pressed") == "true":
            continue
        button.click()
        assert frame_of(figure) != before and button.get_attribute("aria-pressed") == "true"
    assert offline_errors(tab.errors) == []


def contrast_of(png: bytes) -> tuple[float, float]:
    """The luminance of an image's background and of its darkest ink (99th and 1st percentiles)."""
    gray = np.asarray(Image.open(io.BytesIO(png)).convert("L"), dtype=float)
    return float(np.percentile(gray, 99)), float(np.percentile(gray, 1))


@pytest.mark.parametrize("page", CHAPTERS, ids=lambda p: p.name)
def test_figures_stay_legible_in_dark_mode(open_tab, page):
    tab = open_tab(page, color_scheme="dark")
    assert tab.tab.evaluate("document.documentElement.dataset.theme") == "dark"
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    tab.tab.screenshot(path=str(SCREENSHOTS / f"{page.slug}-dark.png"), full_page=True)
    for image in tab.tab.locator("main .cell_output img").all():
        image.scroll_into_view_if_needed()
        light, ink = contrast_of(image.screenshot())
        # Dark ink on a light figure, as drawn: the figure keeps its own background on the dark page.
        # Black on white is about 230 grey levels apart once the theme dims images; dark ink on a
        # dark background would be a few tens. 100 (of 255) separates the two.
        assert light - ink > 100, f"figure contrast {light:.0f} vs {ink:.0f} is too low in dark mode"


def has_math(page) -> bool:
    return "$$" in page.source.read_text(encoding="utf-8") or "\\\\(" in page.source.read_text(encoding="utf-8")


MATH_PAGES = [page for page in PAGES if has_math(page)]


@pytest.mark.parametrize("page", MATH_PAGES, ids=lambda p: p.name)
def test_equations_are_typeset_offline(open_tab, page):
    """With every request beyond 127.0.0.1 refused (the Tab's route), MathJax still loads, from the
    book's own _static/mathjax, and typesets every equation of the page."""
    tab = open_tab(page)
    scripts = tab.tab.evaluate("() => Array.from(document.scripts).map(s => s.src).filter(s => /mathjax/i.test(s))")
    assert scripts and all(s.startswith(tab.tab.url.split("/book/")[0]) for s in scripts), \
        f"MathJax must come from the book itself, not {scripts}"
    tab.tab.wait_for_function("() => window.MathJax && MathJax.startup && MathJax.startup.promise",
                              timeout=20_000)
    tab.tab.evaluate("() => MathJax.startup.promise")
    counts = tab.tab.evaluate(
        "() => ({math: document.querySelectorAll('main div.math, main span.math').length,"
        " typeset: document.querySelectorAll('main div.math mjx-container, main span.math mjx-container').length,"
        " errors: document.querySelectorAll('main mjx-merror').length})"
    )
    assert counts["math"] > 0, "the page has no equation to typeset"
    assert counts["typeset"] == counts["math"], f"equations left as raw TeX offline: {counts}"
    assert counts["errors"] == 0, f"MathJax could not typeset some equations: {counts}"
