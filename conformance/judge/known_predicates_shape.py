"""Known-divergence predicates about a part's shape: one per mechanism that gives Keras's Loss classes an
output of another shape than the reference's (keras/src/losses/loss.py, v3.15.1), registered beside those of
known_predicates.py by conformance/judge/known.py at import (same contract: a predicate reads only the record).

Each is a whole_part predicate (it judges a failing part as a whole, index None) and derives the shape the
mechanism gives from the case's input shapes and params, so it matches that mechanism and no other wrong
shape. Each also carries `case_applies(record)`: whether the case can meet the mechanism at all (from its
inputs and params, whatever was observed), so an entry naming it counts as having run (known.classify's
scope_ran, --strict-known) only where a case that can show the mechanism ran.

The mechanisms (https://github.com/keras-team/keras/blob/v3.15.1/keras/src/losses/loss.py):
  reduce_values returns `values` unreduced when values.shape == (0,): an empty batch's mean or sum is (0,).
  squeeze_or_expand_to_same_rank(y_true, y_pred) (LossFunctionWrapper.call) squeezes y_pred's last axis when
    y_pred's rank is one more than y_true's and that axis has length 1 (y_true of rank >= 2), and expands
    y_true instead when y_true has rank 1: one class is taken for "no class axis".
"""
from __future__ import annotations

import math

import numpy as np

from conformance.judge.known_predicates import Element, _finfo


def _shape(t: dict) -> list:
    return [int(n) for n in t.get("shape", [])]


def _floats_and_labels(record: dict) -> tuple[list, list]:
    inputs = (record.get("inputs") or {}).values()
    floats = [_shape(t) for t in inputs if not str(t.get("dtype", "")).startswith(("int", "uint", "bool"))]
    labels = [_shape(t) for t in inputs if str(t.get("dtype", "")).startswith(("int", "uint"))]
    return floats, labels


def _reduction(record: dict):
    return (record.get("params") or {}).get("reduction")


def _class_axis_last(record: dict, rank: int) -> bool:
    axis = (record.get("params") or {}).get("axis", -1)
    return axis is None or (isinstance(axis, int) and axis % max(rank, 1) == rank - 1)


def _shapes(e: Element) -> tuple[list, list] | None:
    """(observed, reference) shapes of a whole failing part, None for an element or a missing part."""
    if e.index is not None or e.obs_tensor is None or e.ref_tensor is None:
        return None
    return _shape(e.obs_tensor), _shape(e.ref_tensor)


# ------------------------------------------------------------------------- reduce_values on an empty batch

def _empty_batch_reduced(record: dict) -> bool:
    """A reduced loss whose per-item vector is empty and of rank 1: y_pred of shape [0, C] with the class (or
    averaged) axis last. (A rank-1 y_pred of a binary loss is averaged to a scalar first; [0, L, C] gives an
    empty [0, L], which reduces.)"""
    floats, _ = _floats_and_labels(record)
    return (_reduction(record) not in (None, "none") and bool(floats) and len(floats[0]) == 2
            and floats[0][0] == 0 and _class_axis_last(record, 2))


def observed_unreduced_on_an_empty_batch(e: Element) -> bool:
    """A reduced loss ('mean' / 'sum') of an empty batch (y_pred [0, C]) comes back as the per-item vector of
    shape (0,) where the reference is a scalar: Keras's reduce_values returns `values` as they are when their
    shape is (0,)."""
    shapes = _shapes(e)
    return shapes is not None and _empty_batch_reduced(e.record) and shapes == ([0], [])


observed_unreduced_on_an_empty_batch.case_applies = _empty_batch_reduced


# ---------------------------------------------------------------- one class: y_pred's last axis squeezed

def _one_class_squeezed(record: dict) -> bool:
    floats, labels = _floats_and_labels(record)
    if len(floats) != 1 or len(labels) != 1 or _reduction(record) != "none":
        return False
    pred, label = floats[0], labels[0]
    return (len(pred) >= 3 and len(label) == len(pred) - 1 and pred[-1] == 1
            and _class_axis_last(record, len(pred)))


def observed_shape_lost_the_single_class_axis(e: Element) -> bool:
    """One class with extra dims (y_pred [N, ..., L, 1], integer labels [N, ..., L], reduction none): the Loss
    wrapper squeezes y_pred's class axis (its rank is one more than the labels', that axis has length 1), the
    loss then runs along L and the part comes back as the reference's shape without its last axis ([N] for
    [N, L])."""
    shapes = _shapes(e)
    if shapes is None or not _one_class_squeezed(e.record):
        return False
    observed, reference = shapes
    return len(reference) >= 1 and observed == reference[:-1]


observed_shape_lost_the_single_class_axis.case_applies = _one_class_squeezed


# ------------------------------------------- one class: one_hot of the reshaped labels broadcast against p

def _one_hot_broadcast_shape(record: dict) -> list | None:
    """The shape sum(y_pred * one_hot(y_true, C), axis=-1) takes after squeeze_or_expand_to_same_rank, for a
    one-class y_pred one rank above its integer labels (None: the case does not meet the mechanism)."""
    floats, labels = _floats_and_labels(record)
    if len(floats) != 1 or len(labels) != 1 or _reduction(record) != "none":
        return None
    pred, label = floats[0], labels[0]
    if not pred or pred[-1] != 1 or len(label) != len(pred) - 1 or not _class_axis_last(record, len(pred)):
        return None
    if len(label) == 1:
        label = label + [1]  # rank-1 labels are expanded to [N, 1]
    else:
        pred = pred[:-1]  # otherwise y_pred's class axis is squeezed
    one_hot = label + [pred[-1] if pred else 1]
    rank = max(len(pred), len(one_hot))
    a, b = [1] * (rank - len(pred)) + pred, [1] * (rank - len(one_hot)) + one_hot
    if any(x != y and 1 not in (x, y) for x, y in zip(a, b)):
        return None  # the product raises: not a shape finding
    return [x if y == 1 else y for x, y in zip(a, b)][:-1]


def observed_shape_of_one_hot_labels_broadcast(e: Element) -> bool:
    """One class (y_pred [..., 1] one rank above its integer labels, reduction none) in a loss that takes
    p_y = sum(y_pred * one_hot(labels), -1) (CategoricalGeneralizedCrossEntropy): the Loss wrapper expands
    rank-1 labels to [N, 1] (or squeezes y_pred's class axis), one_hot adds an axis, and the product
    broadcasts item against item: the part comes back in exactly that broadcast shape ([N, N] for [N])."""
    shapes = _shapes(e)
    expected = _one_hot_broadcast_shape(e.record)
    return shapes is not None and expected is not None and shapes[0] == expected != shapes[1]


observed_shape_of_one_hot_labels_broadcast.case_applies = lambda record: _one_hot_broadcast_shape(record) is not None

def _unit_axis_against_sample_weight(record: dict) -> bool:
    """Reduction none with a sample_weight one rank below the per-item loss, whose last axis has length 1 (a batch
    of one item: the loss [1] with a scalar weight)."""
    params = record.get("params") or {}
    weights, ref = params.get("sample_weight"), (record.get("reference") or {}).get("value")
    if weights is None or params.get("reduction") != "none" or not isinstance(ref, dict):
        return False
    shape = _shape(ref)
    return bool(shape) and shape[-1] == 1 and np.ndim(weights) == len(shape) - 1


def observed_shape_squeezed_against_sample_weight(e: Element) -> bool:
    """The per-item loss [..., 1] (reduction none) came back without its last axis: reduce_weighted_values calls
    squeeze_or_expand_to_same_rank(values, sample_weight), which squeezes values' last axis of length 1 when the
    sample weight has one rank less (a batch of one item with a scalar sample_weight: shape () for (1,))."""
    shapes = _shapes(e)
    return shapes is not None and _unit_axis_against_sample_weight(e.record) and shapes[0] == shapes[1][:-1]


observed_shape_squeezed_against_sample_weight.case_applies = _unit_axis_against_sample_weight


def _one_hot_broadcast_gradient(record: dict) -> np.ndarray | None:
    """d loss / d p of categorical_generalized_cross_entropy as Keras computes it for a one-class p one rank above
    its labels (see _one_hot_broadcast_shape): p_y = sum(p' * one_hot(labels'), -1) broadcast item against item,
    loss (1 - p_y^q) / q reduced by `reduction` (none: cotangent ones), in float64; None when the case does not
    meet the mechanism."""
    inputs = record.get("inputs") or {}
    p, labels = inputs.get("p"), inputs.get("target")
    params = record.get("params") or {}
    if p is None or labels is None or _one_hot_broadcast_shape(record | {"params": {**params, "reduction": "none"}}) \
            is None or not isinstance(params.get("q"), (int, float)):
        return None
    x = np.asarray([float(v) for v in p["data"]], dtype=np.float64).reshape(p["shape"])
    y = np.asarray(labels["data"], dtype=np.int64).reshape(labels["shape"])
    y, x1 = (y[:, None], x) if y.ndim == 1 else (y, x[..., 0])
    one_hot = (y[..., None] == np.arange(x1.shape[-1])).astype(np.float64)
    p_y = (x1 * one_hot).sum(-1)
    weight = 1.0 / p_y.size if params.get("reduction") == "mean" and p_y.size else 1.0
    with np.errstate(all="ignore"):
        g = -(p_y ** (float(params["q"]) - 1.0)) * weight
    full = g[..., None] * one_hot  # d loss / d (x1 broadcast), summed back over the broadcast axes of x1
    extra = full.ndim - x1.ndim
    full = full.sum(axis=tuple(range(extra))) if extra else full
    axes = tuple(i for i, n in enumerate(x1.shape) if n == 1 and full.shape[i] != 1)
    return (full.sum(axis=axes, keepdims=True) if axes else full).reshape(x.shape)


def observed_is_the_one_hot_broadcast_gradient(e: Element) -> bool:
    """A gradient element of p equals, within a few roundings, what Keras's one-class broadcast computes
    (p_y = sum(p' * one_hot(labels')) with the labels expanded or p's class axis squeezed, every item's p_y
    summing every item's p): N times the true gradient for p [N, 1], and for p [N, A, B, 1] with labels
    [N, A, B] N-fold counts at the classes the labels pick and 0 elsewhere."""
    if e.index is None or e.part != "grad:p" or not math.isfinite(e.observed):
        return False
    g = _one_hot_broadcast_gradient(e.record)
    if g is None or g.size != len(e.obs_tensor["data"]) or not np.isfinite(g.flat[e.index]):
        return False
    want = float(g.flat[e.index])
    return abs(e.observed - want) <= 8 * float(_finfo(e.dtype).eps) * max(abs(want), float(_finfo(e.dtype).tiny))


observed_is_the_one_hot_broadcast_gradient.case_applies = \
    lambda record: _one_hot_broadcast_shape(record | {"params": {**(record.get("params") or {}),
                                                                 "reduction": "none"}}) is not None

for _p in (observed_unreduced_on_an_empty_batch, observed_shape_lost_the_single_class_axis,
           observed_shape_of_one_hot_labels_broadcast, observed_shape_squeezed_against_sample_weight):
    _p.whole_part = True  # judges a whole part (known_predicates.holds)

PREDICATES = {f.__name__: f for f in (observed_unreduced_on_an_empty_batch, observed_shape_lost_the_single_class_axis,
                                      observed_shape_of_one_hot_labels_broadcast,
                                      observed_is_the_one_hot_broadcast_gradient,
                                      observed_shape_squeezed_against_sample_weight)}
