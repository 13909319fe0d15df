"""Test-suite wide settings: the ``slow`` marker.

``make unit`` deselects the tests marked ``slow`` (``-m "not slow"``) so that it runs in about a minute
while softlib is being edited; ``make test`` runs them all. The slow tests are marked here, by node
name, rather than in their files: exhaustive scans, rows of a million elements and more, and fits that
recover a model from thousands of samples. A node name ending in ``*`` covers every parametrisation.
Measured on the 2-core machine (serial, under load), each of these takes 4 to 50 s.
"""

from __future__ import annotations

import pytest

# Under --doctest-modules pytest would import the conftest files as modules named "conftest", and
# this one and tests/browser/conftest.py would clash; they hold no doctests.
collect_ignore = ["conftest.py", "browser/conftest.py"]

SLOW = {
    # exhaustive or huge-row accuracy scans of the kernels
    "tests/test_accuracy.py::test_exp_f32_exhaustive",
    "tests/test_accuracy.py::test_rows_of_1e6_and_1e7*",
    # EM and maximum-likelihood recoveries of mixtures of experts
    "tests/test_moe_em.py::test_topk_em_recovers_topk_truth",
    "tests/test_moe_em.py::test_loose_tolerance_stops_early",
    "tests/test_moe_multinomial.py::test_ml_and_em_reach_the_same_maximum_and_the_class_probabilities",
    "tests/test_moe_multinomial.py::test_compensated_path_and_profile_kl_orders",
    "tests/test_moe_multinomial.py::test_replication_returns_finite_errors",
    "softlib/chapters/moe/multinomial.py::softlib.chapters.moe.multinomial.multinomial_replication",
    # direct numerical minimisations that check the closed forms of the comp-sum losses
    "tests/test_comp_sum.py::test_exact_inner_infimum_against_direct_minimisation*",
    "tests/test_comp_sum.py::test_numeric_calibration_is_never_beaten_by_a_global_search*",
    "tests/test_comp_sum.py::test_bounded_bayes_risk_against_direct_minimisation*",
    # every frame of an interactive figure rendered
    "tests/test_viz.py::test_frames_html_has_one_distinct_frame_per_value",
    "tests/test_viz.py::test_panels_frames_match_full_redraws",
}


def _is_slow(nodeid: str) -> bool:
    base = nodeid.split("[")[0]
    return nodeid in SLOW or base in SLOW or f"{base}*" in SLOW


def pytest_collection_modifyitems(config, items):
    for item in items:
        if _is_slow(item.nodeid):
            item.add_marker(pytest.mark.slow)
