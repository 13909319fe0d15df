"""The API reference's links to the C++ kernels (loaded through ``local_extensions``).

``book/api.md`` documents softlib with autodoc (numpydoc docstrings) and sphinx.ext.viewcode, which
links every function to its Python source. The functions that run compiled code get one more link,
added to their docstrings here: to the C++ file on the repository that holds the kernel doing the
work. A new compiled function adds its line to :data:`KERNELS` (the paths are checked to exist when the
book is built, so a renamed file fails the build instead of leaving a dead link).
"""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

#: softlib function -> (C++ file, what it holds), in the repository.
KERNELS: dict[str, list[tuple[str, str]]] = {
    "softlib.softmax": [
        ("cpp/row_kernels.h", "the row algorithms three_pass, three_pass_recompute, two_pass and "
                              "online, composed from the microkernels"),
        ("cpp/microkernels.h", "the vectorised max, exp-and-sum and scale loops"),
        ("cpp/x86/kernels_avx512.cpp", "their AVX-512 instantiation (AVX2 and portable beside it)"),
        ("cpp/threads.cpp", "the split of long rows across threads and the merge of their (max, sum)"),
    ],
    "softlib.log_softmax": [
        ("cpp/row_kernels.h", "the log-softmax rows: max, then log-sum-exp, then x - m - log s"),
        ("cpp/microkernels.h", "the vectorised loops"),
    ],
    "softlib.logsumexp": [
        ("cpp/row_kernels.h", "the logsumexp rows: max, then the sum of exponentials"),
        ("cpp/microkernels.h", "the vectorised loops"),
    ],
    "softlib.stablemax": [("cpp/stablemax_kernels.h", "StableMax's s(x) and its normalisation")],
    "softlib.log_stablemax": [("cpp/stablemax_kernels.h", "StableMax's logarithm")],
    "softlib.softmax_topk": [
        ("cpp/softmax_topk_kernels.h", "the fused online normaliser and running top-k"),
    ],
    "softlib.attention.blockwise_attention": [
        ("cpp/attention_kernel.h", "the blockwise kernel: each key block's scores, the online "
                                   "(m, d) merge and the running output, per query row"),
        ("cpp/attention.h", "its interface, one instantiation per code path"),
        ("cpp/attention.cpp", "the choice of code path, the split of queries across threads "
                              "and the Python binding"),
        ("cpp/attention_portable.cpp", "the portable instantiation"),
        ("cpp/x86/attention_avx2.cpp", "the AVX2 instantiation"),
        ("cpp/x86/attention_avx512.cpp", "the AVX-512 instantiation"),
    ],
    "softlib.isa": [("cpp/dispatch.cpp", "the choice of code path at import"),
                    ("cpp/cpu_features.cpp", "what the CPU and the OS support")],
    "softlib.isas": [("cpp/dispatch.cpp", "the code paths compiled in"),
                     ("cpp/cpu_features.cpp", "what the CPU and the OS support")],
}


def _repository(app) -> tuple[str, str]:
    options = app.config.html_theme_options or {}
    url = options.get("repository_url") or "https://github.com/softmax-book/softmax-book"
    return url.rstrip("/"), options.get("repository_branch") or "main"


def _check_paths(app, config):
    missing = [path for files in KERNELS.values() for path, _ in files if not (ROOT / path).is_file()]
    if missing:
        from sphinx.errors import ExtensionError

        raise ExtensionError(f"book/_ext/softlib_api.py links to C++ files that do not exist: {missing}")


def _add_kernel_links(app, what, name, obj, options, lines):
    files = KERNELS.get(name)
    if not files or what != "function":
        return
    url, branch = _repository(app)
    lines += ["", ".. rubric:: C++ kernel", ""]
    for path, holds in files:
        lines.append(f"- `{path} <{url}/blob/{branch}/{path}>`__: {holds}")
    lines.append("")


def _resolve_short_names(app, env, node, contnode):
    """A docstring's ``:func:`auto_algorithm``` names a function of a sibling module
    (``softlib.ops.auto_algorithm``) by its short name: resolve it when exactly one softlib object
    has that name."""
    if node.get("refdomain") != "py":
        return None
    target = node.get("reftarget", "")
    domain = env.get_domain("py")
    suffix = "." + target.split(".")[-1]
    found = [name for name in domain.objects if name.startswith("softlib.") and name.endswith(suffix)
             and (name.endswith("." + target))]
    if len(found) != 1:
        return None
    return domain.resolve_xref(env, node["refdoc"], app.builder, node["reftype"], found[0], node,
                               contnode)


def setup(app):
    app.connect("missing-reference", _resolve_short_names)
    app.connect("config-inited", _check_paths)
    # After numpydoc (priority 500), so the lines land after its sections, not inside Examples.
    app.connect("autodoc-process-docstring", _add_kernel_links, priority=600)
    return {"parallel_read_safe": True, "parallel_write_safe": True, "version": "1"}
