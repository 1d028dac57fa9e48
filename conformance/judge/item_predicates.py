"""Known-divergence predicates about whole items (rows along the class axis) and their labels, registered
beside those of known_predicates.py (same contract: a predicate reads only the record's element) by
conformance/judge/known.py at import."""
from __future__ import annotations

import math

import numpy as np

from conformance.judge.known_predicates import Element


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


PREDICATES = {f.__name__: f for f in (observed_nan_at_ignored_item_with_nonfinite_row,)}
