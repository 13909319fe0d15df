"""softlib.book.timing: the structure of the chapters' quick measurements (never their speed)."""

import numpy as np
import pytest

from softlib.book import timing


def test_time_in_turns_runs_every_function_in_every_round():
    order = []
    functions = {"a": lambda: order.append("a"), "b": lambda: order.append("b")}
    result = timing.time_in_turns(functions, samples=4, min_seconds=0.0)
    assert {k: v.shape for k, v in result.items()} == {"a": (4,), "b": (4,)}
    assert all(np.all(v >= 0) for v in result.values())
    # After the warm-up and calibration calls, the rounds alternate a, b, a, b, ...
    assert order[-8:] == ["a", "b"] * 4


def test_ns_per_element_reports_medians_of_the_samples():
    r = timing.ns_per_element({"copy": lambda x, y: np.copyto(y, x)}, [256, 1024], samples=3, min_seconds=1e-4)
    assert r["copy"].shape == (2,) and r["samples"]["copy"].shape == (2, 3)
    assert np.array_equal(r["copy"], np.median(r["samples"]["copy"], axis=1))


def test_bad_arguments_are_refused():
    with pytest.raises(ValueError, match="samples"):
        timing.time_in_turns({"a": lambda: None}, samples=0)
    with pytest.raises(ValueError, match="no functions"):
        timing.time_in_turns({})
    with pytest.raises(ValueError, match="sizes"):
        timing.ns_per_element({"a": lambda x, y: None}, [0])


def test_cache_sizes_are_positive_and_grow_with_the_level():
    sizes = timing.cache_sizes()
    values = [sizes[k] for k in sorted(sizes)]
    assert all(v > 0 for v in values) and values == sorted(values)
