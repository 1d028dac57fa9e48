"""The torch adapter keeps the contract of conformance/adapters/implementation.py and declares only what torch does.

The expected values here are exact-arithmetic facts (softmax of equal logits is 1/C, cross-entropy of equal
logits is log C, a log clamped at -100 gives 100), never another framework's output.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest


torch = pytest.importorskip("torch")

from conformance.adapters import torch_adapter as adapter  # noqa: E402
from conformance.adapters.implementation import DTYPES  # noqa: E402
from tests.adapters import adapter_helpers as shared  # noqa: E402
from tests.adapters.adapter_helpers import LOGITS, PROBS, arr  # noqa: E402

IMPLS = shared.rows_by_id(adapter)


# Small cases with dyadic values (exact in every dtype): impl id -> (inputs, params, value shape).
def sample(impl_id: str, dtype: str):
    x, probs = arr(LOGITS, dtype), arr(PROBS, dtype)
    logits3d = arr(np.arange(12).reshape(2, 3, 2) / 4.0 - 1.0, dtype)
    target3d = arr(np.array([[[0.25, 0.5], [0.25, 0.0], [0.5, 0.5]]] * 2), dtype)
    cases = {
        "torch.nn.functional.softmax": ({"x": x}, {"axis": -1}, (2, 3)),
        "torch.nn.functional.log_softmax": ({"x": x}, {"axis": 0}, (2, 3)),
        "torch.sigmoid": ({"x": x}, {}, (2, 3)),
        "torch.nn.functional.logsigmoid": ({"x": x}, {}, (2, 3)),
        "torch.nn.functional.cross_entropy[class]": (
            {"logits": logits3d, "target": np.array([[0, 2], [1, 1]], dtype=np.int64)},
            {"axis": 1, "reduction": "none"}, (2, 2)),
        "torch.nn.functional.cross_entropy[probs]": (
            {"logits": logits3d, "target": target3d}, {"axis": 1, "reduction": "none"}, (2, 2)),
        "torch.nn.functional.nll_loss": (
            {"logp": x, "target": np.array([2, 0], dtype=np.int64)}, {"axis": 1, "reduction": "none"}, (2,)),
        "torch.nn.functional.binary_cross_entropy": (
            {"p": probs, "y": arr([[0.0, 1.0, 0.5], [1.0, 0.25, 0.0]], dtype)}, {"reduction": "none"}, (2, 3)),
        "torch.nn.functional.binary_cross_entropy_with_logits": (
            {"x": x, "y": probs}, {"reduction": "none"}, (2, 3)),
        "torch.nn.functional.kl_div": ({"input": -x * x, "target": probs}, {"reduction": "none"}, (2, 3)),
        "torch.special.xlogy": ({"x": probs, "y": probs[::-1].copy()}, {}, (2, 3)),
        "torch.special.entr": ({"x": probs}, {}, (2, 3)),
        "torch.special.xlog1py": ({"x": probs, "y": probs[::-1].copy()}, {}, (2, 3)),
        "torch.logsumexp": ({"x": x}, {"axis": -1}, (2,)),
        "torch.special.logsumexp": ({"x": x}, {"axis": 0}, (3,)),
    }
    binary = arr([[0.0, 1.0, 1.0], [1.0, 0.0, 0.0]], dtype)
    if impl_id in SAME_CALL_AS:  # issue 17's module forms and aliases take their functional row's case
        return cases[SAME_CALL_AS[impl_id]]
    if "multilabel" in impl_id.lower():  # the class mean: one loss per item
        return {"x": x, "y": probs}, {"reduction": "none", "weight": [0.5, 1.0, 2.0]}, (2,)
    if "linearcrossentropy" in impl_id.lower().replace("_", ""):  # the four linear_cross_entropy rows
        return ({"input": x, "linear_weight": probs, "linear_bias": arr([0.5, -0.25], dtype),
                 "target": np.array([1, 0], dtype=np.int64)}, {"reduction": "none"}, (2,))
    if "soft_margin" in impl_id.lower() or "softmargin" in impl_id.lower():
        return {"x": x, "y": binary}, {"reduction": "none"}, (2, 3)
    return cases[impl_id]


F = "torch.nn.functional."
SAME_CALL_AS = {
    "torch.nn.CrossEntropyLoss[class]": F + "cross_entropy[class]", "torch.nn.CrossEntropyLoss[probs]":
    F + "cross_entropy[probs]", "torch.nn.NLLLoss": F + "nll_loss", "torch.nn.BCELoss": F + "binary_cross_entropy",
    "torch.nn.BCEWithLogitsLoss": F + "binary_cross_entropy_with_logits", "torch.nn.KLDivLoss": F + "kl_div",
    "torch.nn.Softmax": F + "softmax", "torch.nn.LogSoftmax": F + "log_softmax", "torch.nn.Sigmoid": "torch.sigmoid",
    "torch.nn.LogSigmoid": F + "logsigmoid", "torch.special.softmax": F + "softmax",
    "torch.special.log_softmax": F + "log_softmax", "torch.special.expit": "torch.sigmoid",
    "torch.softmax": F + "softmax", "torch.log_softmax": F + "log_softmax", F + "sigmoid": "torch.sigmoid",
    "torch.xlogy": "torch.special.xlogy",
}


def call(impl_id, inputs, params, dtype="float64", grads=()):
    impl = IMPLS[impl_id]
    return impl.call(inputs, {**impl.fixed_params, **params}, dtype, "cpu", grads)


def test_module_interface():
    impls = shared.check_module_interface(adapter, "torch")
    assert adapter.version() == f"torch {torch.__version__}"
    assert ("cuda" in adapter.devices()) == torch.cuda.is_available()
    assert len(impls) == 40 + 6  # 6 rows again under torch.autocast
    assert sum(impl.policy == "autocast_bfloat16" for impl in impls) == 6
    assert all(tuple(impl.devices) == tuple(adapter.devices()) for impl in impls)


def test_every_implementation_has_a_sample():
    assert set(IMPLS) == {impl_id for impl_id in IMPLS if sample(impl_id, "float64")}


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl_id", sorted(IMPLS))
def test_declared_dtypes_give_value_and_grads_in_that_dtype(impl_id, dtype):
    shared.check_declared_dtype(IMPLS[impl_id], dtype, sample, call)


@pytest.mark.parametrize("impl_id", [i for i in sorted(IMPLS) if "reduction" in IMPLS[i].params])
def test_reductions_other_than_none_give_a_scalar(impl_id):
    inputs, params, _ = sample(impl_id, "float32")
    for reduction in IMPLS[impl_id].params["reduction"]:
        if reduction != "none":
            assert call(impl_id, inputs, {**params, "reduction": reduction}).value.shape == ()


def test_bfloat16_round_trip_is_bit_exact():
    bits = np.array([0x0000, 0x8000, 0x0001, 0x7F7F, 0x7F80, 0xFF80, 0x3F81, 0x7FC1], dtype=np.uint16)
    array = bits.view(ml_dtypes.bfloat16)
    back = adapter.to_numpy(adapter.to_tensor(array, "cpu"))
    assert back.dtype == np.dtype(ml_dtypes.bfloat16)
    assert np.array_equal(back.view(np.uint16), bits)


def test_weights_are_rounded_once_to_bfloat16():
    # 1 + 2^-8 + 2^-30 lies above the midpoint of 1 and 1 + 2^-7: nearest is 1 + 2^-7 (rounding through
    # float32 first would land on the midpoint and tie to 1).
    rounded = adapter.round_to_dtype([1 + 2**-8 + 2**-30, 1 + 2**-8, 1 + 3 * 2**-8], "bfloat16")
    assert rounded.astype(np.float64).tolist() == [1 + 2**-7, 1.0, 1 + 2**-6]
    assert adapter.round_to_dtype([0.1], "float16").dtype == np.float16


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_equal_logits_is_exactly_one_half(dtype):
    observed = call("torch.nn.functional.softmax", {"x": arr([0.0, 0.0], dtype)}, {"axis": -1}, dtype, ("x",))
    shared.check_equal_logits_give_halves(observed)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_cross_entropy_of_equal_logits_is_log_c(dtype):
    impl_id = "torch.nn.functional.cross_entropy[class]"
    value = call(impl_id, shared.equal_logits_inputs(IMPLS[impl_id], dtype), {"reduction": "mean"}, dtype).value
    assert value.shape == ()
    shared.check_log_c(value, dtype)


@pytest.mark.parametrize("impl_id", ["torch.nn.functional.cross_entropy[class]", "torch.nn.functional.nll_loss"])
@pytest.mark.parametrize("label", [3, -1])
def test_out_of_range_label_raises_on_cpu(impl_id, label):
    inputs, params, _ = sample(impl_id, "float32")
    target = inputs["target"].copy()
    target.flat[0] = label
    assert IMPLS[impl_id].bad_labels == "raises"
    with pytest.raises(IndexError):
        call(impl_id, {**inputs, "target": target}, params, "float32")


@pytest.mark.parametrize("impl_id", ["torch.nn.functional.cross_entropy[class]", "torch.nn.functional.nll_loss"])
def test_label_minus_100_is_ignored_without_ignore_index(impl_id):
    inputs, params, _ = sample(impl_id, "float64")
    target = inputs["target"].copy()
    target.flat[0] = -100
    inputs = {**inputs, "target": target}
    observed = call(impl_id, inputs, params, "float64")
    assert observed.value.flat[0] == 0.0
    convention = next(c for c in IMPLS[impl_id].conventions if c.key == "ignore_index_default_-100")
    assert convention.ref_params == {"ignore_index": -100}
    assert convention.applies(inputs, {**params, "ignore_index": None})
    assert not convention.applies(inputs, {**params, "ignore_index": 1})
    with pytest.raises(IndexError):  # an explicit ignore_index takes -100's place: -100 is out of range again
        call(impl_id, inputs, {**params, "ignore_index": 1}, "float64")


def test_all_ignored_mean_is_nan_not_cleaned():
    inputs = {"logits": arr(np.zeros((2, 3)), "float32"), "target": np.array([-100, -100], dtype=np.int64)}
    observed = call("torch.nn.functional.cross_entropy[class]", inputs, {"reduction": "mean"}, "float32", ("logits",))
    assert np.isnan(observed.value)
    assert observed.grads["logits"].shape == (2, 3)


def test_empty_batch_is_passed_as_is():
    impl_id = "torch.nn.functional.cross_entropy[class]"
    shared.check_empty_batch(call(impl_id, shared.empty_batch(), {"reduction": "none"}, "float64", ("logits",)))


def test_binary_cross_entropy_log_terms_are_clamped_at_minus_100():
    inputs = {"p": arr([0.0, 1.0], "float64"), "y": arr([1.0, 0.0], "float64")}
    value = call("torch.nn.functional.binary_cross_entropy", inputs, {"reduction": "none"}).value
    assert value.tolist() == [100.0, 100.0]
    clamp = next(c for c in IMPLS["torch.nn.functional.binary_cross_entropy"].conventions if c.key == "log_clamp_-100")
    assert clamp.ref_params == {"log_clamp": -100}


def test_binary_cross_entropy_rejects_p_outside_0_1():
    inputs = {"p": arr([1.5], "float32"), "y": arr([1.0], "float32")}
    with pytest.raises(RuntimeError):
        call("torch.nn.functional.binary_cross_entropy", inputs, {"reduction": "none"}, "float32")


def test_probability_targets_mean_divides_by_item_count():
    # Equal logits over 2 classes, targets (1, 1) that sum to 2: each item's loss is 2 log 2. Dividing by
    # the number of items gives 2 log 2; dividing by the target sum would give log 2.
    inputs = {"logits": arr(np.zeros((3, 2)), "float64"), "target": arr(np.ones((3, 2)), "float64")}
    value = call("torch.nn.functional.cross_entropy[probs]", inputs, {"reduction": "mean"}).value
    assert abs(float(value) - 2 * math.log(2)) <= 4 * np.finfo(np.float64).eps
    convention = IMPLS["torch.nn.functional.cross_entropy[probs]"].conventions[0]
    assert convention.ref_params == {"mean_denominator": "count"}


def test_cross_entropy_rows_split_targets_by_dtype():
    labels = {"logits": arr(np.zeros((1, 2)), "float32"), "target": np.array([0], dtype=np.int64)}
    probs = {"logits": labels["logits"], "target": arr([[0.5, 0.5]], "bfloat16")}
    class_row = IMPLS["torch.nn.functional.cross_entropy[class]"]
    probs_row = IMPLS["torch.nn.functional.cross_entropy[probs]"]
    assert class_row.accepts(labels, {}) and not class_row.accepts(probs, {})
    assert probs_row.accepts(probs, {}) and not probs_row.accepts(labels, {})


def test_kl_div_batchmean_divides_by_first_dim():
    # input = log(1/2), target = 1/4 everywhere: each element is 1/4 (log 1/4 - log 1/2) = -(log 2)/4.
    inputs = {"input": arr(np.full((2, 4), math.log(0.5)), "float64"), "target": arr(np.full((2, 4), 0.25), "float64")}
    value = call("torch.nn.functional.kl_div", inputs, {"reduction": "batchmean"}).value
    assert abs(float(value) - (-math.log(2))) <= 8 * np.finfo(np.float64).eps
