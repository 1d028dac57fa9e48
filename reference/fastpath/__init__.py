"""A fast path for the hot ops: vectorised float arithmetic with a rigorous running error bound.

fast_path(case) -> RefResult | None answers softmax, log_softmax and cross_entropy (integer and probability
targets) on finite inputs, for the value and every gradient. It returns None (and reference.evaluate goes on
to the arb path) for anything else: another op, a non-finite input, an empty array, a parameter it does not
check itself (the arb path then validates and raises), a zero mean denominator, a process running with
flush-to-zero (TwoSum needs gradual underflow).

A-priori bounds first (apriori.py): for softmax and cross_entropy with integer labels and no label
smoothing on float32 / float16 / bfloat16 cases, the plain float64 formula with an a-priori error bound per
row (no error arrays: about three array passes above plain NumPy); the same ops and log_softmax on float64: a
double-double exp kernel and row sums with a-priori bounds (apriori_dd.py, dd_kernel.py: about 100 float64
array passes, no error arrays); what either leaves undecided goes on as below.

Working format W: float64 for float32 / float16 / bfloat16 cases (every value of those is a float64);
for float64 cases double-double (dd.py: pairs of float64, about 106 bits, the same kind of running bound
with its own rules and certification), and elements it leaves undecided (only values at the bottom of the
float64 range) tried again in numpy.longdouble where it is the x87 80-bit format (64 significand bits;
CE_FASTPATH_FLOAT64=long makes it the only float64 format, as before double-double). The rules below are
those of a single-word W. Let U = 2**-p_W (unit roundoff: 2**-53, 2**-64), ETA = W's smallest subnormal,
TINY = its smallest normal.

Running error bound. Every intermediate quantity is a pair (v, E): v the computed W value, E >= |v - y|
where y is the exact real the formula defines (the same formula the arb path evaluates, reference/ops/).
Inputs are exact (E = 0). E = 0 means "exact", and stays 0 only when an operation is provably exact.
    a + b:   v = fl(a + b); the rounding error r = v - (a + b) is computed exactly by TwoSum (Knuth; exact
             for every finite pair under round-to-nearest, subnormals included), E = Ea + Eb + |r|.
    a * b:   v = fl(a * b); r exactly by Dekker's TwoProduct where it is exact (|a|, |b| <= SAFE and
             |v| >= LOWP, so neither the split overflows nor a partial product underflows), else
             |r| <= U|v| + ETA; r = 0 when a factor is an exact 0. E = |a| Eb + |b| Ea + Ea Eb + |r|.
             A factor that is exactly 1 everywhere: the product is the other factor, E its bound (exact).
    a / b:   needs Eb < |b| / 2. |a/b - a'/b'| <= (Ea + |a/b| Eb) / (|b| - Eb) for |a - a'| <= Ea,
             |b - b'| <= Eb; |a/b| <= |v|(1 + U) + ETA; rounding |r| <= U|v| + ETA (0 when a = 0).
             b an exact power of two everywhere: v = a/b and E = Ea/|b| are exact scalings (checked: finite,
             0 or at least TINY, zero exactly where a and Ea are), and |a'/b - v| <= Ea/|b|.
    exp(a):  ASSUMPTION (A) below: |np.exp(a) - exp(a)| <= N ulp(exp(a)) <= N (2U exp(a) + ETA), hence
             exp(a) <= X := (v + N ETA)(1 + 4NU). With |a' - a| <= Ea <= 1/2,
             |exp(a') - exp(a)| <= exp(a)(e^Ea - 1) <= 1.65 Ea exp(a). E = X (2NU + 1.65 Ea) + N ETA.
             exp(0) is exactly 1 (set, not computed). a + Ea < LOG_UNDER: exp(a') < ETA/2, v := 0, E := ETA.
    log1p(a), a' >= 0:  |log1p(a') - log1p(a)| <= Ea / (1 + max(a - Ea, 0)) (mean value theorem), and by
             (A) |np.log1p(a) - log1p(a)| <= N (2U |log1p(a)| + ETA), |log1p(a)| <= (|v| + N ETA)(1 + 4NU).
             log1p(0) is exactly 0.
    sums:    a fixed pairwise tree of additions (padded to a power of two), each an `a + b` above.
The bound itself is computed in W, rounding to nearest. Each rule is a handful of operations on
non-negative numbers, whose computed value is at least (true value)(1 - U)^8 - 8 ETA; so every inexact
bound is multiplied by (1 + 16U) and increased by 16 ETA, which makes it an upper bound again (and keeps
an inexact bound from underflowing to "exact"). Bounds only ever grow along a computation.

Assumption (A), N = 4 ulp per call of np.exp and np.log1p (float64 and long double). NumPy's own accuracy
tests (numpy/_core/tests/test_umath_accuracy.py with data/umath-validation-set-{exp,log1p}.csv) require
<= 1 ulp for float64 exp and log1p on every code path it ships (its AVX512F/SVML kernels and the libm
fallback); long double calls the C library's expl/log1pl, which glibc's libm-test-ulps lists at <= 1-2 ulp
on x86_64. N = 4 leaves a margin over both. tests/perf/test_fastpath_assumptions.py measures the actual
error against arb on thousands of random arguments per function and format (here: float64 exp 0.69 ulp,
log1p 0.50 ulp; long double exp 0.84 ulp, log1p 0.88 ulp) and fails above 1 ulp, so a library that
breaks (A) is caught.

Certification. An element with bound E is certified when round(lo) and round(hi) are the same float of the
case dtype, where lo = next_down(fl(v - E)) and hi = next_up(fl(v + E)) enclose [v - E, v + E] (one
rounding, then one step outward) and round() is correct round-to-nearest-even into the dtype
(round_to_dtype: the IEEE conversion for float32, exact power-of-two scaling and np.rint for the others;
tested against reference.dtypes' integer rounding). Correct rounding is monotone, so the exact value, which
lies in [lo, hi], rounds to that same float. Exact elements (E = 0) round v itself; an exact zero is +0 (the
arb path's unsigned zero). Where the sign of the exact value is known from the mathematics (softmax > 0,
log_softmax < 0, ...), the enclosure is clipped at zero on the impossible side: a positive value too small
for W still rounds to +0.
Elements not certified are settled exactly as the arb path does it (reference.certify.settle on the arb
balls of the same op, raising the precision from START_BITS to CAP_BITS), so `rounded` and `certified`
agree with the arb path element for element. Where rows are independent (softmax, log_softmax, per-item
cross_entropy, and the gradient of a sum or of a mean, whose denominator is built as the op builds it) only
the rows holding undecided elements are evaluated in arb (settle_rows); otherwise the whole case is.

Exact strings and cond. RefArray.exact must be the exact real to >= 30 digits, which float arithmetic cannot
give, and cond is the arb path's float64 cond quantity. Both come from ONE arb evaluation of the op
(reference/ops, at START_BITS with cond, raising the precision only for elements whose ball is narrower than
reference.certify.EXACT_BITS): the very balls and strings the arb path itself prints. When every element is
certified in float arithmetic that evaluation is deferred until .exact or .cond is first read
(LazyRefArray): code that needs only the correctly rounded values (`rounded`, `certified`) never pays for
it; the conformance run reads every exact string (records store them), so there it runs once per case
(conformance/execute/reference_cache.py materialises before caching). The deferred evaluation skips what the arb path
needs and the fast path does not: the second (IEEE-semantics) run, which cannot differ on finite inputs,
and rounding every element in integer arithmetic.

precision_bits of a fast result: the significand bits of W when float arithmetic certified every element,
else the highest arb precision the undecided elements needed.

Modules: apriori, apriori_dd and dd_kernel (the a-priori paths above), bound (working formats, bounded
arithmetic), dd (double-double bounded arithmetic and its certification into float64), rounding
(certification), formulas (the ops), completion (arb settling, exact strings, lazy results).
"""
from __future__ import annotations

import os

import numpy as np

from reference.case import Case
from reference.fastpath import apriori, apriori_dd
from reference.fastpath.bound import DD, F64, LONG, N_ULP, Arith, B, Working, working_format
from reference.fastpath.dd import DDArith, certify_dd
from reference.fastpath.completion import Completion, LazyRefArray, plain, settle_rows
from reference.fastpath.formulas import OP_FUNCS, Unsupported
from reference.fastpath.rounding import certify, ieee_mode, round_to_dtype
from reference.result import RefResult

__all__ = ["ENABLED", "OPS", "DD", "DDArith", "certify_dd", "F64", "LONG", "N_ULP", "Arith", "B", "Working", "working_format", "Completion",
           "LazyRefArray", "plain", "settle_rows", "certify", "ieee_mode", "round_to_dtype", "compute",
           "fast_path"]

ENABLED = os.environ.get("CE_REFERENCE_FASTPATH", "1") != "0"
OPS = tuple(OP_FUNCS)


def _contiguous(a: np.ndarray) -> np.ndarray:
    a = np.asarray(a)
    return a if a.flags["C_CONTIGUOUS"] else a.copy()


def all_certified(ok: np.ndarray) -> bool:
    return int(np.count_nonzero(ok)) == np.size(ok)  # faster than ok.all() on large boolean arrays


def _finite_inputs(case: Case) -> bool:
    return all(np.isfinite(a).all() for a in case.floats.values())


def _certified(ar, case: Case) -> dict | None:
    """{part key: (rounded float64, certified)} of the op in the arithmetic `ar`; None if unsupported."""
    try:
        with np.errstate(all="ignore"):
            value, grads = OP_FUNCS[case.spec.name](ar, case)
    except Unsupported:
        return None
    parts = {"value": value, **{f"grad:{k}": g for k, g in grads.items()}}
    out = {}
    for key, o in parts.items():
        rounded, ok = certify_dd(o.val, o.sign) if o.val.lo is not None else certify(o.val, case.dt, o.sign)
        out[key] = (np.asarray(rounded, dtype=np.float64), np.asarray(ok, dtype=bool))
    return out


def compute(case: Case):
    """(working format, {part key: (rounded, certified)}) or None when the fast path does not apply (rounded:
    float64 arrays, or the case dtype's; their values are the dtype's either way).
    float64 cases: double-double; elements it leaves undecided (values at the bottom of the float64 range,
    where its absolute bound of a few 2**-1074 cannot tell 0 from the smallest subnormal) are tried again in
    x87 long double where the machine has it (its smallest subnormal is 2**-16445); both are rigorous, so
    an element certified by either is correctly rounded."""
    if case.spec.name not in OP_FUNCS:
        return None
    w = working_format(case.dt.name)
    if w is None or not ieee_mode():
        return None
    out = apriori.compute(case) if w is F64 else apriori_dd.compute(case) if w is DD else None  # None: n/a
    if out is not None and all(all_certified(ok) for _, ok in out.values()):
        return w, out
    if not _finite_inputs(case):
        return None
    whole = _certified(DDArith() if w is DD else Arith(w), case)
    if whole is None:
        return None
    if out is not None:  # both rigorous: an element certified by either is correctly rounded
        for key, (rounded, ok) in out.items():
            take = ok & ~whole[key][1]
            whole[key][0][take] = rounded[take]
            whole[key][1][take] = True
    out = whole
    if w is DD and LONG is not None and not all(all_certified(ok) for _, ok in out.values()):
        again = _certified(Arith(LONG), case)
        for key, (rounded, ok) in (again or {}).items():
            take = ok & ~out[key][1]
            out[key][0][take] = rounded[take]
            out[key][1][take] = True
    return w, out


def fast_path(case: Case) -> RefResult | None:
    if not ENABLED:
        return None
    got = compute(case)
    if got is None:
        return None
    w, parts = got
    keys = list(parts)
    completion = Completion(case, keys)
    # compute() made these arrays for this result alone; settle_rows writes through reshape(-1) views, so they
    # must be contiguous (a copy only where they are not)
    rounded = {k: _contiguous(r) for k, (r, _) in parts.items()}
    certified = {k: _contiguous(ok) for k, (_, ok) in parts.items()}
    bits = w.bits
    if not all(all_certified(ok) for ok in certified.values()):
        need = {k: ~ok for k, ok in certified.items()}
        row_bits = settle_rows(case, need, rounded, certified)
        if row_bits is None:  # only the whole case can tell: evaluate it now (exact strings come with it)
            completion.run(need, rounded, certified)
            bits = max(bits, completion.bits)
        else:
            completion.need = need
            bits = max(bits, row_bits)
    dt = case.dt

    def arr(key):
        # every rounded value is already one of dt (round_to_dtype, certify_dd, the a-priori tiers, arb's
        # settle): the conversion is exact (tests compare every field with the arb path's)
        return LazyRefArray(key, completion, np.asarray(rounded[key]).astype(dt.np_dtype, copy=False),
                            certified[key])

    return RefResult(op=case.spec.name, dtype=dt.name, value=arr("value"),
                     grads={k[5:]: arr(k) for k in keys if k.startswith("grad:")}, precision_bits=bits)
