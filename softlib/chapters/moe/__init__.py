"""Softmax-gated Gaussian mixtures of experts: the model, EM, Voronoi losses and convergence studies.

The library of the book's "Softmax gating" chapters, after {cite}`nguyen2023demystifying` (dense gate)
and {cite}`nguyen2024topk` (top-K sparse gate).

>>> import numpy as np
>>> from softlib.chapters.moe import paper1_truth, fit_em, voronoi_loss
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

# Gates beyond the plain softmax, multinomial logistic experts, and replicated studies of any model
# (the temperature, multinomial and DSelect-k chapters).
from .gates import (GatedGaussianMoE, dselect_weights, fit_gated_gaussian, gate_probs, smooth_step,
                    temperature_truth, topk_softmax)
from .multinomial import (MultinomialMoE, fit_multinomial, multinomial_compensated_path, multinomial_fisher,
                          multinomial_parameter_errors, multinomial_profile_kl, multinomial_replication,
                          multinomial_split_point, multinomial_truth, multinomial_voronoi_loss)
from .replicate import Replications, replicated_study

__all__ += [
    "GatedGaussianMoE", "dselect_weights", "fit_gated_gaussian", "gate_probs", "smooth_step",
    "temperature_truth", "topk_softmax",
    "MultinomialMoE", "fit_multinomial", "multinomial_parameter_errors", "multinomial_voronoi_loss",
    "multinomial_truth", "multinomial_split_point", "multinomial_fisher", "multinomial_compensated_path",
    "multinomial_profile_kl", "multinomial_replication",
    "replicated_study", "Replications",
]
