"""Chapter machinery: the models, experiments and theory helpers the chapters run.

Mixtures of experts (:mod:`~softlib.chapters.moe`), the theory helpers (:mod:`~softlib.chapters.theory`),
modular arithmetic and its numerics (:mod:`~softlib.chapters.modular`,
:mod:`~softlib.chapters.stability`), soft thinking (:mod:`~softlib.chapters.soft_thinking`) and the small
training loops of the output chapters (:mod:`~softlib.chapters.training_loops`). Its dependencies are
the ``chapters`` extra (SciPy, scikit-learn, tqdm: ``pip install "softlib[chapters]"``).
"""
