"""Fixtures of the browser tests: the built book, a loopback HTTP server for it, headless Chromium.

The tests read the book that ``make book`` built into _build/html (``make test`` builds it first) and
skip, saying why, when it is not there or when no Chromium is installed.
"""

from __future__ import annotations

from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
import os
from pathlib import Path
import shutil
import sys
import threading

import pytest

sys.path.insert(0, str(Path(__file__).parent))
from bookpages import HTML  # noqa: E402

HOW_TO_GET_CHROMIUM = (
    "no Chromium found for the browser tests: install Debian's package (apt-get install chromium; "
    ".ci/run does it) or point SOFTLIB_CHROMIUM at a Chromium or Chrome executable"
)


def chromium_path() -> str | None:
    """The browser to drive: $SOFTLIB_CHROMIUM, else the system's chromium."""
    candidates = [os.environ.get("SOFTLIB_CHROMIUM"), shutil.which("chromium"),
                  shutil.which("chromium-browser"), "/usr/lib/chromium/chromium"]
    return next((c for c in candidates if c and os.access(c, os.X_OK)), None)


@pytest.fixture(scope="session")
def built_book() -> Path:
    if not (HTML / "index.html").exists():
        pytest.skip("the book is not built: run `make book` (make test builds it first)")
    return HTML


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


@pytest.fixture(scope="session")
def server(built_book) -> str:
    """The built book served from 127.0.0.1 on a free port, for the tests' duration."""
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), partial(_QuietHandler, directory=str(built_book)))
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()
    httpd.server_close()
    thread.join(timeout=10)


@pytest.fixture(scope="session")
def browser():
    path = chromium_path()
    if path is None:
        if os.environ.get("SOFTLIB_REQUIRE_BROWSER"):  # set by .ci/run, which installs Chromium
            pytest.fail(HOW_TO_GET_CHROMIUM)
        pytest.skip(HOW_TO_GET_CHROMIUM)
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        pytest.skip("Playwright for Python is missing: pip install -e '.[test]'")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=path, headless=True,
                                             args=["--no-sandbox", "--disable-gpu"])
        yield browser
        browser.close()
