"""A Sphinx fix for the book's HTML pages (loaded through ``local_extensions`` in _config.yml).

sphinx-thebe 0.3 registers its inline configuration script twice under Sphinx 7 (once through the
builder, once through the registry the builder copies; the copies differ only in a filename of None
or ""), and the second copy throws "Identifier
'THEBE_JS_URL' has already been declared" on every page. Each page keeps one copy of every script.
"""


def _scripts_once(app, pagename, templatename, context, doctree):
    seen, unique = set(), []
    for script in context.get("script_files", []):
        key = (str(getattr(script, "filename", script) or ""),  # an inline script's is None or ""
               tuple(sorted(getattr(script, "attributes", {}).items())))
        if key not in seen:
            seen.add(key)
            unique.append(script)
    context["script_files"] = unique


def setup(app):
    app.connect("html-page-context", _scripts_once, priority=1000)
    return {"parallel_read_safe": True, "parallel_write_safe": True}
