"""cases/build.py (catalog entries -> concrete cases) and cases/layout.py (class axis, applicable params)."""
from __future__ import annotations

import numpy as np
import pytest

from conformance.cases.build import catalog_cases, resolve_input, resolve_number, resolve_params
from conformance.cases.case import Case
from conformance.cases.layout import applicable, move_class_axis
from reference.catalog import Empty, Labels, Random, RandomLabels


@pytest.mark.parametrize("dtype, biggest", [("float16", 65504.0), ("bfloat16", 3.3895313892515355e38),
                                            ("float32", 3.4028234663852886e38), ("float64", 1.7976931348623157e308)])
def test_named_values_resolve_per_dtype(dtype, biggest):
    assert resolve_number("max", dtype) == biggest
    assert resolve_number("-max", dtype) == -biggest
    assert np.isnan(resolve_number("nan", dtype)) and resolve_number("-inf", dtype) == -np.inf
    one_minus = resolve_number("1-ulp", dtype)
    assert one_minus < 1 and np.nextafter(np.float64(one_minus), 2) <= 1


def test_inputs_resolve_to_arrays_of_the_right_kind():
    labels = resolve_input(Labels([0, 2]), "float16")
    assert labels.dtype == np.int64 and labels.tolist() == [0, 2]
    empty = resolve_input(Empty((0, 3)), "bfloat16")
    assert empty.shape == (0, 3) and str(empty.dtype) == "bfloat16"
    a, b = resolve_input(Random((2, 5), 3.0, 7), "float32"), resolve_input(Random((2, 5), 3.0, 7), "float32")
    assert a.dtype == np.float32 and np.array_equal(a, b)  # seeded: the same draw every time
    drawn = resolve_input(RandomLabels((4,), 10, 1), "float64")
    assert drawn.dtype == np.int64 and ((0 <= drawn) & (drawn < 10)).all()
    x = resolve_input([[1, "max"]], "float16")
    assert x.dtype == np.float16 and x.tolist() == [[1.0, 65504.0]]


def test_weight_params_resolve_named_values_and_other_params_stay():
    params = resolve_params({"weight": [1, "big"], "reduction": "sum"}, "float16")
    assert params["weight"][1] == resolve_number("big", "float16") and params["reduction"] == "sum"


def test_moving_the_class_axis_moves_floating_inputs_only_and_round_trips():
    case = catalog_cases("cross_entropy", "float32")[0]
    spatial = Case("s", "cross_entropy", "float32",
                   {"logits": np.arange(12, dtype=np.float32).reshape(2, 3, 2), "target": np.array([[0, 2], [1, 1]])},
                   {})
    moved = move_class_axis(spatial, -1)
    assert moved.inputs["logits"].shape == (2, 2, 3) and moved.params["axis"] == -1
    assert np.array_equal(moved.inputs["target"], spatial.inputs["target"])
    assert np.array_equal(moved.inputs["logits"][0, 1], spatial.inputs["logits"][0, :, 1])
    back = move_class_axis(moved, 1)
    assert np.array_equal(back.inputs["logits"], spatial.inputs["logits"])
    assert move_class_axis(case, 1) is case  # already there: the same case


def test_applicable_params():
    case = Case("c", "cross_entropy", "float32", {}, {"reduction": "sum", "label_smoothing": 0.1})
    assert applicable(case, {"reduction": None, "label_smoothing": None}, {}, {})
    assert not applicable(case, {"reduction": None}, {}, {})                          # smoothing not supported
    assert not applicable(case, {"label_smoothing": None}, {"reduction": "mean"}, {})  # fixed to another value
    assert applicable(case, {"label_smoothing": (0.1,)}, {"reduction": "sum"}, {})
    flag = Case("f", "kl_div", "float32", {}, {"log_target": True})
    assert not applicable(flag, {"log_target": (1,)}, {}, {})                         # True is not the number 1
    assert applicable(flag, {}, {}, {"log_target": True})                             # the default value


def test_moving_the_class_axis_keeps_the_mode_request_and_the_memory_layout():
    """A regression: the move passed the memory layout positionally into the mode request's slot, so every
    moved case became a 'mode case' whose request was the string "contiguous" (internal errors in the run)."""
    request = {"cotangent": None, "tangents": {}, "hvp": True}
    case = Case("c", "softmax", "float32", {"x": np.arange(6, dtype=np.float32).reshape(2, 3)}, {"axis": 1},
                modes=request, memory="transposed")
    moved = move_class_axis(case, -1)
    assert moved.modes is request and moved.memory == "transposed"
    plain = move_class_axis(Case("p", "softmax", "float32", {"x": np.ones((2, 3), np.float32)}, {"axis": 1}), -1)
    assert plain.modes is None and plain.memory == "contiguous"


def test_a_row_with_a_fixed_class_axis_takes_only_cases_at_that_axis():
    """optax softmax_cross_entropy(axis=0) computes along axis 0: a case whose class axis is the last one
    (the corpus's, as recorded for other rows) is not applicable until moved there (the catalog and the
    corpus replay both move it); before this check such cases ran and came back in another shape."""
    from conformance.cases.case import Case
    from conformance.cases.layout import at_class_axis, move_class_axis

    case = Case(id="c", op="cross_entropy", dtype="float64",
                inputs={"logits": np.zeros((2, 3)), "target": np.full((2, 3), 1 / 3)},
                params={"axis": -1, "reduction": "none"})
    fixed = {"axis": 0, "reduction": "none"}
    assert not at_class_axis(case, 0) and not applicable(case, {}, fixed, {})
    moved = move_class_axis(case, 0)
    assert moved.inputs["logits"].shape == (3, 2) and at_class_axis(moved, 0)
    assert applicable(moved, {}, fixed, {})
    assert at_class_axis(case, 1) and applicable(case, {}, {"axis": 1, "reduction": "none"}, {})  # -1 == 1 in 2-D
