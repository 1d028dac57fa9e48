"""sample_weight (Keras's Loss.__call__(y_true, y_pred, sample_weight=)): per-item weights applied to the
items before the reduction, for the loss ops Keras's Loss classes compute (SAMPLE_WEIGHT_OPS).

With w the sample weights broadcast (NumPy rules) to the per-item loss shape (the op's output with
reduction "none") and l_i the items:
    "none": w_i l_i;   "sum": sum_i w_i l_i;   "mean": sum_i w_i l_i / D,
D the op's own mean denominator, unchanged by the weights (the number of items for the Keras rows:
keras/src/losses/loss.py reduce_values divides by the number of elements, "sum_over_batch_size").
Every input element belongs to exactly one item, so the gradient of the weighted output is the op's
gradient scaled by its item's weight: d/dx (sum_i w_i l_i) = w_item(x) d l_item(x) / dx (w expanded at the
class axis for class-axis inputs). cond: each item's and each gradient element's cond scaled by |w| (the
weights are exact data, like class weights). Weights are finite, rounded to the case dtype. A zero weight
removes an infinite item under limit semantics (value 0), while IEEE arithmetic (RefArray.ieee) gives
0 * inf = NaN, what Keras's values * sample_weight computes; a NaN item stays NaN.
"""
from __future__ import annotations

import dataclasses
import functools
from contextvars import ContextVar

import numpy as np

from reference.errors import CaseError
from reference.ops.params import elementwise_weight
from reference.ops.spec import OpSpec

SAMPLE_WEIGHT_OPS = ("cross_entropy", "cross_entropy_dist", "kl_divergence", "binary_cross_entropy",
                     "binary_cross_entropy_with_logits", "sigmoid_focal_loss", "binary_focal_loss",
                     "softmax_focal_loss", "generalized_cross_entropy")


@dataclasses.dataclass
class Active:
    weight: np.ndarray  # exact (object) weights as given (any shape that broadcasts to the items)
    axis: int | None  # the op's class axis param (None for elementwise ops)
    items: np.ndarray | None = None  # the weights broadcast to the items, once reduce_value has seen them


_ACTIVE: ContextVar[Active | None] = ContextVar("sample_weight", default=None)


def _exact(weight) -> np.ndarray:
    if isinstance(weight, np.ndarray) and weight.dtype == object:
        return weight
    w = np.asarray(weight, dtype=np.float64)
    out = elementwise_weight(w, w.shape, "sample_weight")
    return out


def weigh_items(items: np.ndarray, item_cond: np.ndarray):
    """(items, cond) scaled by the active sample weights (reference.ops.reduce.reduce_value), as they are
    when none are active."""
    active = _ACTIVE.get()
    if active is None:
        return items, item_cond
    try:
        w = np.broadcast_to(active.weight, items.shape)
    except ValueError:
        raise CaseError(f"sample_weight of shape {active.weight.shape} does not broadcast to the per-item loss "
                        f"shape {items.shape}") from None
    active.items = w
    wf = np.abs(np.vectorize(lambda x: x.to_float(), otypes=[np.float64])(w)) if w.size else np.zeros(w.shape)
    return items * w, item_cond * wf


def weigh_grad(grad: np.ndarray, grad_cond: np.ndarray):
    """A gradient of sum(items) (and its cond) as the gradient of sum(w_i items_i)."""
    active = _ACTIVE.get()
    if active is None or active.items is None:
        return grad, grad_cond
    w = active.items
    if w.ndim + 1 == grad.ndim and active.axis is not None:
        w = np.expand_dims(w, int(active.axis) % grad.ndim)
    try:
        w = np.broadcast_to(w, grad.shape)
    except ValueError:
        raise CaseError(f"sample_weight: per-item weights of shape {active.items.shape} do not match an input "
                        f"of shape {grad.shape}") from None
    wf = np.abs(np.vectorize(lambda x: x.to_float(), otypes=[np.float64])(w)) if w.size else np.zeros(w.shape)
    return grad * w, grad_cond * wf


def weighted(spec: OpSpec) -> OpSpec:
    """The op with an optional sample_weight param (absent or None: the op as it was)."""
    fn = spec.fn

    @functools.wraps(fn)
    def with_sample_weight(*args, sample_weight=None, **kwargs):
        if sample_weight is None:
            return fn(*args, **kwargs)
        token = _ACTIVE.set(Active(_exact(sample_weight), kwargs.get("axis")))
        try:
            return fn(*args, **kwargs)
        finally:
            _ACTIVE.reset(token)

    with_sample_weight.__doc__ = (fn.__doc__ or "") + "\n    sample_weight: see reference/ops/sample_weight.py.\n"
    return dataclasses.replace(spec, optional=(*spec.optional, "sample_weight"), fn=with_sample_weight)
