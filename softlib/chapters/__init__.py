"""Chapter machinery: the models, experiments and theory helpers the chapters run.

Mixtures of experts (the ``moe`` package), the theory helpers (the ``theory`` package), modular
arithmetic and its numerics (:mod:`~softlib.chapters.modular`, :mod:`~softlib.chapters.stability`),
soft thinking (:mod:`~softlib.chapters.soft_thinking`) and the small training loops of the output
chapters (:mod:`~softlib.chapters.training_loops`). Its dependencies are the ``chapters`` extra
(SciPy, scikit-learn, tqdm: ``pip install "softlib[chapters]"``).
"""
