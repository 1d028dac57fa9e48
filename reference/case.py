"""Validate a case and bring it into the form the ops take: exact dtype values, int64 labels, full params."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reference.decimal_io import parse_case_number
from reference.dtypes import DType, get_dtype, round_float
from reference.errors import CaseError
from reference.ops import OPS
from reference.ops.spec import OpSpec

ARRAY_PARAMS = ("weight", "pos_weight")  # rounded to the case dtype, then exact
BOUND_PARAMS = ("clip",)  # [lo, hi] bounds compared with dtype values: rounded to the case dtype too


@dataclass
class Case:
    spec: OpSpec
    dt: DType
    floats: dict  # name -> float64 ndarray holding values of the case dtype exactly
    labels: dict  # name -> int64 ndarray
    params: dict  # every param of the op, defaults filled in


def get_spec(op) -> OpSpec:
    try:
        return OPS[op]
    except (KeyError, TypeError):
        raise CaseError(f"unknown op {op!r}; choose from {', '.join(sorted(OPS))}") from None


def prepare(op, dtype, inputs, params) -> Case:
    spec = get_spec(op)
    dt = get_dtype(dtype)
    if not isinstance(inputs, dict):
        raise CaseError("inputs must be a mapping from input name to array")
    params = {} if params is None else params
    if not isinstance(params, dict):
        raise CaseError("params must be a mapping from parameter name to value")
    names = set(spec.input_names)
    unknown = sorted(set(inputs) - names)
    if unknown:
        raise CaseError(f"{op}: unknown input {unknown[0]!r}; inputs are {', '.join(spec.input_names)}")
    missing = [n for n in spec.input_names if n not in inputs]
    if missing:
        raise CaseError(f"{op}: missing input {missing[0]!r}")
    bad = sorted(set(params) - set(spec.defaults))
    if bad:
        raise CaseError(f"{op}: unknown param {bad[0]!r}; params are {', '.join(spec.defaults) or 'none'}")
    full_params = dict(spec.defaults)
    full_params.update(params)
    for name in ARRAY_PARAMS:
        if full_params.get(name) is not None:
            full_params[name] = _float_array(full_params[name], dt, name)
    for name in BOUND_PARAMS:
        value = full_params.get(name)
        if value is not None:
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise CaseError(f"{name} must be [lo, hi] or null, got {value!r}")
            full_params[name] = [float(v) for v in _float_array(list(value), dt, name)]
    floats, labels = {}, {}
    arrays = {n: _as_array(inputs[n], n) for n in spec.input_names}
    for inp in spec.inputs:
        arr = arrays[inp.name]
        kind = inp.kind
        if kind == "labels_or_float":
            kind = "labels" if arr.dtype.kind in "iu" else "float"
        if kind == "labels":
            labels[inp.name] = _labels(arr, inp.name)
        else:
            floats[inp.name] = _float_array(arr, dt, inp.name)
    return Case(spec, dt, floats, labels, full_params)


def _as_array(value, name) -> np.ndarray:
    if isinstance(value, np.ndarray):
        arr = value
    else:
        try:
            arr = np.asarray(value)
        except (ValueError, TypeError):
            raise CaseError(f"input {name!r} is not a rectangular array") from None
    if arr.dtype == object:
        arr = _object_to_floats(arr, name)
    if arr.dtype.kind not in "iufb" and not _is_bfloat16(arr):
        raise CaseError(f"input {name!r} must hold numbers, got dtype {arr.dtype}")
    if arr.dtype.kind == "b":
        raise CaseError(f"input {name!r} must hold numbers, not booleans")
    return arr


def _is_bfloat16(arr) -> bool:
    return arr.dtype.name == "bfloat16"


def _object_to_floats(arr, name) -> np.ndarray:
    """Nested lists with "inf"/"nan" strings: floats (exact values; rounding happens later)."""
    out = np.empty(arr.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, str):
            key = v.strip().lower()
            if key not in ("inf", "+inf", "-inf", "nan"):
                raise CaseError(f"input {name!r}: malformed number {v!r}")
            out[idx] = float(key)
        elif isinstance(v, (int, float, np.integer, np.floating)) and not isinstance(v, bool):
            out[idx] = float(v)
        else:
            raise CaseError(f"input {name!r}: malformed number {v!r}")
    return out


def _labels(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype.kind in "iu":
        if arr.dtype.kind == "u" and arr.size and int(arr.max()) > np.iinfo(np.int64).max:
            raise CaseError(f"input {name!r}: label too large for int64")
        return arr.astype(np.int64)
    f = arr.astype(np.float64)
    if not np.isfinite(f).all():
        raise CaseError(f"input {name!r}: class labels must be finite integers")
    if (f != np.round(f)).any():
        bad = f[f != np.round(f)].ravel()[0]
        raise CaseError(f"input {name!r}: class labels must be integers, got {bad!r}")
    if (np.abs(f) >= 2.0 ** 63).any():
        raise CaseError(f"input {name!r}: label too large for int64")
    return f.astype(np.int64)


def _float_array(value, dt: DType, name: str) -> np.ndarray:
    """The input (or array param) as float64 values of `dt`, each rounded once from its exact value."""
    if isinstance(value, np.ndarray) and value.dtype.kind in "fiu" or (
            isinstance(value, np.ndarray) and _is_bfloat16(value)):
        arr = value
        if arr.dtype.kind in "iu":
            return np.vectorize(lambda v: round_float_int(int(v), dt), otypes=[np.float64])(arr) \
                if arr.size else arr.astype(np.float64)
        f = arr.astype(np.float64)
        if arr.dtype == dt.np_dtype:
            return f
        out = np.empty(f.shape, dtype=np.float64)
        for idx, v in np.ndenumerate(f):
            out[idx] = round_float(v, dt)
        return out
    try:
        arr = np.asarray(value, dtype=object)
    except (ValueError, TypeError):
        raise CaseError(f"{name!r} is not a rectangular array") from None
    out = np.empty(arr.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, (list, tuple, dict)):
            raise CaseError(f"{name!r} is not a rectangular array")
        out[idx] = parse_case_number(v, dt)
    return out


def round_float_int(v: int, dt: DType) -> float:
    from reference.dtypes import round_fraction

    return round_fraction(v, 1, dt)


def finite_or_special(x: float) -> bool:
    return math.isfinite(x) or math.isnan(x) or math.isinf(x)
