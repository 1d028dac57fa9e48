"""Validate a case and bring it into the form the ops take: exact dtype values, int64 labels, full params.

Inputs may be numpy arrays (floating arrays of any of the four formats are taken exactly and rounded once
into the case dtype when they are of another format) or nested lists of numbers: ints, floats, the strings
"inf", "-inf", "nan", or reference.decimal_io.NumberToken (a JSON number's exact text, rounded once),
or {"shape": [...], "data": [...]} (the form that keeps the shape of an empty array).
"""
from __future__ import annotations

from dataclasses import dataclass
from fractions import Fraction

import numpy as np

from reference.decimal_io import NumberToken, parse_case_number, parse_decimal
from reference.dtypes import DType, get_dtype, round_float, round_fraction
from reference.errors import CaseError
from reference.ops import OPS
from reference.ops.spec import OpSpec

ARRAY_PARAMS = ("weight", "pos_weight", "sample_weight")  # rounded to the case dtype, then exact
MASK_PARAMS = ("where",)  # boolean arrays (true/false, nested lists or {"shape", "data"})
BOUND_PARAMS = ("clip",)  # [lo, hi], compared with dtype values: rounded to the case dtype too


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
    unknown = sorted(set(inputs) - set(spec.input_names))
    if unknown:
        raise CaseError(f"{op}: unknown input {unknown[0]!r}; inputs are {', '.join(spec.input_names)}")
    missing = [n for n in spec.input_names if n not in inputs]
    if missing:
        raise CaseError(f"{op}: missing input {missing[0]!r}")
    bad = sorted(set(params) - set(spec.params))
    if bad:
        raise CaseError(f"{op}: unknown param {bad[0]!r}; params are {', '.join(spec.params) or 'none'}")
    full_params = dict(spec.defaults)
    full_params.update(params)
    for name in ARRAY_PARAMS:
        if full_params.get(name) is not None:
            full_params[name] = _float_array(_as_array(full_params[name], name), dt, name)
    for name in MASK_PARAMS:
        if full_params.get(name) is not None:
            full_params[name] = _mask_array(full_params[name], name)
    for name in BOUND_PARAMS:
        value = full_params.get(name)
        if value is not None:
            if not isinstance(value, (list, tuple)) or len(value) != 2:
                raise CaseError(f"{name} must be [lo, hi] or null, got {value!r}")
            full_params[name] = [float(v) for v in _float_array(_as_array(list(value), name), dt, name)]
    for name, value in list(full_params.items()):
        if isinstance(value, NumberToken):
            full_params[name] = _scalar_param(value, name)
    arrays = {n: _as_array(inputs[n], n) for n in spec.input_names}
    floats, labels = {}, {}
    for inp in spec.inputs:
        arr, kind = arrays[inp.name], inp.kind
        if kind == "labels_or_float":
            kind = "float" if arr.shape == arrays[inp.like].shape else "labels"
        if kind == "labels":
            labels[inp.name] = _labels(arr, inp.name)
        else:
            floats[inp.name] = _float_array(arr, dt, inp.name)
    return Case(spec, dt, floats, labels, full_params)


def _scalar_param(token: NumberToken, name: str):
    """A scalar JSON number param: an int when it is spelled as one, else the float64 a framework gets."""
    value, _ = parse_decimal(token)
    if value.denominator == 1 and not any(c in token for c in ".eE"):
        return int(value)
    return float(value)


def _as_array(value, name) -> np.ndarray:
    if isinstance(value, dict):  # {"shape": [...], "data": [...]}: how an empty array keeps its shape
        if set(value) != {"shape", "data"}:
            raise CaseError(f"{name!r}: an array object needs exactly the keys shape and data")
        flat = _as_array(value["data"], name).ravel()
        try:
            shape = tuple(int(str(n)) for n in value["shape"])
            return flat.reshape(shape)
        except (TypeError, ValueError):
            raise CaseError(f"{name!r}: data does not fill shape {value['shape']!r}") from None
    if isinstance(value, np.ndarray):
        arr = value
    elif isinstance(value, (list, tuple)) or np.isscalar(value):
        arr = np.empty(0, dtype=object)
        try:
            arr = np.array(value, dtype=object)
        except ValueError:
            raise CaseError(f"{name!r} is not a rectangular array") from None
        if any(isinstance(v, (list, tuple, dict)) for v in arr.ravel()):
            raise CaseError(f"{name!r} is not a rectangular array")
        return arr
    else:
        raise CaseError(f"{name!r} must be an array of numbers, got {type(value).__name__}")
    if arr.dtype.kind == "b":
        raise CaseError(f"{name!r} must hold numbers, not booleans")
    if arr.dtype.kind not in "iufO" and arr.dtype.name != "bfloat16":
        raise CaseError(f"{name!r} must hold numbers, got dtype {arr.dtype}")
    return arr


def _mask_array(value, name) -> np.ndarray:
    """A boolean mask param: true / false only (numbers are not masks)."""
    if isinstance(value, dict):
        if set(value) != {"shape", "data"}:
            raise CaseError(f"{name!r}: an array object needs exactly the keys shape and data")
        flat = _mask_array(value["data"], name).ravel()
        try:
            return flat.reshape(tuple(int(str(n)) for n in value["shape"]))
        except (TypeError, ValueError):
            raise CaseError(f"{name!r}: data does not fill shape {value['shape']!r}") from None
    if isinstance(value, np.ndarray) and value.dtype == bool:
        return value
    try:
        arr = np.array(value, dtype=object)
    except ValueError:
        raise CaseError(f"{name!r} is not a rectangular array") from None
    if not all(isinstance(v, (bool, np.bool_)) for v in arr.ravel()):
        raise CaseError(f"{name!r} must be a rectangular array of true/false")
    return arr.astype(bool)


def _label_value(v, name) -> int:
    if isinstance(v, bool) or v is None:
        raise CaseError(f"input {name!r}: class labels must be integers, got {v!r}")
    if isinstance(v, (int, np.integer)):
        return int(v)
    if isinstance(v, NumberToken):
        frac, _ = parse_decimal(v)
    elif isinstance(v, (float, np.floating)):
        if not np.isfinite(v):
            raise CaseError(f"input {name!r}: class labels must be finite integers, got {v!r}")
        frac = Fraction(float(v))
    else:
        raise CaseError(f"input {name!r}: class labels must be integers, got {v!r}")
    if frac.denominator != 1:
        raise CaseError(f"input {name!r}: class labels must be integers, got {v}")
    return int(frac)


def _labels(arr: np.ndarray, name: str) -> np.ndarray:
    if arr.dtype.kind in "iu":
        values = [int(v) for v in arr.ravel().tolist()]
    else:
        values = [_label_value(v, name) for v in arr.ravel().tolist()]
    if any(not -2 ** 63 <= v < 2 ** 63 for v in values):
        raise CaseError(f"input {name!r}: a class label does not fit in int64")
    return np.array(values, dtype=np.int64).reshape(arr.shape)


def _float_array(arr: np.ndarray, dt: DType, name: str) -> np.ndarray:
    """The input (or array param) as float64 values of `dt`, each rounded once from its exact value."""
    if arr.dtype.kind == "f" or arr.dtype.name == "bfloat16":
        f = arr.astype(np.float64)
        if arr.dtype == dt.np_dtype:
            return f
        return np.vectorize(lambda v: round_float(v, dt), otypes=[np.float64])(f) if f.size else f
    out = np.empty(arr.shape, dtype=np.float64)
    for idx, v in np.ndenumerate(arr):
        if isinstance(v, (int, np.integer)) and not isinstance(v, bool):
            out[idx] = round_fraction(int(v), 1, dt)
        else:
            out[idx] = parse_case_number(v, dt)
    return out
