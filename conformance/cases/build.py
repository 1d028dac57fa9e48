"""Turn catalog entries into concrete cases for one dtype and one implementation's layout."""
from __future__ import annotations

import numpy as np

from conformance.cases.case import Case
from reference.catalog import CATALOG, Empty, Labels, Random, RandomLabels
from conformance.cases.layout import move_class_axis
from conformance.floats import named_value, np_dtype

PROFILE_ORDER = ("quick", "ci", "thorough")
FLOAT_PARAMS = ("weight", "pos_weight", "sample_weight")


def resolve_number(value, dtype: str) -> float:
    if isinstance(value, str):
        if value in ("inf", "-inf", "nan"):
            return float(value)
        return named_value(value, dtype)
    return float(value)


def resolve_input(spec, dtype: str) -> np.ndarray:
    dt = np_dtype(dtype)
    if isinstance(spec, Labels):
        return np.asarray(spec.values, dtype=np.int64)
    if isinstance(spec, RandomLabels):
        return np.random.default_rng(spec.seed).integers(0, spec.classes, size=spec.shape).astype(np.int64)
    if isinstance(spec, Random):
        draw = np.random.default_rng(spec.seed).normal(0.0, spec.scale, size=spec.shape)
        return draw.astype(np.float32).astype(dt) if dt.itemsize == 2 else draw.astype(dt)
    if isinstance(spec, Empty):
        return np.zeros(spec.shape, dtype=dt)
    nested = _map_nested(spec, lambda v: resolve_number(v, dtype))
    return np.asarray(nested, dtype=np.float64).astype(dt)


def resolve_params(params: dict, dtype: str) -> dict:
    out = {}
    for name, value in params.items():
        if name in FLOAT_PARAMS and value is not None:
            out[name] = _map_nested(value, lambda v: resolve_number(v, dtype))
        else:
            out[name] = value
    return out


def _map_nested(value, fn):
    if isinstance(value, (list, tuple, np.ndarray)):
        return [_map_nested(v, fn) for v in value]
    return fn(value)


def catalog_cases(op: str, dtype: str, profile: str = "ci", axis: int | None = None) -> list[Case]:
    """Every catalog case of `op` for `dtype` allowed in `profile`, with the class axis at `axis`."""
    cases = []
    for entry in CATALOG:
        if entry.op != op or PROFILE_ORDER.index(profile) < PROFILE_ORDER.index(entry.min_profile):
            continue
        case = Case(
            id=entry.id,
            op=op,
            dtype=dtype,
            inputs={name: resolve_input(spec, dtype) for name, spec in entry.inputs.items()},
            params=resolve_params(entry.params, dtype),
            source="catalog",
        )
        if axis is not None:
            case = move_class_axis(case, axis)
        cases.append(case)
    return cases
