"""The arb path's working precision and the op run at it, shared by reference.evaluate and reference.fastpath.

Ziv's strategy starts every case at START_BITS and doubles up to CAP_BITS (reference.evaluate). Tests may
pin both (set the module attributes); while they are pinned the fast path stands aside (`pinned()`), so
the arb path answers at exactly the precision asked for.
"""
from __future__ import annotations

import contextlib

import numpy as np
from flint import ctx

from reference.case import Case
from reference.ext import xs

START_BITS = 192
CAP_BITS = 8192
_DEFAULT_BITS = (START_BITS, CAP_BITS)


def pinned() -> bool:
    """START_BITS / CAP_BITS differ from their defaults (a test asked for a given precision)."""
    return (START_BITS, CAP_BITS) != _DEFAULT_BITS


@contextlib.contextmanager
def working_precision(bits: int):
    saved = ctx.prec
    ctx.prec = bits
    try:
        yield
    finally:
        ctx.prec = saved


def run_op(case: Case, want_cond: bool):
    """The op's OpOutput on the case's exact inputs, as arb balls at the current working precision."""
    args = {name: xs(arr) for name, arr in case.floats.items()}
    args.update(case.labels)
    with np.errstate(all="ignore"):  # cond quantities are float64 and may overflow to inf by design
        return case.spec.fn(**args, **case.params, want_cond=want_cond)


def op_parts(out) -> dict:
    """{"value": ..., "grad:NAME": ...} of an OpOutput: the parts a RefResult reports."""
    return {"value": out.value, **{f"grad:{k}": v for k, v in out.grads.items()}}


def settle_parts(parts: dict, ieee_parts: dict, recompute, dt) -> tuple[dict, int]:
    """Ziv's loop over named output arrays, shared by the value/gradient path and the derivative modes.

    parts: {name: Part} at START_BITS with their cond; ieee_parts: the same under IEEE semantics; recompute():
    {name: Part} again at the current working precision. Every element whose ball rounds to one float of the
    dtype is settled (reference.certify); the open ones are recomputed at doubled precision up to CAP_BITS and
    reported certified=False when still open. Returns ({name: RefArray}, the precision that settled them)."""
    from reference.certify import PartState, ieee_array
    from reference.dtypes import to_numpy
    from reference.result import RefArray

    bits = START_BITS
    conds = {k: p.cond for k, p in parts.items()}
    limits = {k: p.val for k, p in parts.items()}
    states = {k: PartState(p.val.shape) for k, p in parts.items()}
    used = bits
    while True:
        with working_precision(bits):  # the ends of a ball are read at the precision it was made at
            for k, st in states.items():
                st.update(parts[k].val, dt)
        if not any(st.open for st in states.values()) or bits >= CAP_BITS:
            break
        bits = min(2 * bits, CAP_BITS)
        used = bits
        with working_precision(bits):
            parts = recompute()
    out = {}
    for k, st in states.items():
        with working_precision(START_BITS):
            ieee = ieee_array(limits[k], ieee_parts[k].val, st.rounded, dt)
        out[k] = RefArray(exact=st.exact, rounded=to_numpy(st.rounded, dt),
                          cond=np.asarray(conds[k], dtype=np.float64), certified=st.certified.copy(),
                          ieee=None if ieee is None else to_numpy(ieee, dt))
    return out, used
