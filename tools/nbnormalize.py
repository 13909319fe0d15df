#!/usr/bin/env python3
"""Put the book's notebooks in the form JupyterLab writes, without outputs.

JupyterLab rewrites a notebook it opens when its metadata differ from what the kernel reports (the
kernelspec's display name, ``language_info``), so a chapter committed in another form is marked
modified as soon as it is opened, and autosave then writes it back, outputs included. This script
writes every notebook as JupyterLab would, minus what running it adds:

- the kernelspec of the ipykernel that ``make setup`` installs (``Python 3 (ipykernel)``) and the
  ``language_info`` that kernel reports (with the version of the Python running this script: run it
  with the book's ``.venv/bin/python``, whose kernel JupyterLab starts);
- outputs cleared, execution counts null, per-cell execution timestamps and ``collapsed``/``scrolled``
  dropped (a chapter is committed without outputs);
- the install cell (the first code cell) hidden in JupyterLab too: ``"jupyter": {"source_hidden":
  true}`` beside its ``hide-input`` tag;
- JSON as nbformat writes it: one-space indent, sorted keys, UTF-8, a final newline.

Usage::

    .venv/bin/python tools/nbnormalize.py book/*.ipynb book/*/*.ipynb   # rewrite in place
    .venv/bin/python tools/nbnormalize.py --check book/*/*.ipynb   # exit 1, list what would change
    .venv/bin/python tools/nbnormalize.py --stdin < in.ipynb       # a git clean filter
    .venv/bin/python tools/nbnormalize.py --install    # make git strip outputs on every commit

``--install`` sets the git filter that .gitattributes names (``filter=nbnormalize``), so a notebook
saved with outputs is committed without them (the working copy keeps them). Only the standard library
is used, so the filter runs with any Python 3 on the machine.
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import platform
import subprocess
import sys

KERNELSPEC = {"display_name": "Python 3 (ipykernel)", "language": "python", "name": "python3"}


def language_info() -> dict:
    return {
        "codemirror_mode": {"name": "ipython", "version": 3},
        "file_extension": ".py",
        "mimetype": "text/x-python",
        "name": "python",
        "nbconvert_exporter": "python",
        "pygments_lexer": "ipython3",
        "version": platform.python_version(),
    }


RUN_METADATA = ("execution", "collapsed", "scrolled", "ExecuteTime")


def normalize(nb: dict) -> dict:
    """The notebook ``nb`` (parsed JSON) in the book's committed form; ``nb`` is changed in place."""
    nb.setdefault("metadata", {})
    nb["metadata"]["kernelspec"] = dict(KERNELSPEC)
    nb["metadata"]["language_info"] = language_info()
    first_code = True
    for cell in nb.get("cells", []):
        metadata = cell.setdefault("metadata", {})
        for key in RUN_METADATA:
            metadata.pop(key, None)
        if cell.get("cell_type") == "code":
            cell["outputs"] = []
            cell["execution_count"] = None
            if first_code:
                first_code = False
                if "hide-input" in metadata.get("tags", []):
                    metadata.setdefault("jupyter", {})["source_hidden"] = True
        if isinstance(cell.get("source"), str):
            lines = cell["source"].splitlines(keepends=True)
            cell["source"] = lines
    return nb


def dumps(nb: dict) -> str:
    return json.dumps(nb, sort_keys=True, indent=1, ensure_ascii=False) + "\n"


def normalized_text(text: str) -> str:
    return dumps(normalize(json.loads(text)))


def install() -> int:
    here = Path(__file__).resolve()
    root = here.parents[1]
    command = f"{sys.executable} {here.relative_to(root)} --stdin"
    for key, value in (("filter.nbnormalize.clean", command), ("filter.nbnormalize.smudge", "cat"),
                       ("filter.nbnormalize.required", "true")):
        subprocess.run(["git", "-C", str(root), "config", key, value], check=True)
    print(f"git strips outputs and normalises notebooks on commit ({command})")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("notebooks", nargs="*", type=Path)
    parser.add_argument("--check", action="store_true", help="list notebooks that would change")
    parser.add_argument("--stdin", action="store_true", help="filter stdin to stdout (git clean)")
    parser.add_argument("--install", action="store_true", help="set the git filter of .gitattributes")
    args = parser.parse_args(argv)
    if args.install:
        return install()
    if args.stdin:
        sys.stdout.write(normalized_text(sys.stdin.read()))
        return 0
    changed = []
    for path in args.notebooks:
        text = path.read_text(encoding="utf-8")
        new = normalized_text(text)
        if new != text:
            changed.append(path)
            if not args.check:
                path.write_text(new, encoding="utf-8")
    verb = "would change" if args.check else "normalised"
    for path in changed:
        print(f"{verb}: {path}")
    return 1 if args.check and changed else 0


if __name__ == "__main__":
    sys.exit(main())
