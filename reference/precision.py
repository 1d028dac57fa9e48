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
