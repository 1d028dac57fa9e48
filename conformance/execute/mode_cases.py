"""The mode cases of a cell (implementations that declare vjp / jvp / hvp: conformance/adapters/modes.py).

After the cell's plain cases: the profile's `mode_catalog` readable mode cases (the mode catalog's, then the
op's largest catalog cases), then its `mode_examples` Hypothesis examples (a case and its cotangent / tangents, every draw labelled;
generation only, no shrinking: each failure is kept as drawn). Each mode case is one call asking for every
mode the row declares; its record judges only the parts vjp:IN / jvp:IN / hvp:IN (the value and gradient of
the same inputs are the plain cases'), with the same comparison (ULP error, bound ratio, special values), and
keeps `derivative_request`. ci samples (one readable and one drawn mode case per cell); thorough runs 3 + 40;
quick (the CI test command) runs them for custom kernels (--impl) only.
The reference's mode answers are cached like plain ones (the request is part of the key).
"""
from __future__ import annotations

from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis import strategies as st

from conformance.adapters.modes import param_grads_for
from conformance.cases.build import catalog_cases
from conformance.cases.modes import (draw_request, float_grads, mode_catalog_cases, readable_request,
                                     with_request)
from conformance.cases.strategies import draw_case
from conformance.execute.reference_cache import op_defaults
from conformance.plan.choices import PROFILES

MAX_ELEMENTS = 256  # catalog cases larger than this are left to the plain cells


def run_modes(ctx, evaluate_case, usable, cell_seed) -> list[dict]:
    """Every mode record of the cell ([] for a row without modes). The cell runner passes its own
    evaluate_case (reference with the modes, one call asking for them, the comparison, and the baseline's
    for a --baseline kernel: one record, as for a plain case), usable(ctx, case) and cell_seed."""

    impl = ctx.impl
    profile = PROFILES.get(ctx.profile, PROFILES["ci"])
    if not impl.modes or ctx.dtype not in impl.dtypes:
        return []
    if not profile.get("builtin_modes", True) and not impl.id.startswith("custom:"):
        return []  # quick: custom kernels only (the built-in rows' mode findings are the ci profile's)
    records = []
    axis = impl.fixed_params.get("axis")
    candidates = catalog_cases(impl.op, ctx.dtype, ctx.profile, axis)
    size = {id(c): sum(int(a.size) for a in c.inputs.values()) for c in candidates}
    # the mode catalog's cases, then the largest catalog cases (a cotangent's per-item values only matter
    # with several items), in catalog order
    ordered = mode_catalog_cases(impl.op, ctx.dtype, axis) + sorted(
        (c for c in candidates if size[id(c)] <= MAX_ELEMENTS), key=lambda c: -size[id(c)])
    for case in ordered:
        if len(records) >= int(PROFILES.get(ctx.profile, PROFILES["ci"]).get("mode_catalog", 1)):
            break
        case.params = {**impl.fixed_params, **case.params}
        if not usable(ctx, case):
            continue
        record = _readable(ctx, case, evaluate_case)
        if record is not None:
            records.append(record)
    n = int(PROFILES.get(ctx.profile, PROFILES["ci"]).get("mode_examples", 0)) if ctx.examples is None else \
        min(ctx.examples, 2)
    if n <= 0:
        return records

    @seed(cell_seed(ctx.seed, ctx.cell + "|modes"))
    @settings(max_examples=n, database=None, deadline=None, derandomize=False, print_blob=False,
              suppress_health_check=list(HealthCheck), phases=[Phase.generate])
    @given(st.data())
    def prop(data):
        case = draw_case(data, impl.op, ctx.dtype, impl.params, impl.fixed_params, ctx.profile)
        assume(usable(ctx, case))
        case.params = {**op_defaults(case.op), **case.params}
        base = ctx.refs.get(case.op, case.dtype, case.inputs, case.params)
        names = float_grads(impl, case)
        assume(not isinstance(base, Exception) and names)
        request = draw_request(data, case, base.value.shape, names, impl.modes, param_grads_for(impl, case.params))
        mode_case = with_request(case, request, "")
        mode_case.id = f"hyp-modes-{mode_case.key()[:12]}"
        records.append(evaluate_case(ctx, mode_case))

    prop()
    return records


def _readable(ctx, case, evaluate_case):
    case.params = {**op_defaults(case.op), **case.params}
    base = ctx.refs.get(case.op, case.dtype, case.inputs, case.params)
    names = float_grads(ctx.impl, case)
    if isinstance(base, Exception) or not names:
        return None
    request, suffix = readable_request(case, base.value.shape, names, ctx.impl.modes,
                                       param_grads_for(ctx.impl, case.params))
    return evaluate_case(ctx, with_request(case, request, f"{case.id} {suffix}"))
