"""Compile counts: the worker counts JAX backend compiles and TF tf.function traces; a JAX implementation
compiles once per input shape, never again for new values; Hypothesis draws shapes from small fixed sets."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from conformance.cases import strategies
from conformance.execute.worker import Worker, _compile_counter


def test_jax_counter_counts_backend_compiles():
    jax = pytest.importorskip("jax")
    counts = _compile_counter("jax")
    f = jax.jit(lambda x: x * 2 + 1)
    f(np.ones(3))
    f(np.zeros(3))  # same shape, new values: no compile
    assert counts["jax_compiles"] == 1
    f(np.ones(4))
    assert counts["jax_compiles"] == 2 and counts["jax_traces"] >= 2


def test_tensorflow_counter_counts_traces():
    tf = pytest.importorskip("tensorflow")
    counts = _compile_counter("tensorflow")
    f = tf.function(lambda x: x * 2.0)
    f(tf.ones(3))
    f(tf.zeros(3))
    assert counts["tf_traces"] == 1
    f(tf.ones(5))
    assert counts["tf_traces"] == 2


def test_a_jax_implementation_recompiles_for_a_new_shape_only():
    pytest.importorskip("jax")
    worker = Worker("jax", timeout=300)
    try:
        rng = np.random.default_rng(0)
        impl = "jax.nn.log_softmax"
        outcome, _ = worker.call(impl, {"x": rng.normal(size=(2, 5)).astype(np.float32)}, {"axis": -1}, "float32",
                                 "cpu", ("x",))
        assert outcome == "ok" and worker.last_compiles["jax_compiles"] >= 1 and worker.last_call_s > 0
        for _ in range(3):  # new values, same shape and dtype
            outcome, _ = worker.call(impl, {"x": rng.normal(size=(2, 5)).astype(np.float32)}, {"axis": -1},
                                     "float32", "cpu", ("x",))
            assert outcome == "ok" and worker.last_compiles["jax_compiles"] == 0
        worker.call(impl, {"x": rng.normal(size=(3, 5)).astype(np.float32)}, {"axis": -1}, "float32", "cpu", ("x",))
        assert worker.last_compiles["jax_compiles"] >= 1
    finally:
        worker.stop()


@settings(max_examples=200, database=None, deadline=None)
@given(st.data())
def test_drawn_shapes_come_from_the_fixed_sets(data):
    profile = data.draw(st.sampled_from(["quick", "ci"]))
    op = data.draw(st.sampled_from(["cross_entropy", "log_softmax", "sigmoid"]))
    case = strategies.draw_case(data, op, "float32", {}, {}, profile)
    x = case.inputs["logits" if op == "cross_entropy" else "x"]
    sets = strategies.SHAPE_SETS[profile]
    if op == "sigmoid":
        assert x.shape[0] in strategies.ELEMENTWISE_BATCHES
        return
    axis = case.params.get("axis", reference.OPS[op].default_axis) % x.ndim  # the class axis, wherever drawn
    assert x.shape[axis] in sets["classes"] + strategies.PROFILE_LIMITS[profile]["vocab"]
    others = [d for i, d in enumerate(x.shape) if i != axis]
    assert others[0] in sets["batch"] or (axis == 0 and others[0] in strategies.EXTRA_DIMS)
    assert all(d in strategies.EXTRA_DIMS for d in others[1:])  # the extra (spatial / sequence) dims


def test_the_jax_compilation_cache_is_keyed_by_the_jax_version(monkeypatch, tmp_path):
    from conformance.adapters.jax_adapter import compile_cache_dir

    monkeypatch.delenv("CE_CONFORMANCE_JAX_CACHE", raising=False)
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert compile_cache_dir("0.10.2") == tmp_path / "ce-conformance" / "jax-compile-0.10.2"
    assert compile_cache_dir("0.10.2") != compile_cache_dir("0.4.38")
    monkeypatch.setenv("CE_CONFORMANCE_JAX_CACHE", "0")
    assert compile_cache_dir("0.10.2") is None
    monkeypatch.setenv("CE_CONFORMANCE_JAX_CACHE", str(tmp_path / "c"))
    assert compile_cache_dir("0.10.2") == tmp_path / "c" / "jax-0.10.2"


def test_a_worker_compiles_into_the_persistent_cache(monkeypatch, tmp_path):
    pytest.importorskip("jax")
    monkeypatch.setenv("CE_CONFORMANCE_JAX_CACHE", str(tmp_path))
    worker = Worker("jax", timeout=300)
    try:
        outcome, _ = worker.call("jax.nn.log_softmax", {"x": np.ones((2, 7), np.float32)}, {"axis": -1}, "float32",
                                 "cpu", ("x",))
    finally:
        worker.stop()
    assert outcome == "ok"
    assert any(p.is_file() for p in tmp_path.rglob("*"))  # the compiled program was written there
