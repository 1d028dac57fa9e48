"""Decimal text in and out: case numbers rounded once into a dtype, exact strings, round-trip strings.

Case numbers are JSON numbers (taken as the exact decimal they spell) or the strings "inf", "-inf", "nan".
Bounded: a number's text is at most MAX_NUMBER_CHARS characters and its written exponent within
±MAX_EXPONENT (a CaseError otherwise), so parsing takes bounded time (zero with any exponent is zero).
A decimal is rounded ONCE, directly from its exact rational value, into the case dtype: never through
float64 first (that would round twice for float32 / float16 / bfloat16).
"""
from __future__ import annotations

import math
import re
from fractions import Fraction

from reference.dtypes import DType, round_fraction
from reference.errors import CaseError
from reference.ext import FIN, NEG, POS, X

_DECIMAL = re.compile(r"^([+-]?)(\d+)(?:\.(\d*))?(?:[eE]([+-]?\d+))?$|^([+-]?)\.(\d+)(?:[eE]([+-]?\d+))?$")
_SPECIAL = {"inf": math.inf, "+inf": math.inf, "-inf": -math.inf, "nan": math.nan,
            "infinity": math.inf, "+infinity": math.inf, "-infinity": -math.inf}


MAX_EXPONENT = 99_999  # |written decimal exponent| accepted; beyond it a number is rejected (CaseError)
MAX_NUMBER_CHARS = 1_000  # longest number text accepted


class NumberToken(str):
    """The exact text of a JSON number (json.loads(..., parse_float=NumberToken, parse_int=NumberToken))."""


def parse_decimal(text: str) -> tuple[Fraction, bool]:
    """The exact rational a decimal string spells, and whether it carries a minus sign (for -0)."""
    if len(text) > MAX_NUMBER_CHARS:
        raise CaseError(f"number {text[:20]}... has more than {MAX_NUMBER_CHARS} characters")
    m = _DECIMAL.match(text.strip())
    if not m:
        raise CaseError(f"malformed number {text!r}")
    if m.group(2) is not None:
        sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    else:
        sign, whole, frac, exp = m.group(5), "0", m.group(6), m.group(7)
    digits = (whole + frac).lstrip("0") or "0"
    if exp and len(exp.lstrip("+-").lstrip("0")) > len(str(MAX_EXPONENT)) or exp and abs(int(exp)) > MAX_EXPONENT:
        raise CaseError(f"number {text.strip()[:40]!r}: decimal exponent beyond ±{MAX_EXPONENT}")
    e10 = (int(exp) if exp else 0) - len(frac)
    if digits == "0":
        value = Fraction(0)
    elif abs(e10 + len(digits)) > 5000:  # far outside every format: 0 or inf
        value = Fraction(10) ** 400 if e10 > 0 else Fraction(1, 10 ** 400)
    else:
        value = Fraction(int(digits)) * (Fraction(10) ** e10)
    negative = sign == "-"
    return (-value if negative else value), negative


def parse_case_number(token, dt: DType) -> float:
    """A case number (JSON number text, int, float, or "inf"/"-inf"/"nan") rounded once into `dt`."""
    if isinstance(token, bool) or token is None:
        raise CaseError(f"malformed number {token!r}")
    if isinstance(token, str) and not isinstance(token, NumberToken):
        key = token.strip().lower()
        if key in _SPECIAL:
            return _SPECIAL[key]
    if isinstance(token, float) and not isinstance(token, NumberToken):
        if not math.isfinite(token):
            return token
        num, den = token.as_integer_ratio()
        return round_fraction(num, den, dt, negative_zero=math.copysign(1.0, token) < 0)
    if isinstance(token, int):
        return round_fraction(token, 1, dt)
    if isinstance(token, str):
        value, negative = parse_decimal(token)
        return round_fraction(value.numerator, value.denominator, dt, negative_zero=negative)
    raise CaseError(f"malformed number {token!r}")


# exact strings -------------------------------------------------------------------------------------------
_ARB_OUT = re.compile(r"^(-?)(\d+)(?:\.(\d*))?(?:e([+-]?\d+))?$")


def _canonical(sign: str, digits: str, e10: int) -> str:
    """sign * 0.digits... written canonically: value = int(digits) * 10**e10."""
    stripped = digits.lstrip("0")
    if not stripped:
        return "0"
    trailing = len(stripped) - len(stripped.rstrip("0"))
    stripped = stripped.rstrip("0") or "0"
    e10 += trailing
    sci = e10 + len(stripped) - 1  # exponent in d.ddd e sci
    if -5 <= sci < 17:
        if e10 >= 0:
            body = stripped + "0" * e10
        elif -e10 < len(stripped):
            body = stripped[: len(stripped) + e10] + "." + stripped[len(stripped) + e10:]
        else:
            body = "0." + "0" * (-e10 - len(stripped)) + stripped
    else:
        body = stripped[0] + ("." + stripped[1:] if len(stripped) > 1 else "") + f"e{sci:+d}"
    return sign + body


def exact_string(x: X, zero_resolved: bool = False) -> str:
    """The decimal string of an element's exact real.

    Finite balls print their midpoint with as many significant digits as the ball guarantees (at most 40,
    never fewer than 30 for a certified inexact value, trailing zeros stripped: an exact 0.5 prints "0.5").
    zero_resolved: the ball contains 0 and is narrower than float64's zero-rounding interval: prints "0".
    """
    if x.k == POS:
        return "inf"
    if x.k == NEG:
        return "-inf"
    if x.k != FIN:
        return "nan"
    v = x.v
    if zero_resolved or v.is_zero():
        return "0"
    if v.rad() == 0:
        digits = 40
    else:
        digits = max(30, min(40, int(v.rel_accuracy_bits() * 0.30103) - 1))
    text = v.str(digits, radius=False, more=True)
    m = _ARB_OUT.match(text)
    if not m:
        raise AssertionError(f"unexpected arb output {text!r}")
    sign, whole, frac, exp = m.group(1), m.group(2), m.group(3) or "", m.group(4)
    return _canonical(sign, whole + frac, (int(exp) if exp else 0) - len(frac))


def shortest_repr(value: float, dt: DType) -> str:
    """The shortest decimal string that rounds (once, correctly) back to `value` in `dt`."""
    if math.isnan(value):
        return "nan"
    if math.isinf(value):
        return "inf" if value > 0 else "-inf"
    if value == 0:
        return "-0.0" if math.copysign(1.0, value) < 0 else "0.0"
    for digits in range(1, 18):
        text = f"{value:.{digits}e}" if digits > 1 else f"{value:.0e}"
        frac, negative = parse_decimal(text)
        if round_fraction(frac.numerator, frac.denominator, dt, negative) == value:
            m = re.match(r"^(-?)(\d)(?:\.(\d+))?e([+-]\d+)$", text)
            sign, lead, rest, exp = m.group(1), m.group(2), m.group(3) or "", int(m.group(4))
            out = _canonical(sign, lead + rest, exp - len(rest))
            return out if any(c in out for c in ".e") else out + ".0"
    return repr(value)
