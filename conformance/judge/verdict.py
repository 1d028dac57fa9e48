"""Compare what an implementation did with the certified reference; give a verdict (docs/verdicts.md).

Per output element (the value, and each gradient):
  * special values: NaN / +inf / -inf / finite must match the reference's kind. Where the special-values
    table gives an IEEE alternative (RefArray.ieee) and the observation matches it (what a naive IEEE
    evaluation gives, not the limit), the verdict is "ieee_special": its own verdict, not a convention
    (no framework documents it), which fails a run only under --strict-special-values.
  * finite elements: ULP distance to the correctly rounded reference in the case dtype; within
    ULP_BUDGET[dtype] it is accurate. Beyond that, the error |observed - exact| is compared with the
    conditioning-aware bound (error_bound; derivation in docs/verdicts.md)
        float64/float32:   c * u * (cond + |exact|)
        float16/bfloat16:  HALF_ROUNDINGS * u * (cond + |exact|) + c * u_float32 * (cond + |exact|)
    where u is the dtype's unit roundoff, cond the reference's sum_i |d element/d x_i| |x_i| over the inputs
    that carry rounding error (logits, probabilities, log-probabilities; not hard 0/1 targets, labels, masks
    or weights), and c = 2 * (1 + log2 n) for n input elements per output element (the length of the sums
    a backward-stable algorithm does). Half precision: the major frameworks' kernels accumulate in float32
    and round to the half dtype at the inputs' intermediates and the result. Within it: stable; else
    inaccurate.
Exact digits on demand: a part whose every finite element is within the ULP budget is accurate from its
certified rounded values alone; when its reference carries `approx` (reference.approx: float64 values and
cond quantities with a stated error, attached by conformance/execute/reference_cache.py to a large
fast-path answer whose exact strings are not made), the reported bound ratio comes from those (within
reference.approx.ratio_error of the exact one) and no arb evaluation runs.
Every other verdict reads the exact values and cond, as always.
The record's verdict is the worst over the parts. A failing verdict that the implementation's declared
conventions explain exactly (the reference recomputed with the convention's params passes) becomes
"convention" (behaviour a framework documents, with its link).
"""
from __future__ import annotations

import math
import re
from dataclasses import dataclass, field
from decimal import Decimal, localcontext

import numpy as np

from conformance.floats import np_dtype, ordinals, ulp_distance, unit_roundoff
from conformance.judge.severity import FAILING, PASSING, worst

ULP_BUDGET = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}
HALF_DTYPES = ("float16", "bfloat16")
HALF_ROUNDINGS = 2  # half precision: one rounding of each input-level intermediate, one of the result
HVP_HALF_ROUNDINGS = 2 * HALF_ROUNDINGS  # an hvp differentiates a graph already rounded once: twice as many
UNSUPPORTED_PATTERNS = re.compile(
    r"not implemented for|not supported|Could not find device for node|is not in the list of allowed values"
    r"|No registered .* kernel|Unsupported dtype|unsupported dtype|no kernel|does not support|^NotImplementedError:|"
    r"Unsupported data ?type|ufunc '\w+' not supported|dtype .* not understood",
    re.IGNORECASE,
)


@dataclass
class PartResult:
    verdict: str
    ulp: float | None = None
    bound_ratio: float | None = None
    detail: str = ""
    ieee: bool = False
    failing: list = field(default_factory=list)  # flat indices of the elements that fail (first MAX_FAILING)


MAX_FAILING = 4096  # failing element indices kept per part (known-divergence predicates check them all)


@dataclass
class Comparison:
    verdict: str
    part: str | None = None
    detail: str = ""
    ulp: dict = field(default_factory=lambda: {"value": None, "grad": {}})
    bound_ratio: dict = field(default_factory=lambda: {"value": None, "grad": {}})
    convention: str | None = None
    failing: dict = field(default_factory=dict)  # part -> flat indices of its failing elements
    judged_ref: object = None  # a policy row: the reference its parts were judged against (conformance/judge/policy.py)
    judged_dtypes: dict | None = None  # a policy row: part -> the dtype it was judged in, where not the case's


def _flat(mask: np.ndarray) -> list:
    return [int(i) for i in np.flatnonzero(mask)[:MAX_FAILING]]


def _kind(a: np.ndarray) -> np.ndarray:
    """0 finite, 1 +inf, 2 -inf, 3 nan."""
    if np.isfinite(a).all():
        return np.zeros(a.shape, dtype=np.int64)
    return np.where(np.isnan(a), 3, np.where(np.isposinf(a), 1, np.where(np.isneginf(a), 2, 0)))


def _ulps(observed: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """floats.ulp_distance; an observation already in `dtype` takes its integer step count directly (the
    same numbers, without the fractional distance a wider observation needs)."""
    dt = np_dtype(dtype)
    if observed.dtype == dt and expected.dtype == dt:
        return np.abs(ordinals(observed) - ordinals(expected)).astype(np.float64)
    return ulp_distance(observed, expected, dtype)


def _ulps_of_differing(observed: np.ndarray, expected: np.ndarray, dtype: str) -> np.ndarray:
    """_ulps of every element (same shapes), computed only where observed != expected: equal values are 0
    steps apart (+0 and -0 included), which an accurate observation is at most elements."""
    out = np.zeros(expected.shape)
    differ = np.flatnonzero(observed != expected)
    if differ.size == out.size:
        return _ulps(observed, expected, dtype).reshape(expected.shape)
    if differ.size:
        out.flat[differ] = _ulps(observed.flat[differ], expected.flat[differ], dtype)
    return out


def _exact_error(observed64: np.ndarray, exact: np.ndarray, dtype: str) -> np.ndarray:
    """|observed - exact| with the exact value taken from its decimal string (Decimal for float64, where a
    float64 of the exact value would not be accurate enough)."""
    if dtype != "float64":
        return np.abs(observed64 - exact.astype(np.float64))
    out = np.empty(observed64.shape, dtype=np.float64)
    with localcontext() as ctx:
        ctx.prec = 50
        for idx, (o, e) in enumerate(zip(observed64.ravel(), exact.ravel())):
            out.flat[idx] = float(abs(Decimal(float(o)) - _decimal(e)))
    return out


def _decimal(exact: str) -> Decimal:
    """The exact value; one far below the float64 range (exponent < -400) is 0 to within any float error."""
    mantissa, _, exponent = exact.lower().partition("e")
    if exponent and int(exponent) < -400:
        return Decimal(0)
    return Decimal(exact)


def compare_part(ref, observed: np.ndarray, dtype: str, n_terms: int, half_roundings: int = HALF_ROUNDINGS,
                 budget_dtype: str | None = None) -> PartResult:
    """Verdict for one output array against its RefArray, in `dtype`; the error bound is that of `budget_dtype`
    (a precision policy's part: conformance/judge/policy.py), by default `dtype`'s."""
    expected = np.asarray(ref.rounded)
    observed = np.asarray(observed)
    if observed.shape != expected.shape:
        return PartResult("inaccurate", detail=f"shape {observed.shape} where the reference has {expected.shape}")
    if expected.size == 0:
        return PartResult("accurate", ulp=0.0, bound_ratio=0.0)
    obs64 = observed.astype(np.float64)
    exp64 = expected.astype(np.float64)
    ieee_used, ieee_detail = False, ""
    if np.isfinite(obs64).all() and np.isfinite(exp64).all():  # the common case: nothing special anywhere
        ulps = _ulps_of_differing(observed, expected, dtype)
        return _judge_finite(ref, obs64, exp64, ulps, ..., np.ones(expected.shape, dtype=bool), dtype, n_terms,
                             half_roundings, budget_dtype, ieee_used, ieee_detail)
    k_obs, k_exp = _kind(obs64), _kind(exp64)
    special = (k_obs != 0) | (k_exp != 0)
    mismatch = special & (k_obs != k_exp)
    if ref.ieee is not None and mismatch.any():
        ieee64 = np.asarray(ref.ieee).astype(np.float64)
        matches_ieee = mismatch & ((_kind(ieee64) == k_obs) & ((k_obs != 0) | (ieee64 == obs64)))
        ieee_used = bool(matches_ieee.any())
        if ieee_used:
            j = _first(matches_ieee)
            ieee_detail = (f"IEEE value at {j}: got {_fmt(obs64[j])}, the limit is {_fmt(exp64[j])} "
                           f"(docs/special-values.md, IEEE column)")
        mismatch &= ~matches_ieee
    if mismatch.any():
        i = _first(mismatch)
        return PartResult("special_value_mismatch", ulp=math.inf, bound_ratio=math.inf,
                          detail=f"at {i}: got {_fmt(obs64[i])}, reference {_fmt(exp64[i])} "
                                 f"(exact {ref.exact[i]})", failing=_flat(mismatch))
    finite = ~special
    if not finite.any():
        return PartResult("ieee_special" if ieee_used else "accurate", ulp=0.0, bound_ratio=0.0, ieee=ieee_used,
                          detail=ieee_detail)
    sel = ... if finite.all() else finite  # every element finite: views, not copies
    ulps = np.zeros(expected.shape)
    ulps[sel] = _ulps(observed[sel], expected[sel], dtype)
    return _judge_finite(ref, obs64, exp64, ulps, sel, finite, dtype, n_terms, half_roundings, budget_dtype,
                         ieee_used, ieee_detail)


def _judge_finite(ref, obs64, exp64, ulps, sel, finite, dtype, n_terms, half_roundings, budget_dtype, ieee_used,
                  ieee_detail) -> PartResult:
    """compare_part for the finite elements (`sel`: all of them (...) or the mask `finite`), their ULP
    distances `ulps` computed: the ULP budget, then the conditioning-aware bound (module docstring)."""
    expected = exp64
    budget = ULP_BUDGET[dtype]
    certified = np.asarray(ref.certified, dtype=bool)
    # an uncertified reference element may itself be one ULP off: allow for it, and say so
    excess = ulps if certified.all() else ulps - np.where(certified, 0.0, 1.0)
    max_ulp = float(np.max(ulps[sel]))
    accurate = float(np.max(excess[sel])) <= budget
    approx = getattr(ref, "approx", None)  # reference.approx.Approx: exact digits on demand (module docstring)
    if accurate and approx is not None:
        cond = approx.cond
        err_sel = np.abs(obs64[sel] - np.asarray(approx.value, dtype=np.float64)[sel])
    else:
        cond = ref.cond
        err_sel = _exact_error(obs64[sel], np.asarray(ref.exact)[sel], dtype)
    bound = error_bound(cond, exp64, budget_dtype or dtype, n_terms, half_roundings)
    if sel is ...:
        ratio = np.divide(err_sel, bound, out=np.asarray(err_sel, dtype=np.float64))
    else:
        ratio = np.zeros(expected.shape)
        ratio[sel] = err_sel / bound[sel]
    max_ratio = float(np.max(ratio[sel]))
    if accurate:
        verdict = "ieee_special" if ieee_used else "accurate"
        return PartResult(verdict, ulp=max_ulp, bound_ratio=max_ratio, ieee=ieee_used,
                          detail=ieee_detail or ("" if certified.all() else "reference not certified at every element"))
    worst_i = _argmax(np.where(finite, excess, -1))
    where = f"at {worst_i}: got {_fmt(obs64[worst_i])}, reference {_fmt(exp64[worst_i])} (exact {ref.exact[worst_i]})"
    if max_ratio <= 1.0:
        return PartResult("stable", ulp=max_ulp, bound_ratio=max_ratio, detail=f"{max_ulp:g} ulp {where}")
    beyond = finite & (excess > budget) & (ratio > 1.0)
    if not beyond.any():  # each element within the budget or within its bound (the worst ratio is elsewhere)
        ratio_over = float(np.max(ratio[finite & (excess > budget)]))
        return PartResult("stable", ulp=max_ulp, bound_ratio=ratio_over, detail=f"{max_ulp:g} ulp {where}")
    if not certified[worst_i]:
        return PartResult("uncertified", ulp=max_ulp, bound_ratio=max_ratio, detail=where)
    return PartResult("inaccurate", ulp=max_ulp, bound_ratio=max_ratio,
                      detail=f"{max_ulp:g} ulp, {max_ratio:.3g}x the bound {where}", failing=_flat(beyond))


def error_bound(cond, exact64: np.ndarray, dtype: str, n_terms: int, half_roundings: int = HALF_ROUNDINGS) -> np.ndarray:
    """The conditioning-aware bound per element (module docstring; docs/verdicts.md)."""
    scale = np.abs(np.asarray(cond, dtype=np.float64)) + np.abs(exact64)  # a new array: scaled in place below
    c = 2.0 * (1.0 + math.log2(max(n_terms, 1)))
    floor = float(np.finfo(np.float64).tiny) if dtype == "float64" else 0.0
    tiny = _denorm_min(dtype)
    with np.errstate(over="ignore", invalid="ignore"):  # the same operations, in the same order, as
        if dtype in HALF_DTYPES:                        # (factor) * scale + tiny (+ floor)
            scale *= half_roundings * unit_roundoff(dtype) + c * unit_roundoff("float32")
            scale += tiny
            return scale
        scale *= c * unit_roundoff(dtype)
        scale += tiny
        scale += floor
        return scale


def compare_parts(ref, observed, dtype: str, n_terms: dict[str, int], only: str | None = None,
                  dtypes: dict | None = None) -> dict:
    """PartResult for the value ("value") and every gradient both have ("grad:NAME"); for a mode case (the
    observation carries derivative parts) only its parts vjp:NAME, jvp:NAME, hvp:NAME: the value and the
    gradient of the same inputs are the plain cases' to judge (one finding, one record). `dtypes`: {part:
    (judged dtype, budget dtype)} for a precision policy's parts returned in another dtype (judge/policy.py)."""
    parts = {}
    dtypes = dtypes or {}
    if getattr(observed, "derivs", None):
        only = only or "derivs"
    if only in (None, "value"):
        judged, budget = dtypes.get("value", (dtype, dtype))
        parts["value"] = compare_part(ref.value, observed.value, judged, n_terms["value"], budget_dtype=budget)
    for name, g in observed.grads.items():
        if name in ref.grads and only in (None, f"grad:{name}"):
            judged, budget = dtypes.get(f"grad:{name}", (dtype, dtype))
            parts[f"grad:{name}"] = compare_part(ref.grads[name], g, judged, n_terms.get(name, 1),
                                                 budget_dtype=budget)
    ref_derivs = getattr(ref, "derivs", None) or {}
    for key, d in (getattr(observed, "derivs", None) or {}).items():  # mode cases: vjp:IN, jvp:IN, hvp:IN
        if key in ref_derivs and only in (None, key, "derivs"):
            parts[key] = compare_part(ref_derivs[key], d, dtype, n_terms.get(key.split(":", 1)[1], 1),
                                      HVP_HALF_ROUNDINGS if key.startswith("hvp:") else HALF_ROUNDINGS)
    return parts


def compare_result(ref, observed, dtype: str, n_terms: dict[str, int], dtypes: dict | None = None) -> Comparison:
    """Compare an Observed with a RefResult: the value and every gradient both have."""
    return _combine(compare_parts(ref, observed, dtype, n_terms, dtypes=dtypes))


def _combine(parts: dict) -> Comparison:
    verdict = worst(p.verdict for p in parts.values())
    part = next(k for k, p in parts.items() if p.verdict == verdict)
    out = Comparison(verdict=verdict, part=part, detail=parts[part].detail,
                     failing={k: p.failing for k, p in parts.items() if p.verdict in FAILING})
    for key, p in parts.items():
        if key == "value":
            out.ulp["value"], out.bound_ratio["value"] = p.ulp, p.bound_ratio
        elif not key.startswith("grad:"):  # a derivative mode's part (vjp:IN, jvp:IN, hvp:IN)
            out.ulp.setdefault("derivs", {})[key] = p.ulp
            out.bound_ratio.setdefault("derivs", {})[key] = p.bound_ratio
        else:
            out.ulp["grad"][key[5:]] = p.ulp
            out.bound_ratio["grad"][key[5:]] = p.bound_ratio
    return out


def compare(ref, observed, exception, impl, dtype: str, n_terms: dict, convention_refs=(),
            raising_conventions=(), dtypes: dict | None = None) -> Comparison:
    """The verdict for one call.

    ref:        a RefResult, or an exception instance from the reference (UndefinedError: the input is
                undefined and an error is the expected behaviour).
    observed:   an Observed, or None when the implementation raised `exception` = (type name, message).
    convention_refs: [(Convention, RefResult)] for the implementation's conventions that apply.
    raising_conventions: the implementation's conventions that apply and document an error here.
    """
    if isinstance(ref, Exception) and type(ref).__name__ == "ReferenceFailure":
        return Comparison("uncertified", part="value", detail=f"the reference could not evaluate this case: {ref}")
    undefined = isinstance(ref, Exception)
    if exception is not None:
        etype, message = exception
        if undefined:
            return Comparison("accurate", detail=f"raised {etype} as expected: the input is undefined ({ref})")
        if UNSUPPORTED_PATTERNS.search(f"{etype}: {message}"):
            return Comparison("unsupported", detail=f"{etype}: {_short(message)}")
        for convention in raising_conventions:
            return Comparison("convention", part="value", convention=convention.key,
                              detail=f"raised {etype}: {_short(message)}; {convention.description}")
        return Comparison("error_behaviour_mismatch", part="value",
                          detail=f"raised {etype}: {_short(message)} where the value is defined")
    if undefined:
        for convention, conv_ref in convention_refs:  # e.g. torch's default ignore_index=-100
            if not isinstance(conv_ref, Exception):
                alt = compare_result(conv_ref, observed, dtype, n_terms, dtypes)
                if alt.verdict in PASSING:
                    alt.verdict, alt.convention = "convention", convention.key
                    alt.detail = f"{convention.description} (mathematics: undefined input, {ref})"
                    return alt
        declared = getattr(impl, "bad_labels", None)
        value = np.asarray(observed.value).astype(np.float64)
        if declared == "nan" and np.isnan(value).any() or declared in ("zero", "garbage"):
            return Comparison("convention", part="value", convention=f"bad_labels:{declared}",
                              detail=f"returned a value for an undefined input ({ref}), as documented")
        return Comparison("error_behaviour_mismatch", part="value",
                          detail=f"returned a value for an undefined input ({ref}) instead of raising")
    parts = compare_parts(ref, observed, dtype, n_terms, dtypes=dtypes)
    explained: dict[str, str] = {}
    for key, part in parts.items():  # each part: the mathematics, else the first convention that explains it
        if part.verdict not in FAILING:
            continue
        for convention, conv_ref in convention_refs:
            if isinstance(conv_ref, Exception):
                continue
            alt = compare_parts(conv_ref, observed, dtype, n_terms, only=key, dtypes=dtypes).get(key)
            if alt is not None and alt.verdict in PASSING:
                parts[key] = PartResult("convention", alt.ulp, alt.bound_ratio,
                                        f"{convention.description} (mathematics: {part.detail})")
                explained[key] = convention.key
                break
    result = _combine(parts)
    if result.verdict == "convention":
        result.convention = explained.get(result.part)
    elif explained:
        result.convention = ", ".join(sorted(set(explained.values())))
    return result


def n_terms_for(inputs: dict, value_shape: tuple) -> dict[str, int]:
    """Input elements per output element: the length of the sums behind each value and gradient element."""
    total = sum(int(np.asarray(a).size) for a in inputs.values() if np.asarray(a).dtype.kind == "f"
                or str(np.asarray(a).dtype) == "bfloat16")
    n_out = max(int(np.prod(value_shape)), 1)
    per_value = max(total // n_out, 1)
    return {"value": per_value, **{name: max(total, 1) for name in inputs}}


def _denorm_min(dtype: str) -> float:
    import ml_dtypes

    return float(ml_dtypes.finfo(np_dtype(dtype)).smallest_subnormal)


def _first(mask: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.argwhere(mask)[0])


def _argmax(a: np.ndarray) -> tuple:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(a)), a.shape))


def _fmt(x: float) -> str:
    return repr(float(x))


def _short(message: str, limit: int = 300) -> str:
    message = " ".join(str(message).split())
    return message if len(message) <= limit else message[: limit - 3] + "..."
