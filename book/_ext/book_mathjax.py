"""MathJax served from the book itself, so equations are typeset offline and behind firewalls.

Sphinx's default loads MathJax from a CDN: a book opened without network shows raw TeX. This
extension (loaded through ``local_extensions``) points ``mathjax_path`` at ``_static/mathjax/`` and
copies there a packaged MathJax 3: PyPI's ``sphinx-mathjax-offline`` (in the ``book`` extra of
pyproject.toml, so ``make book`` installs it) or, failing that, Debian's ``libjs-mathjax``. With
neither installed the build stops with a message saying how to get one, rather than publishing
pages that need the network.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path
import shutil

from sphinx.errors import ExtensionError

ENTRY = "tex-chtml.js"
# The packaged MathJax's combined builds that this book does not load (about 15 MB).
UNUSED = ("tex-chtml-full-speech.js", "tex-chtml-full.js", "tex-mml-chtml.js", "tex-mml-svg.js",
          "tex-svg-full.js", "tex-svg.js", "mml-chtml.js", "mml-svg.js", "node-main.js")


def packaged_mathjax() -> Path | None:
    """The folder of a MathJax 3 installed on this machine, or None."""
    spec = importlib.util.find_spec("sphinx-mathjax-offline")
    candidates = []
    if spec is not None and spec.origin:
        candidates.append(Path(spec.origin).parent / "static" / "mathjax")
    candidates += [Path("/usr/share/javascript/mathjax/es5"), Path("/usr/share/nodejs/mathjax-full/es5")]
    return next((c for c in candidates if (c / ENTRY).is_file()), None)


def _use_local_mathjax(app, config):
    if packaged_mathjax() is None:
        raise ExtensionError(
            "no MathJax 3 to serve from the book: pip install sphinx-mathjax-offline "
            "(the book extra: pip install -e '.[book]') or apt-get install libjs-mathjax"
        )
    config.mathjax_path = f"mathjax/{ENTRY}"


def _copy_mathjax(app, exception):
    if exception is not None or app.builder.format != "html":
        return
    target = Path(app.outdir) / "_static" / "mathjax"
    if (target / ENTRY).is_file():
        return
    shutil.copytree(packaged_mathjax(), target, ignore=shutil.ignore_patterns(*UNUSED),
                    dirs_exist_ok=True)


def setup(app):
    app.connect("config-inited", _use_local_mathjax)
    app.connect("build-finished", _copy_mathjax)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
