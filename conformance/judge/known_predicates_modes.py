"""Known-divergence predicates found by the issue-14 triage of the execution modes (conformance/adapters/
execution.py: torch `compile`, TensorFlow `graph` / `xla`, JAX `eager`) and the precision policies
(conformance/judge/policy.py), registered beside those of known_predicates.py (same contract: a predicate
reads only the record's element) by conformance/judge/known.py at import. A predicate about one mode or
policy says so in its `case_applies`, so an entry using it counts as run only on records of that mode or
policy (known.case_can_show); observed_nonfinite_where_log_softmax_overflows, which a compile cell drew, holds
in every mode."""
from __future__ import annotations

import math
from decimal import Decimal

import ml_dtypes
import numpy as np

from conformance.judge.item_predicates import _xla_with_out_of_range_label, observed_nan_at_out_of_range_labels_under_xla
from conformance.judge.known_predicates import Element, _finfo
from conformance.judge.mode_predicates import _named_related


def _in_graph_mode(record: dict) -> bool:
    return record.get("mode") == "graph"


def _gradient_scale(e: Element) -> float:
    """|d loss / d element| of the reduction and weights: the largest |weight| the element is multiplied by
    (1 without one), divided by the item count for a mean reduction."""
    params = e.record.get("params") or {}
    scale = 1.0
    for name in ("weight", "sample_weight"):
        w = params.get(name)
        w = _named_related(e, name) if w is None else np.abs(np.asarray(w, dtype=np.float64))
        if w is not None and np.size(w):
            scale *= float(np.max(np.abs(w)))
    if params.get("reduction") in ("mean", "sum_over_batch_size"):
        x = (e.record.get("inputs") or {}).get("x")
        scale /= max(1, int(np.prod(x["shape"], dtype=np.int64))) if x else 1
    return scale


def absolute_error_within_reordered_gradient_sum_under_graph(e: Element) -> bool:
    """Mode `graph` only: the gradient of a binary cross-entropy on logits with respect to the logits x,
    max(x, 0) - x y + log1p(exp(-|x|)), reaches x along three paths (the relu, the product with the label, the
    log1p(exp(-|x|))) and tf.gradients sums the path terms [x >= 0], -y, -sign(x) sigmoid(-|x|) with one AddN;
    grappler's arithmetic optimizer canonicalizes commutative nodes (CanonicalizeNode sorts an AddN's inputs
    by node name), so the traced graph adds them in another order than the eager tape, e.g. (-sigmoid(-|x|) +
    1) - y, which rounds the small term away. Holds when |observed - exact| <= 4 u g (2 + |y|): the absolute
    rounding of a four-term sum of terms of size at most g (1, |y|, 1), g the reduction's and weights' factor
    (1 / N for a mean), y the label (after label smoothing, within [min(y, 0), max(y, 1)])."""
    if not _in_graph_mode(e.record) or e.part != "grad:x" or e.index is None:
        return False
    x_exact = e.exact
    y = _named_related(e, "y")
    if x_exact is None or y is None or not math.isfinite(e.observed):
        return False
    params = e.record.get("params") or {}
    if params.get("pos_weight") is not None:
        return False
    big_y = max(1.0, float(np.max(np.abs(y)))) if y.size else 1.0
    u = float(_finfo(e.dtype).eps) / 2
    return abs(Decimal(e.observed) - x_exact) <= Decimal(4.0 * u * _gradient_scale(e) * (2.0 + big_y))


absolute_error_within_reordered_gradient_sum_under_graph.case_applies = _in_graph_mode

def _as_labels_and_logits(record: dict) -> dict:
    """The record of a sparse cross-entropy on probabilities (integer labels `p`, probabilities `q`: Keras's
    sparse_categorical_crossentropy(from_logits=False)) with its inputs named as on logits (`target`,
    `logits`) and without its gradient (the NaN row reaches q only through clip_by_value's gradient, which
    selects 0 where q lies outside [epsilon, 1 - epsilon]); others unchanged."""
    inputs = record.get("inputs") or {}
    p, q = inputs.get("p"), inputs.get("q")
    if "target" in inputs or p is None or q is None or not str(p.get("dtype", "")).startswith(("int", "uint")):
        return record
    observed = {**(record.get("observed") or {}), "grad": {}}
    return {**record, "inputs": {"target": p, "logits": q}, "observed": observed}


def observed_nan_at_out_of_range_labels_under_xla_any_input(e: Element) -> bool:
    """observed_nan_at_out_of_range_labels_under_xla (item_predicates.py) on the logits path or on the
    probabilities path of a sparse cross-entropy (Keras takes log(clip(q)) and calls the same
    tf.nn.sparse_softmax_cross_entropy_with_logits): NaN at every item whose label lies outside [0, C), and
    on the logits path NaN in that item's gradient row."""
    view = Element.__new__(Element)
    view.__dict__.update(e.__dict__)
    view.record = _as_labels_and_logits(e.record)
    return observed_nan_at_out_of_range_labels_under_xla(view)


observed_nan_at_out_of_range_labels_under_xla_any_input.whole_part = True
observed_nan_at_out_of_range_labels_under_xla_any_input.case_applies = (
    lambda record: _xla_with_out_of_range_label(_as_labels_and_logits(record)))

_POLICY_COMPUTE = {"floatx": np.float32, "mixed_float16": np.float16, "mixed_bfloat16": ml_dtypes.bfloat16}


def _weight_overflows_in_policy_dtype(record: dict) -> bool:
    """A Keras policy record (conformance/judge/policy.py) whose sample_weight or class weight holds a finite
    entry that rounds to +-inf in the policy's compute dtype (float32 for floatx, float16 / bfloat16 for the
    mixed policies)."""
    dtype = _POLICY_COMPUTE.get(record.get("policy"))
    params = record.get("params") or {}
    if dtype is None:
        return False
    for name in ("sample_weight", "weight"):
        if params.get(name) is None:
            continue
        w = np.asarray(params[name], dtype=np.float64).ravel()
        with np.errstate(over="ignore"):
            if bool((np.isfinite(w) & np.isinf(w.astype(dtype).astype(np.float64))).any()):
                return True
    return False


def observed_nonfinite_where_a_weight_overflows_in_the_policy_dtype(e: Element) -> bool:
    """A Keras policy row casts sample_weight to its compute dtype (Loss.__call__ -> reduce_weighted_values:
    ops.convert_to_tensor(sample_weight, dtype=self.dtype)), so a finite float64 weight above that dtype's
    range becomes +-inf and the returned loss is +-inf or NaN: the reference, evaluated on the inputs as the
    policy casts them (docs/verdicts.md, Precision policies), sees an infinite weight, which it does not
    define (error_behaviour_mismatch: returned a value instead of raising). A whole-part predicate on the
    returned value: some finite weight overflows in the compute dtype and the value is not all finite."""
    if e.index is not None or e.part != "value" or e.obs_tensor is None:
        return False
    if not _weight_overflows_in_policy_dtype(e.record):
        return False
    value = np.asarray([float(v) for v in e.obs_tensor["data"]], dtype=np.float64)
    return bool(value.size) and not bool(np.isfinite(value).all())


observed_nonfinite_where_a_weight_overflows_in_the_policy_dtype.whole_part = True
observed_nonfinite_where_a_weight_overflows_in_the_policy_dtype.case_applies = _weight_overflows_in_policy_dtype

def _subnormal_weight_op_by_op(record: dict) -> float | None:
    """Mode `eager` of a JAX-backed row in float16 / bfloat16 with a sample_weight entry that is nonzero and
    subnormal in the dtype: the smallest such |entry| (None otherwise)."""
    w = (record.get("params") or {}).get("sample_weight")
    if record.get("mode") != "eager" or record.get("framework") not in ("jax", "keras_jax") or w is None:
        return None
    if record.get("dtype") not in ("float16", "bfloat16"):
        return None
    a = np.abs(np.asarray(w, dtype=np.float64).ravel())
    small = a[(a > 0) & (a < float(_finfo(record["dtype"]).tiny))]
    return float(small.min()) if small.size else None


def relative_error_within_subnormal_weight_rounding_op_by_op(e: Element) -> bool:
    """Mode `eager` (jax.disable_jit: every primitive rounds its result to the dtype) with a sample_weight
    subnormal in float16 / bfloat16: the backward pass starts from the cotangent w and divides or multiplies
    it by O(1) factors (Keras's generalized CE: w / q, then times q p^(q-1)), each intermediate rounded onto the
    subnormal grid, where it keeps only an absolute accuracy of half the smallest subnormal s; under jax.jit
    XLA fuses the elementwise chain and keeps the intermediates in float32. Holds when the observed element
    is finite, of the exact value's sign (or 0), and |observed - exact| <= (s / |w| + 4 u) |exact|, |w| the
    smallest nonzero subnormal weight (an intermediate of size >= |w| / 2 carries a relative error <= s / |w|)."""
    w = _subnormal_weight_op_by_op(e.record)
    x = e.exact
    if w is None or x is None or e.index is None or not math.isfinite(e.observed) or x == 0:
        return False
    if e.observed != 0 and (e.observed > 0) != (x > 0):
        return False
    f = _finfo(e.dtype)
    s, u = float(f.smallest_subnormal), float(f.eps) / 2
    return abs(Decimal(e.observed) - x) <= Decimal(s / w + 4 * u) * abs(x)


relative_error_within_subnormal_weight_rounding_op_by_op.case_applies = (
    lambda record: _subnormal_weight_op_by_op(record) is not None)

def observed_nonfinite_where_log_softmax_overflows(e: Element) -> bool:
    """The observed element of d/dtarget is +-inf or NaN where the reference's is finite, and the exact
    log-probability at its class, x_c - logsumexp(row), lies beyond the dtype's largest finite number: a loss
    formed as -sum(w * target * log_softmax(x)) (torch's probability-target cross_entropy) differentiates to
    -w * log_softmax(x)_c / N with log_softmax(x) materialized in the dtype, where it is -inf (float16: logits
    -65504 and 64864 in a row), so the target gradient is inf (or 0 * -inf = NaN at a class weighted 0)
    although the exact, scaled value is finite. Whatever the execution mode."""
    if not e.part.startswith("grad:target") or e.index is None or math.isfinite(e.observed):
        return False
    if math.isnan(e.reference) or not math.isfinite(e.reference):
        return False
    logits = (e.record.get("inputs") or {}).get("logits")
    axis = (e.record.get("params") or {}).get("axis")
    if logits is None or not isinstance(axis, int) or list(logits["shape"]) != list(e.shape) or not e.shape:
        return False
    x = np.asarray([float(v) for v in logits["data"]], dtype=np.float64).reshape(logits["shape"])
    idx = np.unravel_index(e.index, e.shape)
    ax = axis % x.ndim
    sl = list(idx)
    sl[ax] = slice(None)
    row = x[tuple(sl)]
    if not np.isfinite(row).all():
        return False
    top = float(row.max())
    lse = top + math.log(float(np.sum(np.exp(row - top))))
    return abs(float(x[idx]) - lse) > float(_finfo(e.dtype).max)


PREDICATES = {f.__name__: f for f in (absolute_error_within_reordered_gradient_sum_under_graph,
                                      observed_nan_at_out_of_range_labels_under_xla_any_input,
                                      observed_nonfinite_where_a_weight_overflows_in_the_policy_dtype,
                                      relative_error_within_subnormal_weight_rounding_op_by_op,
                                      observed_nonfinite_where_log_softmax_overflows)}
