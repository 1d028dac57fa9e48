"""JSON in and out for the command line and the golden corpus.

A case is {"op": str, "dtype": str, "inputs": {name: nested lists}, "params": {...}} with numbers as JSON
numbers (taken as the exact decimals they spell) or the strings "inf", "-inf", "nan".
A case may also ask for derivative modes (reference.derivs.request): "cotangent", "tangents", "hvp", "param_grads".
A result prints as {"value": nested lists of numbers, "grad": {name: nested lists shaped like the input},
"certified": bool} (plus "vjp", "jvp", "hvp": {name: nested lists} for the modes asked), every number {"exact": decimal string, "rounded": round-trip decimal in the dtype}
plus "ieee" where the IEEE value differs in kind from the limit (docs/special-values.md).
"""
from __future__ import annotations

import json
import math

import numpy as np

from reference.decimal_io import NumberToken, shortest_repr
from reference.dtypes import get_dtype
from reference.errors import CaseError
from reference.result import RefArray, RefResult

_CONSTANTS = {"NaN": "nan", "Infinity": "inf", "-Infinity": "-inf"}


DEFAULT_MAX_ELEMENTS = 100_000  # numbers in a case's inputs and params (python -m reference eval --max-elements)
MAX_DEPTH = 32  # nesting of a case's JSON
DERIV_FIELDS = ("cotangent", "tangents", "hvp", "param_grads")  # derivative modes a case may ask for (reference.derivs)


def check_bounds(case: dict, max_elements: int = DEFAULT_MAX_ELEMENTS) -> None:
    """CaseError when the case nests deeper than MAX_DEPTH or holds more than max_elements numbers (the
    reference's time and memory grow with both; checked before anything is evaluated)."""
    count, stack = 0, [(case.get(k), 1) for k in ("inputs", "params", "cotangent", "tangents")]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise CaseError(f"the case nests more than {MAX_DEPTH} levels deep")
        if isinstance(obj, dict):
            stack += [(v, depth + 1) for v in obj.values()]
        elif isinstance(obj, list):
            count += len(obj)
            if count > max_elements:
                raise CaseError(f"the case holds more than {max_elements} numbers (--max-elements to raise it)")
            stack += [(v, depth + 1) for v in obj if isinstance(v, (list, dict))]


def loads_case(text: str, max_elements: int = DEFAULT_MAX_ELEMENTS) -> dict:
    """Parse a JSON case keeping every number's exact text; bounded (check_bounds)."""
    try:
        case = json.loads(text, parse_float=NumberToken, parse_int=NumberToken,
                          parse_constant=lambda c: _CONSTANTS[c])
    except json.JSONDecodeError as exc:
        raise CaseError(f"malformed JSON: {exc.msg} at line {exc.lineno} column {exc.colno}") from None
    except RecursionError:
        raise CaseError(f"the case nests more than {MAX_DEPTH} levels deep") from None
    if not isinstance(case, dict):
        raise CaseError("a case must be a JSON object with op, dtype, inputs and params")
    unknown = sorted(set(case) - {"op", "dtype", "inputs", "params", "id", *DERIV_FIELDS})
    if unknown:
        raise CaseError(f"unknown case field {unknown[0]!r}; fields are op, dtype, inputs, params, "
                        f"{', '.join(DERIV_FIELDS)}")
    for key in ("op", "dtype", "inputs"):
        if key not in case:
            raise CaseError(f"the case has no {key!r}")
    check_bounds(case, max_elements)
    return case


def _number(arr: RefArray, idx, dtype) -> dict:
    out = {"exact": str(arr.exact[idx]), "rounded": shortest_repr(float(arr.rounded[idx]), dtype)}
    if arr.ieee is not None:
        iv, rv = float(arr.ieee[idx]), float(arr.rounded[idx])
        if not (iv == rv or (math.isnan(iv) and math.isnan(rv))):
            out["ieee"] = shortest_repr(iv, dtype)
    return out


def _nested(arr: RefArray, dtype):
    shape = np.shape(arr.rounded)
    if not shape:
        return _number(arr, (), dtype)
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = _number(arr, idx, dtype)
    return out.tolist()


def result_json(result: RefResult) -> dict:
    """{"value", "grad": {input: ...}, "certified"} plus, for the derivative modes asked, "vjp", "jvp" and
    "hvp": {input: nested numbers} (the parts vjp:IN, jvp:IN, hvp:IN)."""
    dt = get_dtype(result.dtype)
    out = {
        "value": _nested(result.value, dt),
        "grad": {name: _nested(g, dt) for name, g in result.grads.items()},
        "certified": result.certified,
    }
    for key, arr in result.derivs.items():
        mode, name = key.split(":", 1)
        out.setdefault(mode, {})[name] = _nested(arr, dt)
    return out


def case_number_json(value):
    """A Python number (or int label) as it is written in a case: JSON number, or "inf"/"-inf"/"nan"."""
    if isinstance(value, (bool, np.bool_)):
        return bool(value)
    if isinstance(value, (int, np.integer)):
        return int(value)
    f = float(value)
    if math.isnan(f):
        return "nan"
    if math.isinf(f):
        return "inf" if f > 0 else "-inf"
    return f


def case_json(value):
    """Nested lists / arrays / params of a case as JSON-ready data."""
    if isinstance(value, dict):
        return {k: case_json(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [case_json(v) for v in value]
    if isinstance(value, np.ndarray):
        return case_json(value.tolist())
    if value is None or isinstance(value, str):
        return value
    return case_number_json(value)


def dumps(data) -> str:
    """Deterministic JSON text (sorted keys, fixed indentation, ASCII)."""
    return json.dumps(data, sort_keys=True, indent=1, ensure_ascii=True, allow_nan=False) + "\n"
