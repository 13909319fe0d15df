"""The comparison callables of ``make bench`` compute what they claim, into their own outputs."""

import gc

import numpy as np
import pytest

import softlib
from softlib.book import bench


def test_onnxruntime_callable_keeps_its_output_alive():
    # The io binding holds a raw pointer to y: a temporary y was freed before the run (a segfault).
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    x = np.random.default_rng(0).normal(size=(64, 1000)).astype(np.float32)
    run = bench._onnxruntime_softmax(x, np.empty_like(x))
    gc.collect()
    _, y = run()
    np.testing.assert_allclose(y, softlib.softmax(x), rtol=1e-5)


def test_library_softmaxes_write_their_outputs():
    x = np.random.default_rng(1).normal(size=(8, 300)).astype(np.float32)
    outputs = {}
    for name, fn in bench.library_softmaxes(x, outputs).items():
        fn()
        np.testing.assert_allclose(outputs[name], softlib.softmax(x), rtol=1e-5, err_msg=name)
