"""Book support: what the chapters use to show their results, not to compute them.

Interactive figures and tables (:mod:`~softlib.book.viz`), quick timings (:mod:`~softlib.book.timing`),
the benchmarks (``python -m softlib.book.bench``, ``python -m softlib.book.attention_bench``), the
algorithms step by step in NumPy (:mod:`~softlib.book.algorithms`) and each part's figures (the
``*_plots`` modules). Its dependencies are the ``viz`` extra (matplotlib, ipywidgets, tqdm:
``pip install "softlib[viz]"``); the figures of chapters that run :mod:`softlib.chapters` need the
``chapters`` extra too.
"""
