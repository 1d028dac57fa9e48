"""Correct rounding into the four formats: exhaustive for float16 and bfloat16, oracles for the rest."""
from __future__ import annotations

import math
from fractions import Fraction

import ml_dtypes
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from reference.decimal_io import NumberToken, parse_case_number, shortest_repr
from reference.dtypes import DTYPES, round_dyadic, round_fraction, same_float
from reference.errors import CaseError


def _all_finite(np_dtype, bits_dtype) -> np.ndarray:
    """Every finite non-negative value of a 16-bit format, ascending, as float64."""
    with np.errstate(invalid="ignore"):  # NaN bit patterns
        raw = np.arange(0, 2 ** 16, dtype=np.uint32).astype(bits_dtype).view(np_dtype).astype(np.float64)
    vals = raw[np.isfinite(raw) & ((raw > 0) | (np.arange(2 ** 16) == 0))]
    return np.unique(vals)


def _nearest(point: Fraction, a: float, b: float) -> float:
    """Independent oracle: the closer of two consecutive format values a < b, ties to the even one."""
    da, db = point - Fraction(a), Fraction(b) - point
    if da != db:
        return a if da < db else b
    return None  # decided by the caller from the significands


@pytest.mark.parametrize("name,np_dtype", [("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)])
def test_exhaustive_16_bit_midpoints_and_quarters(name, np_dtype):
    dt = DTYPES[name]
    vals = _all_finite(np_dtype, np.uint16)
    lows, highs = vals[:-1], vals[1:]
    checked = 0
    for a, b in zip(lows.tolist(), highs.tolist()):
        for num in (1, 2, 3):  # a quarter, the midpoint, three quarters of the way
            point = Fraction(a) + (Fraction(b) - Fraction(a)) * num / 4
            got = round_fraction(point.numerator, point.denominator, dt)
            want = _nearest(point, a, b)
            if want is None:  # a tie: the neighbour whose bit pattern is even
                bits_a = int(np.array(a).astype(np_dtype).view(np.uint16))
                want = a if bits_a % 2 == 0 else b
            assert got == want, (name, a, b, num)
            neg = round_fraction(-point.numerator, point.denominator, dt)
            assert neg == -want and math.copysign(1, neg) == -1
            checked += 1
    assert checked == 3 * (len(vals) - 1)


@pytest.mark.parametrize("name,np_dtype", [("float16", np.float16), ("bfloat16", ml_dtypes.bfloat16)])
def test_exhaustive_16_bit_values_round_to_themselves_and_agree_with_numpy(name, np_dtype):
    dt = DTYPES[name]
    vals = _all_finite(np_dtype, np.uint16)
    for v in vals.tolist():
        assert round_fraction(*Fraction(v).as_integer_ratio(), dt) == v
    mids = (vals[:-1] + vals[1:]) / 2  # exact in float64; a float64 -> 16-bit cast is one rounding
    ours = np.array([round_fraction(*Fraction(m).as_integer_ratio(), dt) for m in mids.tolist()])
    assert np.array_equal(ours, mids.astype(np_dtype).astype(np.float64))


@pytest.mark.parametrize("name", list(DTYPES))
def test_overflow_threshold_and_underflow(name):
    dt = DTYPES[name]
    top = Fraction(dt.max_finite)
    half_ulp = Fraction(2) ** (dt.emax - dt.precision)
    assert round_fraction(*(top + half_ulp).as_integer_ratio(), dt) == math.inf  # tie: max is odd -> inf
    below = top + half_ulp - Fraction(1, 2 ** 2000)
    assert round_fraction(below.numerator, below.denominator, dt) == dt.max_finite
    assert round_fraction(-(top + half_ulp).numerator, (top + half_ulp).denominator, dt) == -math.inf
    tiny = Fraction(2) ** dt.qmin  # smallest subnormal
    assert round_fraction(*(tiny / 2).as_integer_ratio(), dt) == 0.0  # tie to even: 0
    above_half = tiny / 2 + Fraction(1, 2 ** 3000)
    assert round_fraction(above_half.numerator, above_half.denominator, dt) == float(tiny)
    neg_zero = round_fraction(-1, 2 ** 3000, dt)
    assert neg_zero == 0.0 and math.copysign(1.0, neg_zero) == -1.0
    assert round_fraction(*(tiny * 3 / 2).as_integer_ratio(), dt) == float(tiny * 2)  # tie to even


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_random_rationals_against_a_neighbour_oracle(data):
    name = data.draw(st.sampled_from(["float32", "float64"]), label="dtype")
    num = data.draw(st.integers(1, 2 ** 200), label="numerator")
    den = data.draw(st.integers(1, 2 ** 200), label="denominator")
    lo, hi = (-170, 120) if name == "float32" else (-1090, 1015)
    scale = data.draw(st.integers(lo, hi), label="binary scale")
    value = Fraction(num, den) * Fraction(2) ** scale
    dt = DTYPES[name]
    np_dtype, uint = (np.float32, np.uint32) if name == "float32" else (np.float64, np.uint64)
    if value >= Fraction(dt.max_finite) + Fraction(2) ** (dt.emax - dt.precision):
        want = math.inf
    else:
        approx = np.array(float(value)).astype(np_dtype)  # some value within an ulp or two of the answer
        near = {float(approx)}
        for _ in range(2):
            near |= {float(np.nextafter(np_dtype(c), np_dtype(np.inf))) for c in near}
            near |= {float(np.nextafter(np_dtype(c), np_dtype(0))) for c in near}
        finite = [c for c in near if math.isfinite(c)]
        want = min(finite, key=lambda c: (abs(Fraction(c) - value), int(np.array(c, np_dtype).view(uint)) % 2))
    assert round_fraction(value.numerator, value.denominator, dt) == want


@settings(max_examples=200, deadline=None)
@given(data=st.data())
def test_dyadic_rounding_equals_fraction_rounding_with_ties(data):
    name = data.draw(st.sampled_from(list(DTYPES)), label="dtype")
    man = data.draw(st.integers(-(2 ** 80), 2 ** 80), label="mantissa")
    exp = data.draw(st.integers(-1300, 1100), label="exponent")
    tie = data.draw(st.sampled_from(["even", "up", "down"]), label="tie")
    dt = DTYPES[name]
    value = Fraction(man) * Fraction(2) ** exp
    got = round_dyadic(man, exp, dt, tie=tie)
    want = round_fraction(value.numerator, value.denominator, dt, tie=tie) if man else got
    assert same_float(got, want) or (got == 0 and want == 0)
    if tie == "up":  # rounding x + 0+ never goes below rounding x, and lands on a neighbour
        assert got >= round_dyadic(man, exp, dt)
    if tie == "down":
        assert got <= round_dyadic(man, exp, dt)


def test_decimal_is_rounded_once_not_through_float64():
    # 1 + 2**-24 is the float32 midpoint between 1 and 1 + 2**-23; adding 2**-60 puts the decimal just
    # above it. float64 would first round it to the midpoint (a tie, then even: 1.0); once: 1 + 2**-23.
    exact = Fraction(1) + Fraction(1, 2 ** 24) + Fraction(1, 2 ** 60)
    text = _decimal_text(exact)
    assert float(text) == 1 + 2 ** -24  # what float64 sees
    assert parse_case_number(NumberToken(text), DTYPES["float32"]) == 1 + 2 ** -23
    assert parse_case_number(NumberToken("-" + text), DTYPES["float32"]) == -(1 + 2 ** -23)
    assert parse_case_number(NumberToken(text), DTYPES["float64"]) == 1 + 2 ** -24


def _decimal_text(f: Fraction) -> str:
    """The exact decimal expansion of a dyadic rational."""
    k = 0
    while (f * 10 ** k).denominator != 1:
        k += 1
    digits = str((f * 10 ** k).numerator)
    return digits[:-k] + "." + digits[-k:] if k else digits


@pytest.mark.parametrize("text,dtype,want", [
    ("inf", "float16", math.inf), ("-inf", "bfloat16", -math.inf), ("65520", "float16", math.inf),
    ("65519.99", "float16", 65504.0), ("1e-400", "float64", 0.0), ("1e400", "float32", math.inf),
    ("0.1", "float16", 0.0999755859375), ("-0", "float32", -0.0),
])
def test_case_numbers(text, dtype, want):
    got = parse_case_number(NumberToken(text) if text not in ("inf", "-inf") else text, DTYPES[dtype])
    assert same_float(got, want)


@pytest.mark.parametrize("text", ["abc", "1.2.3", "", "1e", "--1", "0x10"])
def test_malformed_case_numbers(text):
    with pytest.raises(CaseError, match="malformed number"):
        parse_case_number(NumberToken(text), DTYPES["float32"])


@settings(max_examples=300, deadline=None)
@given(data=st.data())
def test_shortest_repr_round_trips(data):
    name = data.draw(st.sampled_from(list(DTYPES)), label="dtype")
    x = data.draw(st.floats(allow_nan=False, width=64), label="value")
    dt = DTYPES[name]
    v = round_fraction(*Fraction(x).as_integer_ratio(), dt) if math.isfinite(x) else x
    text = shortest_repr(v, dt)
    back = parse_case_number(NumberToken(text) if math.isfinite(v) else text, dt)
    assert same_float(back, v)
