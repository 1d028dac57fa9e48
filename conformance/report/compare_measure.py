"""What compare measures on one record: identical output, the kind of behaviour, and each part's error.

same_output     the implementation's output is bit-for-bit the same in two records: equal values and
                gradients (results.json writes every float exactly; NaN as "nan"), or the same exception type.
differing_parts the parts whose output bits differ between two records of one case (report/mode_parity.py).
behaviour_kind  "raise" (an exception), "crash" / "timeout", "nan" (a NaN anywhere in the output where the
                reference has none), or "value".
part_errors     part -> (error, unit). unit "ulp": the record's ULP error (nan counted as inf). Where the
                exact reference of the part has zeros, unit "abs": the ULP count from an exact 0 is the number
                of subnormal steps to the observed value (1e-300 is ~4.4e18 ulp in float64: noise, not a
                measure), so the part's error is max(largest |observed| on an exact-zero element / (eps *
                scale), largest ULP distance of the other elements to the correctly rounded reference), scale
                being the largest finite |reference| of the part (1 when the part is all zeros).
"""
from __future__ import annotations

import math

import numpy as np

from conformance.results.parts import flat_parts

from .numbers import numpy_dtype, to_float, ulp_distance


def _observed_parts(record: dict) -> dict:
    return flat_parts(record.get("observed"))


def _reference_parts(record: dict) -> dict:
    return flat_parts(record.get("reference"))


def same_output(old: dict, new: dict) -> bool:
    if old.get("observed") is not None and new.get("observed") is not None:
        a, b = _observed_parts(old), _observed_parts(new)
        return a.keys() == b.keys() and all(
            a[k].get("data") == b[k].get("data") and a[k].get("shape") == b[k].get("shape") for k in a)
    ea, eb = old.get("exception"), new.get("exception")
    if old.get("observed") is None and new.get("observed") is None and ea and eb:
        return ea.get("type") == eb.get("type")
    return False


def differing_parts(old: dict, new: dict) -> list[str]:
    """The parts (value, grad:IN, vjp:IN, ...) whose output bits differ between two records of one case, in
    order; "exception" when one raised and the other did not or the exception types differ. Empty: same_output."""
    if same_output(old, new):
        return []
    if old.get("observed") is None or new.get("observed") is None:
        return ["exception"]
    a, b = _observed_parts(old), _observed_parts(new)
    names = list(a) + [k for k in b if k not in a]
    return [k for k in names if k not in a or k not in b or a[k].get("data") != b[k].get("data")
            or a[k].get("shape") != b[k].get("shape")]


def behaviour_kind(record: dict) -> str:
    exc = record.get("exception")
    if exc:
        return exc.get("type") if exc.get("type") in ("crashed", "timeout") else "raise"
    refs = _reference_parts(record)
    for part, t in _observed_parts(record).items():
        ref_rounded = (refs.get(part) or {}).get("rounded") or []
        for i, v in enumerate(t.get("data") or []):
            if v == "nan" and not (i < len(ref_rounded) and ref_rounded[i] == "nan"):
                return "nan"
    return "value" if record.get("observed") is not None else "none"


def _record_ulps(record: dict) -> dict[str, float]:
    out = {}
    for part, v in flat_parts(record.get("ulp")).items():
        f = to_float(v)
        if f is not None:
            out[part] = math.inf if math.isnan(f) else f
    return out


def _exact_is_zero(text) -> bool:
    try:
        return float(text) == 0.0
    except (TypeError, ValueError):
        return False


def _absolute_error(observed: list, ref: dict, dtype: str) -> float | None:
    """The exact-zero measure of one part, or None when the part has no exact zero (or no data)."""
    exact, rounded = ref.get("exact") or [], ref.get("rounded") or []
    if not observed or len(observed) != len(exact) or len(rounded) != len(exact):
        return None
    zeros = [i for i, e in enumerate(exact) if _exact_is_zero(e)]
    if not zeros:
        return None
    t = numpy_dtype(dtype)
    finfo = np.finfo(np.float32 if dtype == "bfloat16" else t)
    eps = 2.0 ** -7 if dtype == "bfloat16" else float(finfo.eps)
    finite = [abs(f) for f in map(to_float, rounded) if f is not None and math.isfinite(f)]
    scale = max(finite, default=0.0) or 1.0  # an all-zero part: absolute error in units of eps
    worst = 0.0
    for i, v in enumerate(observed):
        o = to_float(v)
        if o is None:
            continue
        if i in zeros:
            err = math.inf if not math.isfinite(o) else abs(o) / (eps * scale)
        else:
            err = ulp_distance(o, rounded[i], dtype)
            err = math.inf if err is None else err
        worst = max(worst, err)
    return worst


def part_errors(record: dict) -> dict[str, tuple[float, str]]:
    """part -> (error, "ulp" | "abs"); parts without a number are left out."""
    out = {part: (v, "ulp") for part, v in _record_ulps(record).items()}
    refs, obs = _reference_parts(record), _observed_parts(record)
    for part in out:
        if part in refs and part in obs:
            err = _absolute_error(obs[part].get("data") or [], refs[part], record["dtype"])
            if err is not None:
                out[part] = (err, "abs")
    return out
