"""where= reaches the jax.nn / optax rows and sample_weight= the Keras Loss rows (issue 14), checked against the
reference (the oracle) and exact facts: powers of two scale exactly, a masked class is never read."""
from __future__ import annotations

import math

import numpy as np
import pytest

import reference

pytest.importorskip("jax")
tf = pytest.importorskip("tensorflow")

from conformance.adapters import jax_adapter, tensorflow_adapter  # noqa: E402
from tests.adapters import adapter_helpers as shared  # noqa: E402
from tests.adapters.adapter_helpers import LOGITS, PROBS, arr, int_labels  # noqa: E402
from tests.adapters.test_tensorflow_adapter import KERAS_IDS  # noqa: E402
from tests.adapters.test_tensorflow_adapter import call as tf_call  # noqa: E402
from tests.adapters.test_tensorflow_adapter import sample as tf_sample  # noqa: E402

JAX = shared.rows_by_id(jax_adapter)
TF = shared.rows_by_id(tensorflow_adapter)
WHERE_ROWS = sorted(i for i, impl in JAX.items() if "where" in impl.params)
NAN = float("nan")
X = [[0.0, NAN, -2.0], [3.0, 0.5, float("inf")]]  # the non-finite logits are masked
MASK = [[True, False, True], [True, True, False]]


def test_where_rows_are_the_functions_that_take_where():
    assert WHERE_ROWS == ["jax.nn.log_softmax", "jax.nn.logsumexp", "jax.nn.softmax", "jax.scipy.special.logsumexp",
                          "optax.losses.softmax_cross_entropy",
                          "optax.losses.softmax_cross_entropy_with_integer_labels"]


@pytest.mark.parametrize("impl_id", WHERE_ROWS)
def test_where_is_passed_and_masked_classes_are_never_read(impl_id):
    impl = JAX[impl_id]
    inputs = {"logits" if impl.op == "cross_entropy" else "x": arr(X, "float64")}
    if impl.op == "cross_entropy":
        inputs["target"] = int_labels([0, 1]) if impl.accepts({"target": int_labels()}, {}) else arr(PROBS, "float64")
    params = {**impl.fixed_params, "axis": -1, "where": MASK}
    got = impl.call(inputs, params, "float64", "cpu", impl.grads)
    ref = reference.evaluate(impl.op, "float64", inputs, params)
    assert np.allclose(got.value, ref.value.rounded, rtol=1e-14, atol=0)  # finite: the NaN / inf are masked
    name = "logits" if impl.op == "cross_entropy" else "x"
    g = got.grads[name]
    assert g[0, 1] == 0.0 and g[1, 2] == 0.0  # a masked NaN / inf input gets gradient 0
    if "target" in got.grads:  # optax-where-masked-target-gradient-nan (known_divergences.toml)
        assert math.isnan(got.grads["target"][0, 1]) and ref.grads["target"].rounded[0, 1] == 0.0


def test_keras_rows_take_sample_weight_and_keep_their_class_axis():
    for impl_id in KERAS_IDS:
        impl = TF[impl_id]
        assert "sample_weight" in impl.params, impl_id
        if impl.op not in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss",
                           "binary_focal_loss"):
            assert impl.fixed_params == {"axis": -1}, impl_id


@pytest.mark.parametrize("impl_id", [i for i in KERAS_IDS if "[policy" not in i])
def test_keras_sample_weight_scales_items_exactly(impl_id):
    inputs, params, shape = tf_sample(impl_id, "float64")
    plain = tf_call(impl_id, inputs, params).value
    per_item = [0.5, -2.0] if shape[:1] == (2,) else 0.5
    if TF[impl_id].op in ("binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss",
                          "binary_focal_loss"):
        per_item = 0.5  # a scalar (the binary losses average their last axis before weighting)
    weighted = tf_call(impl_id, inputs, {**params, "sample_weight": per_item}).value
    want = plain * np.asarray(per_item).reshape(np.shape(per_item) + (1,) * (plain.ndim - np.ndim(per_item)))
    assert np.array_equal(weighted, want)
    total = tf_call(impl_id, inputs, {**params, "reduction": "mean", "sample_weight": 4.0}).value
    assert total == 4.0 * tf_call(impl_id, inputs, {**params, "reduction": "mean"}).value


def test_keras_sample_weight_matches_the_reference_weighted_mean():
    impl_id = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
    inputs = {"logits": arr(LOGITS, "float64"), "target": int_labels()}
    params = {"reduction": "mean", "ignore_index": None, "mean_denominator": "count", "sample_weight": [3.0, 0.0]}
    got = tf_call(impl_id, inputs, params, grads=("logits",))
    ref = reference.evaluate("cross_entropy", "float64", inputs, {**params, "axis": -1})
    assert np.allclose(got.value, ref.value.rounded, rtol=1e-14, atol=0)
    assert np.allclose(got.grads["logits"], ref.grads["logits"].rounded, rtol=1e-13, atol=1e-300)
    assert not got.grads["logits"][1].any()  # weight 0: the item's gradient is 0
