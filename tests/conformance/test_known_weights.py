"""Known divergences about weight parameters (conformance/judge/known_predicates_weights.py; issue 13 triage of
the ci profile): each entry explains a record shaped like its finding and not a near miss (another input,
another parameter, another kind of mismatch)."""
import numpy as np
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

BCEL = "torch.nn.functional.binary_cross_entropy_with_logits"
MLSM = "torch.nn.MultiLabelSoftMarginLoss"


def record(impl, op, dtype, part, inputs, observed, exact, params, failing):
    """A failing record of a reduction-"none" loss: observed/exact are the part's elements (input-shaped)."""
    shape = np.asarray(next(iter(inputs.values()))).shape
    np_dtype = np.float64 if dtype == "float64" else np.float32
    obs = tensor_json(np.asarray(observed, dtype=np.float64).astype(np_dtype).reshape(shape))
    ref = {"dtype": dtype, "shape": list(shape), "exact": [str(e) for e in np.ravel(exact)],
           "rounded": [float(e) for e in np.ravel(exact)], "ieee": None}
    key = part.split(":", 1)[-1]
    observed_parts = {"value": obs, "grad": {}} if part == "value" else {"value": None, "grad": {key: obs}}
    reference_parts = ({"certified": True, "value": ref, "grad": {}} if part == "value"
                       else {"certified": True, "value": None, "grad": {key: ref}})
    return {"implementation": impl, "framework": "torch", "op": op, "dtype": dtype, "device": "cpu",
            "case_id": "c", "framework_version": "torch 2.13.0+cpu", "params": params,
            "verdict": "special_value_mismatch", "part": part, "detail": "",
            "inputs": {k: tensor_json(np.asarray(v, dtype=np_dtype)) for k, v in inputs.items()},
            "observed": observed_parts, "reference": reference_parts, "failing_elements": {part: failing}}


@pytest.fixture(scope="module")
def entries():
    return known.load()


def explained(rec, entries):
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"]


# ------------------------------------------------ torch-bce-with-logits-pos-weight-term-overflows

def bcel(part="value", pos_weight=8.473828473128839e37, x=-7.25, observed="inf", exact="3.0720636e38"):
    return record(BCEL, "binary_cross_entropy_with_logits", "float32", part, {"x": [[x, 1.0]], "y": [[1.0, 0.5]]},
                  [[float(observed), 0.0]], [[exact, "0"]],
                  {"weight": [0.5, 1.0], "pos_weight": [pos_weight, 1.0], "reduction": "none"}, [0])


@pytest.mark.parametrize("part", ["value", "grad:y"])
def test_pos_weight_term_overflow_is_explained(entries, part):
    assert explained(bcel(part), entries) == "torch-bce-with-logits-pos-weight-term-overflows"


def test_pos_weight_term_overflow_near_misses(entries):
    # the product of a modest pos_weight and |log_sigmoid(-7.25)| is far from overflowing: another mechanism
    assert explained(bcel(pos_weight=3.0), entries) is None
    # NaN, not inf: not this mechanism
    assert explained(bcel(observed="nan"), entries) is None
    # d/dx has no pos_weight * log_sigmoid(x) product
    assert explained(bcel("grad:x"), entries) is None


# ------------------------------------------------ torch-multilabel-soft-margin-weight-cotangent-underflows

def mlsm(weight0=5e-324, x0=-np.inf, observed="nan", exact="inf", dtype="float64"):
    C = 40
    x = np.zeros((1, C))
    x[0, 0] = x0
    y = np.full((1, C), 0.306)
    weight = [weight0] + [1.0] * (C - 1)
    obs = np.zeros((1, C))
    obs[0, 0] = float(observed)
    ex = np.full((1, C), "0", dtype=object)
    ex[0, 0] = exact
    return record(MLSM, "multilabel_soft_margin_loss", dtype, "grad:y", {"x": x, "y": y}, obs, ex,
                  {"weight": weight, "reduction": "none", "axis": -1}, [0])


def test_weight_cotangent_underflow_is_explained(entries):
    assert explained(mlsm(), entries) == "torch-multilabel-soft-margin-weight-cotangent-underflows"


def test_weight_cotangent_underflow_near_misses(entries):
    # a class weight whose w / C is representable: 0 * inf does not happen, a NaN there is something else
    assert explained(mlsm(weight0=1e-300), entries) is None
    # a finite logit: no infinite term to multiply
    assert explained(mlsm(x0=-40.0, exact="1e-300"), entries) is None
    # a weight of exactly 0: the limit is 0 * inf, not this entry's finding
    assert explained(mlsm(weight0=0.0), entries) is None


# ------------------------------------------------ torch-linear-ce-weighted-mean-overflows

def linear_mean(weight, observed="inf"):
    """input [[1e37]], W = [[20], [-10]] (logits [2e38, -1e38]), label 1: the item loss is 3e38, the weighted
    mean is 3e38 (finite in float32); the weighted sum w[1] * 3e38 overflows when w[1] > 1.13."""
    rec = record("torch.nn.functional.linear_cross_entropy", "linear_cross_entropy", "float32", "value",
                 {"input": [[1e37]]}, [[0.0]], [["0"]], {"weight": weight, "reduction": "mean"}, [0])
    rec["inputs"]["linear_weight"] = tensor_json(np.asarray([[20.0], [-10.0]], dtype=np.float32))
    rec["inputs"]["linear_bias"] = tensor_json(np.asarray([0.0, 0.0], dtype=np.float32))
    rec["inputs"]["target"] = tensor_json(np.asarray([1], dtype=np.int64))
    rec["observed"]["value"] = tensor_json(np.asarray(float(observed), dtype=np.float32))
    rec["reference"]["value"] = {"dtype": "float32", "shape": [], "exact": ["3.0000001e38"],
                                 "rounded": [3.0000001e38], "ieee": None}
    return rec


def test_linear_weighted_mean_overflow_is_explained(entries):
    assert explained(linear_mean([1.0, 8.0]), entries) == "torch-linear-ce-weighted-mean-overflows"


def test_linear_weighted_mean_overflow_near_misses(entries):
    # the weighted sum 3e38 stays below float32's max: an inf there is something else
    assert explained(linear_mean([1.0, 1.0]), entries) is None
    # NaN is not an overflowed sum
    assert explained(linear_mean([1.0, 8.0], observed="nan"), entries) is None
