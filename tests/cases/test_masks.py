"""where= masks and Keras sample weights drawn with the cases (conformance/cases/masks.py via draw_case), moved
with the class axis, and the mask predicates of conformance/judge/mask_predicates.py."""
from __future__ import annotations

import numpy as np
import pytest

from conformance.cases.case import Case
from conformance.cases.layout import move_class_axis
from conformance.judge.known_predicates import Element
from conformance.judge.mask_predicates import item_label_class_masked, observed_nan_at_masked_class
from hypothesis import settings

from tests.cases.test_combinations import SETTINGS, cases, find

MANY = settings(SETTINGS, max_examples=2000)

JAX_LOG_SOFTMAX = ("log_softmax", {"axis": None, "where": None}, {})
OPTAX_INT = ("cross_entropy", {"axis": None, "where": None}, {"reduction": "none"})
KERAS_SPARSE = ("cross_entropy", {"reduction": ("none", "sum", "mean"), "sample_weight": None}, {"axis": -1})
KERAS_BCE = ("binary_cross_entropy", {"reduction": ("none", "sum", "mean"), "sample_weight": None}, {})


def _mask(case) -> np.ndarray | None:
    where = case.params.get("where")
    return None if where is None else np.asarray(where, dtype=bool)


def _rows(case, name="x"):
    axis = case.params.get("axis", -1)
    x = np.asarray(case.inputs[name], dtype=np.float64)
    return np.moveaxis(x, axis, -1).reshape(-1, x.shape[axis]), np.moveaxis(_mask(case), axis, -1).reshape(
        -1, x.shape[axis])


def test_where_masks_have_the_input_shape_and_reach_every_edge():
    def shaped(c):
        m = _mask(c)
        return m is not None and m.shape == np.shape(c.inputs["x"]) and m.size > 0

    assert find(cases(JAX_LOG_SOFTMAX), shaped, SETTINGS)
    edges = {
        "all-false row": lambda c: shaped(c) and (~_rows(c)[1]).all(axis=1).any() and _rows(c)[1].any(),
        "single true": lambda c: shaped(c) and _rows(c)[1].shape[1] > 2 and (_rows(c)[1].sum(axis=1) == 1).all(),
        "hide max": lambda c: shaped(c) and _rows(c)[1].shape[1] > 1 and not _rows(c)[1][
            0, int(np.argmax(np.nan_to_num(_rows(c)[0][0], nan=-np.inf)))],
        "masked non-finite": lambda c: shaped(c) and (~np.isfinite(_rows(c)[0]) & ~_rows(c)[1]).any(),
    }
    for name, edge in edges.items():
        assert find(cases(JAX_LOG_SOFTMAX), edge, SETTINGS), name


def test_where_is_drawn_for_integer_labels_without_smoothing_and_never_in_quick():
    labels = find(cases(OPTAX_INT), lambda c: _mask(c) is not None and c.inputs["target"].dtype.kind == "i",
                  SETTINGS)
    assert _mask(labels).shape == labels.inputs["logits"].shape
    with pytest.raises(AssertionError):
        find(cases(JAX_LOG_SOFTMAX, profile="quick"), lambda c: "where" in c.params, SETTINGS)


def test_sample_weights_broadcast_to_the_items_with_zero_negative_and_huge_values():
    def items(c):  # the logits' shape without the class axis (-1 for these rows)
        return np.shape(c.inputs["logits"])[:-1]

    # one example in three has a weight, a third of those broadcast: 400 derandomized examples found none of
    # the rarer kinds on Python 3.12, or after other test modules ran in the same process; 2,000 do

    def broadcasts(c):
        w = c.params.get("sample_weight")
        return w is not None and np.broadcast_shapes(np.shape(w), items(c)) == items(c)

    assert find(cases(KERAS_SPARSE), lambda c: broadcasts(c) and np.shape(c.params["sample_weight"]) == items(c)
                and len(items(c)) >= 1, MANY)
    assert find(cases(KERAS_SPARSE), lambda c: broadcasts(c) and np.ndim(c.params["sample_weight"]) == 0, MANY)
    assert find(cases(KERAS_SPARSE), lambda c: broadcasts(c) and len(items(c)) >= 2
                and np.shape(c.params["sample_weight"])[1:] == (1,) * (len(items(c)) - 1),
                MANY)
    for value in (0.0, -1.0):
        assert find(cases(KERAS_SPARSE), lambda c: broadcasts(c) and value in np.ravel(c.params["sample_weight"]),
                    MANY)
    assert find(cases(KERAS_SPARSE), lambda c: broadcasts(c) and np.max(np.abs(c.params["sample_weight"])) > 1e37,
                MANY)
    # the binary losses (Keras averages their last axis before weighting): a scalar
    bce = find(cases(KERAS_BCE), lambda c: c.params.get("sample_weight") is not None, MANY)
    assert np.ndim(bce.params["sample_weight"]) == 0


def test_move_class_axis_moves_the_mask_with_the_input():
    x = np.arange(6.0).reshape(2, 3)
    where = [[True, False, True], [False, False, True]]
    case = Case("c", "log_softmax", "float32", {"x": x}, {"axis": 1, "where": where}, "catalog")
    moved = move_class_axis(case, 0)
    assert np.array_equal(np.asarray(moved.params["where"]), np.asarray(where).T)
    assert np.array_equal(moved.inputs["x"], x.T)


def _record(part, shape, observed, where, labels=None, axis=-1):
    inputs = {"logits": {"dtype": "float32", "shape": list(shape), "data": [0.0] * int(np.prod(shape))}}
    if labels is not None:
        inputs["target"] = {"dtype": "int64", "shape": [len(labels)], "data": labels}
    ref = {"shape": list(shape), "rounded": [0.0] * len(observed), "exact": ["0"] * len(observed)}
    obs = {"shape": list(shape), "data": observed}
    key = part.split(":")[-1]
    return {"dtype": "float32", "params": {"axis": axis, "where": where}, "inputs": inputs,
            "observed": {"grad": {key: obs}} if part != "value" else {"value": obs},
            "reference": {"grad": {key: ref}} if part != "value" else {"value": ref}}


def test_mask_predicates_hold_only_at_masked_classes_and_masked_labels():
    where = [[True, False], [True, True]]
    rec = _record("grad:target", (2, 2), [0.0, float("nan"), float("nan"), 0.0], where)
    assert observed_nan_at_masked_class(Element(rec, "grad:target", 1))
    assert not observed_nan_at_masked_class(Element(rec, "grad:target", 2))  # a kept class
    rec = _record("grad:logits", (2, 2), [0.5, -1.0, 0.2, -0.2], where, labels=[1, 0])
    assert item_label_class_masked(Element(rec, "grad:logits", 0))  # row 0's label 1 is masked
    assert not item_label_class_masked(Element(rec, "grad:logits", 2))  # row 1's label 0 is kept
    value = _record("value", (2,), [3.0, 1.0], where, labels=[1, 0])
    assert item_label_class_masked(Element(value, "value", 0))
    assert not item_label_class_masked(Element(value, "value", 1))
