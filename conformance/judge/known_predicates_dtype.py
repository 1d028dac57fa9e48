"""Predicates of known divergences about the dtype a computation ran in (Keras on the JAX and torch backends,
precision policies; conformance/judge/known_predicates.py registers these with the others and documents the
contract). Each reads only the failing element: its record's dtype, observed and exact values.
"""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np


def observed_float32_value_in_float64(e) -> bool:
    """A float64 element that float32 arithmetic produced: the observed value is exactly a float32 number (or
    +-inf where the exact value lies beyond float32's range) and the exact value is not one (Keras on the JAX
    and torch backends promotes float64 to float32 in keras.ops.mean / divide_no_nan, then casts back)."""
    x = e.exact
    if e.dtype != "float64" or x is None:
        return False
    f32 = np.finfo(np.float32)
    if math.isinf(e.observed):
        return abs(x) > Decimal(float(f32.max))
    representable = float(np.float32(e.observed)) == e.observed
    exact_is_f32 = abs(x) <= Decimal(float(f32.max)) and Decimal(float(np.float32(float(x)))) == x
    return representable and not exact_is_f32


PREDICATES = (observed_float32_value_in_float64,)
