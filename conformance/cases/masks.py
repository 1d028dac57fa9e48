"""Labelled draws of where= masks (jax.nn softmax / log_softmax / logsumexp, optax's cross entropies) and of
Keras sample weights (Loss.__call__(..., sample_weight=)): issue 14's parameter combinations.

A row whose implementation allows the param (Implementation.params "where" / "sample_weight") gets one in three
examples with it, in the ci and thorough profiles (conformance/cases/combinations.py COMBINATION_PROFILES);
the draw "where?" / "sample_weight?" shrinks to none, so a failing example without them shrinks away from them.

    where styles    random, all-true, all-false row, single true, hide max (the row's largest logit masked),
                    over non-finite (the masked logits replaced by inf, -inf or NaN: a masked class is never
                    read, so they must not leak)
    sample weights  per item (the loss's shape without the class axis), scalar, or broadcast (per item along
                    the batch, 1 along the extra dims); values: zeros, negative, huge (the dtype's max/4) and
                    tiny (its smallest normal and subnormal), and moderate, non-uniform draws. Elementwise ops
                    (the binary losses) get a scalar: Keras averages their last axis before weighting.
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.floats import named_value, np_dtype

WHERE_STYLES = ("random", "all-true", "all-false row", "single true", "hide max", "over non-finite")
SW_SHAPES = ("per item", "scalar", "broadcast")
LONG = 1024  # more mask elements than this: a seeded random mask (Hypothesis draws the seed)


def _bools(data, n: int, label: str) -> np.ndarray:
    if n <= LONG:
        return np.asarray(data.draw(st.lists(st.booleans(), min_size=n, max_size=n), label=label), dtype=bool)
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed")
    return np.random.default_rng(seed).random(n) < 0.5


def draw_where(data, x: np.ndarray, axis: int) -> tuple[list, np.ndarray]:
    """(mask as nested lists of bools, x) for a class-axis input x with its classes at `axis`; x comes back
    changed only in style "over non-finite" (its masked entries replaced by specials)."""
    moved = np.moveaxis(np.asarray(x), axis, -1)
    rows = moved.reshape(-1, moved.shape[-1]) if moved.size else moved.reshape(0, moved.shape[-1])
    R, C = rows.shape
    style = data.draw(st.sampled_from(WHERE_STYLES), label="where style")
    if style == "all-true" or not R * C:
        keep = np.ones((R, C), dtype=bool)
    elif style == "single true":
        keep = np.zeros((R, C), dtype=bool)
        for r in range(R):
            keep[r, data.draw(st.integers(0, C - 1), label=f"where kept class (row {r})")] = True
    else:
        keep = _bools(data, R * C, "where").reshape(R, C)
    if style == "all-false row" and R:
        keep[data.draw(st.integers(0, R - 1), label="where masked row")] = False
    if style == "hide max" and R:
        f = np.where(np.isnan(rows.astype(np.float64)), -np.inf, rows.astype(np.float64))
        keep[np.arange(R), np.argmax(f, axis=1)] = False
    x = np.asarray(x)
    if style == "over non-finite" and R * C:
        if keep.all():
            keep[0, 0] = False
        specials = data.draw(st.lists(st.sampled_from([np.inf, -np.inf, np.nan]), min_size=int((~keep).sum()),
                                      max_size=int((~keep).sum())), label="masked logits")
        new_rows = rows.copy()
        new_rows[~keep] = np.asarray(specials, dtype=np.float64).astype(rows.dtype)
        x = np.moveaxis(new_rows.reshape(moved.shape), -1, axis)
    mask = np.moveaxis(keep.reshape(moved.shape), -1, axis)
    return mask.tolist(), x


def draw_sample_weight(data, dtype: str, item_shape: tuple, elementwise: bool):
    """Keras sample weights that broadcast to the per-item loss shape: a float or nested lists (in dtype)."""
    shape_kind = "scalar" if elementwise else data.draw(
        st.sampled_from(SW_SHAPES if len(item_shape) >= 2 else SW_SHAPES[:2]), label="sample_weight shape")
    shape = {"scalar": (), "per item": tuple(item_shape),
             "broadcast": tuple(item_shape[:1]) + (1,) * (len(item_shape) - 1)}[shape_kind]
    if 0 in shape:  # no items: a scalar (nested lists cannot hold an empty array's shape)
        shape = ()
    pool = [0.0, 1.0, -1.0, 0.5, 2.0, 100.0, -3.0, named_value("big", dtype), named_value("tiny", dtype),
            named_value("denorm_min", dtype)]
    n = int(np.prod(shape, dtype=np.int64))
    elements = st.sampled_from(pool) | st.floats(-10, 10)
    values = data.draw(st.lists(elements, min_size=n, max_size=n), label="sample_weight") if n <= LONG else \
        np.random.default_rng(data.draw(st.integers(0, 2**32 - 1), label="sample_weight seed")).normal(size=n)
    w = np.asarray(values, dtype=np.float64).astype(np_dtype(dtype)).astype(np.float64).reshape(shape)
    return float(w) if w.ndim == 0 else w.tolist()


def draw_mask_and_weights(data, op: str, dtype: str, allowed: dict, fixed: dict, profile: str, params: dict,
                          inputs: dict, axis: int | None, item_shape: tuple) -> None:
    """Set params["where"] (and the masked input) / params["sample_weight"] for one example in three of a row
    allowing them (ci and thorough; the quick profile's examples are unchanged). In place."""
    from conformance.cases.combinations import COMBINATION_PROFILES
    from conformance.cases.layout import CLASS_AXIS_INPUTS

    if profile not in COMBINATION_PROFILES:
        return
    if "where" in allowed and "where" not in fixed and axis is not None:
        name = CLASS_AXIS_INPUTS[op][0]
        labels_smoothed = any(np.asarray(a).dtype.kind in "iu" for a in inputs.values()) \
            and params.get("label_smoothing")  # not defined with a mask (reference/ops/cross_entropy.py)
        if not labels_smoothed and np.size(inputs[name]) and data.draw(st.integers(0, 2), label="where?") == 2:
            params["where"], inputs[name] = draw_where(data, inputs[name], axis)
    if "sample_weight" in allowed and "sample_weight" not in fixed:
        if data.draw(st.integers(0, 2), label="sample_weight?") == 2:
            params["sample_weight"] = draw_sample_weight(data, dtype, item_shape, elementwise=axis is None)
