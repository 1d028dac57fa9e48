"""Certify the derivative parts the way reference.evaluate certifies values: Ziv's loop over arb balls.

The parts (reference.derivs.parts) are computed at START_BITS with their cond quantities and once more under
IEEE semantics (docs/special-values.md); every element whose ball rounds to one float of the dtype is
settled (reference.certify), the rest are recomputed at doubled precision up to CAP_BITS and reported with
certified=False when still open. No fast path: the derivative modes always take the arb path.
"""
from __future__ import annotations

import dataclasses

import numpy as np

from reference import precision
from reference.derivs import shared, shared_hvp
from reference.derivs.cond import fill_conds
from reference.derivs.dual import tangent
from reference.derivs.parts import _axis, _run, float_inputs, item_sum, layout, vjp_formula
from reference.derivs.request import DerivRequest
from reference.derivs.weights import weight_parts
from reference.ext import NAN, X, semantics, xs
from reference.ops.common import is_limit
from reference.ops.spec import Part
from reference.precision import run_op
from reference.precision import working_precision


def evaluate_derivs(case, req: DerivRequest) -> tuple[dict, int]:
    """({part name: RefArray}, the precision that settled them) for the request."""
    if req.empty:
        return {}, 0
    dt = case.dt
    bits = precision.START_BITS
    with working_precision(bits):
        parts = compute(case, req, want_cond=True)
        with semantics("ieee"):
            ieee_parts = compute(case, req, want_cond=False)
    return precision.settle_parts(parts, ieee_parts, lambda: compute(case, req, want_cond=False), dt)


def undefined_where_value_is(jvp: np.ndarray, value: np.ndarray) -> np.ndarray:
    """Under limit semantics an item whose value is NaN is undefined, so is its directional derivative
    (docs/special-values.md rules 2 and 6): the gradient's NaN says so already, except for a reduced output
    over no elements (a mean over an empty batch is 0/0 = NaN while the sum of g t over nothing is 0)."""
    if not is_limit():
        return jvp
    out = jvp.copy()
    for idx, v in np.ndenumerate(value):
        if v.k == NAN:
            out[idx] = X(NAN)
    return out


def compute(case, req, want_cond: bool) -> dict:
    """{part name: Part} for the request (reference.derivs.request.DerivRequest) at the current precision."""
    kind, ax = layout(case), _axis(case)
    names = float_inputs(case)
    base = run_op(case, want_cond=want_cond)
    vf = req.cotangent if req.cotangent is not None else np.ones(base.value.val.shape)
    if case.spec.dims is not None and req.hvp:  # items sharing inputs: the hvp per unit (shared_hvp)
        parts = compute(case, dataclasses.replace(req, hvp=False), want_cond)
        parts.update(shared_hvp.compute(case, req, names, vf, want_cond))
        return parts
    if kind == "shared":  # items sharing inputs: vjp and jvp from the op run per item
        parts = shared.compute(case, req, names, base, want_cond, undefined_where_value_is)
        parts.update(weight_parts(case, req.params, vf, want_cond))
        return parts
    v = xs(vf)
    parts = {}
    if req.cotangent is not None:
        fv = vjp_formula(case, base, v, kind, ax)
        for name in names:
            parts[f"vjp:{name}"] = Part(fv[name], np.zeros(fv[name].shape))
    for name, t in req.tangents.items():
        if kind == "vector":
            val = tangent(_run(case, {name: t}).value.val)
        else:
            val = undefined_where_value_is(item_sum(base.grads[name].val * xs(t), kind, ax), base.value.val)
        parts[f"jvp:{name}"] = Part(val, np.zeros(val.shape))
    if req.hvp:
        dual = _run(case, req.tangents)
        fv = vjp_formula(case, dual, v, kind, ax)
        for name in names:
            parts[f"hvp:{name}"] = Part(tangent(fv[name]), np.zeros(fv[name].shape))
    if want_cond:
        fill_conds(case, req, kind, ax, base, vf, parts)
    parts.update(weight_parts(case, req.params, vf, want_cond))
    return parts
