"""Op facts have one home, reference.OPS: every table the cases, layout and report stages use is derived from
it. Adding an op to the reference (and nowhere else) must show up in each of them, or fail here."""
from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from conformance.cases import layout, strategies
from conformance.report import verdicts
from reference.ops.spec import DOMAINS

OPS = list(reference.OPS)


def test_every_op_has_generation_domains_for_exactly_its_inputs():
    assert list(strategies.OP_INPUTS) == OPS
    for name, spec in reference.OPS.items():
        assert [n for n, _ in strategies.OP_INPUTS[name]] == list(spec.input_names), name
        assert all(domain in DOMAINS for _, domain in strategies.OP_INPUTS[name]), name


def test_class_axis_tables_follow_the_catalog():
    for name, spec in reference.OPS.items():
        assert layout.CLASS_AXIS_INPUTS.get(name, ()) == spec.class_axis_inputs
        axis = layout.default_axis(name)
        if spec.class_axis_inputs:
            assert axis == spec.defaults["axis"] and axis in (1, -1)
        else:
            assert axis is None and "axis" not in spec.defaults, name


def test_labels_are_never_on_the_class_axis_and_never_differentiable():
    for spec in reference.OPS.values():
        for i in spec.inputs:
            if i.domain == "label":
                assert i.kind == "labels" and not i.differentiable and not i.class_axis, spec.name


def test_the_report_orders_every_op_of_the_catalog():
    assert verdicts.OP_ORDER == tuple(OPS)


@pytest.mark.parametrize("op", OPS)
@settings(max_examples=5, deadline=None, database=None)
@given(data=st.data())
def test_drawn_cases_have_the_catalogs_inputs_and_axis(op, data):
    """The strategies draw every input the catalog declares, floating inputs in the dtype under test, and
    class-axis inputs share the class axis' length."""
    spec = reference.OPS[op]
    case = strategies.draw_case(data, op, "float32", {}, {}, "quick")
    assert set(case.inputs) == set(spec.input_names)
    axis = case.params.get("axis", spec.default_axis)
    lengths = {case.inputs[n].shape[axis] for n in spec.class_axis_inputs
               if case.inputs[n].dtype.kind == "f" and case.inputs[n].ndim}
    assert len(lengths) <= 1
    for i in spec.inputs:
        a = case.inputs[i.name]
        if i.domain == "label":
            assert a.dtype.kind == "i"
        elif i.domain != "target":
            assert a.dtype == np.float32, (i.name, a.dtype)
        if i.domain in ("prob", "binary") and a.size:
            finite = a[np.isfinite(a)]
            assert (finite >= 0).all(), i.name
        if i.domain == "logp" and a.size:
            assert (a[~np.isnan(a)] <= 0).all(), i.name
