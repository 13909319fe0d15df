"""Softmax-gated Gaussian mixtures of experts: the model, EM, Voronoi losses and convergence studies.

The library of the book's "Softmax gating" chapters, after {cite}`nguyen2023demystifying` (dense gate)
and {cite}`nguyen2024topk` (top-K sparse gate).

>>> import numpy as np
>>> from softlib.moe import paper1_truth, fit_em, voronoi_loss
>>> truth = paper1_truth()
>>> x, y = truth.sample(1000, np.random.default_rng(0))
>>> bool(voronoi_loss(fit_em(x, y, k=2, init=truth).model, truth) < 1.0)
True
"""

from .em import FitResult, fit_em, random_start
from .model import GaussianMoE, density_hellinger, gate_weights, paper1_truth, topk_truth
from .study import ConvergenceStudy, convergence_study, loglog_slope, plot_loglog, start_near
from .voronoi import RBAR, VoronoiFit, parameter_errors, voronoi_cells, voronoi_fit, voronoi_loss

__all__ = [
    "GaussianMoE", "paper1_truth", "topk_truth", "gate_weights", "density_hellinger",
    "fit_em", "FitResult", "random_start",
    "voronoi_loss", "voronoi_fit", "VoronoiFit", "voronoi_cells", "parameter_errors", "RBAR",
    "convergence_study", "ConvergenceStudy", "loglog_slope", "plot_loglog", "start_near",
]
