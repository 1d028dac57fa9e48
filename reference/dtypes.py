"""The four floating formats, exact conversion of their values, and correct rounding into them.

Every value of float16, bfloat16, float32 and float64 is exactly a float64, so an input is taken exactly as
`float(x)`. Rounding goes the other way: an exact rational (or dyadic) number is rounded ONCE into a format
with integer arithmetic -- round to nearest, ties to even, overflow to +-inf, gradual underflow, signed zero
-- never through float64 for the narrow formats (no double rounding).

A format with precision p (significand bits, implicit bit included), exponent range [emin, emax] represents
    +-N * 2**q   with 0 <= N < 2**p and q >= emin - p + 1  (subnormals when N < 2**(p-1)),
and its largest finite value is (2 - 2**(1-p)) * 2**emax.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from fractions import Fraction

import ml_dtypes
import numpy as np

from reference.errors import CaseError


@dataclass(frozen=True)
class DType:
    name: str
    np_dtype: np.dtype
    precision: int  # significand bits including the implicit bit
    emin: int
    emax: int

    @property
    def qmin(self) -> int:
        """Exponent of the smallest subnormal, 2**qmin."""
        return self.emin - self.precision + 1

    @property
    def max_finite(self) -> float:
        return math.ldexp(2.0 - math.ldexp(1.0, 1 - self.precision), self.emax)


DTYPES: dict[str, DType] = {
    "float64": DType("float64", np.dtype(np.float64), 53, -1022, 1023),
    "float32": DType("float32", np.dtype(np.float32), 24, -126, 127),
    "float16": DType("float16", np.dtype(np.float16), 11, -14, 15),
    "bfloat16": DType("bfloat16", np.dtype(ml_dtypes.bfloat16), 8, -126, 127),
}
DTYPE_NAMES: tuple[str, ...] = tuple(DTYPES)  # the one list of dtypes under test, widest first


def get_dtype(name) -> DType:
    try:
        return DTYPES[name]
    except (KeyError, TypeError):
        raise CaseError(f"unknown dtype {name!r}; choose from {', '.join(DTYPES)}") from None


def _signed_zero(negative: bool) -> float:
    return -0.0 if negative else 0.0


def round_fraction(num: int, den: int, dt: DType, negative_zero: bool = False, tie: str = "even") -> float:
    """num/den (den > 0) correctly rounded to `dt`, as the Python float holding that format value exactly.

    negative_zero: the sign of the result when num == 0 (an exact zero has no sign of its own).
    tie: "even" (IEEE round to nearest even); "up" / "down" break a tie toward +inf / -inf instead: the
         rounding of num/den plus / minus an infinitesimal (used to round exact + tiny-of-known-sign values).
    """
    if den <= 0:
        raise ValueError("den must be positive")
    if num == 0:
        return _signed_zero(negative_zero)
    negative = num < 0
    n = -num if negative else num
    # E with 2**E <= n/den < 2**(E+1)
    e = n.bit_length() - den.bit_length()
    if (n << max(0, -e)) < (den << max(0, e)):
        e -= 1
    if e > dt.emax:
        return -math.inf if negative else math.inf
    if e < dt.qmin - 1:  # below half the smallest subnormal: rounds to zero
        return _signed_zero(negative)
    q = max(e - (dt.precision - 1), dt.qmin)  # exponent of the last significand bit
    num_s, den_s = (n, den << q) if q >= 0 else (n << -q, den)
    big_n, rem = divmod(num_s, den_s)
    twice = 2 * rem
    if twice == den_s:
        if tie == "even":
            big_n += big_n & 1
        elif (tie == "up") != negative:  # toward +inf on a positive value, toward -inf on a negative one
            big_n += 1
    elif twice > den_s:
        big_n += 1
    if big_n == 0:
        return _signed_zero(negative)
    if big_n >> (dt.emax + 1 - q):  # |result| >= 2**(emax+1): overflow (q <= emax - p + 1 here)
        return -math.inf if negative else math.inf
    value = math.ldexp(big_n, q)
    return -value if negative else value


def round_dyadic(man: int, exp: int, dt: DType, tie: str = "even") -> float:
    """man * 2**exp correctly rounded to `dt` (see round_fraction)."""
    man, exp = int(man), int(exp)
    if man == 0:
        return -0.0 if tie == "down" else 0.0
    top = abs(man).bit_length() + exp - 1  # 2**top <= |value| < 2**(top+1)
    if top > dt.emax + 1:
        return -math.inf if man < 0 else math.inf
    if top < dt.qmin - 2:
        return _signed_zero(man < 0)
    if exp >= 0:
        return round_fraction(man << exp, 1, dt, tie=tie)
    return round_fraction(man, 1 << -exp, dt, tie=tie)


def round_float(x: float, dt: DType) -> float:
    """A float64 value (exact) correctly rounded to `dt`; specials and signed zeros pass through."""
    x = float(x)
    if not math.isfinite(x) or x == 0.0:
        return x
    num, den = x.as_integer_ratio()
    return round_fraction(num, den, dt)


def to_numpy(values, dt: DType) -> np.ndarray:
    """An array of Python floats that are already values of `dt`, as a numpy array of that dtype (exact)."""
    arr = np.asarray(values, dtype=np.float64)
    out = arr.astype(dt.np_dtype)
    if not np.array_equal(out.astype(np.float64), arr, equal_nan=True):
        raise AssertionError("to_numpy: values not representable in " + dt.name)
    return out


def round_array(arr: np.ndarray, dt: DType) -> np.ndarray:
    """A floating array (any of the four formats) rounded once into `dt` from its exact values."""
    flat = np.asarray(arr).astype(np.float64).ravel()
    if np.asarray(arr).dtype == dt.np_dtype:
        return np.asarray(arr).copy()
    return to_numpy([round_float(v, dt) for v in flat], dt).reshape(np.shape(arr))


def round_fraction_value(value: Fraction, dt: DType, negative_zero: bool = False) -> float:
    return round_fraction(value.numerator, value.denominator, dt, negative_zero)


def same_float(a: float, b: float) -> bool:
    """Bitwise equality of two Python floats (distinguishes -0.0 and +0.0; NaN equals NaN)."""
    if math.isnan(a) or math.isnan(b):
        return math.isnan(a) and math.isnan(b)
    return a == b and math.copysign(1.0, a) == math.copysign(1.0, b)
