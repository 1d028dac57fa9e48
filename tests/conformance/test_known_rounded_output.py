"""jax-logaddexp-jvp-rounded-output matches its mechanism on JAX's own gradients (log_sigmoid at x = -13 and
optax's sigmoid_binary_cross_entropy at x = 10, float64: a relative error of about u |x|), and not a gradient
off by more than that rounding allows."""
from __future__ import annotations

import numpy as np
import pytest

import reference
from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

jax = pytest.importorskip("jax")
jax.config.update("jax_enable_x64", True)


def grad_record(impl, op, inputs, params, observed):
    ref = reference.evaluate(op, "float64", inputs, params)
    g = ref.grads["x"]
    tensor = {"dtype": "float64", "shape": list(g.rounded.shape), "exact": [str(v) for v in g.exact.ravel()],
              "rounded": [float(v) for v in g.rounded.ravel()], "ieee": None}
    return {"implementation": impl, "framework": "jax", "op": op, "dtype": "float64", "device": "cpu",
            "case_id": "c", "framework_version": "jax 0.10.2, optax 0.2.8",
            "params": {**reference.OPS[op].defaults, **params}, "verdict": "inaccurate", "part": "grad:x",
            "detail": "", "inputs": {k: tensor_json(np.asarray(v, dtype=np.float64)) for k, v in inputs.items()},
            "observed": {"value": tensor_json(ref.value.rounded), "grad": {"x": tensor_json(np.asarray(observed))}},
            "reference": {"certified": True, "value": {"dtype": "float64", "shape": list(ref.value.rounded.shape),
                                                      "exact": [str(v) for v in ref.value.exact.ravel()],
                                                      "rounded": [float(v) for v in ref.value.rounded.ravel()],
                                                      "ieee": None},
                          "grad": {"x": tensor}},
            "failing_elements": {"grad:x": [0]}}


def classify(rec):
    entries = known.load()
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"]


def test_log_sigmoid_gradient_at_minus_13():
    x = np.array([-13.0])
    got = np.asarray(jax.grad(lambda v: jax.nn.log_sigmoid(v).sum())(jax.numpy.asarray(x)))
    exact = reference.evaluate("log_sigmoid", "float64", {"x": x}).grads["x"].rounded
    assert got[0] != exact[0]  # the finding: 5 ulp
    assert classify(grad_record("jax.nn.log_sigmoid", "log_sigmoid", {"x": x}, {}, got)) == \
        "jax-logaddexp-jvp-rounded-output"
    off = got * (1 + 1e-12)  # far beyond u |x|
    assert classify(grad_record("jax.nn.log_sigmoid", "log_sigmoid", {"x": x}, {}, off)) is None


def test_optax_sigmoid_bce_gradient_at_10():
    optax = pytest.importorskip("optax")
    x, y = np.array([10.0]), np.array([0.0])
    got = np.asarray(jax.grad(lambda v: optax.losses.sigmoid_binary_cross_entropy(v, jax.numpy.asarray(y)).sum())(
        jax.numpy.asarray(x)))
    params = {"reduction": "none"}
    rec = grad_record("optax.losses.sigmoid_binary_cross_entropy", "binary_cross_entropy_with_logits",
                      {"x": x, "y": y}, params, got)
    assert classify(rec) == "jax-logaddexp-jvp-rounded-output"
