"""The TensorFlow/Keras adapter keeps the contract of conformance/adapters/implementation.py and declares what TF does.

Expected values are exact-arithmetic facts (softmax of equal logits is 1/C, cross-entropy of equal logits is
log C, -log of a clip bound), never another framework's output.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np
import pytest


tf = pytest.importorskip("tensorflow")

from conformance.adapters import tensorflow_adapter as adapter  # noqa: E402  (sets KERAS_BACKEND first)

keras = pytest.importorskip("keras")
from conformance.adapters.implementation import DTYPES  # noqa: E402
from tests.adapters import adapter_helpers as shared  # noqa: E402
from tests.adapters.adapter_helpers import LOGITS, PROBS, arr, int_labels  # noqa: E402

IMPLS = shared.rows_by_id(adapter)
# the Loss classes (keras.losses.CategoricalCrossentropy, ...); the function forms and keras.ops do not reduce
KERAS_IDS = sorted(i for i in IMPLS if i.startswith("keras.losses.") and i[len("keras.losses.")].isupper())


def sample(impl_id: str, dtype: str):
    """Small dyadic inputs (exact in every dtype) for each implementation: (inputs, params, value shape)."""
    x, probs, labels = arr(LOGITS, dtype), arr(PROBS, dtype), int_labels()
    impl = IMPLS[impl_id]
    if impl.op in ("softmax", "log_softmax", "sigmoid", "log_sigmoid"):
        inputs, shape = {"x": x}, (2, 3)
    elif impl.op == "cross_entropy":
        inputs, shape = {"logits": x, "target": labels if impl.accepts({"target": labels}, {}) else probs}, (2,)
    elif impl.op == "cross_entropy_dist":
        inputs, shape = {"p": labels if impl.accepts({"p": labels}, {}) else probs, "q": probs}, (2,)
    elif impl.op == "kl_divergence":
        inputs, shape = {"p": probs, "q": arr([[0.5, 0.25, 0.25]] * 2, dtype)}, (2,)
    elif impl.op in ("binary_cross_entropy", "binary_focal_loss"):
        inputs, shape = {"p": probs, "y": arr([[0.0, 1.0, 0.5], [1.0, 0.25, 0.0]], dtype)}, (2, 3)
    elif impl.op == "softmax_focal_loss":
        inputs, shape = {"logits": x, "target": probs}, (2,)
    elif impl.op == "logsumexp":
        inputs, shape = {"x": x}, (2,)
    elif impl.op == "generalized_cross_entropy":
        inputs, shape = {"p": probs, "target": labels}, (2,)
    else:  # binary_cross_entropy_with_logits, sigmoid_focal_loss
        inputs, shape = {"x": x, "y": probs}, (2, 3)
    params = {"reduction": "none", "alpha": 0.25, "gamma": 2.0, "label_smoothing": 0.0, "ignore_index": None,
              "pos_weight": None}
    if impl.id.startswith("keras.losses.Binary"):
        inputs = {k: v[:, :1] for k, v in inputs.items()}  # reduction "none" needs a last axis of length 1
        shape = (2, 1)
    return inputs, params, shape


def call(impl_id, inputs, params, dtype="float64", grads=()):
    impl = IMPLS[impl_id]
    return impl.call(inputs, {**params, **impl.fixed_params}, dtype, "cpu", grads)


def test_module_interface():
    impls = shared.check_module_interface(adapter, "tensorflow")
    assert adapter.version() == f"tensorflow {tf.__version__}, keras {keras.__version__}"
    assert keras.backend.backend() == "tensorflow"
    assert ("cuda" in adapter.devices()) == bool(tf.config.list_physical_devices("GPU"))
    plain = [impl for impl in impls if impl.policy is None]
    assert len(plain) == 44  # and each of the 11 Loss classes under 3 precision policies (keras_losses.py)
    assert sorted(impl.policy for impl in impls if impl.policy) == sorted(["floatx", "mixed_float16",
                                                                         "mixed_bfloat16"] * 11)


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl_id", sorted(IMPLS))
def test_declared_dtypes_give_value_and_grads_in_that_dtype(impl_id, dtype):
    shared.check_declared_dtype(IMPLS[impl_id], dtype, sample, call)  # Keras is built with dtype=<case dtype>


@pytest.mark.parametrize("impl_id", KERAS_IDS)
def test_keras_reductions_other_than_none_give_a_scalar(impl_id):
    inputs, params, _ = sample(impl_id, "float32")
    for reduction in ("sum", "mean"):
        assert call(impl_id, inputs, {**params, "reduction": reduction}, "float32").value.shape == ()


def test_keras_default_dtype_would_downcast_float64():
    """Why the adapter passes dtype=: the default loss dtype is floatx() = float32."""
    value = keras.losses.BinaryCrossentropy()(np.ones((1, 1)), np.full((1, 1), 0.5))
    assert value.dtype == tf.float32


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("impl_id", ["tf.nn.softmax", "keras.losses.CategoricalCrossentropy(from_logits=False)"])
def test_equal_logits_or_probabilities_give_exact_halves(impl_id, dtype):
    if impl_id == "tf.nn.softmax":
        shared.check_equal_logits_give_halves(call(impl_id, {"x": arr([0.0, 0.0], dtype)}, {}, dtype, ("x",)))
    else:  # q = (1/4, 1/4) is renormalised to (1/2, 1/2): the loss is log 2, not log 4
        inputs = {"p": arr([[1.0, 0.0]], dtype), "q": arr([[0.25, 0.25]], dtype)}
        value = float(call(impl_id, inputs, {"reduction": "none"}, dtype).value[0])
        assert abs(value - math.log(2)) <= 2 * float(ml_dtypes.finfo(inputs["q"].dtype).eps)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("impl_id", ["tf.nn.sparse_softmax_cross_entropy_with_logits",
                                     "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
                                     "keras.losses.CategoricalCrossentropy(from_logits=True)"])
def test_cross_entropy_of_equal_logits_is_log_c(impl_id, dtype):
    value = call(impl_id, shared.equal_logits_inputs(IMPLS[impl_id], dtype), {"reduction": "mean"}, dtype).value
    shared.check_log_c(value, dtype)  # every item's loss (tf.nn does not reduce) or their mean


@pytest.mark.parametrize("impl_id", ["tf.nn.sparse_softmax_cross_entropy_with_logits",
                                     "keras.losses.SparseCategoricalCrossentropy(from_logits=True)",
                                     "keras.losses.SparseCategoricalCrossentropy(from_logits=False)"])
@pytest.mark.parametrize("label", [3, -1])
def test_out_of_range_label_raises_on_cpu(impl_id, label):
    inputs, params, _ = sample(impl_id, "float32")
    name = "target" if "target" in inputs else "p"
    target = inputs[name].copy()
    target[0] = label
    assert IMPLS[impl_id].bad_labels == "raises"
    with pytest.raises(tf.errors.InvalidArgumentError, match="outside the valid range"):
        call(impl_id, {**inputs, name: target}, params, "float32")


def test_keras_bfloat16_rounds_labels_above_256_to_another_class():
    logits = np.zeros((1, 300))
    logits[0, 257] = 8.0  # label 257 is very likely: its loss is small; label 256 (bfloat16's 257) is not
    impl_id = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    inputs = {"logits": arr(logits, "bfloat16"), "target": np.array([257], dtype=np.int64)}
    assert float(call(impl_id, inputs, {"reduction": "none"}, "bfloat16").value[0]) > 7.0
    assert float(call(impl_id, {**inputs, "logits": arr(logits, "float32")}, {"reduction": "none"},
                      "float32").value[0]) < 1.0
    convention = next(c for c in IMPLS[impl_id].conventions if c.key == "labels_cast_to_loss_dtype")
    assert convention.applies(inputs, {}) and not convention.applies({**inputs, "logits": logits}, {})


def test_keras_ignore_class_all_ignored_mean_is_zero():
    impl_id = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    inputs = {"logits": arr(np.zeros((2, 3)), "float32"), "target": np.array([-1, -1], dtype=np.int64)}
    params = {"reduction": "mean", "ignore_index": -1}
    assert float(call(impl_id, inputs, params, "float32").value) == 0.0
    convention = next(c for c in IMPLS[impl_id].conventions if c.key == "all_ignored_mean_is_zero")
    assert convention.applies(inputs, params)
    kept = {**inputs, "target": np.array([-1, 1], dtype=np.int64)}  # mean over the one kept item: log 3
    assert abs(float(call(impl_id, kept, params, "float32").value) - math.log(3)) <= 4e-7 * math.log(3)


def test_keras_empty_batch_sum_is_an_empty_array():
    impl_id = "keras.losses.CategoricalCrossentropy(from_logits=True)"
    inputs = {"logits": arr(np.zeros((0, 3)), "float32"), "target": arr(np.zeros((0, 3)), "float32")}
    observed = call(impl_id, inputs, {"reduction": "sum", "label_smoothing": 0.0}, "float32", ("logits",))
    assert observed.value.shape == (0,)
    assert observed.grads["logits"].shape == (0, 3)
    convention = next(c for c in IMPLS[impl_id].conventions if c.key == "empty_reduction")
    assert convention.applies(inputs, {"reduction": "sum"})


@pytest.mark.parametrize("dtype", DTYPES)
def test_keras_clip_bounds_are_the_dtype_rounded_epsilon(dtype):
    impl = IMPLS["keras.losses.BinaryCrossentropy(from_logits=False)"]
    clip = next(c for c in impl.conventions if c.key == f"clip_{dtype}")
    lo, hi = clip.ref_params["clip"]
    expected_hi = {"float64": 1.0 - 1e-7, "float32": 1.0 - 2.0**-23, "float16": 1.0, "bfloat16": 1.0}[dtype]
    assert hi == expected_hi
    assert lo == float(np.asarray(tf.constant(1e-7, dtype=dtype).numpy()).astype(np.float64))
    inputs = {"p": arr([[0.0], [1.0]], dtype), "y": arr([[1.0], [0.0]], dtype)}
    assert clip.applies(inputs, {}) and all(not c.applies(inputs, {}) for c in impl.conventions
                                            if c.key.startswith("clip_") and c is not clip)
    value = call(impl.id, inputs, {"reduction": "none", "label_smoothing": 0.0}, dtype).value.astype(np.float64)
    assert value[0, 0] > 15.0  # -log(lo) ~ 16.1: p = 0 was clipped up to eps
    if hi == 1.0:  # in float16/bfloat16, 1 - 1e-7 rounds to 1: p = 1 with y = 0 is not protected
        assert value[1, 0] == math.inf
    else:
        assert 15.0 < value[1, 0] < math.inf


def test_keras_sparse_clips_before_normalizing_and_categorical_after():
    zeros = arr([[0.0, 0.0]], "float64")
    sparse = call("keras.losses.SparseCategoricalCrossentropy(from_logits=False)",
                  {"p": np.array([0], dtype=np.int64), "q": zeros}, {"reduction": "none"}).value
    assert abs(float(sparse[0]) - math.log(2)) <= 1e-15  # clip to (eps, eps), then renormalise: (1/2, 1/2)
    categorical = call("keras.losses.CategoricalCrossentropy(from_logits=False)",
                       {"p": arr([[1.0, 0.0]], "float64"), "q": zeros}, {"reduction": "none"}).value
    assert np.isnan(categorical[0])  # renormalise first: 0/0


def test_keras_binary_focal_from_logits_is_not_clipped_but_categorical_focal_is():
    binary = call("keras.losses.BinaryFocalCrossentropy(from_logits=True)",
                  {"x": arr([[30.0]], "float64"), "y": arr([[0.0]], "float64")},
                  {"reduction": "none", "alpha": None, "gamma": 0.0}).value
    assert abs(float(binary[0, 0]) - 30.0) < 1e-9  # softplus(30); a clipped sigmoid would give -log(1e-7)
    categorical = call("keras.losses.CategoricalFocalCrossentropy(from_logits=True)",
                       {"logits": arr([[30.0, 0.0, -30.0]], "float64"), "target": arr([[0.0, 0.0, 1.0]], "float64")},
                       {"reduction": "none", "alpha": 1.0, "gamma": 0.0}).value
    assert abs(float(categorical[0]) + math.log(1e-7)) < 1e-9  # not 60: softmax was clipped at 1e-7


def test_keras_kl_divergence_clips_p_to_eps_and_1():
    # p = (-1, 1) is clipped to (1e-7, 1): the sum is finite, where the unclipped -1 log(-2) is NaN.
    impl = IMPLS["keras.losses.KLDivergence"]
    value = call(impl.id, {"p": arr([[-1.0, 1.0]], "float64"), "q": arr([[0.5, 0.5]], "float64")},
                 {"reduction": "none"}).value
    assert np.isfinite(value[0]) and abs(float(value[0]) - math.log(2)) < 1e-5
    assert next(c for c in impl.conventions if c.key == "clip_p_and_q_float32").ref_params["clip"][1] == 1.0


def test_keras_binary_rows_accept_sum_and_none_only_for_a_last_axis_of_one():
    impl = IMPLS["keras.losses.BinaryCrossentropy(from_logits=True)"]
    wide = {"x": arr(np.zeros((2, 3)), "float32"), "y": arr(np.zeros((2, 3)), "float32")}
    narrow = {k: v[:, :1] for k, v in wide.items()}
    assert impl.accepts(wide, {"reduction": "mean"})
    assert not impl.accepts(wide, {"reduction": "sum"}) and not impl.accepts(wide, {"reduction": "none"})
    assert impl.accepts(narrow, {"reduction": "none"})


def test_weighted_cross_entropy_pos_weight_multiplies_the_positive_term():
    inputs = {"x": arr([0.0, 0.0], "float64"), "y": arr([1.0, 0.0], "float64")}
    value = call("tf.nn.weighted_cross_entropy_with_logits", inputs, {"pos_weight": [2.0]}).value
    assert abs(value[0] - 2 * math.log(2)) <= 4e-16 and abs(value[1] - math.log(2)) <= 2e-16


def test_pos_weight_is_rounded_once_to_bfloat16():
    rounded = adapter.round_to_dtype([1 + 2**-8 + 2**-30, 1 + 2**-8], "bfloat16")
    assert rounded.astype(np.float64).tolist() == [1 + 2**-7, 1.0]


def test_empty_batch_is_passed_as_is():
    impl_id = "tf.nn.sparse_softmax_cross_entropy_with_logits"
    shared.check_empty_batch(call(impl_id, shared.empty_batch(), {}, "float64", ("logits",)))


def test_gradients_reach_inputs_through_keras_casts_and_renormalisation():
    # -sum p log(q / sum q) with p = (1, 0), q = (1/4, 1/4): d/dq_j = -p_j / q_j + sum p / sum q = (-2, 2).
    observed = call("keras.losses.CategoricalCrossentropy(from_logits=False)",
                    {"p": arr([[1.0, 0.0]], "float64"), "q": arr([[0.25, 0.25]], "float64")},
                    {"reduction": "sum"}, "float64", ("p", "q"))
    assert np.allclose(observed.grads["q"], [[-2.0, 2.0]], rtol=0, atol=1e-14)
    assert np.allclose(observed.grads["p"], [[math.log(2), math.log(2)]], rtol=0, atol=1e-15)  # -log(q_j/sum q)


def test_rows_of_a_keras_release_without_generalized_cross_entropy_are_just_absent(monkeypatch):
    """An upgrade check runs older Keras releases: a loss the release lacks (Keras 3.8 has no
    CategoricalGeneralizedCrossEntropy) is not declared, instead of failing the whole adapter."""
    import keras

    ids = shared.ids_without(monkeypatch, adapter, keras.losses, "CategoricalGeneralizedCrossEntropy",
                             "categorical_generalized_cross_entropy")
    assert "keras.losses.CategoricalCrossentropy(from_logits=True)" in ids
    assert not any("eneralized" in i for i in ids)
