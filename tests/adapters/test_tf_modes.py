"""tf_modes: an output whose shape differs from the reference's only by being empty (Keras returns shape (0,)
for the mean over an empty batch, the reference a scalar) keeps its mode parts defined (empty) instead of a
reshape error that read as the implementation raising (error_behaviour_mismatch in the ci profile)."""
import numpy as np
import pytest

from conformance.adapters import availability

pytestmark = pytest.mark.skipif(not availability("tensorflow")[0], reason="tensorflow not installed")


def test_empty_output_with_a_scalar_cotangent():
    from conformance.adapters import tf_modes
    from conformance.adapters.tf_runtime import _tf

    tf = _tf()

    def fn(t):  # a per-item loss that keeps the empty batch's shape (0,), as Keras's mean does
        return tf.reduce_sum(t["x"] * t["x"], axis=-1)

    x = np.zeros((0, 3))
    request = {"cotangent": np.asarray(2.0), "tangents": {"x": np.zeros((0, 3))}, "hvp": True}
    out = tf_modes.derivs(tf, fn, {"x": x}, ("x",), request)
    assert out["vjp:x"].shape == (0, 3) and out["hvp:x"].shape == (0, 3) and out["jvp:x"].shape == (0,)
    request["tangents"] = {"x": np.ones((2, 3))}
    out = tf_modes.derivs(tf, fn, {"x": np.ones((2, 3))}, ("x",), {"cotangent": np.asarray([1.0, -1.0]),
                                                                  "tangents": {"x": np.ones((2, 3))}, "hvp": True})
    assert np.array_equal(out["vjp:x"], [[2.0] * 3, [-2.0] * 3]) and np.array_equal(out["hvp:x"], [[2.0] * 3,
                                                                                                   [-2.0] * 3])
