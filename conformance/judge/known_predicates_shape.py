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

from conformance.judge.known_predicates import Element


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

for _p in (observed_unreduced_on_an_empty_batch, observed_shape_lost_the_single_class_axis,
           observed_shape_of_one_hot_labels_broadcast):
    _p.whole_part = True  # judges a whole part (known_predicates.holds)

PREDICATES = {f.__name__: f for f in (observed_unreduced_on_an_empty_batch, observed_shape_lost_the_single_class_axis,
                                      observed_shape_of_one_hot_labels_broadcast)}
