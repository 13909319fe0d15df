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
from .mlp import mlp_init, mlp_logits, mlp_loss_grad, mlp_slopes
