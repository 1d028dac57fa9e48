"""Completing a fast result from the arb path's own balls: elements float arithmetic left undecided are
settled row by row (settle_rows) or on the whole case, and the exact strings and cond quantities come from
one shared arb evaluation, deferred until first read (LazyRefArray). Package docstring: "Exact strings"."""
from __future__ import annotations

import numpy as np

from reference import precision
from reference.case import Case
from reference.certify import EXACT_BITS, round_end, settle
from reference.decimal_io import exact_string
from reference.dtypes import DTYPES
from reference.ext import FIN, full
from reference.ops.common import check_labels, class_axis, to_rows
from reference.ops.cross_entropy import weight_sum
from reference.ops.params import class_weights
from reference.ops.reduce import count_x, divide_by_denominator
from reference.result import RefArray, RefResult


class Completion:
    """One arb evaluation of the op shared by every part of a fast result (module docstring)."""

    def __init__(self, case: Case, keys: list[str]):
        self.case = case
        self.keys = keys
        self.exact: dict | None = None
        self.cond: dict | None = None
        self.bits = 0
        self.need: dict | None = None  # elements settled by arb (their exact strings come from settle too)

    def run(self, need: dict | None = None, rounded: dict | None = None, certified: dict | None = None) -> None:
        """Fill exact strings and cond; settle the elements marked in `need` (rounded/certified in place)."""
        case, dt = self.case, self.case.dt
        bits = precision.START_BITS
        with precision.working_precision(bits):
            out = precision.run_op(case, want_cond=True)
        parts = precision.op_parts(out)
        self.cond = {k: np.asarray(parts[k].cond, dtype=np.float64) for k in self.keys}
        exact = {k: np.empty(parts[k].val.shape, dtype=object) for k in self.keys}
        need = need or {k: np.zeros(parts[k].val.shape, dtype=bool) for k in self.keys}
        if rounded is None:  # settled again only for their exact strings: the same balls, the same answers
            rounded = {k: np.zeros(parts[k].val.shape) for k in self.keys}
            certified = {k: np.zeros(parts[k].val.shape, dtype=bool) for k in self.keys}
        pending = {k: np.ones(parts[k].val.shape, dtype=bool) for k in self.keys}
        used = bits
        while True:
            with precision.working_precision(bits):
                for k in self.keys:
                    val = parts[k].val
                    for idx in zip(*np.nonzero(pending[k])) if val.ndim else ([()] if pending[k][()] else []):
                        x = val[idx]
                        if need[k][idx]:
                            s = settle(x, dt)
                            rounded[k][idx], certified[k][idx], exact[k][idx] = s.rounded, s.certified, s.exact
                            done = s.settled
                        else:
                            exact[k][idx], done = _exact_of(x)
                        if done:
                            pending[k][idx] = False
            if not any(p.any() for p in pending.values()) or bits >= precision.CAP_BITS:
                break
            bits = min(2 * bits, precision.CAP_BITS)
            used = bits
            with precision.working_precision(bits):
                parts = precision.op_parts(precision.run_op(case, want_cond=False))
        self.exact = exact
        self.bits = used
        self.case = None  # the inputs are no longer needed

    def ensure(self) -> None:
        if self.exact is None:
            self.run(self.need)


def settle_rows(case: Case, need: dict, rounded: dict, certified: dict) -> int | None:
    """Settle the undecided elements on a sub-case made of their rows alone, as the arb path would: rows are
    independent in softmax, log_softmax and per-item cross_entropy (a sum's gradient is the per-item one; a
    mean's divides it by the whole case's denominator, built here exactly as the op builds it). The balls
    are the arb path's own (same row computations, same precisions), so the answers are identical.
    Returns the highest precision used, or None where only the whole case can tell (an undecided sum or
    mean value; probability targets with a weight_sum mean, whose gradient involves the mean)."""
    op, p, dt = case.spec.name, case.params, case.dt
    main = "logits" if op == "cross_entropy" else "x"
    probs = op == "cross_entropy" and "target" in case.floats
    reduction = p.get("reduction", "none")
    if reduction != "none" and need["value"].any():
        return None
    if reduction == "mean" and probs and p["mean_denominator"] == "weight_sum":
        return None
    ax = class_axis(p["axis"], case.floats[main].ndim)
    rows, _ = to_rows(case.floats[main], ax)
    R, C = rows.shape
    pos = {}  # key -> flat index of each element, in row form (R, C) or (R, 1) for per-item values
    for key, mask in need.items():
        flat = np.arange(mask.size).reshape(mask.shape)
        if key == "value" and op == "cross_entropy":
            if reduction == "none":
                pos[key] = flat.reshape(R, 1)
        else:
            pos[key] = to_rows(flat, ax)[0]
    hit = np.zeros(R, dtype=bool)
    for key, where in pos.items():
        hit |= need[key].reshape(-1)[where].any(axis=1)
    sel = np.nonzero(hit)[0]
    floats = {main: rows[sel]}
    labels = {}
    if probs:
        floats["target"] = to_rows(case.floats["target"], ax)[0][sel]
    elif op == "cross_entropy":
        labels["target"] = case.labels["target"].reshape(-1)[sel]
    params = {**p, "axis": -1}
    if op == "cross_entropy":
        params["reduction"] = "none"
    sub = Case(case.spec, dt, floats, labels, params)
    pending = {key: need[key].reshape(-1)[where[sel]] for key, where in pos.items()}
    bits = precision.START_BITS
    while True:
        with precision.working_precision(bits):
            D = None
            if reduction == "mean":
                if probs:
                    D = count_x(R)
                else:
                    y = case.labels["target"].reshape(-1)
                    counted = check_labels(y, C, p["ignore_index"])
                    if p["mean_denominator"] == "weight_sum":
                        w = class_weights(p["weight"], C)
                        D = weight_sum(w if w is not None else full((C,), 1), y, counted)
                    else:
                        D = count_x(int(counted.sum()))
            parts = precision.op_parts(precision.run_op(sub, want_cond=False))
            for key, todo in pending.items():
                val = parts[key].val.reshape(len(sel), -1)
                flat_r, flat_c = rounded[key].reshape(-1), certified[key].reshape(-1)
                for i, j in zip(*np.nonzero(todo)):
                    x = val[i, j]
                    if D is not None and key != "value":
                        x, _ = divide_by_denominator(x, D)
                    st = settle(x, dt)
                    at = pos[key][sel[i], j]
                    flat_r[at], flat_c[at] = st.rounded, st.certified
                    if st.settled:
                        todo[i, j] = False
        if not any(t.any() for t in pending.values()) or bits >= precision.CAP_BITS:
            return bits
        bits = min(2 * bits, precision.CAP_BITS)


def _exact_of(x) -> tuple[str, bool]:
    """The exact string the arb path prints for ball x, and whether the ball is narrow enough for it
    (reference.certify.settle's rules for an element whose rounding is already decided)."""
    if x.k != FIN:
        s = settle(x, DTYPES["float64"])
        return s.exact, s.settled
    v = x.v
    if v.rad() == 0:
        return exact_string(x), True
    if v.contains(0):
        f64 = DTYPES["float64"]
        if round_end(v.lower(), f64) == 0 and round_end(v.upper(), f64) == 0:
            return "0", True
    return exact_string(x), v.rel_accuracy_bits() >= EXACT_BITS


class LazyRefArray(RefArray):
    """A RefArray whose exact strings and cond are filled from the shared arb evaluation on first read."""

    def __init__(self, key: str, completion: Completion, rounded, certified):
        self._key = key
        self._completion = completion
        self.rounded = rounded
        self.certified = certified
        self.ieee = None

    @property
    def exact(self):
        self._completion.ensure()
        return self._completion.exact[self._key]

    @exact.setter
    def exact(self, value):
        self._completion.ensure()
        self._completion.exact[self._key] = value

    @property
    def cond(self):
        self._completion.ensure()
        return self._completion.cond[self._key]

    @cond.setter
    def cond(self, value):
        self._completion.ensure()
        self._completion.cond[self._key] = value

    @property
    def materialised(self) -> bool:
        return self._completion.exact is not None


def plain(result: RefResult) -> RefResult:
    """The same result with every array a plain RefArray (exact strings and cond computed now)."""
    def one(a: RefArray) -> RefArray:
        if not isinstance(a, LazyRefArray):
            return a
        return RefArray(exact=a.exact, rounded=a.rounded, cond=a.cond, certified=a.certified, ieee=a.ieee)

    return RefResult(op=result.op, dtype=result.dtype, value=one(result.value),
                     grads={k: one(g) for k, g in result.grads.items()}, precision_bits=result.precision_bits,
                     derivs=dict(result.derivs))
