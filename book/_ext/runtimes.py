"""Run times a reader can see (loaded through ``local_extensions`` in _config.yml).

Every chapter is a notebook that the build executes on a fresh kernel (or takes from the jupyter-cache
that ``make book`` fills; the cache keeps the time of the execution it holds). This extension

* writes that measured time under each chapter's title ("Run time: 23 s when the book was built ..."),
  so no run time is typed by hand;
* provides the ``{run-times}`` directive: a table of every chapter's execution time in the order of the
  table of contents, with the total (book/run_times.md), like QuantEcon's execution statistics;
* keeps progress bars, frozen at the moment the output was captured, out of the pages: it sets
  ``TQDM_DISABLE=1`` for the kernels the build starts (softlib's bars and plain tqdm bars honour it;
  tqdm's notebook bar does not), and removes from the pages any output that is a tqdm bar. A reader's
  own kernel still shows the bars.
"""

from __future__ import annotations

from datetime import datetime, timezone
import os
import re

from docutils import nodes
from sphinx.addnodes import pending_xref
from sphinx.transforms.post_transforms import SphinxPostTransform
from sphinx.util.docutils import SphinxDirective

RUN_TIMES_PAGE = "book/run_times"
# A tqdm bar as text: "fits:  40%|####      | 4/10 [00:02<00:03, 1.9it/s]" (one or more lines).
_TQDM_BAR = re.compile(r"^[^\n]*\d+%\|[^\n]*\|\s*\d+/\d*\S*\s*\[[^\n]*\]\s*$", re.M)
_FLAG = "has_run_times_table"


def _exec_data(env, docname):
    from myst_nb.sphinx_ import NbMetadataCollector

    data = NbMetadataCollector.get_doc_data(env).get(docname, {}).get("exec_data")
    return data if data and data.get("runtime") is not None else None


def _seconds(value: float) -> str:
    """23 s, 1 min 05 s."""
    value = round(value)
    return f"{value} s" if value < 60 else f"{value // 60} min {value % 60:02d} s"


def _date(data) -> str:
    mtime = data.get("mtime")
    return datetime.fromtimestamp(mtime, timezone.utc).strftime("%Y-%m-%d") if mtime else ""


def _doc_link(env, fromdoc, target, text):
    link = pending_xref(refdoc=fromdoc, reftarget="/" + target, reftype="doc", refdomain="std",
                        refexplicit=True, refwarn=True)
    link += nodes.inline(text=text)
    return link


def _toc_order(env) -> list[str]:
    """Every document reachable from the root's toctrees, depth first, in reading order."""
    order, seen = [], set()

    def walk(doc):
        if doc in seen:
            return
        seen.add(doc)
        order.append(doc)
        for child in env.toctree_includes.get(doc, []):
            walk(child)

    walk(env.config.root_doc)
    return order


class RunTimesNode(nodes.General, nodes.Element):
    """Where the ``{run-times}`` table goes, once every chapter's execution data is known."""


class RunTimesDirective(SphinxDirective):
    """``{run-times}``: a table of the chapters' execution times."""

    def run(self):
        from myst_nb.sphinx_ import NbMetadataCollector

        NbMetadataCollector.set_doc_data(self.env, self.env.docname, _FLAG, True)
        return [RunTimesNode()]


def _table(env, docname) -> nodes.Element:
    rows = [(doc, _exec_data(env, doc)) for doc in _toc_order(env)]
    rows = [(doc, data) for doc, data in rows if data]
    table = nodes.table(classes=["colwidths-auto", "softlib-run-times"])
    group = nodes.tgroup(cols=3)
    table += group
    for _ in range(3):
        group += nodes.colspec(colwidth=1)
    head, body = nodes.thead(), nodes.tbody()
    group += head
    group += body

    def row(cells, parent):
        r = nodes.row()
        for cell in cells:
            para = nodes.paragraph()
            para += cell if isinstance(cell, nodes.Node) else nodes.Text(cell)
            r += nodes.entry("", para)
        parent += r

    row(["Chapter", "Run time", "Executed (UTC)"], head)
    for doc, data in rows:
        title = env.titles[doc].astext() if doc in env.titles else doc
        status = "" if data.get("succeeded", True) else " (failed)"
        row([_doc_link(env, docname, doc, title), _seconds(data["runtime"]) + status, _date(data)], body)
    total = sum(data["runtime"] for _, data in rows)
    row([nodes.strong(text=f"Total ({len(rows)} chapter{'s' if len(rows) != 1 else ''})"),
         nodes.strong(text=_seconds(total)), ""], body)
    return table


class RunTimesTransform(SphinxPostTransform):
    """Fills the ``{run-times}`` tables, and writes each chapter's run time under its title."""

    default_priority = 8  # before the references are resolved (10)

    def run(self, **kwargs) -> None:
        docname = self.env.docname
        _remove_progress_bars(self.document)
        for node in list(self.document.findall(RunTimesNode)):
            node.replace_self(_table(self.env, docname))
        data = _exec_data(self.env, docname)
        section = next(iter(self.document.findall(nodes.section)), None)
        if data is None or section is None or not isinstance(section[0], nodes.title):
            return
        line = nodes.paragraph(classes=["softlib-run-time"])
        line += nodes.emphasis(text=f"Run time: {_seconds(data['runtime'])} from top to bottom on a fresh "
                                    f"kernel when this page was built ({_date(data)})")
        if RUN_TIMES_PAGE in self.env.all_docs and docname != RUN_TIMES_PAGE:
            line += nodes.Text("; ")
            line += _doc_link(self.env, docname, RUN_TIMES_PAGE, "all chapters")
        line += nodes.Text(".")
        section.insert(1, line)


def _is_progress_bar(text: str) -> bool:
    """Whether an output's text is nothing but tqdm bars."""
    lines = [line for line in text.replace("\r", "\n").splitlines() if line.strip()]
    return bool(lines) and all(_TQDM_BAR.match(line) for line in lines)


def _remove_progress_bars(document) -> None:
    """Drop every cell output whose text is a tqdm bar (the bar of a finished loop, frozen in the page)."""
    for node in list(document.findall(nodes.literal_block)):
        if "output" in node.get("classes", []) and _is_progress_bar(node.astext()):
            node.parent.remove(node)


def _pages_with_tables(app, env):
    """Rewrite the pages with a table whenever the build read any page again (new run times)."""
    from myst_nb.sphinx_ import NbMetadataCollector

    return [doc for doc, data in NbMetadataCollector.get_doc_data(env).items() if data.get(_FLAG)]


def setup(app):
    # The kernels the build starts inherit this: tqdm draws no bar (a reader's kernel still does).
    os.environ.setdefault("TQDM_DISABLE", "1")
    app.add_node(RunTimesNode)
    app.add_directive("run-times", RunTimesDirective)
    app.add_post_transform(RunTimesTransform)
    app.connect("env-updated", _pages_with_tables)
    return {"parallel_read_safe": True, "parallel_write_safe": True}

