"""keras.losses Loss classes (CategoricalCrossentropy, SparseCategoricalCrossentropy, BinaryCrossentropy, the
focal and generalized losses, KLDivergence): rows of the tensorflow adapter (and, ids suffixed @jax / @torch,
of the Keras JAX and torch backends' adapters: conformance/adapters/keras_runtime.py), and the Keras helpers
(loss construction, clip conventions, source links) the function forms share.

On the TensorFlow backend each Loss class also runs under the precision policies (conformance/judge/policy.py):
`[policy=floatx]` is the loss built without dtype= (Keras computes in keras.config.floatx(), float32: what
users run), `[policy=mixed_float16]` / `[policy=mixed_bfloat16]` the loss built with that DTypePolicy (its
compute dtype: float16 / bfloat16).
"""
from __future__ import annotations

import dataclasses
import functools

import numpy as np

from conformance.adapters import keras_runtime
from conformance.adapters.implementation import DTYPES, Convention, Implementation, input_is_float, input_is_int
from conformance.adapters.tf_runtime import KERAS_DOCS, KERAS_REDUCTION, TF_DOCS, _freeze, _np_dtype

GCE_Q = (0.5, 0.7)  # Keras raises for q outside the open interval (0, 1): q = 1 is not expressible
GCE_BAD_LABEL = Convention(
    key="bad_label_zero_row",
    description="ops.one_hot maps a label outside [0, C) to a zero row: p_y is 0 and the loss silently 1/q",
    link="https://github.com/keras-team/keras/blob/v3.15.1/keras/src/losses/losses.py")
# the precision policies a Loss class runs under (TensorFlow backend): the dtype= it is built with, and the
# dtype it then computes in (conformance/judge/policy.py judges the parts in the dtype they come back in)
LOSS_POLICIES = {"floatx": (None, "float32"), "mixed_float16": ("mixed_float16", "float16"),
                 "mixed_bfloat16": ("mixed_bfloat16", "bfloat16")}


def _keras():
    return keras_runtime.keras_any()


@functools.lru_cache(maxsize=None)
def _keras_loss(class_name: str, dtype: str | None, frozen_kwargs: tuple):
    """keras.losses.<class_name>(dtype=dtype, ...); dtype None: built without dtype= (keras.config.floatx())."""
    cls = getattr(_keras().losses, class_name)
    kwargs = dict(frozen_kwargs)
    return cls(**kwargs) if dtype is None else cls(dtype=dtype, **kwargs)


def _spec(class_name: str, kwargs_of, y_true: str, y_pred: str, drops_last_axis: bool = False) -> tuple:
    """What a Loss row calls (the arguments of _keras_call but the backend and policy)."""
    return class_name, kwargs_of, y_true, y_pred, drops_last_axis


SAMPLE_WEIGHT = "param:sample_weight"  # the Keras sample weights among the call's tensors (when the case has them)


def _keras_call(class_name: str, kwargs_of, y_true: str, y_pred: str, drops_last_axis: bool = False,
                backend: str = "tensorflow", policy: str | None = None):
    """Implementation.call for keras.losses.<class_name>(**kwargs_of(params), dtype=dtype)(y_true, y_pred) on
    `backend` (dtype: the case dtype; under a policy, LOSS_POLICIES' dtype= instead).

    drops_last_axis: the binary losses average over the last axis (output shape = input shape[:-1]); with
    reduction "none" the adapter puts that axis (of length 1, see _last_axis_is_one) back, in the value and in
    the jvp parts (the jvp of the value has the value's shape).
    params["sample_weight"] (reference/ops/sample_weight.py) is passed as Loss.__call__'s sample_weight=, a
    tensor of the case dtype.
    """

    def call(inputs, params, dtype, device, grads, fn=None):
        kwargs = {"reduction": KERAS_REDUCTION[params["reduction"]], **kwargs_of(params)}
        loss_dtype = dtype if policy is None else LOSS_POLICIES[policy][0]
        if fn is None:
            loss = _keras_loss(class_name, loss_dtype, _freeze(kwargs))
        else:  # a custom kernel takes the loss's constructor arguments with the call's (y_true, y_pred)
            def loss(a, b):
                return fn(a, b, **kwargs)
        if params.get("sample_weight") is not None:  # a tensor argument (traced once per shape, not per value)
            inputs = {**inputs, SAMPLE_WEIGHT: np.asarray(params["sample_weight"], dtype=_np_dtype(dtype))}

        def apply(t):
            weighted = {"sample_weight": t[SAMPLE_WEIGHT]} if SAMPLE_WEIGHT in t else {}
            return loss(t[y_true], t[y_pred], **weighted)

        observed = keras_runtime.run(backend, apply, inputs, tuple(grads), device,
                                     key=(class_name, loss_dtype, dtype, _freeze(kwargs), y_true, y_pred, fn))
        if drops_last_axis and params["reduction"] == "none":
            observed.value = np.expand_dims(observed.value, -1)
            for part in [p for p in observed.derivs if p.startswith("jvp:")]:  # a jvp has the value's shape
                observed.derivs[part] = np.expand_dims(observed.derivs[part], -1)
        return observed

    return call


# ----------------------------------------------------------------------------------------- predicates



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

def _keras_src(path: str, backend: str = "tensorflow") -> str:
    path = path.replace("backend/tensorflow/", f"backend/{backend}/")
    return f"https://github.com/keras-team/keras/blob/v{_keras().__version__}/keras/src/{path}"


def _rounded(value: float, dtype: str) -> float:
    """value (a Python float) converted to dtype, round to nearest even, as every backend converts a clip's
    Python bounds (tf.convert_to_tensor(value, dtype), jnp.clip's weak-typed scalars; torch.clip clamps in
    float and rounds the result, the same for bounds that are monotone in the rounding); a Python float."""
    return float(np.asarray(value, dtype=np.float64).astype(_np_dtype(dtype)).astype(np.float64))


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


# ------------------------------------------------------------------------------------------- keras rows

REDUCTIONS = ("none", "sum", "mean")
BINARY_OPS = ("binary_cross_entropy", "binary_cross_entropy_with_logits", "sigmoid_focal_loss", "binary_focal_loss")


def keras_rows(devs: tuple[str, ...], backend: str = "tensorflow") -> list[Implementation]:
    """The Loss class rows on `backend` (ids suffixed @jax / @torch off TensorFlow); on TensorFlow also each
    row under each of LOSS_POLICIES (id + [policy=NAME])."""
    losses_py = "losses/losses.py"
    nn_py = "backend/tensorflow/nn.py"
    rows = []

    def row(class_name, from_logits, op, spec, grads, params, conventions, accepts=None, bad_labels=None):
        if not hasattr(_keras().losses, class_name):  # not in this Keras release (upgrade checks run older ones)
            return
        suffix = "" if from_logits is None else f"(from_logits={from_logits})"
        base = Implementation(
            id=f"keras.losses.{class_name}{suffix}", framework=keras_runtime.FRAMEWORK_OF[backend], op=op,
            call=_keras_call(*spec, backend=backend), dtypes=DTYPES,
            params={**params, "sample_weight": None},  # Loss.__call__(y_true, y_pred, sample_weight=)
            fixed_params={} if op in BINARY_OPS else {"axis": -1},
            grads=grads, conventions=conventions, bad_labels=bad_labels, accepts=accepts, devices=devs,
            link=KERAS_DOCS + "#" + class_name.lower() + "-class", backend=backend,
        )
        rows.append(on_backend(base, backend))
        if backend == "tensorflow":
            rows.extend(under_policy(base, spec, name) for name in LOSS_POLICIES)

    # SparseCategoricalCrossentropy: int labels -> tf.nn.sparse_softmax_cross_entropy_with_logits
    # (from_logits=False passes log(clip(q)) as logits, i.e. clips, then renormalises by softmax).
    row("SparseCategoricalCrossentropy", True, "cross_entropy",
        _spec("SparseCategoricalCrossentropy",
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
        accepts=input_is_int("target"), bad_labels="raises")
    row("SparseCategoricalCrossentropy", False, "cross_entropy_dist",
        _spec("SparseCategoricalCrossentropy", lambda p: {"from_logits": False}, "p", "q"),
        ("q",), {"reduction": REDUCTIONS},
        _keras_common("q") + _sparse_conventions("q") + _keras_clip(
            "clip_then_normalize", "q is clipped, then renormalised along the class axis (log_softmax of "
            "log(clip(q))); this is clip *before* normalize, the reverse order of categorical:",
            "q", False, nn_py, {"normalize": "q"}),
        accepts=input_is_int("p"), bad_labels="raises")

    # CategoricalCrossentropy: from_logits -> tf.nn.softmax_cross_entropy_with_logits; else normalise q,
    # clip to [eps, 1-eps], -sum p log q.  label_smoothing: y (1-e) + e/C.
    row("CategoricalCrossentropy", True, "cross_entropy",
        _spec("CategoricalCrossentropy",
                    lambda p: {"from_logits": True, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "target", "logits"),
        ("logits", "target"),
        {"reduction": REDUCTIONS, "label_smoothing": None, "mean_denominator": ("weight_sum", "count")},
        _keras_common("logits") + (_count_mean(),), accepts=input_is_float("target"))
    row("CategoricalCrossentropy", False, "cross_entropy_dist",
        _spec("CategoricalCrossentropy",
                    lambda p: {"from_logits": False, "label_smoothing": p.get("label_smoothing", 0.0)}, "p", "q"),
        ("p", "q"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("q") + _keras_clip(
            "normalize_then_clip", "q is renormalised along the class axis, then", "q", False, nn_py,
            {"normalize": "q"}),
        accepts=input_is_float("p"))

    # BinaryCrossentropy: per element, then mean over the last axis. label_smoothing: y (1-e) + e/2.
    row("BinaryCrossentropy", True, "binary_cross_entropy_with_logits",
        _spec("BinaryCrossentropy",
                    lambda p: {"from_logits": True, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "y", "x", drops_last_axis=True),
        ("x", "y"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("x"), accepts=_mean_only_or_last_axis_is_one("x"))
    row("BinaryCrossentropy", False, "binary_cross_entropy",
        _spec("BinaryCrossentropy",
                    lambda p: {"from_logits": False, "label_smoothing": p.get("label_smoothing", 0.0)},
                    "y", "p", drops_last_axis=True),
        ("p", "y"), {"reduction": REDUCTIONS, "label_smoothing": None},
        _keras_common("p") + _keras_clip("clip", "p", "p", False, nn_py),
        accepts=_mean_only_or_last_axis_is_one("p"))

    # KLDivergence (no from_logits): sum over the last axis of clip(p) log(clip(p) / clip(q)), clip to [eps, 1].
    row("KLDivergence", None, "kl_divergence",
        _spec("KLDivergence", lambda p: {}, "p", "q"),
        ("p", "q"), {"reduction": REDUCTIONS},
        _keras_common("q") + _keras_clip("clip_p_and_q", "p and q", "q", True, losses_py))

    # CategoricalFocalCrossentropy(from_logits=True): softmax, renormalise, clip to [eps, 1-eps], then
    # -sum alpha y (1-q)^gamma log q. The clip is NOT expressible: softmax_focal_loss has no clip param.
    row("CategoricalFocalCrossentropy", True, "softmax_focal_loss",
        _spec("CategoricalFocalCrossentropy",
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
        _spec("BinaryFocalCrossentropy",
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
    row("CategoricalGeneralizedCrossEntropy", None, "generalized_cross_entropy",
        _spec("CategoricalGeneralizedCrossEntropy", lambda p: {"q": p.get("q", 0.5)}, "target", "p"),
        ("p",), {"reduction": REDUCTIONS, "q": GCE_Q}, _keras_common("p") + (GCE_BAD_LABEL,), bad_labels="zero")
    # BinaryFocalCrossentropy(from_logits=False): bce on clip(p) (the binary_crossentropy probability path),
    # focal factor (1 - p_t)^gamma on the unclipped p: binary_focal_loss with the clip convention.
    row("BinaryFocalCrossentropy", False, "binary_focal_loss",
        _spec("BinaryFocalCrossentropy", _binary_focal_kwargs, "y", "p", drops_last_axis=True),
        ("p", "y"), {"reduction": REDUCTIONS, "alpha": None, "gamma": None, "label_smoothing": None},
        _keras_common("p") + _keras_clip("clip", "p (in the bce term; the focal factor uses p as given)", "p", False,
                                         nn_py),
        accepts=_mean_only_or_last_axis_is_one("p"))
    return rows


def on_backend(row: Implementation, backend: str) -> Implementation:
    """A TensorFlow-backend Keras row as declared for `backend`: id suffixed, source links to that backend's
    code, and what the backend does with an out-of-range label (TensorFlow raises on CPU: its
    sparse_softmax_cross_entropy kernel; JAX one-hot encodes: a zero row; torch: F.cross_entropy raises)."""
    if backend == "tensorflow":
        return row
    conventions = tuple(dataclasses.replace(c, link=_keras_src(c.link.split("/keras/src/", 1)[1], backend))
                        if "/keras/src/backend/tensorflow/" in c.link else c
                        for c in row.conventions if c.key not in ("bad_label_raises_on_cpu", "logits_recovered_for_bce"))
    bad = row.bad_labels
    if bad == "raises" and backend == "jax":
        bad = "zero"
        conventions += (Convention(
            key="bad_label_zero_row",
            description="Keras on jax one-hot encodes the labels (jax.nn.one_hot): a label outside [0, C) is a "
                        "zero row, so that item's loss is 0 and its gradient 0 (no error)",
            link=_keras_src("backend/jax/nn.py", backend)),)
    elif bad == "raises":
        conventions += (Convention(
            key="bad_label_raises",
            description="Keras on torch calls torch.nn.functional.cross_entropy / nll_loss, which raise for a "
                        "label outside [0, C)",
            link=_keras_src("backend/torch/nn.py", backend)),)
    if backend == "torch" and row.op == "binary_cross_entropy":
        conventions += _torch_bce_conventions(conventions)
    if row.op == "sigmoid_focal_loss":
        conventions += (Convention(
            key="sigmoid_then_clipped_probability_unexpressed",
            description="from_logits=True computes p = ops.sigmoid(x) in the input dtype, then the probability path "
                        "binary_crossentropy(clip(p, eps, 1 - eps)); only the TensorFlow backend recovers the "
                        "logits (_keras_logits). The reference sigmoid_focal_loss has no clip param: not modelled",
            link=_keras_src("losses/losses.py", backend)),)
    if backend == "torch" and row.op == "binary_focal_loss":
        conventions += (TORCH_FOCAL_BCE_CHECKS_LABELS,)
    if backend == "torch" and row.op == "sigmoid_focal_loss":
        conventions += (TORCH_FOCAL_LOGITS_BCE_CHECKS,)
    return dataclasses.replace(row, id=row.id + keras_runtime.suffix(backend), conventions=conventions,
                               bad_labels=bad, framework=keras_runtime.FRAMEWORK_OF[backend], backend=backend)


def _smoothed_label_outside_unit_interval(inputs: dict, params: dict) -> bool:
    y = np.asarray(inputs["y"]).astype(np.float64)
    smoothing = params.get("label_smoothing") or 0.0
    y = y * (1.0 - smoothing) + 0.5 * smoothing
    return bool(np.any(~((y >= 0) & (y <= 1))) or np.isnan(np.asarray(inputs["p"]).astype(np.float64)).any())


# binary_focal_crossentropy smooths y, clips p and calls ops.binary_crossentropy(from_logits=False), which on
# torch is torch.nn.functional.binary_cross_entropy: its domain check sees the smoothed labels (and a NaN p).
TORCH_FOCAL_BCE_CHECKS_LABELS = Convention(
    key="raises_if_smoothed_y_outside_0_1",
    description="Keras on torch computes the focal loss's bce term with torch.nn.functional.binary_cross_entropy, "
                "which raises 'all elements of target should be between 0 and 1' for a label outside [0, 1] after "
                "label_smoothing (and for a NaN p) instead of returning a value (p itself is clipped first).",
    link="https://github.com/keras-team/keras/blob/v3.15.1/keras/src/backend/torch/nn.py#L954-L956",
    applies=_smoothed_label_outside_unit_interval,
    raises=True,
)


def _logit_nan_or_label_outside_unit_interval(inputs: dict, params: dict) -> bool:
    y = np.asarray(inputs["y"]).astype(np.float64)
    return bool(np.isnan(np.asarray(inputs["x"]).astype(np.float64)).any() or np.any(~((y >= 0) & (y <= 1))))


TORCH_FOCAL_LOGITS_BCE_CHECKS = Convention(
    key="raises_if_sigmoid_nan_or_y_outside_0_1",
    description="Keras on torch computes the focal loss's bce term from p = sigmoid(x) with "
                "torch.nn.functional.binary_cross_entropy, which raises for a NaN p (a NaN logit: 'all elements of "
                "input should be between 0 and 1') or a label outside [0, 1] instead of returning a value.",
    link="https://github.com/keras-team/keras/blob/v3.15.1/keras/src/backend/torch/nn.py#L954-L956",
    applies=_logit_nan_or_label_outside_unit_interval,
    raises=True,
)


def _torch_bce_conventions(conventions: tuple) -> tuple:
    """Keras on torch clips p, then calls torch.nn.functional.binary_cross_entropy (keras/src/backend/torch/nn.py),
    which clamps each log term at -100 (where the clip's upper bound rounds to 1: float16, bfloat16) and raises
    for p or y outside [0, 1] (NaN included): torch's own conventions (torch_conventions.py) on top of the clip."""
    from conformance.adapters import torch_conventions as tc

    out = tuple(dataclasses.replace(
        c, key=c.key + "_log_clamp_-100", ref_params={**c.ref_params, "log_clamp": -100},
        description=c.description + "; then torch's binary_cross_entropy clamps each log term at -100")
        for c in conventions if "clip" in c.ref_params)
    return out + (tc.BCE_CHECKS_DOMAIN,)


def under_policy(row: Implementation, spec: tuple, policy: str) -> Implementation:
    """The TensorFlow-backend Loss row `row` under precision policy `policy` (LOSS_POLICIES): built without
    dtype= (floatx) or with a mixed DTypePolicy, it computes in that policy's dtype, so its clip conventions
    are those of the compute dtype (whatever the inputs' dtype)."""
    compute = LOSS_POLICIES[policy][1]
    conventions = []
    for c in row.conventions:
        if "clip" in c.ref_params:
            if not c.key.endswith("_" + compute):
                continue
            c = dataclasses.replace(c, applies=None)
        elif c.key == "loss_dtype":
            c = dataclasses.replace(c, description=(
                "built without dtype=, the loss casts both arguments to keras.config.floatx() = float32 and "
                "computes there" if policy == "floatx" else
                f"built with dtype=DTypePolicy('{policy}'), the loss casts both arguments to the policy's "
                f"compute dtype {compute} and computes there"))
        conventions.append(c)
    return dataclasses.replace(
        row, id=f"{row.id}[policy={policy}]", call=_keras_call(*spec, policy=policy), policy=policy,
        conventions=tuple(conventions))


def _binary_focal_kwargs(p: dict) -> dict:
    """Keras's focal arguments for reference params: alpha null = apply_class_balancing=False."""
    alpha = p.get("alpha")
    return {"from_logits": False, "apply_class_balancing": alpha is not None,
            "alpha": 0.25 if alpha is None else alpha, "gamma": p.get("gamma", 2.0),
            "label_smoothing": p.get("label_smoothing") or 0.0}
