"""Keras 3 function forms (keras.losses.<function>, keras.ops.<loss and activation>) on the TensorFlow backend,
and tf.math.xlogy: rows of the tensorflow adapter (conformance/adapters/tensorflow_adapter.py adds them; the runtime is tf_runtime.py).

Unlike the Loss classes, the function forms have no Loss.__call__: no cast to a loss dtype (they compute in
y_pred's dtype, y_true cast to it), no reduction (one loss per sample: fixed reduction "none"), and integer
labels are not converted to a float dtype first. The probability paths clip exactly as the class forms do
(same backend code, same conventions, one per dtype).

keras.losses.binary_crossentropy and binary_focal_crossentropy return the mean over the last axis; these rows
call them on the inputs with a trailing axis of length 1 added (x[..., None]), where that mean is the element
itself exactly (sum of one term, divided by 1), so each element is compared ("[per-element]" in the row id).
"""
from __future__ import annotations

from conformance.adapters import keras_losses, keras_runtime
from conformance.adapters import tf_runtime as tfa
from conformance.adapters.keras_losses import GCE_BAD_LABEL, GCE_Q
from conformance.adapters.implementation import DTYPES, Convention, Implementation, input_is_float, input_is_int

KERAS_OPS_DOCS = "https://keras.io/api/ops/"




def tf_math_rows(devs: tuple[str, ...]) -> list[Implementation]:
    tf = tfa._tf()
    return [Implementation(
        id="tf.math.xlogy", framework=tfa.FRAMEWORK, op="xlogy",
        call=tfa._tf_call(tf.math.xlogy, lambda t, p, d, f: f(t["x"], t["y"])), dtypes=DTYPES,
        grads=("x", "y"), devices=devs, link=tfa.TF_DOCS + "tf/math/xlogy"), Implementation(
        id="tf.math.xlog1py", framework=tfa.FRAMEWORK, op="xlog1py",
        call=tfa._tf_call(tf.math.xlog1py, lambda t, p, d, f: f(t["x"], t["y"])), dtypes=DTYPES,
        grads=("x", "y"), devices=devs, link=tfa.TF_DOCS + "tf/math/xlog1py"), Implementation(
        id="tf.math.reduce_logsumexp", framework=tfa.FRAMEWORK, op="logsumexp",
        call=tfa._tf_call(tf.math.reduce_logsumexp, lambda t, p, d, f: f(t["x"], axis=-1)), dtypes=DTYPES,
        fixed_params={"axis": -1}, grads=("x",), devices=devs, link=tfa.TF_DOCS + "tf/math/reduce_logsumexp")]


def _backend_call(lib, row, backend: str):
    """tf_runtime._tf_call on any Keras backend (conformance/adapters/keras_runtime.py runs it)."""
    if backend == "tensorflow":
        return tfa._tf_call(lib, row)

    def call(inputs, params, dtype, device, grads, fn=None):
        f = lib if fn is None else fn
        return keras_runtime.run(backend, lambda t: row(t, params, dtype, f), inputs, tuple(grads), device,
                                 key=(row, f, tfa._freeze(params), dtype))

    return call


def keras_function_rows(devs: tuple[str, ...], backend: str = "tensorflow") -> list[Implementation]:
    """The function-form rows on `backend` (ids suffixed @jax / @torch off TensorFlow)."""
    keras = keras_runtime.keras_any()
    L, K = keras.losses, keras.ops
    nn_py, losses_py = "backend/tensorflow/nn.py", "losses/losses.py"
    rows: list[Implementation] = []
    ce_fixed = {"axis": -1, "reduction": "none"}
    binary_fixed = {"reduction": "none"}

    def add(row_id, op, lib, row, grads, link, fixed, params=None, conventions=(), **extra):
        if lib is None:  # a function this Keras release does not have (an upgrade check runs older releases)
            return
        rows.append(keras_losses.on_backend(Implementation(
            id=row_id, framework=tfa.FRAMEWORK, op=op, call=_backend_call(lib, row, backend), dtypes=DTYPES,
            params=params or {}, fixed_params=fixed, grads=grads, conventions=tuple(conventions), devices=devs,
            link=link, backend=backend, **extra), backend))

    def per_element(f, y, x, **kwargs):
        return f(K.expand_dims(y, -1), K.expand_dims(x, -1), **kwargs)

    bad_label = Convention(
        key="bad_label_raises_on_cpu",
        description="Out-of-range labels raise InvalidArgumentError on CPU and give NaN on GPU "
                    "(tf.nn.sparse_softmax_cross_entropy_with_logits underneath)",
        link="https://github.com/tensorflow/tensorflow/issues/8484")

    def normalize_then_clip():
        return keras_losses._keras_clip("normalize_then_clip", "q is renormalised along the class axis, then", "q", False,
                               nn_py, {"normalize": "q"})

    def clip_then_normalize():
        return keras_losses._keras_clip(
            "clip_then_normalize", "q is clipped, then renormalised along the class axis (log_softmax of "
            "log(clip(q))); this is clip *before* normalize, the reverse order of categorical:", "q", False,
            nn_py, {"normalize": "q"})

    def bce_clip():
        return keras_losses._keras_clip("clip", "p", "p", False, nn_py)

    def same_crossentropy_rows(prefix, module, doc, smoothing=False):
        """The rows keras.losses' and keras.ops' crossentropy functions share: categorical on probabilities,
        sparse on logits and on probabilities (same call, conventions and bad-label behaviour). keras.losses'
        categorical function also takes label_smoothing (p -> (1 - e) p + e/C before the clip path)."""
        kw = (lambda p: {"label_smoothing": p.get("label_smoothing") or 0.0}) if smoothing else (lambda p: {})
        add(f"{prefix}.categorical_crossentropy(from_logits=False)", "cross_entropy_dist",
            module.categorical_crossentropy, lambda t, p, d, f: f(t["p"], t["q"], from_logits=False, **kw(p)),
            ("p", "q"), doc + "categoricalcrossentropy-function", {"axis": -1},
            params={"label_smoothing": None} if smoothing else None, conventions=normalize_then_clip(),
            accepts=input_is_float("p"))
        add(f"{prefix}.sparse_categorical_crossentropy(from_logits=True)", "cross_entropy",
            module.sparse_categorical_crossentropy, lambda t, p, d, f: f(t["target"], t["logits"], from_logits=True),
            ("logits",), doc + "sparsecategoricalcrossentropy-function", ce_fixed, conventions=(bad_label,),
            accepts=input_is_int("target"), bad_labels="raises")
        add(f"{prefix}.sparse_categorical_crossentropy(from_logits=False)", "cross_entropy_dist",
            module.sparse_categorical_crossentropy, lambda t, p, d, f: f(t["p"], t["q"], from_logits=False), ("q",),
            doc + "sparsecategoricalcrossentropy-function", {"axis": -1},
            conventions=clip_then_normalize() + (bad_label,), accepts=input_is_int("p"), bad_labels="raises")

    losses_doc = "https://keras.io/api/losses/probabilistic_losses/#"
    smoothing = {"label_smoothing": None}
    # keras.losses functions -------------------------------------------------------------------------------
    add("keras.losses.categorical_crossentropy(from_logits=True)", "cross_entropy", L.categorical_crossentropy,
        lambda t, p, d, f: f(t["target"], t["logits"], from_logits=True,
                             label_smoothing=p.get("label_smoothing") or 0.0, axis=p.get("axis", -1)),
        ("logits", "target"), losses_doc + "categoricalcrossentropy-function", {"reduction": "none"},
        params={**smoothing, "axis": None}, accepts=input_is_float("target"))
    same_crossentropy_rows("keras.losses", L, losses_doc, smoothing=True)
    add("keras.losses.binary_crossentropy(from_logits=True)[per-element]", "binary_cross_entropy_with_logits",
        L.binary_crossentropy, lambda t, p, d, f: per_element(f, t["y"], t["x"], from_logits=True,
                                                              label_smoothing=p.get("label_smoothing") or 0.0),
        ("x", "y"), losses_doc + "binarycrossentropy-function", binary_fixed, params=smoothing)
    add("keras.losses.binary_crossentropy(from_logits=False)[per-element]", "binary_cross_entropy",
        L.binary_crossentropy, lambda t, p, d, f: per_element(f, t["y"], t["p"], from_logits=False,
                                                              label_smoothing=p.get("label_smoothing") or 0.0),
        ("p", "y"), losses_doc + "binarycrossentropy-function", binary_fixed, params=smoothing,
        conventions=bce_clip())
    add("keras.losses.kl_divergence", "kl_divergence", L.kl_divergence, lambda t, p, d, f: f(t["p"], t["q"]),
        ("p", "q"), losses_doc + "kldivergence-function", {"axis": -1},
        conventions=keras_losses._keras_clip("clip_p_and_q", "p and q", "q", True, losses_py))
    add("keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]", "sigmoid_focal_loss",
        L.binary_focal_crossentropy, lambda t, p, d, f: per_element(
            f, t["y"], t["x"], from_logits=True, apply_class_balancing=p.get("alpha", 0.25) is not None,
            alpha=0.25 if p.get("alpha", 0.25) is None else p.get("alpha", 0.25), gamma=p.get("gamma", 2.0)),
        ("x", "y"), losses_doc + "binaryfocalcrossentropy-function", binary_fixed,
        params={"alpha": None, "gamma": None}, conventions=(Convention(
            key="logits_recovered_for_bce",
            description="from_logits=True computes sigmoid(x) with ops.sigmoid, whose _keras_logits tag makes the "
                        "bce term use tf.nn.sigmoid_cross_entropy_with_logits (no clip)",
            link=keras_losses._keras_src(nn_py)),))
    add("keras.losses.binary_focal_crossentropy(from_logits=False)[per-element]", "binary_focal_loss",
        L.binary_focal_crossentropy, lambda t, p, d, f: per_element(f, t["y"], t["p"], **keras_losses._binary_focal_kwargs(p)),
        ("p", "y"), losses_doc + "binaryfocalcrossentropy-function", binary_fixed,
        params={"alpha": None, "gamma": None, "label_smoothing": None},
        conventions=keras_losses._keras_clip("clip", "p (in the bce term; the focal factor uses p as given)", "p", False,
                                    nn_py))
    add("keras.losses.categorical_focal_crossentropy(from_logits=True)", "softmax_focal_loss",
        L.categorical_focal_crossentropy, lambda t, p, d, f: f(
            t["target"], t["logits"], from_logits=True, alpha=p.get("alpha", 0.25), gamma=p.get("gamma", 2.0)),
        ("logits", "target"), losses_doc + "categoricalfocalcrossentropy-function", ce_fixed,
        params={"alpha": None, "gamma": None}, conventions=(Convention(
            key="clip_softmax_unexpressed",
            description="softmax(logits) is renormalised and clipped to [1e-7, 1-1e-7] before log and (1-q)^gamma; "
                        "the reference softmax_focal_loss has no clip param, so this is not modelled",
            link=keras_losses._keras_src(losses_py)),),
        accepts=lambda inputs, params: params.get("alpha") is not None)

    # generalized cross entropy: one_hot(labels) picks p_y from the probabilities; (1 - p_y^q) / q.
    add("keras.losses.categorical_generalized_cross_entropy", "generalized_cross_entropy",
        getattr(L, "categorical_generalized_cross_entropy", None), lambda t, p, d, f: f(t["target"], t["p"], p.get("q", 0.5)), ("p",),
        "https://keras.io/api/losses/", {"axis": -1, "reduction": "none"}, params={"q": GCE_Q},
        conventions=(GCE_BAD_LABEL,), bad_labels="zero")

    # keras.ops ----------------------------------------------------------------------------------------------
    ops_doc = KERAS_OPS_DOCS + "nn/#"
    add("keras.ops.categorical_crossentropy(from_logits=True)", "cross_entropy", K.categorical_crossentropy,
        lambda t, p, d, f: f(t["target"], t["logits"], from_logits=True, axis=p.get("axis", -1)), ("logits", "target"),
        ops_doc + "categoricalcrossentropy-function", {"reduction": "none"}, params={"axis": None},
        accepts=input_is_float("target"))
    same_crossentropy_rows("keras.ops", K, ops_doc)
    add("keras.ops.binary_crossentropy(from_logits=True)", "binary_cross_entropy_with_logits",
        K.binary_crossentropy, lambda t, p, d, f: f(t["y"], t["x"], from_logits=True), ("x", "y"),
        ops_doc + "binarycrossentropy-function", binary_fixed)
    add("keras.ops.binary_crossentropy(from_logits=False)", "binary_cross_entropy", K.binary_crossentropy,
        lambda t, p, d, f: f(t["y"], t["p"], from_logits=False), ("p", "y"), ops_doc + "binarycrossentropy-function",
        binary_fixed, conventions=bce_clip())
    add("keras.ops.softmax", "softmax", K.softmax, lambda t, p, d, f: f(t["x"], axis=p.get("axis", -1)), ("x",),
        ops_doc + "softmax-function", {}, params={"axis": None})
    add("keras.ops.log_softmax", "log_softmax", K.log_softmax, lambda t, p, d, f: f(t["x"], axis=p.get("axis", -1)),
        ("x",), ops_doc + "logsoftmax-function", {}, params={"axis": None})
    add("keras.ops.sigmoid", "sigmoid", K.sigmoid, lambda t, p, d, f: f(t["x"]), ("x",), ops_doc + "sigmoid-function",
        {})
    add("keras.ops.logsumexp", "logsumexp", K.logsumexp, lambda t, p, d, f: f(t["x"], axis=-1), ("x",),
        KERAS_OPS_DOCS + "core/#logsumexp-function", {"axis": -1})
    add("keras.ops.log_sigmoid", "log_sigmoid", K.log_sigmoid, lambda t, p, d, f: f(t["x"]), ("x",),
        ops_doc + "logsigmoid-function", {})
    return rows
