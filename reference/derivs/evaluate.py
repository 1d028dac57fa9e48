"""Certify the derivative parts the way reference.evaluate certifies values: Ziv's loop over arb balls.

The parts (reference.derivs.parts) are computed at START_BITS with their cond quantities and once more under
IEEE semantics (docs/special-values.md); every element whose ball rounds to one float of the dtype is
settled (reference.certify), the rest are recomputed at doubled precision up to CAP_BITS and reported with
certified=False when still open. No fast path: the derivative modes always take the arb path.
"""
from __future__ import annotations

from reference import precision
from reference.derivs.parts import compute
from reference.derivs.request import DerivRequest
from reference.dtypes import to_numpy
from reference.ext import semantics
from reference.precision import working_precision
from reference.result import RefArray


def evaluate_derivs(case, req: DerivRequest) -> tuple[dict, int]:
    """({part name: RefArray}, the precision that settled them) for the request."""
    from reference.evaluate import _ieee_array, _PartState

    if req.empty:
        return {}, 0
    dt = case.dt
    bits = precision.START_BITS
    with working_precision(bits):
        parts = compute(case, req, want_cond=True)
        with semantics("ieee"):
            ieee_parts = compute(case, req, want_cond=False)
    conds = {k: p.cond for k, p in parts.items()}
    limits = {k: p.val for k, p in parts.items()}
    states = {k: _PartState(p.val.shape) for k, p in parts.items()}
    used = bits
    while True:
        with working_precision(bits):
            for k, st in states.items():
                st.update(parts[k].val, dt)
        if not any(st.open for st in states.values()) or bits >= precision.CAP_BITS:
            break
        bits = min(2 * bits, precision.CAP_BITS)
        used = bits
        with working_precision(bits):
            parts = compute(case, req, want_cond=False)
    out = {}
    for k, st in states.items():
        with working_precision(precision.START_BITS):
            ieee = _ieee_array(limits[k], ieee_parts[k].val, st.rounded, dt)
        out[k] = RefArray(exact=st.exact, rounded=to_numpy(st.rounded, dt), cond=conds[k],
                          certified=st.certified.copy(), ieee=None if ieee is None else to_numpy(ieee, dt))
    return out, used
