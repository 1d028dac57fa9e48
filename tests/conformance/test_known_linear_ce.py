"""The known divergences of linear_cross_entropy (conformance/judge/known_predicates_linear.py) match the
mechanism they document, on torch's own outputs, and not its look-alikes: logits that overflow in the dtype
they are computed in, logit rounding beyond the first-order bound, a confident item's cancellation."""
from __future__ import annotations

import math

import numpy as np
import pytest

import reference
from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

torch = pytest.importorskip("torch")

FUNCTIONAL = "torch.nn.functional.linear_cross_entropy"
CHUNKED = FUNCTIONAL + "[chunked]"


def _ref_json(arr, dtype):
    return {"dtype": dtype, "shape": list(arr.shape), "exact": [str(v) for v in arr.exact.ravel()],
            "rounded": [float(v) for v in arr.rounded.ravel()], "ieee": None}


def lce_record(impl, dtype, inputs, params, part, observed, failing, verdict="inaccurate"):
    """A failing record of `impl` whose `part` ("value" or "grad:NAME") was observed as `observed`."""
    np_dtype = {"float64": np.float64, "float32": np.float32, "float16": np.float16}[dtype]
    ref = reference.evaluate("linear_cross_entropy", dtype, inputs, params)
    full = {**reference.OPS["linear_cross_entropy"].defaults, **params}
    obs = tensor_json(np.asarray(observed, dtype=np.float64).astype(np_dtype))
    grads_obs = {k: tensor_json(g.rounded.astype(np_dtype)) for k, g in ref.grads.items()}
    value_obs = tensor_json(ref.value.rounded.astype(np_dtype))
    if part == "value":
        value_obs = obs
    else:
        grads_obs[part[5:]] = obs
    return {"implementation": impl, "framework": "torch", "op": "linear_cross_entropy", "dtype": dtype,
            "device": "cpu", "case_id": "c", "framework_version": "torch 2.13.0", "params": full,
            "verdict": verdict, "part": part, "detail": "",
            "inputs": {k: tensor_json(np.asarray(v, dtype=np.int64 if k == "target" else np_dtype))
                       for k, v in inputs.items()},
            "observed": {"value": value_obs, "grad": grads_obs},
            "reference": {"certified": True, "value": _ref_json(ref.value, dtype),
                          "grad": {k: _ref_json(g, dtype) for k, g in ref.grads.items()}},
            "failing_elements": {part: list(failing)}}


@pytest.fixture(scope="module")
def entries():
    return known.load()


def classified(rec, entries):
    known.reset(entries)
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"]


def _torch_value(impl, dtype, inputs, params):
    from conformance.adapters import torch_adapter

    row = next(i for i in torch_adapter.implementations() if i.id == impl)
    return row.call({k: np.asarray(v, dtype=np.int64 if k == "target" else dtype) for k, v in inputs.items()},
                    {**reference.OPS["linear_cross_entropy"].defaults, **params}, dtype, "cpu", row.grads)


def test_overflowing_logits_are_the_overflow_entry_and_small_ones_are_not(entries):
    big = {"input": [[3e38, 3e38]], "linear_weight": [[3e38, 0.0], [0.0, 3e38]], "linear_bias": [0.0, 0.0],
           "target": [0]}
    got = _torch_value(FUNCTIONAL, "float32", big, {"reduction": "none"})
    assert math.isnan(float(got.value[0]))  # inf - inf in the softmax: the finding
    rec = lce_record(FUNCTIONAL, "float32", big, {"reduction": "none"}, "value", got.value, [0],
                     "special_value_mismatch")
    assert classified(rec, entries) == "torch-linear-ce-logits-overflow"
    small = {"input": [[3.0, 3.0]], "linear_weight": [[3.0, 0.0], [0.0, 3.0]], "linear_bias": [0.0, 0.0],
             "target": [0]}
    rec = lce_record(FUNCTIONAL, "float32", small, {"reduction": "none"}, "value", [math.nan], [0],
                     "special_value_mismatch")
    assert classified(rec, entries) is None and rec["unexpected"]


def test_overflow_is_judged_in_the_dtype_the_logits_are_computed_in(entries):
    """float16 inputs whose products pass 65504: the reference path's float16 logits overflow; the chunked path
    computes them in float32 (acc_dtype), so a NaN there is not explained by overflow."""
    half = {"input": [[60000.0, 60000.0]], "linear_weight": [[60000.0, 0.0], [0.0, 60000.0]],
            "linear_bias": [0.0, 0.0], "target": [0]}
    assert math.isnan(float(_torch_value(FUNCTIONAL, "float16", half, {"reduction": "none"}).value[0]))
    assert math.isfinite(float(_torch_value(CHUNKED, "float16", half, {"reduction": "none"}).value[0]))
    for impl, expect in ((FUNCTIONAL, "torch-linear-ce-logits-overflow"), (CHUNKED, None)):
        rec = lce_record(impl, "float16", half, {"reduction": "none"}, "value", [math.nan], [0],
                         "special_value_mismatch")
        assert classified(rec, entries) == expect, impl


def test_logit_rounding_beyond_first_order(entries):
    """float32 logits near 3e7 apart by less than their rounding: torch's loss is what logits within the
    rounding give (each logit within about 9 of the exact 3e7: c u P), far outside the first-order bound; a
    result outside that range is not explained."""
    case = {"input": [[30000.0, 1.0]], "linear_weight": [[1000.0, 0.0], [1000.0, 0.5]], "linear_bias": [0.0, 0.0],
            "target": [0]}
    got = _torch_value(FUNCTIONAL, "float32", case, {"reduction": "none"})
    exact = reference.evaluate("linear_cross_entropy", "float32", case, {"reduction": "none"})
    assert abs(float(got.value[0]) - float(exact.value.rounded[0])) > 1e-3  # the logit 0.5 apart is lost
    rec = lce_record(FUNCTIONAL, "float32", case, {"reduction": "none"}, "value", got.value, [0])
    assert classified(rec, entries) == "torch-linear-ce-logit-rounding"
    rec = lce_record(FUNCTIONAL, "float32", case, {"reduction": "none"}, "value", [float(got.value[0]) + 50.0], [0])
    assert classified(rec, entries) is None and rec["unexpected"]
    # the gradient too: d/dW through the softmax of the rounded logits
    gw = got.grads["linear_weight"].ravel()
    rec = lce_record(FUNCTIONAL, "float32", case, {"reduction": "none"}, "grad:linear_weight", gw, [0, 1, 2, 3])
    assert classified(rec, entries) == "torch-linear-ce-logit-rounding"
    rec = lce_record(FUNCTIONAL, "float32", case, {"reduction": "none"}, "grad:linear_weight", gw + 1e5,
                     [0, 1, 2, 3])
    assert classified(rec, entries) is None


def test_confident_cancellation(entries):
    """The chunked path's loss log(sum exp) - (z_y - max) of a confident item (loss 1.8e-6, float64): an
    absolute error of about u, 229324 ulp; a relative error of 5% is not that."""
    case = {"input": [[12.331269013421178]], "linear_weight": [[0.0], [0.0]],
            "linear_bias": [13.22525643722858, 0.0], "target": [0]}
    got = _torch_value(CHUNKED, "float64", case, {"reduction": "none"})
    exact = reference.evaluate("linear_cross_entropy", "float64", case, {"reduction": "none"})
    assert got.value[0] != exact.value.rounded[0]
    rec = lce_record(CHUNKED, "float64", case, {"reduction": "none"}, "value", got.value, [0])
    assert classified(rec, entries) == "torch-linear-ce-confident-cancellation"
    rec = lce_record(CHUNKED, "float64", case, {"reduction": "none"}, "value", got.value * 1.05, [0])
    assert classified(rec, entries) is None


def test_backward_product_overflow(entries):
    """d/dW = G^T x over items with x = 3e38, 3e38, -3e38 (bfloat16) and G ~ -1: the exact gradient is -3e38,
    the float sum passes the maximum on the way (-inf); the same inf with small inputs is not explained."""
    import ml_dtypes

    case = {"input": [[3.0e38], [3.0e38], [-3.0e38]], "linear_weight": [[0.0], [1e-38]], "linear_bias": [0.0, 10.0],
            "target": [0, 0, 0]}
    bf = {k: np.asarray(v, dtype=np.int64 if k == "target" else ml_dtypes.bfloat16) for k, v in case.items()}
    from conformance.adapters import torch_adapter

    row = next(i for i in torch_adapter.implementations() if i.id == "torch.nn.LinearCrossEntropyLoss")
    got = row.call(bf, {**reference.OPS["linear_cross_entropy"].defaults, "reduction": "sum"}, "bfloat16", "cpu",
                   row.grads)
    gw = got.grads["linear_weight"].astype(np.float64).ravel()
    assert gw.tolist() == [-math.inf, math.inf]
    exact = {k: np.asarray(v, dtype=np.int64 if k == "target" else np.float64) for k, v in bf.items()}
    rec = lce_record(row.id, "float32", exact, {"reduction": "sum"}, "grad:linear_weight", gw, [0, 1],
                     "special_value_mismatch")
    rec["dtype"] = "bfloat16"
    assert classified(rec, entries) == "torch-linear-ce-logits-overflow"
    small = {"input": [[3.0], [3.0], [-3.0]], "linear_weight": [[0.0], [1.0]], "linear_bias": [0.0, 10.0],
             "target": [0, 0, 0]}
    rec = lce_record(row.id, "float32", small, {"reduction": "sum"}, "grad:linear_weight", [-math.inf, math.inf],
                     [0, 1], "special_value_mismatch")
    assert classified(rec, entries) is None
