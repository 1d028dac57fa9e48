"""reference/fastpath/dd.py: every double-double bound encloses the exact value (checked with arb on
adversarial arguments: near the reduction's rounding boundaries, at the under/overflow edges, cancelling
sums, tiny low words, inputs with their own error), certify_dd never claims a rounding that an interval
does not decide, and float64 cases of thousands of classes are certified without arb."""
from __future__ import annotations

import math

import numpy as np
import pytest
from flint import arb, ctx

import reference
from reference import fastpath
from reference.case import prepare
from reference.evaluate import arb_path
from reference.fastpath import dd
from reference.fastpath.bound import B

AR = dd.DDArith()


@pytest.fixture(autouse=True)
def _precision():
    saved = ctx.prec
    ctx.prec = 2400  # sums of doubles far apart in magnitude stay exact
    yield
    ctx.prec = saved


def _value(b: B, i) -> arb:
    lo = 0.0 if b.lo is None else float(b.lo[i])
    return arb(float(b.v[i])) + arb(lo)


def assert_encloses(got: B, exact_of) -> int:
    """|got.v + got.lo - exact| <= got.e at every element with a finite bound; returns how many."""
    checked = 0
    for i in np.ndindex(got.v.shape):
        e = float(got.e[i])
        if not math.isfinite(e):
            continue
        diff = abs(_value(got, i) - exact_of(i))
        assert diff <= arb(e), f"at {i}: |value - exact| = {diff} > bound {e}"
        checked += 1
    return checked


def _dd(rng, n, scale):
    h = rng.normal(0, 1, n) * scale
    lo = h * rng.uniform(-1, 1, n) * 2.0 ** -53
    return h, lo


def _exp_arguments():
    rng = np.random.default_rng(0)
    step = math.log(2) / dd.TABLE_STEP
    k = rng.integers(-500_000, 300_000, 400)
    near_boundary = (k + 0.5) * step + rng.normal(0, 1e-16, 400)  # n = rint(x / step) decided by a hair
    edges = np.array([-748.5, -748.0, -747.99, -745.2, -745.1, -744.4, -740.0, -708.5, -708.3, -1e-300, -5e-324,
                      0.0, 5e-324, 1e-300, 1e-17, 2.0 ** -30, 0.5, 1.0, 700.0, 708.9, 709.0])
    x = np.concatenate([rng.uniform(-750, 710, 600), near_boundary, edges, rng.normal(0, 1e-8, 50)])
    lo = x * rng.uniform(-1, 1, x.size) * 2.0 ** -53
    lo[-71:-50] = 0.0
    err = np.where(rng.random(x.size) < 0.3, np.abs(x) * 2.0 ** -100, 0.0)
    return x, lo, err


def test_exp_bounds_enclose_exp():
    x, lo, err = _exp_arguments()
    got = AR.exp(B(x, err, lo))

    def exact(i):  # the bound holds for every exact argument within err of x + lo: check both ends
        c = arb(float(x[i])) + arb(float(lo[i]))
        return c.exp()

    assert assert_encloses(got, exact) >= x.size - 5
    for shift in (-1.0, 1.0):
        moved = AR.exp(B(x, err, lo))
        assert_encloses(moved, lambda i, s=shift: (arb(float(x[i])) + arb(float(lo[i])) + s * arb(float(err[i]))).exp())
    # the exact cases: exp(0) = 1 exactly, and the underflow
    assert got.v[x.size - 71 + 11] == 1.0 and got.e[x.size - 71 + 11] == 0.0
    assert got.v[x.size - 71] == 0.0


def test_exp_in_chunks_equals_exp_at_once():
    x, lo, err = _exp_arguments()
    many = np.tile(x, 30)[: dd.CHUNK * 2 + 17]
    lows = np.tile(lo, 30)[: many.size]
    errs = np.tile(err, 30)[: many.size]
    whole = AR.exp(B(many.reshape(-1, 1), errs.reshape(-1, 1), lows.reshape(-1, 1)))
    parts = [AR._exp(B(many[i:i + 100], errs[i:i + 100], lows[i:i + 100])) for i in range(0, many.size, 100)]
    assert np.array_equal(whole.v.ravel(), np.concatenate([p.v for p in parts]))
    assert np.array_equal(whole.e.ravel(), np.concatenate([p.e for p in parts]))


@pytest.mark.parametrize("op", ["add", "sub", "mul", "div"])
def test_arithmetic_bounds_enclose(op):
    rng = np.random.default_rng(1)
    n = 300
    ah, al = _dd(rng, n, 10.0 ** rng.integers(-150, 150, n))  # products and quotients stay finite
    bh, bl = _dd(rng, n, 10.0 ** rng.integers(-150, 150, n))
    bh[:60] = -ah[:60] * (1 + rng.integers(-3, 4, 60) * 2.0 ** -52)  # cancellation
    bl[:60] = bh[:60] * rng.uniform(-1, 1, 60) * 2.0 ** -53
    bl[:30] = 0.0
    al[30:60] = 0.0
    ea = np.where(rng.random(n) < 0.5, np.abs(ah) * 2.0 ** -90, 0.0)
    eb = np.where(rng.random(n) < 0.5, np.abs(bh) * 2.0 ** -90, 0.0)
    for a_lo, b_lo in [(al, bl), (None, bl), (al, None), (None, None)]:
        a, b = B(ah, ea, a_lo), B(bh, eb, b_lo)
        got = getattr(AR, op)(a, b)

        def exact(i, op=op, sa=1, sb=1):
            x = _value(a, i) + sa * arb(float(ea[i]))
            y = _value(b, i) + sb * arb(float(eb[i]))
            return {"add": x + y, "sub": x - y, "mul": x * y, "div": x / y}[op]

        for sa in (-1, 1):
            for sb in (-1, 1):
                assert assert_encloses(got, lambda i, sa=sa, sb=sb: exact(i, sa=sa, sb=sb)) >= n - 10


def test_division_by_a_row_quantity_is_bounded_too():
    rng = np.random.default_rng(2)
    a = B(rng.normal(0, 1, (3, 40)), np.zeros((3, 40)), rng.normal(0, 1, (3, 40)) * 2.0 ** -60)
    b = B(rng.uniform(1, 5, (3, 1)), np.full((3, 1), 2.0 ** -100), rng.normal(0, 1, (3, 1)) * 2.0 ** -58)
    got = AR.div(a, b)  # 4 * 3 <= 120: a * (1 / b)
    for s in (-1, 1):
        assert assert_encloses(got, lambda i, s=s: _value(a, i) / (_value(b, (i[0], 0)) + s * arb(2.0 ** -100))) == 120


def test_log1p_bounds_enclose():
    rng = np.random.default_rng(3)
    t = np.concatenate([rng.uniform(0, 5, 50), 10.0 ** rng.uniform(-300, 5, 50), [0.0, 5e-324, 1e-20]])
    lo = t * rng.uniform(-1, 1, t.size) * 2.0 ** -53
    err = np.where(rng.random(t.size) < 0.5, t * 2.0 ** -80, 0.0)
    got = AR.log1p(B(t, err, lo))
    for s in (-1, 1):
        assert assert_encloses(got, lambda i, s=s: (arb(float(t[i])) + arb(float(lo[i])) + s * arb(float(err[i]))).log1p()) == t.size


def test_the_enclosure_check_has_teeth(monkeypatch):
    """With every bound forced to 0 the exp values are claimed exact, and the check above refuses them."""
    monkeypatch.setattr(dd.DDArith, "_finish", lambda self, e, exact=None: np.zeros(np.shape(e)))
    x = np.array([0.1, -3.3, 17.0])
    with pytest.raises(AssertionError):
        assert_encloses(AR.exp(B(x, np.zeros(3))), lambda i: arb(float(x[i])).exp())


def test_certify_dd_around_float64_midpoints():
    half_ulp = 2.0 ** -53  # 1 + half_ulp is the midpoint of 1 and 1 + 2**-52
    v = np.array([1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 1.0, 0.0, 0.0, 2.0 ** -1074])
    lo = np.array([half_ulp, half_ulp - 2.0 ** -105, half_ulp - 2.0 ** -105, half_ulp + 2.0 ** -105,
                   -2.0 ** -56, 0.0, half_ulp, 0.0, 0.0, 0.0])
    e = np.array([2.0 ** -120, 2.0 ** -104, 2.0 ** -107, 2.0 ** -107, 2.0 ** -60, 0.0, 0.0, 0.0, 2.0 ** -1074, 0.0])
    rounded, ok = dd.certify_dd(B(v, e, lo))
    assert list(ok) == [False, False, True, True, True, True, True, True, False, True]
    assert rounded[2] == 1.0 and rounded[3] == 1.0 + 2.0 ** -52 and rounded[4] == 1.0
    assert rounded[6] == 1.0  # an exact tie: to even
    assert rounded[7] == 0.0 and not np.signbit(rounded[7]) and rounded[9] == 2.0 ** -1074
    # a bound of one smallest subnormal cannot tell 0 from 2**-1074, whatever the sign
    _, ok_signed = dd.certify_dd(B(np.zeros(1), np.array([2.0 ** -1074]), np.zeros(1)), sign=1)
    assert not ok_signed[0]
    # against the reference rounding on random intervals: certified ones round like every end point
    rng = np.random.default_rng(4)
    h = rng.normal(0, 1, 2000) * 10.0 ** rng.integers(-30, 30, 2000)
    lo = h * rng.choice([0.5, 0.25, -0.5, 0.49999, 0.5000001, 1e-3], 2000) * 2.0 ** -52
    e = np.abs(h) * 10.0 ** rng.uniform(-40, -14, 2000)
    rounded, ok = dd.certify_dd(B(h, e, lo))
    for i in np.flatnonzero(ok):
        c = arb(float(h[i])) + arb(float(lo[i]))
        for end in (c - arb(float(e[i])), c + arb(float(e[i]))):
            assert float(end.mid()) == rounded[i] or abs(end - arb(float(rounded[i]))) < abs(end - arb(float(np.nextafter(rounded[i], np.inf)))) and abs(end - arb(float(rounded[i]))) < abs(end - arb(float(np.nextafter(rounded[i], -np.inf))))
    assert 0.3 < ok.mean() < 1.0


@pytest.mark.parametrize("C", [4096, 32768])
def test_float64_rows_of_thousands_of_classes_are_certified_without_arb(C):
    rng = np.random.default_rng(C)
    x = rng.normal(0, 3, (2, C))
    y = rng.integers(0, C, 2)
    result = reference.evaluate("cross_entropy", "float64", {"logits": x, "target": y})
    assert result.precision_bits == fastpath.DD.bits  # float arithmetic decided every element
    assert result.certified and not result.value.materialised
    case = prepare("cross_entropy", "float64", {"logits": x[:, :300], "target": y % 300}, None)
    fast = fastpath.fast_path(case)
    slow = arb_path(case)
    assert np.array_equal(np.asarray(fast.grads["logits"].rounded), np.asarray(slow.grads["logits"].rounded))


def test_values_at_the_bottom_of_the_range_are_settled_in_long_double_without_arb():
    """A row spanning more than the float64 exponent range: double-double leaves the underflowed
    probabilities undecided, long double decides them; the answer is the arb path's."""
    if fastpath.LONG is None:
        pytest.skip("no x87 long double here")
    x = np.array([[0.0, -760.0, -800.0, -3.5, 1.0]])
    case = prepare("softmax", "float64", {"x": x}, None)
    undecided = fastpath._certified(dd.DDArith(), case)["value"][1]
    assert not undecided.all()
    _, parts = fastpath.compute(case)
    assert parts["value"][1].all()
    fast = fastpath.fast_path(case)
    slow = arb_path(case)
    assert fast.precision_bits == fastpath.DD.bits
    assert np.array_equal(np.asarray(fast.value.rounded), np.asarray(slow.value.rounded))
