"""TensorFlow (tf.nn, tf.math) and Keras 3 losses on the TensorFlow backend, as implementations under test.

Layout: TF, Keras and the reference's `axis=-1` agree (class axis last). Rows whose function takes `axis=`
(tf.nn.softmax, log_softmax, softmax_cross_entropy_with_logits, keras.ops.softmax / log_softmax /
categorical_crossentropy, keras.losses.categorical_crossentropy) declare params {"axis": None} and get the
class axis at every position; the others declare fixed_params {"axis": -1}. No axes are moved.

Gradients come from tf.GradientTape: grad[x] = tape.gradient(out, x, output_gradients=ones_like(out)),
the vector-Jacobian product with a cotangent of ones that docs/ops.md defines. An input the tape finds
disconnected from the output gets a zero gradient (tf.UnconnectedGradients.ZERO: d out / d x is then 0).

Keras losses are constructed with `dtype=<case dtype>`, the documented way to choose a loss's computation
dtype. Without it Keras casts *both* arguments to keras.config.floatx() (float32): a float64 case would be
computed in float32 and a float16/bfloat16 one upcast (see the `loss_dtype` convention). Keras also casts the
integer labels of SparseCategoricalCrossentropy to that dtype, so bfloat16 (float16) labels above 256
(2048) are rounded to another class before the loss casts them back to int64.

Keras reductions: reference "mean" = Keras "sum_over_batch_size", "sum" = "sum", "none" = None.
"""
from __future__ import annotations

from conformance.adapters import keras_functions, keras_losses, modes
from conformance.adapters.implementation import DTYPES, Convention, Implementation, input_is_float, input_is_int
from conformance.adapters.tf_runtime import (  # noqa: F401  (the adapter's interface, and names tests read)
    FRAMEWORK, MODES, TF_DOCS, _keras, _run, _tf, _tf_call, available, devices, version)
from conformance.floats import round_to_dtype  # noqa: F401  (read by the tests)

# ------------------------------------------------------------------------------------------- tf.nn rows

def _tf_rows(devs: tuple[str, ...]) -> list[Implementation]:
    tf = _tf()
    dense_dtypes = DTYPES

    def pos_weight(params, dtype):
        value = params.get("pos_weight")
        if value is not None and modes.wants_param("pos_weight"):  # a mode case asks vjp:pos_weight: one
            # tensor per call, which conformance/adapters/tf_modes.py watches (modes.PARAM_GRADS)
            made = modes.param_leaves().get("pos_weight")
            return made if made is not None else modes.param_leaf("pos_weight", tf.constant(round_to_dtype(value, dtype)))
        return tf.constant(round_to_dtype(1.0 if value is None else value, dtype))

    elementwise = [
        ("tf.nn.softmax", "softmax", tf.nn.softmax, lambda t, p, d, f: f(t["x"], axis=p.get("axis", -1)), "tf/nn/softmax",
         True),
        ("tf.nn.log_softmax", "log_softmax", tf.nn.log_softmax, lambda t, p, d, f: f(t["x"], axis=p.get("axis", -1)),
         "tf/nn/log_softmax", True),
        ("tf.math.sigmoid", "sigmoid", tf.math.sigmoid, lambda t, p, d, f: f(t["x"]), "tf/math/sigmoid", False),
        ("tf.math.log_sigmoid", "log_sigmoid", tf.math.log_sigmoid, lambda t, p, d, f: f(t["x"]),
         "tf/math/log_sigmoid", False),
    ]
    rows = [
        Implementation(id=name, framework=FRAMEWORK, op=op, call=_tf_call(lib, fn), dtypes=dense_dtypes,
                       params={"axis": None} if has_axis else {}, grads=("x",), devices=devs,
                       link=TF_DOCS + path)
        for name, op, lib, fn, path, has_axis in elementwise
    ]
    rows += [
        Implementation(
            id="tf.nn.sparse_softmax_cross_entropy_with_logits", framework=FRAMEWORK, op="cross_entropy",
            call=_tf_call(tf.nn.sparse_softmax_cross_entropy_with_logits, lambda t, p, d, f: f(
                labels=t["target"], logits=t["logits"])),
            dtypes=dense_dtypes, fixed_params={"axis": -1, "reduction": "none"}, grads=("logits",),
            conventions=(Convention(
                key="bad_label_raises_on_cpu",
                description="Labels outside [0, C) raise InvalidArgumentError on CPU and give NaN loss and "
                            "gradient rows on GPU (documented as intended, tensorflow#8484)",
                link="https://github.com/tensorflow/tensorflow/issues/8484"),),
            bad_labels="raises",
            accepts=input_is_int("target"),
            devices=devs, link=TF_DOCS + "tf/nn/sparse_softmax_cross_entropy_with_logits",
        ),
        Implementation(
            id="tf.nn.softmax_cross_entropy_with_logits", framework=FRAMEWORK, op="cross_entropy",
            call=_tf_call(tf.nn.softmax_cross_entropy_with_logits, lambda t, p, d, f: f(
                labels=t["target"], logits=t["logits"], axis=p.get("axis", -1))),
            dtypes=dense_dtypes, params={"axis": None}, fixed_params={"reduction": "none"},
            grads=("logits", "target"),
            accepts=input_is_float("target"),
            devices=devs, link=TF_DOCS + "tf/nn/softmax_cross_entropy_with_logits",
        ),
        Implementation(
            id="tf.nn.sigmoid_cross_entropy_with_logits", framework=FRAMEWORK,
            op="binary_cross_entropy_with_logits",
            call=_tf_call(tf.nn.sigmoid_cross_entropy_with_logits,
                          lambda t, p, d, f: f(labels=t["y"], logits=t["x"])),
            dtypes=dense_dtypes, fixed_params={"reduction": "none"}, grads=("x", "y"), devices=devs,
            link=TF_DOCS + "tf/nn/sigmoid_cross_entropy_with_logits",
        ),
        Implementation(
            id="tf.nn.weighted_cross_entropy_with_logits", framework=FRAMEWORK,
            op="binary_cross_entropy_with_logits",
            call=_tf_call(tf.nn.weighted_cross_entropy_with_logits, lambda t, p, d, f: f(
                labels=t["y"], logits=t["x"], pos_weight=pos_weight(p, d))),
            dtypes=dense_dtypes, params={"pos_weight": None}, fixed_params={"reduction": "none"},
            grads=("x", "y"), devices=devs, link=TF_DOCS + "tf/nn/weighted_cross_entropy_with_logits",
        ),
    ]
    return rows


def implementations() -> list[Implementation]:
    devs = tuple(devices())
    rows = _tf_rows(devs) + keras_functions.tf_math_rows(devs)
    if _keras() is not None:
        rows += keras_losses.keras_rows(devs) + keras_functions.keras_function_rows(devs)
    return rows
