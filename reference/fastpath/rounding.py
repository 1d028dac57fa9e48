"""Certification of bounded values: correct rounding into the case dtype when both ends of the enclosure
round to the same float (package docstring, "Certification")."""
from __future__ import annotations

import numpy as np

from reference.dtypes import DType
from reference.fastpath.bound import B


def round_to_dtype(x: np.ndarray, dt: DType) -> np.ndarray:
    """Finite W values correctly rounded (to nearest, ties to even) into `dt`, returned as float64 values.

    With 2**(k-1) <= |x| < 2**k (np.frexp), the quantum is 2**q, q = max(k - p, qmin); x * 2**-q is exact
    (a power-of-two scaling that neither overflows nor underflows), np.rint rounds it to an integer with
    ties to even, and scaling back is exact. Beyond the largest finite value: +-inf. Signs (and -0) kept.
    float64 -> float32 is the IEEE conversion itself (correctly rounded, ties to even, gradual underflow).
    """
    if dt.name == "float32" and x.dtype == np.float64:  # the IEEE conversion itself rounds correctly
        return x.astype(np.float32).astype(np.float64)
    a = np.abs(x)
    _, k = np.frexp(a)
    q = np.maximum(k.astype(np.int64) - dt.precision, dt.qmin)
    r = np.ldexp(np.rint(np.ldexp(a, (-q).astype(np.int32))), q.astype(np.int32))
    r = np.where(r > dt.max_finite, np.inf, r)
    return np.copysign(r.astype(np.float64), x.astype(np.float64))


def _same_float(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    return (a == b) & (np.signbit(a) == np.signbit(b))


def certify(b: B, dt: DType, sign=None) -> tuple[np.ndarray, np.ndarray]:
    """(rounded as float64, certified) for each element of b.

    sign: None, or an array/scalar: +1 where the exact value is known to be >= 0, -1 where it is known to be
    < 0 (strictly), 0 where nothing is known."""
    v, e = b.v, b.e
    with np.errstate(all="ignore"):
        lo = np.nextafter(v - e, b.v.dtype.type(-np.inf))
        hi = np.nextafter(v + e, b.v.dtype.type(np.inf))
    exact = e == 0
    lo = np.where(exact, v, lo)
    hi = np.where(exact, v, hi)
    if sign is not None:
        sign = np.broadcast_to(sign, v.shape)
        zero = v.dtype.type(0)
        lo = np.where((sign > 0) & ~exact & (lo < 0), zero, lo)
        hi = np.where((sign < 0) & ~exact & (hi >= 0), -zero, hi)
    finite = np.isfinite(v) & np.isfinite(e) & np.isfinite(lo) & np.isfinite(hi)
    lo = np.where(finite, lo, 0)
    hi = np.where(finite, hi, 0)
    r_lo, r_hi = round_to_dtype(lo, dt), round_to_dtype(hi, dt)
    ok = finite & _same_float(r_lo, r_hi)
    rounded = np.where(exact & (v == 0), 0.0, r_lo)
    return rounded, ok


def ieee_mode() -> bool:
    """Gradual underflow is on (no flush-to-zero / denormals-are-zero): TwoSum and the rounding need it."""
    tiny = np.float64(2.0 ** -1022)
    with np.errstate(all="ignore"):
        return bool(tiny / np.float64(4.0) != 0 and np.float64(5e-324) + np.float64(0.0) != 0)

