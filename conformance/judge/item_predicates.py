"""Known-divergence predicates about whole items (rows along the class axis) and their labels, registered
beside those of known_predicates.py (same contract: a predicate reads only the record's element) by
conformance/judge/known.py at import."""
from __future__ import annotations

import math
from decimal import Decimal

import ml_dtypes
import numpy as np

from conformance.judge.known_predicates import Element, _finfo


def observed_nan_at_ignored_item_with_nonfinite_row(e: Element) -> bool:
    """The observed element is NaN, its item's integer label is `ignore_index` (the item does not count: every
    derivative of it is 0) and its row along the class axis holds a NaN or an infinity: log_softmax's backward
    over every row, g - exp(lp) sum(g), gives 0 - NaN * 0 = NaN on a row whose lp is NaN even where the loss
    sends it a zero cotangent."""
    params = e.record.get("params") or {}
    ignore, axis = params.get("ignore_index"), params.get("axis")
    target = (e.record.get("inputs") or {}).get("target")
    if ignore is None or not isinstance(axis, int) or target is None or e.index is None or not e.shape:
        return False
    if not str(target.get("dtype", "")).startswith(("int", "uint")) or not math.isnan(e.observed):
        return False
    item = list(np.unravel_index(e.index, e.shape))
    del item[axis % len(e.shape)]
    labels = np.asarray(target["data"], dtype=np.int64).reshape(target["shape"])
    if tuple(labels.shape) != tuple(np.delete(np.asarray(e.shape), axis % len(e.shape))):
        return False
    return int(labels[tuple(item)]) == int(ignore) and any(not np.isfinite(a).all() for a in e.inputs())


def _out_of_range_labels(record: dict) -> np.ndarray | None:
    """The mask of integer labels outside [0, C) (C: the logits' length along `axis`), None without labels."""
    inputs = record.get("inputs") or {}
    target = inputs.get("target")
    logits = inputs.get("logits")
    axis = (record.get("params") or {}).get("axis", -1)
    if target is None or logits is None or not str(target.get("dtype", "")).startswith(("int", "uint")):
        return None
    if not isinstance(axis, int) or not logits["shape"]:
        return None
    classes = logits["shape"][axis % len(logits["shape"])]
    labels = np.asarray(target["data"], dtype=np.int64).reshape(target["shape"])
    return (labels < 0) | (labels >= classes)


def _xla_with_out_of_range_label(record: dict) -> bool:
    bad = _out_of_range_labels(record)
    return record.get("mode") == "xla" and bad is not None and bool(bad.any())


def observed_nan_at_out_of_range_labels_under_xla(e: Element) -> bool:
    """Under XLA (tf.function(jit_compile=True)) the op returned a value where a label lies outside [0, C),
    and that value is NaN at every such item (its gradient row too, when asked): the XLA lowering of
    SparseSoftmaxCrossEntropyWithLogits cannot raise, so it adds NaN to the one-hot row of each out-of-range
    label, as the GPU kernel does. A whole-part predicate on the returned value (an error-behaviour record has
    no failing elements)."""
    if e.index is not None or e.part != "value" or e.obs_tensor is None or not _xla_with_out_of_range_label(e.record):
        return False
    bad = _out_of_range_labels(e.record)
    value = np.asarray([float(v) for v in e.obs_tensor["data"]], dtype=np.float64)
    if list(e.obs_tensor["shape"]) != list(bad.shape):
        return bool(value.size == 1 and np.isnan(value).all())  # a reduced loss: NaN
    if not np.isnan(value.reshape(bad.shape)[bad]).all():
        return False
    grad = ((e.record.get("observed") or {}).get("grad") or {}).get("logits")
    if grad is None:
        return True
    axis = (e.record.get("params") or {}).get("axis", -1) % len(grad["shape"])
    g = np.moveaxis(np.asarray([float(v) for v in grad["data"]], dtype=np.float64).reshape(grad["shape"]), axis, -1)
    return g.shape[:-1] == bad.shape and bool(np.isnan(g[bad]).all())


observed_nan_at_out_of_range_labels_under_xla.whole_part = True
observed_nan_at_out_of_range_labels_under_xla.case_applies = _xla_with_out_of_range_label

def absolute_error_within_logsumexp_rounding(e: Element) -> bool:
    """|observed - exact| <= 2 (n + 1) u max(1, m), m the largest finite |x| the element depends on, n their
    count, u the unit roundoff (times the largest |sample_weight| when one is given): a loss formed as logsumexp(x) - x_y (or -sum(one_hot * log_softmax(x)))
    carries the absolute rounding of the log-sum-exp, whose size is that of the largest logit, so a small loss
    of a confident row loses its relative accuracy (0 where the exact loss is below u |x_max|)."""
    x = e.exact
    if x is None or e.index is None or not math.isfinite(e.observed):
        return False
    rows = [a[np.isfinite(a)] for a in e.inputs()]
    n = max((a.size for a in rows), default=1)
    m = max((float(np.max(np.abs(a))) for a in rows if a.size), default=0.0)
    u = float(_finfo(e.dtype).eps) / 2
    weights = (e.record.get("params") or {}).get("sample_weight")  # Keras sample_weight scales each item's terms
    w = float(np.max(np.abs(np.asarray(weights, dtype=np.float64)))) if weights is not None else 1.0
    return abs(Decimal(e.observed) - x) <= Decimal(2.0 * (n + 1) * u * max(1.0, m) * max(1.0, w))


def observed_nan_where_a_non_label_logit_is_minus_inf(e: Element) -> bool:
    """The observed element is NaN and an item it depends on has a finite label logit and, at another class, a
    log-probability of -inf (a -inf logit, or x - max beyond the dtype's range: float16 logits of opposite huge
    signs): -sum(one_hot(y) * log_softmax(x)) multiplies that -inf by its one-hot 0."""
    params = e.record.get("params") or {}
    inputs = e.record.get("inputs") or {}
    target, logits, axis = inputs.get("target"), inputs.get("logits"), params.get("axis", -1)
    if e.index is None or not math.isnan(e.observed) or target is None or logits is None or not isinstance(axis, int):
        return False
    if not str(target.get("dtype", "")).startswith(("int", "uint")) or not logits["shape"]:
        return False
    x = np.moveaxis(np.asarray([float(v) for v in logits["data"]], dtype=np.float64).reshape(logits["shape"]),
                    axis % len(logits["shape"]), -1)
    labels = np.asarray(target["data"], dtype=np.int64).reshape(target["shape"])
    if labels.shape != x.shape[:-1]:
        return False
    items = [np.unravel_index(e.index, e.shape)] if tuple(e.shape) == labels.shape else list(np.ndindex(labels.shape))
    for item in items:
        row, y = x[tuple(item)], int(labels[tuple(item)])
        if 0 <= y < row.size and math.isfinite(row[y]) and bool(np.isneginf(_shifted(row, e.dtype)[np.arange(row.size) != y]).any()):
            return True
    return False


def _shifted(row: np.ndarray, dtype: str) -> np.ndarray:
    """x - max(x) of a row as computed in `dtype` (a difference beyond the dtype's range is -inf: float16 logits
    -65504 and 65504 give -inf), -inf where x is -inf."""
    finite = row[np.isfinite(row)]
    if not finite.size:
        return row
    with np.errstate(over="ignore", invalid="ignore"):
        d = row - np.max(finite)
        return d.astype(ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)).astype(np.float64)


def absolute_error_within_log_sigmoid_difference(e: Element) -> bool:
    """d/dy of -y log_sigmoid(x) - (1 - y) log_sigmoid(-x) is log_sigmoid(-x) - log_sigmoid(x) = -x, formed as the
    difference of the two rounded terms: |observed - exact| <= 4 u (|log_sigmoid(x)| + |log_sigmoid(-x)|) w,
    x the element's logit, w its reduction weight (1/N for a mean), u the unit roundoff: a small -x/N cancels
    to a few u ln 2 (0 for -7.6e-6 in bfloat16)."""
    exact = e.exact
    x_t = (e.record.get("inputs") or {}).get("x")
    if exact is None or e.index is None or x_t is None or not math.isfinite(e.observed) or not e.part.endswith(":y"):
        return False
    x = np.asarray([float(v) for v in x_t["data"]], dtype=np.float64)
    if x.size != len(e.obs_tensor["data"]) or not math.isfinite(x[e.index]):
        return False
    xi = float(x[e.index])
    terms = abs(min(xi, 0.0) - math.log1p(math.exp(-abs(xi)))) + abs(min(-xi, 0.0) - math.log1p(math.exp(-abs(xi))))
    w = 1.0 / x.size if (e.record.get("params") or {}).get("reduction") == "mean" else 1.0
    u = float(_finfo(e.dtype).eps) / 2
    return abs(Decimal(e.observed) - exact) <= Decimal(4.0 * u * terms * w)


def _items_with_two_pos_inf(record: dict) -> bool:
    """Some item (a row along the op's axis; the whole input for axis None) holds two or more +inf."""
    x = (record.get("inputs") or {}).get("x")
    if x is None or not x.get("shape"):
        return False
    a = np.asarray([float(v) for v in x["data"]], dtype=np.float64).reshape(x["shape"])
    axis = (record.get("params") or {}).get("axis", -1)
    counts = np.isposinf(a).sum(axis=None if axis is None else axis % a.ndim)
    return bool((np.asarray(counts) >= 2).any())


def observed_finite_in_item_with_two_pos_inf(e: Element) -> bool:
    """The observed element is finite where the reference is NaN, and its item holds two or more +inf: a
    logsumexp that replaces a non-finite max by 0 sums exp(+inf) + exp(+inf) = inf, so autodiff gives each
    finite element exp(x_j) / inf = 0, where the item's softmax (inf / inf) is undefined."""
    return (math.isfinite(e.observed) and math.isnan(e.reference)
            and any(int(np.isposinf(a).sum()) >= 2 for a in e.inputs()))


observed_finite_in_item_with_two_pos_inf.case_applies = _items_with_two_pos_inf

PREDICATES = {f.__name__: f for f in (observed_nan_at_ignored_item_with_nonfinite_row,
                                      observed_finite_in_item_with_two_pos_inf,
                                      observed_nan_at_out_of_range_labels_under_xla,
                                      absolute_error_within_logsumexp_rounding,
                                      observed_nan_where_a_non_label_logit_is_minus_inf,
                                      absolute_error_within_log_sigmoid_difference)}
