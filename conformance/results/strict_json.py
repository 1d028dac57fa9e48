"""One JSON encoding for every file the suite writes (results.jsonl, results.json, merge, compare, per-worker
streams): non-finite floats are the strings "inf", "-inf" and "nan" (what results.schema.json's `number`
accepts), never the bare NaN / Infinity tokens that strict JSON parsers reject. `dumps` refuses any
non-finite float it was not able to convert (allow_nan=False), so a new field cannot slip one out."""
from __future__ import annotations

import json
import math


def finite(x):
    """`x` with every non-finite float (Python or NumPy scalar) replaced by "inf" / "-inf" / "nan",
    recursively through dicts, lists and tuples."""
    if isinstance(x, float) or type(x).__name__ in ("float16", "float32", "float64", "bfloat16"):
        f = float(x)
        if math.isnan(f):
            return "nan"
        if math.isinf(f):
            return "inf" if f > 0 else "-inf"
        return f if not isinstance(x, float) else x
    if isinstance(x, dict):
        return {k: finite(v) for k, v in x.items()}
    if isinstance(x, (list, tuple)):
        return [finite(v) for v in x]
    return x


def dumps(obj, **kwargs) -> str:
    """json.dumps of `finite(obj)` with allow_nan=False. Most documents hold no non-finite float and no NumPy
    scalar other than float64: the C encoder writes those directly, the same text finite() would give
    (it returns such values unchanged); anything else takes the walk through finite()."""
    try:
        return json.dumps(obj, allow_nan=False, **kwargs)
    except (ValueError, TypeError):
        return json.dumps(finite(obj), allow_nan=False, **kwargs)


def _reject_constant(name: str):
    raise ValueError(f"bare {name} in JSON (strict JSON has no such token)")


def strict_loads(text: str):
    """json.loads that rejects NaN / Infinity / -Infinity tokens (as strict parsers do)."""
    return json.loads(text, parse_constant=_reject_constant)
