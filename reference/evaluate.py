"""reference.evaluate: the certified answer for one case.

evaluate(op, dtype, inputs, params) validates the case (reference.case), then asks each evaluation path in
PATHS in turn; the first that returns a result wins. Today there is one path, the arb path below; a faster
path (float64 with a rigorous error bound) can be put in front of it and return None when it cannot certify.

The arb path is Ziv's strategy: run the op in ball arithmetic at precision P (START_BITS), settle every
element whose ball rounds to one float of the dtype (reference.certify), and for the rest double P up to
CAP_BITS. Elements still open at the cap are reported with certified=False, never as certified.
Special values: the op runs under limit semantics (the value reported) and once more under IEEE semantics;
where the two differ in kind (finite / +inf / -inf / NaN), RefArray.ieee holds the IEEE value.
"""
from __future__ import annotations

from typing import Callable


from reference import fastpath, precision
from reference.case import Case, prepare
from reference.ext import semantics
from reference.precision import op_parts, run_op, working_precision
from reference.result import RefResult


def evaluate(op: str, dtype: str, inputs: dict, params: dict | None = None, *, cotangent=None,
             tangents=None, hvp: bool = False, param_grads=None) -> RefResult:
    """The correctly rounded value and gradients of `op` on `inputs` (see docs/ops.md), certified; with a
    cotangent, tangents or hvp also the derivative parts vjp:IN, jvp:IN, hvp:IN (reference.derivs); with
    param_grads (["weight"], ["pos_weight"]) vjp:weight / vjp:pos_weight (reference.derivs.weights).

    Raises reference.errors.CaseError for a malformed case and UndefinedError (a CaseError) where the
    mathematics is undefined (an out-of-range class label).
    """
    case = prepare(op, dtype, inputs, params)
    for path in PATHS:
        result = path(case)
        if result is not None:
            break
    else:
        raise AssertionError("no evaluation path answered")
    if cotangent is not None or tangents is not None or hvp or param_grads:
        from reference.derivs import evaluate_derivs, parse_request

        req = parse_request(case, result.value.shape, cotangent, tangents, hvp, param_grads)
        result.derivs, bits = evaluate_derivs(case, req)
        result.precision_bits = max(result.precision_bits, bits)
    return result


def arb_path(case: Case) -> RefResult:
    dt = case.dt
    bits = precision.START_BITS
    with working_precision(bits):
        out = run_op(case, want_cond=True)
        with semantics("ieee"):
            ieee_out = run_op(case, want_cond=False)
    arrays, used = precision.settle_parts(op_parts(out), op_parts(ieee_out),
                                          lambda: op_parts(run_op(case, want_cond=False)), dt)
    grads = {k[5:]: a for k, a in arrays.items() if k.startswith("grad:")}
    return RefResult(op=case.spec.name, dtype=dt.name, value=arrays["value"], grads=grads,
                     precision_bits=used)


def fast_path(case: Case) -> RefResult | None:
    """reference.fastpath (float arithmetic with a rigorous error bound; None when it does not apply), used
    only while reference.precision keeps its default bits (a test that pins the arb precision gets the arb
    path)."""
    return None if precision.pinned() else fastpath.fast_path(case)

PATHS: list[Callable[[Case], RefResult | None]] = [fast_path, arb_path]
