"""Known-divergence predicates about where= masks (issue 14), registered beside those of known_predicates.py
(same contract: a predicate reads only the record's element) by conformance/judge/known.py at import."""
from __future__ import annotations

import math

import numpy as np

from conformance.judge.known_predicates import Element


def _mask(record: dict) -> np.ndarray | None:
    where = (record.get("params") or {}).get("where")
    if where is None:
        return None
    mask = np.asarray(where, dtype=bool)
    return mask if mask.size else None


def _labels_and_mask(record: dict):
    """(integer labels, mask, class axis) of a record whose labels index the mask's class axis; else None."""
    mask, params = _mask(record), record.get("params") or {}
    target = (record.get("inputs") or {}).get("target")
    axis = params.get("axis")
    if mask is None or target is None or not isinstance(axis, int):
        return None
    if not str(target.get("dtype", "")).startswith(("int", "uint")):
        return None
    ax = axis % mask.ndim
    labels = np.asarray(target["data"], dtype=np.int64).reshape(target["shape"])
    if tuple(labels.shape) != tuple(np.delete(np.asarray(mask.shape), ax)):
        return None
    return labels, mask, ax


def observed_nan_at_masked_class(e: Element) -> bool:
    """The observed element is NaN at a class that where= masks (the mask has the part's shape and is false
    there): an autodiff that computes t * log_softmax(x) everywhere and lets sum(where=) zero the masked
    cotangents multiplies that zero by log_softmax = -inf at the masked class, 0 * -inf = NaN."""
    mask = _mask(e.record)
    if mask is None or e.index is None or tuple(mask.shape) != tuple(e.shape) or not math.isnan(e.observed):
        return False
    return not bool(mask.reshape(-1)[e.index])


def item_label_class_masked(e: Element) -> bool:
    """The element belongs to an item whose integer label's class is masked by where= (a value element of
    that item, or any gradient element of its row): the reference excludes the label's class, so the item is 0;
    a formula logsumexp(x, where) - x[label] still reads the label's logit."""
    found = _labels_and_mask(e.record)
    if found is None or e.index is None:
        return False
    labels, mask, ax = found
    if tuple(e.shape) == tuple(mask.shape):  # a gradient element: its item is its row along the axis
        item = list(np.unravel_index(e.index, e.shape))
        del item[ax]
    elif tuple(e.shape) == tuple(labels.shape):  # a value element (reduction "none")
        item = list(np.unravel_index(e.index, e.shape)) if e.shape else []
    else:
        return False
    label = int(labels[tuple(item)])
    if not 0 <= label < mask.shape[ax]:
        return False
    where = list(item)
    where.insert(ax, label)
    return not bool(mask[tuple(where)])


def _some_class_masked(record: dict) -> bool:
    mask = _mask(record)
    return mask is not None and not bool(mask.all())


def _some_label_class_masked(record: dict) -> bool:
    """An integer label whose class where= masks (the case alone: a run without such a case cannot show it)."""
    found = _labels_and_mask(record)
    if found is None:
        return False
    labels, mask, ax = found
    inside = (labels >= 0) & (labels < mask.shape[ax])
    picked = np.take_along_axis(np.moveaxis(mask, ax, -1), np.where(inside, labels, 0)[..., None], -1)[..., 0]
    return bool((inside & ~picked).any())


observed_nan_at_masked_class.case_applies = _some_class_masked
item_label_class_masked.case_applies = _some_label_class_masked

PREDICATES = {f.__name__: f for f in (observed_nan_at_masked_class, item_label_class_masked)}
