"""Which inputs of each op carry the class axis, and which params a case may use with an implementation."""
from __future__ import annotations

import numpy as np

import reference
from conformance.cases.case import Case

# op -> inputs that carry the class axis (when floating; integer labels never do), from the reference's catalog
CLASS_AXIS_INPUTS = {name: spec.class_axis_inputs for name, spec in reference.OPS.items() if spec.class_axis_inputs}


def default_axis(op: str) -> int | None:
    """The op's default class axis (1 for cross_entropy and nll_loss, -1 elsewhere), None without one."""
    return reference.OPS[op].default_axis


def move_class_axis(case: Case, axis: int) -> Case:
    """Return the case with its class axis at `axis` (1 or -1), moving every class-axis input."""
    current = case.params.get("axis", default_axis(case.op))
    if current is None or current == axis:
        return case
    inputs = dict(case.inputs)
    names = CLASS_AXIS_INPUTS[case.op]
    ndim = max(inputs[n].ndim for n in names if n in inputs)
    src = current % ndim
    dst = axis % ndim
    for name in names:
        a = inputs.get(name)
        if a is None or a.dtype.kind in "iu" or a.ndim != ndim:
            continue
        inputs[name] = np.ascontiguousarray(np.moveaxis(a, src, dst))
    params = dict(case.params, axis=axis)
    if params.get("where") is not None:  # a where= mask has the class-axis input's shape: it moves with it
        params["where"] = np.moveaxis(np.asarray(params["where"], dtype=bool), src, dst).tolist()
    return Case(case.id, case.op, case.dtype, inputs, params, case.source, modes=case.modes, memory=case.memory)


def at_class_axis(case: Case, axis: int | None) -> bool:
    """Does the case's class axis sit at `axis` (the same position, counted from either end)? True for an op
    or a case without a class axis."""
    current = case.params.get("axis", default_axis(case.op))
    arrays = [case.inputs[n] for n in CLASS_AXIS_INPUTS.get(case.op, ()) if n in case.inputs
              and np.asarray(case.inputs[n]).dtype.kind not in "iu"]
    if current is None or axis is None or not arrays:
        return True
    ndim = max(np.ndim(a) for a in arrays)
    return ndim == 0 or current % ndim == axis % ndim


def applicable(case: Case, allowed: dict, fixed: dict, defaults: dict) -> bool:
    """Can an implementation with these declared params express this case?

    A param the case sets to a non-default value must be fixed to that value by the implementation or be
    among the params it supports (None = any value, else a tuple of allowed values).
    """
    if "axis" in fixed and not at_class_axis(case, fixed["axis"]):
        return False  # the row computes along another axis than the case's reference (move_class_axis first)
    for name, value in case.params.items():
        if name == "axis":
            continue
        if name in fixed:
            if fixed[name] != value:
                return False
            continue
        if name in defaults and _same(defaults[name], value):
            continue
        if name not in allowed:
            return False
        options = allowed[name]
        if options is not None and not any(_same(value, o) for o in options):
            return False
    return True


def _same(a, b) -> bool:
    """Equal values, without True == 1 (a boolean param never matches a number)."""
    return a == b and isinstance(a, bool) == isinstance(b, bool)
