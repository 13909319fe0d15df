"""Theory helpers of the book's chapters: small pure functions named after the quantities they compute.

Each function's docstring gives the equation it implements and the paper it comes from.
"""

from .comp_sum import (
    calibration_closed_form,
    calibration_envelope,
    calibration_numeric,
    calibration_two_class,
    comp_sum_loss,
    comp_sum_loss_grad,
    conditional_bayes_risk,
    conditional_risk,
    conditional_risk_grad,
    h_consistency_bound,
    minimizability_gap,
)
