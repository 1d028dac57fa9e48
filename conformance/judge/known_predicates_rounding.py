"""Predicates about a rounded intermediate that a derivative formula reuses (conformance/judge/known_predicates.py
registers them with the others and documents the contract; each reads only the record's failing element)."""
from __future__ import annotations

import math
from decimal import Decimal

import ml_dtypes
import numpy as np


def _unit_roundoff(dtype: str) -> float:
    return float(ml_dtypes.finfo(ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype)).eps) / 2


def relative_error_within_rounded_output_in_exp(e) -> bool:
    """A derivative formed as exp(a - out) with `out` the rounded output of a log-sum-exp (JAX's logaddexp JVP,
    behind log_sigmoid and softplus): out, of magnitude at most M + log 2 (M the largest |input| the element
    depends on), carries an absolute rounding error of u |out|, which the exponent passes on as a relative error
    of the result. Holds when the observed element is finite and |observed - exact| <= 2 u (M + 2) |exact|."""
    exact = e.exact
    if exact is None or exact == 0 or not math.isfinite(e.observed):
        return False
    finite = [a[np.isfinite(a)] for a in e.inputs()]
    M = max((float(np.max(np.abs(a))) for a in finite if a.size), default=0.0)
    return abs(Decimal(e.observed) - exact) <= Decimal(2 * _unit_roundoff(e.dtype) * (M + 2)) * abs(exact)


PREDICATES = (relative_error_within_rounded_output_in_exp,)
