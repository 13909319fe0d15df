"""Theory helpers of the book's chapters: small pure functions named after the quantities they compute.

Each function's docstring gives the equation it implements and the paper it comes from.
"""

# Ghosts of softmax (Sao 2026): Taylor radii of the cross-entropy and safe steps.
from .ghosts import (
    batch_taylor_radius,
    binary_radius,
    ghost_radius,
    loss_taylor_coefficients,
    normalized_step,
    partition_zeros,
    safe_step,
    taylor_radius,
)
from .mlp import mlp_gradients, mlp_init, mlp_logits, mlp_loss_grad, mlp_slopes

# Comp-sum losses and their H-consistency bounds (Mao, Mohri & Zhong 2023).
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
