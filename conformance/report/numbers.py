"""Numbers as results.json stores them (JSON numbers, or the strings "inf", "-inf", "nan") and as the
report prints them: the shortest decimal that rounds back to the same value in its dtype."""
from __future__ import annotations

import math
from typing import Any

import numpy as np

from reference.dtypes import DTYPE_NAMES

try:  # ml_dtypes provides bfloat16; the report still works without it (bfloat16 printed as float64)
    import ml_dtypes
except ImportError:  # pragma: no cover
    ml_dtypes = None

SPECIAL = {"inf": math.inf, "-inf": -math.inf, "nan": math.nan}


def to_float(x: Any) -> float | None:
    """JSON number or "inf"/"-inf"/"nan" -> float; None stays None; anything else -> None."""
    if x is None or isinstance(x, bool):
        return None
    if isinstance(x, (int, float)):
        return float(x)
    if isinstance(x, str):
        return SPECIAL.get(x.strip().lower())
    return None


def numpy_dtype(name: str):
    if name == "bfloat16" and ml_dtypes is not None:
        return np.dtype(ml_dtypes.bfloat16)
    try:
        return np.dtype(name)
    except TypeError:
        return np.dtype("float64")


def is_float_dtype(name: str) -> bool:
    return name in DTYPE_NAMES or name.startswith("float")


def fmt(x: Any, dtype: str = "float64") -> str:
    """Shortest decimal that rounds back to x in `dtype` (round-trip), "inf"/"-inf"/"nan" kept as words."""
    if isinstance(x, bool):
        return str(x).lower()
    if isinstance(x, int) and not is_float_dtype(dtype):
        return str(x)
    v = to_float(x)
    if v is None:
        return "—" if x is None else str(x)
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf" if v > 0 else "-inf"
    if not is_float_dtype(dtype):
        return str(int(v)) if v.is_integer() else repr(v)
    if dtype == "float64":
        return repr(v)
    t = numpy_dtype(dtype)
    target = np.array(v).astype(t)
    for digits in range(1, 18):
        s = f"{v:.{digits}g}"
        with np.errstate(over="ignore"):
            hit = np.array(float(s)).astype(t) == target
        if hit:
            return repr(float(s))  # positional like Python floats: 1000.0, not 1e+03
    return repr(v)  # pragma: no cover


def fmt_metric(x: Any) -> str:
    """A ULP error or bound ratio: integers plainly, others with 3 significant digits."""
    v = to_float(x)
    if v is None:
        return "—"
    if math.isnan(v):
        return "nan"
    if math.isinf(v):
        return "inf"
    if v.is_integer() and abs(v) < 1e15:
        return f"{int(v):,}"
    return f"{v:.3g}"


def same(a: Any, b: Any) -> bool:
    """Equal as floats, NaN equal to NaN (for "observed equals reference/other observed")."""
    fa, fb = to_float(a), to_float(b)
    if fa is None or fb is None:
        return a == b
    if math.isnan(fa) and math.isnan(fb):
        return True
    return fa == fb


def _ordered_bits(v: float, dtype: str) -> int | None:
    t = numpy_dtype(dtype)
    if t.kind != "f" and dtype != "bfloat16":
        return None
    arr = np.array([v], dtype=np.float64).astype(t)
    bits = arr.view(np.dtype(f"u{t.itemsize}"))[0].item()
    sign = 1 << (8 * t.itemsize - 1)
    return -(bits & (sign - 1)) if bits & sign else bits


def ulp_distance(a: Any, b: Any, dtype: str) -> float | None:
    """Number of representable `dtype` values between a and b (for marking table rows only; the verdicts'
    ULP errors come from results.json). 0 for NaN vs NaN, inf when only one side is NaN."""
    fa, fb = to_float(a), to_float(b)
    if fa is None or fb is None or not is_float_dtype(dtype):
        return None
    if math.isnan(fa) or math.isnan(fb):
        return 0.0 if math.isnan(fa) and math.isnan(fb) else math.inf
    ia, ib = _ordered_bits(fa, dtype), _ordered_bits(fb, dtype)
    if ia is None or ib is None:
        return None
    return float(abs(ia - ib))


def log2_ulp_bin(ulp: Any) -> int | None:
    """Histogram bin of an ULP error: 0 for 0, k = ceil(log2(1 + ulp)) otherwise (1 -> 1, 2..3 -> 2,
    4..7 -> 3, ...); -1 for inf/nan; None when there is none."""
    v = to_float(ulp)
    if v is None:
        return None
    if math.isnan(v) or math.isinf(v):
        return -1
    if v <= 0:
        return 0
    return max(1, math.ceil(math.log2(1.0 + v) - 1e-12))
