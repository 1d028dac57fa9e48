"""The JAX/optax adapter keeps the contract of conformance/adapters/implementation.py and declares what JAX does.

Expected values are exact-arithmetic facts (softmax of equal logits is 1/C, cross-entropy of equal logits is
log C), never another framework's output.
"""
from __future__ import annotations

import math

import numpy as np
import pytest


jax = pytest.importorskip("jax")
optax = pytest.importorskip("optax")

from conformance.adapters import jax_adapter as adapter  # noqa: E402
from conformance.adapters.implementation import DTYPES  # noqa: E402
from tests.adapters import adapter_helpers as shared  # noqa: E402
from tests.adapters.adapter_helpers import LOGITS, PROBS, arr, int_labels  # noqa: E402

IMPLS = shared.rows_by_id(adapter)


def sample(impl_id: str, dtype: str):
    """Small dyadic inputs (exact in every dtype): (inputs, params, value shape)."""
    x, probs, labels = arr(LOGITS, dtype), arr(PROBS, dtype), int_labels()
    impl = IMPLS[impl_id]
    params = {"reduction": "none", "alpha": 0.25, "gamma": 2.0, "label_smoothing": 0.25}
    if impl.op in ("softmax", "log_softmax", "sigmoid", "log_sigmoid"):
        return {"x": x}, params, (2, 3)
    if impl.op == "entr":
        return {"x": probs}, params, (2, 3)
    if impl.op == "logsumexp":
        return {"x": x}, params, (2,)
    if impl.op == "poly_loss":
        return {"logits": x, "target": probs}, {**params, "epsilon": 2.0}, (2,)
    if impl.op == "cross_entropy":
        shape = (3,) if impl.fixed_params.get("axis") == 0 else (2,)  # axis=0: one loss per column
        return {"logits": x, "target": labels if impl.accepts({"target": labels}, {}) else probs}, params, shape
    if impl.op == "kl_div":
        return {"input": arr([-1.0, -2.0, -0.5, -4.0], dtype), "target": arr([0.25, 0.5, 0.0, 0.25], dtype)}, params, ()
    return {"x": x, "y": probs}, params, (2, 3)


def call(impl_id, inputs, params, dtype="float64", grads=()):
    impl = IMPLS[impl_id]
    return impl.call(inputs, {**params, **impl.fixed_params}, dtype, "cpu", grads)


def test_module_interface():
    assert len(shared.check_module_interface(adapter, "jax")) == 30
    assert adapter.version() == f"jax {jax.__version__}, optax {optax.__version__}"
    assert jax.config.jax_enable_x64  # float64 cases need it


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl_id", sorted(IMPLS))
def test_declared_dtypes_give_value_and_grads_in_that_dtype(impl_id, dtype):
    shared.check_declared_dtype(IMPLS[impl_id], dtype, sample, call)  # no promotion by smoothing, alpha or one_hot


@pytest.mark.parametrize("dtype", DTYPES)
def test_softmax_of_equal_logits_is_exactly_one_half(dtype):
    shared.check_equal_logits_give_halves(call("jax.nn.softmax", {"x": arr([0.0, 0.0], dtype)}, {}, dtype, ("x",)))


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl_id", ["optax.losses.softmax_cross_entropy_with_integer_labels",
                                     "optax.losses.softmax_cross_entropy",
                                     "optax.losses.safe_softmax_cross_entropy∘smooth_labels"])
def test_cross_entropy_of_equal_logits_is_log_c(impl_id, dtype):
    value = call(impl_id, shared.equal_logits_inputs(IMPLS[impl_id], dtype), {"label_smoothing": 0.5}, dtype).value
    assert value.shape == (3,)
    shared.check_log_c(value, dtype)


def test_smooth_labels_moves_mass_to_every_class():
    # log_softmax((0, -1000)) = (0, -1000) in float64; smoothing 1/2 gives t' = (3/4, 1/4): loss 250.
    inputs = {"logits": arr([0.0, -1000.0], "float64"), "target": arr([1.0, 0.0], "float64")}
    for impl_id in ("optax.losses.softmax_cross_entropy∘smooth_labels",
                    "optax.losses.safe_softmax_cross_entropy∘smooth_labels"):
        assert float(call(impl_id, inputs, {"label_smoothing": 0.5}).value) == 250.0
    labels = {"logits": inputs["logits"], "target": np.array(0, dtype=np.int64)}
    assert float(call("optax.losses.softmax_cross_entropy∘smooth_labels∘jax.nn.one_hot", labels,
                      {"label_smoothing": 0.5}).value) == 250.0


def test_out_of_range_labels_are_unchecked():
    impl_id = "optax.losses.softmax_cross_entropy_with_integer_labels"
    logits = arr([[0.0, 0.0, 5.0]], "float64")
    assert IMPLS[impl_id].bad_labels == "garbage"
    too_big = call(impl_id, {"logits": logits, "target": np.array([3], dtype=np.int64)}, {}).value
    assert np.isnan(too_big[0])
    wrapped = call(impl_id, {"logits": logits, "target": np.array([-1], dtype=np.int64)}, {}).value
    last = call(impl_id, {"logits": logits, "target": np.array([2], dtype=np.int64)}, {}).value
    assert wrapped[0] == last[0]  # -1 is read as the last class


def test_one_hot_of_a_bad_label_is_a_zero_row():
    impl_id = "optax.losses.softmax_cross_entropy∘smooth_labels∘jax.nn.one_hot"
    assert IMPLS[impl_id].bad_labels == "zero"
    inputs = {"logits": arr([[0.0, 0.0, 5.0]], "float64"), "target": np.array([7], dtype=np.int64)}
    assert call(impl_id, inputs, {"label_smoothing": 0.0}).value[0] == 0.0


def test_zero_target_at_minus_inf_logit():
    inputs = {"logits": arr([0.0, -np.inf], "float64"), "target": arr([1.0, 0.0], "float64")}
    plain = call("optax.losses.softmax_cross_entropy", inputs, {})
    assert np.isnan(plain.value)  # 0 * -inf, as declared, not cleaned
    assert IMPLS["optax.losses.softmax_cross_entropy"].conventions[0].applies(inputs, {})
    assert float(call("optax.losses.safe_softmax_cross_entropy", inputs, {}).value) == 0.0


def test_kl_divergence_sums_the_vector_and_only_accepts_vectors():
    # input = log(1/2), target = 1/4 everywhere: each element is 1/4 (log 1/4 - log 1/2) = -(log 2)/4.
    impl = IMPLS["optax.losses.kl_divergence"]
    inputs = {"input": arr(np.full(4, math.log(0.5)), "float64"), "target": arr(np.full(4, 0.25), "float64")}
    assert impl.fixed_params == {"reduction": "sum", "log_target": False}
    assert abs(float(call(impl.id, inputs, {}).value) + math.log(2)) <= 8 * np.finfo(np.float64).eps
    assert not impl.accepts({k: v.reshape(2, 2) for k, v in inputs.items()}, {})
    log_target = {"input": inputs["input"], "target": arr(np.full(4, math.log(0.25)), "float64")}
    value = call("optax.losses.kl_divergence_with_log_targets", log_target, {}).value
    assert abs(float(value) + math.log(2)) <= 8 * np.finfo(np.float64).eps


def test_sigmoid_focal_loss_alpha_none_and_gamma_zero_is_bce():
    inputs = {"x": arr([0.0], "float64"), "y": arr([1.0], "float64")}
    value = call("optax.losses.sigmoid_focal_loss", inputs, {"alpha": None, "gamma": 0.0}).value
    assert abs(float(value[0]) - math.log(2)) <= 2 * np.finfo(np.float64).eps
    weighted = call("optax.losses.sigmoid_focal_loss", inputs, {"alpha": 0.25, "gamma": 0.0}).value
    assert abs(float(weighted[0]) - 0.25 * math.log(2)) <= np.finfo(np.float64).eps


def test_jit_compiles_once_per_static_config():
    impl_id = "optax.losses.softmax_cross_entropy∘smooth_labels"
    inputs, params, _ = sample(impl_id, "float32")
    adapter._compiled.cache_clear()
    for _ in range(3):
        call(impl_id, inputs, params, "float32", ("logits",))
    assert adapter._compiled.cache_info().currsize == 1
    call(impl_id, inputs, {**params, "label_smoothing": 0.5}, "float32", ("logits",))
    assert adapter._compiled.cache_info().currsize == 2


def test_empty_batch_is_passed_as_is():
    impl_id = "optax.losses.softmax_cross_entropy_with_integer_labels"
    shared.check_empty_batch(call(impl_id, shared.empty_batch(), {}, "float64", ("logits",)))


def test_rows_of_an_optax_release_without_generalized_kl_are_just_absent(monkeypatch):
    """An upgrade check runs older optax releases: a loss the release lacks (optax 0.2.4 has no
    generalized_kl_divergence) is not declared, instead of failing the whole adapter."""
    import optax

    ids = shared.ids_without(monkeypatch, adapter, optax.losses, "generalized_kl_divergence", "convex_kl_divergence")
    assert "optax.losses.softmax_cross_entropy" in ids
    assert not any("kl_divergence" in i and ("generalized" in i or "convex" in i) for i in ids)
