"""Correct rounding where it is hard: values exactly on, or extremely near, a rounding boundary of the dtype.
Certified elements must be correctly rounded; anything the reference cannot decide must be flagged."""
from __future__ import annotations

import sys
from fractions import Fraction

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ref_helpers import DTYPE_NAMES, evaluate, logits_strategy, rounded_of
from reference.dtypes import DTYPES, round_fraction, same_float

EVAL_MODULE = sys.modules["reference.precision"]  # START_BITS / CAP_BITS live there


def _neighbours(data, dtype, min_exp=None):
    """Two consecutive positive values a < b of the dtype, drawn across its exponent range."""
    dt = DTYPES[dtype]
    lo = max(dt.emin if min_exp is None else min_exp, -60)
    exp = data.draw(st.integers(lo, min(dt.emax - 1, 60)), label="exponent")
    frac = data.draw(st.integers(0, 2 ** (dt.precision - 1) - 2), label="significand")
    a = Fraction(2 ** (dt.precision - 1) + frac, 2 ** (dt.precision - 1)) * Fraction(2) ** exp
    ulp = Fraction(2) ** (exp - dt.precision + 1)
    return a, a + ulp, ulp


def _tie_even(a: Fraction, b: Fraction, dtype: str) -> float:
    mid = (a + b) / 2
    return round_fraction(mid.numerator, mid.denominator, DTYPES[dtype])


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_mean_exactly_on_a_midpoint_rounds_to_even(data):
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    a, b, _ = _neighbours(data, dtype)
    sign = data.draw(st.sampled_from([1, -1]), label="sign")
    logp = np.array([[-sign * float(a), 0.0], [-sign * float(b), 0.0]])
    r = evaluate("nll_loss", dtype, {"logp": logp, "target": np.array([0, 0])})  # mean = (a + b)/2 * sign
    want = sign * _tie_even(a, b, dtype)
    assert r.certified
    assert same_float(float(r.value.rounded), want)
    assert abs(Fraction(r.value.exact[()]) - sign * (a + b) / 2) <= a * Fraction(1, 10 ** 38)


@settings(max_examples=60, deadline=None)
@given(data=st.data())
def test_sum_a_hair_off_a_midpoint(data):
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    dt = DTYPES[dtype]
    a, b, ulp = _neighbours(data, dtype, min_exp=dt.emin + dt.precision)  # ulp/2 + eps stays normal
    side = data.draw(st.sampled_from([1, -1]), label="side of the midpoint")
    eps = ulp / 2 ** (dt.precision - 1)  # the smallest change of ulp/2 the dtype can hold
    logp = np.array([[-float(a)], [-float(ulp / 2 + side * eps)]])
    r = evaluate("nll_loss", dtype, {"logp": logp, "target": np.array([0, 0])}, {"reduction": "sum"})
    assert r.certified
    assert float(r.value.rounded) == (float(b) if side > 0 else float(a))


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_log_softmax_on_a_midpoint_minus_an_invisible_tail(dtype):
    """x = [2**p, 1.5]: x_1 - max = 1.5 - 2**p is a midpoint; the true value lies below it by
    log1p(exp(1.5 - 2**p)), far below any working precision. Ties-to-even would pick the even neighbour;
    the truth is the odd one, farther from zero."""
    p = DTYPES[dtype].precision
    top = 2.0 ** p
    r = evaluate("log_softmax", dtype, {"x": [[top, 1.5]]})
    d = Fraction(3, 2) - Fraction(int(top))
    below = round_fraction((d - Fraction(1, 2 ** 4000)).numerator, (d - Fraction(1, 2 ** 4000)).denominator,
                           DTYPES[dtype])
    assert r.certified
    assert float(r.value.rounded[0, 1]) == below
    assert below != round_fraction(d.numerator, d.denominator, DTYPES[dtype])  # not what ties-to-even gives
    assert float(r.value.rounded[0, 0]) == 0.0 and np.signbit(r.value.rounded[0, 0])  # -tiny rounds to -0
    ce = evaluate("cross_entropy", dtype, {"logits": [[top, 1.5]], "target": [1]}, {"reduction": "sum"})
    assert ce.certified and float(ce.value.rounded) == -below


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_sigmoid_just_below_one(dtype):
    """sigma(x) = 1 - e^-x (1 + ...): below 1 by less than half an ulp for large x, above the midpoint."""
    p = DTYPES[dtype].precision
    for x in (float(p), float(p + 2), 40.0):
        r = evaluate("sigmoid", dtype, {"x": [x]})
        with mp.workprec(4000):
            want = rounded_of(1 / (1 + mp.exp(-mp.mpf(x))), dtype)
        assert r.certified and float(r.value.rounded[0]) == want


@settings(max_examples=40, deadline=None)
@given(data=st.data())
def test_low_precision_never_certifies_a_wrong_rounding(data):
    """With the working precision capped barely above the dtype's, many elements cannot be decided: they
    must be flagged (certified=False); every element still certified must equal the full answer."""
    dtype = data.draw(st.sampled_from(DTYPE_NAMES), label="dtype")
    op = data.draw(st.sampled_from(["log_softmax", "softmax", "cross_entropy", "sigmoid", "entropy"]), label="op")
    x = data.draw(logits_strategy(2, 4, -4, 4), label="x")
    inputs = {"x": x}
    if op == "cross_entropy":
        inputs = {"logits": x, "target": np.array([0, 3])}
    if op == "entropy":
        inputs = {"p": np.abs(x) / 8 + 0.125}
    full = evaluate(op, dtype, inputs)
    bits = DTYPES[dtype].precision + data.draw(st.integers(0, 6), label="extra bits")
    saved = EVAL_MODULE.START_BITS, EVAL_MODULE.CAP_BITS
    EVAL_MODULE.START_BITS = EVAL_MODULE.CAP_BITS = bits
    try:
        low = evaluate(op, dtype, inputs)
    finally:
        EVAL_MODULE.START_BITS, EVAL_MODULE.CAP_BITS = saved
    for a, b in [(full.value, low.value)] + [(full.grads[k], low.grads[k]) for k in full.grads]:
        ok = np.asarray(b.certified)
        assert np.array_equal(np.asarray(a.rounded)[ok].astype(np.float64), np.asarray(b.rounded)[ok].astype(np.float64))
    assert low.precision_bits == bits


def test_an_undecidable_case_is_flagged():
    saved = EVAL_MODULE.START_BITS, EVAL_MODULE.CAP_BITS
    EVAL_MODULE.START_BITS = EVAL_MODULE.CAP_BITS = 40  # fewer bits than float64 has
    try:
        r = evaluate("log_softmax", "float64", {"x": [[0.1, 0.2, 0.3]]})
    finally:
        EVAL_MODULE.START_BITS, EVAL_MODULE.CAP_BITS = saved
    assert not r.certified
    assert not np.asarray(r.value.certified).all()
    full = evaluate("log_softmax", "float64", {"x": [[0.1, 0.2, 0.3]]})
    assert full.certified
