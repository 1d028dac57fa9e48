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

import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

from conformance.adapters import modes, tf_modes  # noqa: E402
from conformance.floats import round_to_dtype
from conformance.adapters.implementation import DTYPES, Convention, Implementation, Observed  # noqa: E402

FRAMEWORK = "tensorflow"

TF_DOCS = "https://www.tensorflow.org/api_docs/python/"
KERAS_DOCS = "https://keras.io/api/losses/probabilistic_losses/"
KERAS_REDUCTION = {"none": None, "sum": "sum", "mean": "sum_over_batch_size"}


# ----------------------------------------------------------------------------------------------- imports

@functools.lru_cache(maxsize=None)
def _tf():
    import tensorflow as tf

    return tf


@functools.lru_cache(maxsize=None)
def _keras():
    """Keras 3 on the TensorFlow backend, or None (Keras missing, or imported earlier with another backend)."""
    try:
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "tensorflow" or not keras.__version__.startswith("3."):
        return None
    return keras


def available() -> bool:
    try:
        _tf()
    except ImportError:
        return False
    return True


def version() -> str:
    text = f"tensorflow {_tf().__version__}"
    keras = _keras()
    return text + (f", keras {keras.__version__}" if keras is not None else "")


def devices() -> list[str]:
    return ["cpu", "cuda"] if _tf().config.list_physical_devices("GPU") else ["cpu"]


def _np_dtype(dtype: str) -> np.dtype:
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)


# ----------------------------------------------------------------------------------------------- running

MODES = ("eager", "graph", "xla")  # conformance/adapters/execution.py


def _mode() -> str:
    from conformance.adapters import execution

    mode = execution.current() or MODES[0]
    if mode not in MODES:
        raise ValueError(f"tensorflow has no execution mode {mode!r}; modes: {', '.join(MODES)}")
    return mode


_TRACED: dict = {}  # (key, input names, grads, mode) -> tf.function


@functools.lru_cache(maxsize=None)
def _quiet_retracing_warning() -> None:
    """tf.function warns when it retraces often; here it retraces once per input shape by design (the worker
    would keep that warning as the implementation's output)."""
    import logging

    class _NoRetracing(logging.Filter):
        def filter(self, record):
            return "triggered tf.function retracing" not in record.getMessage()

    _tf().get_logger().addFilter(_NoRetracing())


def _traced(key, fn, names: tuple, grads: tuple, mode: str):
    """tf.function (jit_compile=True for "xla") of the whole call, forward and GradientTape, for one row and
    its params (`key`, which stands for fn); tf.function traces it once per input shape and dtype."""
    try:
        cache_key = None if key is None else (key, names, grads, mode)
        hash(cache_key)
    except TypeError:  # params that cannot be a key: a function of its own (traced on every call)
        cache_key = None
    if cache_key in _TRACED:
        return _TRACED[cache_key]
    tf = _tf()

    def graph(*arrays):
        tensors = dict(zip(names, arrays))
        with tf.GradientTape() as tape:
            for name in grads:
                tape.watch(tensors[name])
            out = fn(tensors)
        got = tape.gradient(out, [tensors[name] for name in grads], output_gradients=tf.ones_like(out),
                            unconnected_gradients=tf.UnconnectedGradients.ZERO) if grads else []
        return out, got

    _quiet_retracing_warning()
    traced = tf.function(graph, jit_compile=mode == "xla")
    if cache_key is not None:
        _TRACED[cache_key] = traced
    return traced


def _run(fn, inputs: dict, grads: tuple, device: str, key=None) -> Observed:
    """value = fn(tensors); grad[g] = d sum(value) / d g via GradientTape with a cotangent of ones.

    Mode "graph" / "xla" (conformance/adapters/execution.py): the same inside one tf.function, cached by `key`
    (what fn computes: the row, its params and dtype; None: traced afresh on every call)."""
    tf = _tf()
    mode = _mode()
    with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
        tensors = {name: tf.constant(array) for name, array in inputs.items()}
        if mode != "eager":
            names = tuple(sorted(tensors))
            traced = _traced(key, fn, names, tuple(grads), mode)
            out, got = traced(*(tensors[name] for name in names))
            return Observed(np.asarray(out.numpy()), {name: np.asarray(g.numpy()) for name, g in zip(grads, got)})
        with tf.GradientTape() as tape:
            for name in grads:
                tape.watch(tensors[name])
            out = fn(tensors)
        observed = Observed(np.asarray(out.numpy()))
        if grads:
            got = tape.gradient(
                out,
                [tensors[name] for name in grads],
                output_gradients=tf.ones_like(out),
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            observed.grads = {name: np.asarray(g.numpy()) for name, g in zip(grads, got)}
        request = modes.current()
        if request is not None and grads:  # a mode case (conformance/adapters/tf_modes.py)
            observed.derivs = tf_modes.derivs(tf, fn, inputs, grads, request)
    return observed


def _tf_call(lib, row):
    """An Implementation.call for row(tensors, params, dtype, f) -> tensor, which calls the library function
    `lib` as f; a custom kernel (conformance/adapters/custom.py, --signature tf) is called in its place (fn=)."""

    def call(inputs, params, dtype, device, grads, fn=None):
        f = lib if fn is None else fn
        return _run(lambda t: row(t, params, dtype, f), inputs, tuple(grads), device,
                    key=(row, f, _freeze(params), dtype))

    return call


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value


@functools.lru_cache(maxsize=None)
def _keras_loss(class_name: str, dtype: str, frozen_kwargs: tuple):
    return getattr(_keras().losses, class_name)(dtype=dtype, **dict(frozen_kwargs))


def _keras_call(class_name: str, kwargs_of, y_true: str, y_pred: str, drops_last_axis: bool = False):
    """Implementation.call for keras.losses.<class_name>(**kwargs_of(params), dtype=dtype)(y_true, y_pred).

    drops_last_axis: the binary losses average over the last axis (output shape = input shape[:-1]); with
    reduction "none" the adapter puts that axis (of length 1, see _last_axis_is_one) back.
    """

    def call(inputs, params, dtype, device, grads, fn=None):
        kwargs = {"reduction": KERAS_REDUCTION[params["reduction"]], **kwargs_of(params)}
        if fn is None:
            loss = _keras_loss(class_name, dtype, _freeze(kwargs))
        else:  # a custom kernel takes the loss's constructor arguments with the call's (y_true, y_pred)
            def loss(a, b):
                return fn(a, b, **kwargs)
        observed = _run(lambda t: loss(t[y_true], t[y_pred]), inputs, tuple(grads), device,
                        key=(class_name, dtype, _freeze(kwargs), y_true, y_pred, fn))
        if drops_last_axis and params["reduction"] == "none":
            observed.value = np.expand_dims(observed.value, -1)
        return observed

    return call


# ----------------------------------------------------------------------------------------- predicates

def _is_int(name: str):
    return lambda inputs, params: inputs[name].dtype.kind in "iu"


def _is_float(name: str):
    return lambda inputs, params: inputs[name].dtype.kind not in "iu"


def _dtype_is(input_name: str, dtype: str):
    want = _np_dtype(dtype)
    return lambda inputs, params: inputs[input_name].dtype == want


def _mean_only_or_last_axis_is_one(input_name: str):
    """Keras binary losses return mean over the last axis per sample; the reference has no such reduction.

    Exact when the reduction is "mean" (a mean of equal-size means), or when the last axis has length 1.
    """

    def accepts(inputs, params):
        shape = inputs[input_name].shape
        return len(shape) >= 1 and (params.get("reduction") == "mean" or shape[-1] == 1)

    return accepts


def _loss_vector_is_empty(input_name: str):
    def applies(inputs, params):
        return params.get("reduction") != "none" and 0 in inputs[input_name].shape[:-1]

    return applies


def _labels_not_exact_in(label_name: str, float_name: str):
    """Labels that the loss dtype cannot hold exactly (|label| > 2^(mantissa bits + 1))."""

    def applies(inputs, params):
        limit = {"float16": 2**11, "bfloat16": 2**8, "float32": 2**24}.get(str(inputs[float_name].dtype), 2**53)
        labels = inputs[label_name]
        return labels.size > 0 and int(np.max(np.abs(labels))) > limit

    return applies


# ----------------------------------------------------------------------------------------- conventions

def _keras_src(path: str) -> str:
    return f"https://github.com/keras-team/keras/blob/v{_keras().__version__}/keras/src/{path}"


def _rounded(value: float, dtype: str) -> float:
    """value (a Python float) converted to dtype exactly as tf.clip_by_value converts its Python bounds
    (tf.convert_to_tensor(value, dtype)); returned as a Python float, which holds it exactly."""
    return float(np.asarray(_tf().constant(value, dtype=dtype).numpy()).astype(np.float64))


def _keras_clip(key: str, what: str, input_name: str, hi_one: bool, source: str, extra=None):
    """Keras clips to [eps, 1-eps] (or [eps, 1]) with eps = keras.config.epsilon(); TF rounds both bounds
    to the tensor's dtype (in float16 and bfloat16 1 - 1e-7 rounds to 1), so one convention per dtype."""
    eps = _keras().config.epsilon()
    conventions = []
    for dtype in DTYPES:
        lo = _rounded(eps, dtype)
        hi = 1.0 if hi_one else _rounded(1.0 - eps, dtype)
        conventions.append(Convention(
            key=f"{key}_{dtype}",
            description=f"{what} clipped to [{eps:g}, {'1' if hi_one else f'1-{eps:g}'}] (keras.config.epsilon()), "
                        f"bounds rounded to {dtype}: [{lo!r}, {hi!r}]",
            link=_keras_src(source),
            ref_params={"clip": [lo, hi], **(extra or {})},
            applies=_dtype_is(input_name, dtype),
        ))
    return tuple(conventions)


def _keras_common(float_name: str) -> tuple[Convention, ...]:
    return (
        Convention(
            key="loss_dtype",
            description="Keras casts both arguments to the loss dtype, keras.config.floatx() = float32 unless "
                        "dtype= is given; this suite constructs every loss with dtype=<case dtype>",
            link=_keras_src("losses/loss.py"),
        ),
        Convention(
            key="empty_reduction",
            description="An empty per-sample loss of shape (0,) is returned unreduced (an empty array, also for "
                        "'sum'); other empty shapes reduce with divide_no_nan, so the mean of nothing is 0",
            link=_keras_src("losses/loss.py"),
            applies=_loss_vector_is_empty(float_name),
        ),
    )


def _sparse_conventions(float_name: str) -> tuple[Convention, ...]:
    return (
        Convention(
            key="labels_cast_to_loss_dtype",
            description="Loss.__call__ converts the integer labels to the loss dtype before casting them back to "
                        "int64: in bfloat16 (float16) a label above 256 (2048) becomes another class",
            link=_keras_src("losses/loss.py"),
            applies=_labels_not_exact_in("target" if float_name == "logits" else "p", float_name),
        ),
        Convention(
            key="bad_label_raises_on_cpu",
            description="Out-of-range labels raise InvalidArgumentError on CPU and give NaN on GPU",
            link=TF_DOCS + "tf/nn/sparse_softmax_cross_entropy_with_logits",
        ),
    )


def _count_mean() -> Convention:
    return Convention(
        key="mean_divides_by_items",
        description="sum_over_batch_size divides by the number of items, not by the total target mass",
        link=_keras_src("losses/loss.py"),
        ref_params={"mean_denominator": "count"},
        applies=lambda inputs, params: params.get("reduction") == "mean",
    )


# ------------------------------------------------------------------------------------------- tf.nn rows

def _tf_rows(devs: tuple[str, ...]) -> list[Implementation]:
    tf = _tf()
    dense_dtypes = DTYPES

    def pos_weight(params, dtype):
        value = params.get("pos_weight")
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
            accepts=_is_int("target"),
            devices=devs, link=TF_DOCS + "tf/nn/sparse_softmax_cross_entropy_with_logits",
        ),
        Implementation(
            id="tf.nn.softmax_cross_entropy_with_logits", framework=FRAMEWORK, op="cross_entropy",
            call=_tf_call(tf.nn.softmax_cross_entropy_with_logits, lambda t, p, d, f: f(
                labels=t["target"], logits=t["logits"], axis=p.get("axis", -1))),
            dtypes=dense_dtypes, params={"axis": None}, fixed_params={"reduction": "none"},
            grads=("logits", "target"),
            accepts=_is_float("target"),
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


# ------------------------------------------------------------------------------------------- keras rows

REDUCTIONS = ("none", "sum", "mean")
BINARY_OPS = ("binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss", "binary_focal_loss")


def _keras_rows(devs: tuple[str, ...]) -> list[Implementation]:
    losses_py = "losses/losses.py"
    nn_py = "backend/tensorflow/nn.py"
    rows = []

    def row(class_name, from_logits, op, call, grads, params, conventions, accepts=None, bad_labels=None):
        if not hasattr(_keras().losses, class_name):  # not in this Keras release (upgrade checks run older ones)
            return
        suffix = "" if from_logits is None else f"(from_logits={from_logits})"
        rows.append(Implementation(
            id=f"keras.losses.{class_name}{suffix}", framework=FRAMEWORK, op=op, call=call, dtypes=DTYPES,
            params=params, fixed_params={} if op in BINARY_OPS else {"axis": -1},
            grads=grads, conventions=conventions, bad_labels=bad_labels, accepts=accepts, devices=devs,
            link=KERAS_DOCS + "#" + class_name.lower() + "-class",
        ))

    # SparseCategoricalCrossentropy: int labels -> tf.nn.sparse_softmax_cross_entropy_with_logits
    # (from_logits=False passes log(clip(q)) as logits, i.e. clips, then renormalises by softmax).
    row("SparseCategoricalCrossentropy", True, "cross_entropy",
        _keras_call("SparseCategoricalCrossentropy",
                    lambda p: {"from_logits": True, "ignore_class": p.get("ignore_index")}, "target", "logits"),
        ("logits",),
        {"reduction": REDUCTIONS, "ignore_index": None, "mean_denominator": ("weight_sum", "count")},
        _keras_common("logits") + _sparse_conventions("logits") + (Convention(
            key="all_ignored_mean_is_zero",
            description="With ignore_class, the mean divides by the number of kept items with divide_no_nan: "
                        "0 (not NaN) when every item is ignored",
            link=_keras_src("losses/loss.py"),
            applies=lambda inputs, params: params.get("ignore_index") is not None
            and params.get("reduction") == "mean" and inputs["target"].size > 0
            and bool(np.all(inputs["target"] == params["ignore_index"]))),),
        accepts=_is_int("target"), bad_labels="raises")
    row("SparseCategoricalCrossentropy", False, "cross_entropy_dist",
        _keras_call("SparseCategoricalCrossentropy", lambda p: {"from_logits": False}, "p", "q"),
        ("q",), {"reduction": REDUCTIONS},
        _keras_common("q") + _sparse_conventions("q") + _keras_clip(
            "clip_then_normalize", "q is clipped, then renormalised along the class axis (log_softmax of "
            "log(clip(q))); this is clip *before* normalize, the reverse order of categorical:",
            "q", False, nn_py, {"normalize": "q"}),
        accepts=_is_int("p"), bad_labels="raises")

    # CategoricalCrossentropy: from_logits -> tf.nn.softmax_cross_entropy_with_logits; else normalise q,
    # clip to [eps, 1-eps], -sum p log q.  label_smoothing: y (1-e) + e/C.
    row("CategoricalCrossentropy", True, "cross_entropy",
        _keras_call("CategoricalCrossentropy",
                    lambda p: {"from_logits": True, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "target", "logits"),
        ("logits", "target"),
        {"reduction": REDUCTIONS, "label_smoothing": None, "mean_denominator": ("weight_sum", "count")},
        _keras_common("logits") + (_count_mean(),), accepts=_is_float("target"))
    row("CategoricalCrossentropy", False, "cross_entropy_dist",
        _keras_call("CategoricalCrossentropy",
                    lambda p: {"from_logits": False, "label_smoothing": p.get("label_smoothing", 0.0)}, "p", "q"),
        ("p", "q"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("q") + _keras_clip(
            "normalize_then_clip", "q is renormalised along the class axis, then", "q", False, nn_py,
            {"normalize": "q"}),
        accepts=_is_float("p"))

    # BinaryCrossentropy: per element, then mean over the last axis. label_smoothing: y (1-e) + e/2.
    row("BinaryCrossentropy", True, "binary_cross_entropy_with_logits",
        _keras_call("BinaryCrossentropy",
                    lambda p: {"from_logits": True, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "y", "x", drops_last_axis=True),
        ("x", "y"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("x"), accepts=_mean_only_or_last_axis_is_one("x"))
    row("BinaryCrossentropy", False, "binary_cross_entropy",
        _keras_call("BinaryCrossentropy",
                    lambda p: {"from_logits": False, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "y", "p", drops_last_axis=True),
        ("p", "y"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("p") + _keras_clip("clip", "p", "p", False, nn_py),
        accepts=_mean_only_or_last_axis_is_one("p"))

    # KLDivergence (no from_logits): sum over the last axis of clip(p) log(clip(p) / clip(q)), clip to [eps, 1].
    row("KLDivergence", None, "kl_divergence",
        _keras_call("KLDivergence", lambda p: {}, "p", "q"),
        ("p", "q"), {"reduction": REDUCTIONS},
        _keras_common("q") + _keras_clip("clip_p_and_q", "p and q", "q", True, losses_py))

    # CategoricalFocalCrossentropy(from_logits=True): softmax, renormalise, clip to [eps, 1-eps], then
    # -sum alpha y (1-q)^gamma log q. The clip is NOT expressible: softmax_focal_loss has no clip param.
    row("CategoricalFocalCrossentropy", True, "softmax_focal_loss",
        _keras_call("CategoricalFocalCrossentropy",
                    lambda p: {"from_logits": True, "alpha": p.get("alpha", 0.25), "gamma": p.get("gamma", 2.0)},
                    "target", "logits"),
        ("logits", "target"), {"reduction": REDUCTIONS, "alpha": None, "gamma": None},
        _keras_common("logits") + (Convention(
            key="clip_softmax_unexpressed",
            description="softmax(logits) is renormalised and clipped to [1e-7, 1-1e-7] before log and (1-q)^gamma; "
                        "the reference softmax_focal_loss has no clip param, so this is not modelled",
            link=_keras_src(losses_py)),),
        accepts=lambda inputs, params: params.get("alpha") is not None)

    # BinaryFocalCrossentropy(from_logits=True): ops.sigmoid tags its output with _keras_logits, so the bce
    # term goes back to tf.nn.sigmoid_cross_entropy_with_logits (unclipped); p_t from sigmoid(x).
    # alpha=None -> apply_class_balancing=False. Then mean over the last axis.
    row("BinaryFocalCrossentropy", True, "sigmoid_focal_loss",
        _keras_call("BinaryFocalCrossentropy",
                    lambda p: {"from_logits": True, "apply_class_balancing": p.get("alpha", 0.25) is not None,
                               "alpha": 0.25 if p.get("alpha", 0.25) is None else p.get("alpha", 0.25),
                               "gamma": p.get("gamma", 2.0)},
                    "y", "x", drops_last_axis=True),
        ("x", "y"), {"reduction": REDUCTIONS, "alpha": None, "gamma": None},
        _keras_common("x") + (Convention(
            key="logits_recovered_for_bce",
            description="from_logits=True computes sigmoid(x) with ops.sigmoid, whose _keras_logits tag makes the "
                        "bce term use tf.nn.sigmoid_cross_entropy_with_logits (no clip)",
            link=_keras_src(nn_py)),),
        accepts=_mean_only_or_last_axis_is_one("x"))
    # CategoricalGeneralizedCrossEntropy(q): (1 - p_y^q) / q with p_y = sum(p * one_hot(labels)).
    from conformance.adapters.keras_functions import GCE_BAD_LABEL, GCE_Q
    row("CategoricalGeneralizedCrossEntropy", None, "generalized_cross_entropy",
        _keras_call("CategoricalGeneralizedCrossEntropy", lambda p: {"q": p.get("q", 0.5)}, "target", "p"),
        ("p",), {"reduction": REDUCTIONS, "q": GCE_Q}, _keras_common("p") + (GCE_BAD_LABEL,), bad_labels="zero")
    # BinaryFocalCrossentropy(from_logits=False): bce on clip(p) (the binary_crossentropy probability path),
    # focal factor (1 - p_t)^gamma on the unclipped p: binary_focal_loss with the clip convention.
    row("BinaryFocalCrossentropy", False, "binary_focal_loss",
        _keras_call("BinaryFocalCrossentropy", _binary_focal_kwargs, "y", "p", drops_last_axis=True),
        ("p", "y"), {"reduction": REDUCTIONS, "alpha": None, "gamma": None, "label_smoothing": None},
        _keras_common("p") + _keras_clip("clip", "p (in the bce term; the focal factor uses p as given)", "p", False,
                                         nn_py),
        accepts=_mean_only_or_last_axis_is_one("p"))
    return rows


def _binary_focal_kwargs(p: dict) -> dict:
    """Keras's focal arguments for reference params: alpha null = apply_class_balancing=False."""
    alpha = p.get("alpha")
    return {"from_logits": False, "apply_class_balancing": alpha is not None,
            "alpha": 0.25 if alpha is None else alpha, "gamma": p.get("gamma", 2.0),
            "label_smoothing": p.get("label_smoothing") or 0.0}


def implementations() -> list[Implementation]:
    devs = tuple(devices())
    from conformance.adapters import keras_functions

    rows = _tf_rows(devs) + keras_functions.tf_math_rows(devs)
    if _keras() is not None:
        rows += _keras_rows(devs) + keras_functions.keras_function_rows(devs)
    return rows
