"""reference.fastpath: the float fast path agrees with the arb path bit for bit, never certifies a wrong
rounding (near-tie cases built on purpose), falls back where it must, and its library assumption holds."""
from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest
from flint import arb, ctx

import reference
from reference import fastpath
from reference.case import prepare
from reference.dtypes import DTYPES, round_fraction
from reference.evaluate import arb_path

DTYPE_NAMES = ["float32", "float16", "bfloat16", "float64"]


def _bits(a) -> np.ndarray:
    return np.asarray(a).astype(np.float64)


def _same(a, b) -> bool:
    a, b = _bits(a), _bits(b)
    return bool(np.all(((a == b) & (np.signbit(a) == np.signbit(b))) | (np.isnan(a) & np.isnan(b))))


def assert_agrees(op, dtype, inputs, params=None):
    """The fast result equals the arb path's in every field of every array. Returns the fast result."""
    case = prepare(op, dtype, inputs, params)
    fast = fastpath.fast_path(case)
    assert fast is not None, f"{op} {dtype}: the fast path declined a case it supports"
    slow = arb_path(case)
    assert set(fast.grads) == set(slow.grads)
    for name in ["value", *slow.grads]:
        f = fast.value if name == "value" else fast.grads[name]
        s = slow.value if name == "value" else slow.grads[name]
        assert np.asarray(f.rounded).dtype == np.asarray(s.rounded).dtype
        assert _same(f.rounded, s.rounded), f"{op} {dtype} {name}: rounded differs"
        assert np.array_equal(f.certified, s.certified), f"{op} {dtype} {name}: certified differs"
        assert s.ieee is None and f.ieee is None
        assert list(np.asarray(f.exact).ravel()) == list(np.asarray(s.exact).ravel()), f"{name}: exact differs"
        assert np.array_equal(f.cond, s.cond), f"{op} {dtype} {name}: cond differs"
    return fast


# --- random cases ------------------------------------------------------------------------------------------


def _reals(rng, shape, dtype):
    regime = rng.choice(["moderate", "moderate", "wide", "close", "subnormal", "ties"])
    if regime == "moderate":
        x = rng.normal(0, 4, shape)
    elif regime == "wide":
        x = rng.normal(0, 1, shape) * 10.0 ** rng.integers(0, 4, shape)
    elif regime == "close":
        x = 1000.0 + rng.integers(-3, 4, shape) * 2.0 ** -5
    elif regime == "subnormal":
        x = rng.integers(-8, 8, shape) * float(np.finfo(np.float32).smallest_subnormal)
    else:
        x = rng.integers(-1, 2, shape).astype(np.float64)
    return x.astype(DTYPES[dtype].np_dtype)


def _probs(rng, shape, dtype):
    p = rng.random(shape)
    kind = rng.integers(0, 4)
    if kind == 1:
        p = np.where(p < 0.4, 0.0, p)
    if kind in (0, 1):
        p = p / np.maximum(p.sum(axis=1, keepdims=True), 1e-300)
    if kind == 3:
        p = p * 3
    return p.astype(DTYPES[dtype].np_dtype)


def random_cases(seed: int, n: int):
    rng = np.random.default_rng(seed)
    for _ in range(n):
        dtype = DTYPE_NAMES[rng.integers(0, 4)]
        op = rng.choice(["softmax", "log_softmax", "ce_labels", "ce_probs"])
        R, C = int(rng.integers(1, 5)), int(rng.integers(1, 41))
        extra = (int(rng.integers(1, 3)),) if rng.random() < 0.2 else ()
        shape = (R, C, *extra)
        if op in ("softmax", "log_softmax"):
            axis = int(rng.choice([-1, 1, 0])) if extra or rng.random() < 0.3 else -1
            yield op, dtype, {"x": _reals(rng, shape, dtype)}, {"axis": axis}
            continue
        params = {"reduction": str(rng.choice(["none", "sum", "mean"])),
                  "mean_denominator": str(rng.choice(["count", "weight_sum"]))}
        if rng.random() < 0.4:
            params["label_smoothing"] = float(rng.choice([1e-7, 0.1, 0.5, 1.0]))
        if rng.random() < 0.4:
            params["weight"] = [float(v) for v in rng.choice([0.0, 0.5, 1.0, 2.0, 7.25], size=C)]
        logits = _reals(rng, shape, dtype)
        if op == "ce_labels":
            y = rng.integers(0, C, (R, *extra))
            if rng.random() < 0.3:
                params["ignore_index"] = -100
                y = np.where(rng.random(y.shape) < 0.3, -100, y)
            yield "cross_entropy", dtype, {"logits": logits, "target": y}, params
        else:
            yield "cross_entropy", dtype, {"logits": logits, "target": _probs(rng, shape, dtype)}, params


@pytest.mark.parametrize("seed", range(6))
def test_agrees_with_the_arb_path_on_random_cases(seed):
    answered = 0
    for op, dtype, inputs, params in random_cases(seed, 40):
        case = prepare(op, dtype, inputs, params)
        if fastpath.compute(case) is None:  # e.g. a mean over zero weight: the arb path answers
            assert reference.evaluate(op, dtype, inputs, params).precision_bits >= 192
            continue
        assert_agrees(op, dtype, inputs, params)
        answered += 1
    assert answered >= 30


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_agrees_on_larger_rows(dtype):
    rng = np.random.default_rng(7)
    x = rng.normal(0, 3, (8, 300)).astype(DTYPES[dtype].np_dtype)
    y = rng.integers(0, 300, 8)
    assert_agrees("log_softmax", dtype, {"x": x})
    assert_agrees("cross_entropy", dtype, {"logits": x, "target": y}, {"label_smoothing": 0.1})


def test_float32_cases_are_certified_without_arb():
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, (16, 512)).astype(np.float32)
    case = prepare("cross_entropy", "float32", {"logits": x, "target": rng.integers(0, 512, 16)}, {})
    result = fastpath.fast_path(case)
    assert result.certified and result.precision_bits == 53
    assert not result.value.materialised  # nothing read the exact strings yet
    assert result.value.exact.shape == () and result.value.materialised


# --- never a wrong certificate -----------------------------------------------------------------------------

# lp_j = (x_j - m) - log1p(T) with x_j - m exactly a midpoint of the dtype and T about e^-200: the exact value
# lies a hair beyond the midpoint, so it must round away from zero, not to even.
NEAR_TIE = {  # dtype: (m, x_j, midpoint d = x_j - m)
    "float64": (2.0 ** -46, -200.0),
    "float32": (2.0 ** -17, -200.0),
    "float16": (2.0 ** -4, -200.0),
    "bfloat16": (2.0 ** -1, -200.0),
}


@pytest.mark.parametrize("dtype", DTYPE_NAMES)
def test_near_tie_log_softmax_is_rounded_away_from_the_tie(dtype):
    m, xj = NEAR_TIE[dtype]
    dt = DTYPES[dtype]
    d = Fraction(xj) - Fraction(m)
    lo = round_fraction(d.numerator, d.denominator, dt, tie="down")
    hi = round_fraction(d.numerator, d.denominator, dt, tie="up")
    assert lo != hi, "the construction must put x_j - m exactly on a midpoint"
    x = np.array([[m, xj]])
    fast = assert_agrees("log_softmax", dtype, {"x": x})
    assert float(fast.value.rounded[0, 1]) == lo  # below the midpoint: the more negative neighbour
    ce = assert_agrees("cross_entropy", dtype, {"logits": x, "target": np.array([1])}, {"reduction": "sum"})
    assert float(ce.value.rounded) == -lo


def _f64_midpoint_distance(value: arb) -> float:
    """|value - nearest float64 midpoint| in float64 spacings, from a narrow ball."""
    exact = Fraction(value.mid().str(60, radius=False))
    v = float(value.mid())
    best = math.inf
    for f in (math.nextafter(v, -math.inf), v):
        g = math.nextafter(f, math.inf)
        mid = (Fraction(f) + Fraction(g)) / 2
        best = min(best, float(abs(exact - mid) / (Fraction(g) - Fraction(f))))
    return best


def test_float64_near_boundary_elements_are_never_certified_wrongly():
    """Elements whose exact value lies within 2**-11 ulp of a float64 midpoint (where long double rounding
    errors are of the same order) are found with arb; the fast path settles every one exactly as arb."""
    rng = np.random.default_rng(11)
    x = rng.normal(0, 2, (64, 64))
    ctx.prec = 200
    near_rows = []
    for r in range(x.shape[0]):
        row = [arb(float(v)) for v in x[r]]
        S = sum((v.exp() for v in row), arb(0))
        for v in row:
            if _f64_midpoint_distance(v.exp() / S) < 2.0 ** -11:
                near_rows.append(r)
                break
    ctx.prec = 53
    assert len(near_rows) >= 3, "expected a few near-boundary rows in 4096 elements"
    assert_agrees("softmax", "float64", {"x": x[near_rows]})


@pytest.fixture
def long_double(monkeypatch):
    """float64 cases in x87 long double (CE_FASTPATH_FLOAT64=long) instead of double-double: elements it
    cannot decide are common, which the settling tests need."""
    if fastpath.LONG is None:
        pytest.skip("no x87 long double here")
    monkeypatch.setattr(fastpath.bound, "FLOAT64_WORKING", "long")


def test_an_unsound_bound_would_be_caught(long_double):
    """With every bound forced to 0 (claiming exact float arithmetic) float64 results disagree with arb:
    the agreement check above has teeth."""
    rng = np.random.default_rng(5)
    x = rng.normal(0, 3, (16, 64))
    case = prepare("softmax", "float64", {"x": x}, {})
    saved = fastpath.Arith._finish
    fastpath.Arith._finish = lambda self, e, inexact=None: np.zeros_like(e)
    try:
        fast = fastpath.fast_path(case)
    finally:
        fastpath.Arith._finish = saved
    slow = arb_path(case)
    assert fast.certified
    assert not _same(fast.value.rounded, slow.value.rounded)


def test_certify_on_intervals_around_a_midpoint():
    """certify() decides only when the whole enclosure rounds one way, and then rounds like round_float."""
    dt = DTYPES["float16"]
    mid = 1.0 + 2.0 ** -11  # midpoint of 1 and 1 + 2**-10
    vs = np.array([mid, mid - 2.0 ** -20, mid + 2.0 ** -20, mid - 2.0 ** -30, mid])
    es = np.array([2.0 ** -40, 2.0 ** -21, 2.0 ** -21, 2.0 ** -29, 0.0])
    rounded, ok = fastpath.certify(fastpath.B(vs, es), dt)
    assert list(ok) == [False, True, True, False, True]
    assert rounded[1] == 1.0 and rounded[2] == 1.0 + 2.0 ** -10 and rounded[4] == 1.0  # the exact tie: even


# --- fallback ---------------------------------------------------------------------------------------------


@pytest.mark.parametrize("op, inputs, params", [
    ("softmax", {"x": [[0.0, math.inf]]}, {}),
    ("log_softmax", {"x": [[math.nan, 1.0]]}, {}),
    ("log_softmax", {"x": np.zeros((2, 0))}, {}),
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [-100]}, {"ignore_index": -100}),
    ("cross_entropy", {"logits": [[1.0, 2.0]], "target": [0]}, {"weight": [0.0, 1.0]}),
    ("cross_entropy", {"logits": [[1.0, -math.inf]], "target": [[0.5, 0.5]]}, {}),
    ("sigmoid", {"x": [1.0]}, {}),
    ("entropy", {"p": [[0.5, 0.5]]}, {}),
])
def test_falls_back_to_the_arb_path(op, inputs, params):
    case = prepare(op, "float32", inputs, params)
    assert fastpath.fast_path(case) is None
    got = reference.evaluate(op, "float32", inputs, params)
    want = arb_path(case)
    assert got.precision_bits == want.precision_bits >= 192
    assert _same(got.value.rounded, want.value.rounded)


def test_undefined_labels_still_raise():
    with pytest.raises(reference.UndefinedError):
        reference.evaluate("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [2]})
    with pytest.raises(reference.CaseError):
        reference.evaluate("cross_entropy", "float32", {"logits": [[1.0, 2.0]], "target": [0]},
                           {"label_smoothing": 2.0})


def test_undecided_elements_are_settled_by_arb(long_double):
    """float64 rows have elements long double cannot decide: those go through arb, the rest stay fast."""
    rng = np.random.default_rng(2)
    x = rng.normal(0, 3, (8, 64))
    case = prepare("softmax", "float64", {"x": x}, {})
    _, parts = fastpath.compute(case)
    undecided = int((~parts["value"][1]).sum())
    assert 0 < undecided < x.size // 4
    result = assert_agrees("softmax", "float64", {"x": x})
    assert result.precision_bits >= 192 and result.certified


@pytest.mark.parametrize("target, params", [
    ("labels", {}),
    ("labels", {"mean_denominator": "count", "weight": [float(v) for v in np.linspace(0.5, 3, 48)]}),
    ("labels", {"reduction": "sum", "label_smoothing": 0.25, "ignore_index": 3}),
    ("labels", {"reduction": "none"}),
    ("probs", {"mean_denominator": "count"}),
    ("probs", {"reduction": "none", "label_smoothing": 0.1}),
])
def test_undecided_float64_rows_are_settled_alone(target, params, long_double):
    """Only the rows holding undecided elements go through arb; the exact strings stay deferred, and the
    result is the arb path's, field for field."""
    rng = np.random.default_rng(4)
    x = rng.normal(0, 3, (6, 48, 2))
    t = rng.integers(0, 48, (6, 2)) if target == "labels" else rng.dirichlet(np.ones(48), (6, 2)).transpose(0, 2, 1)
    case = prepare("cross_entropy", "float64", {"logits": x, "target": t}, params)
    _, parts = fastpath.compute(case)
    assert any((~ok).any() for _, ok in parts.values()), "the case should have undecided elements"
    result = fastpath.fast_path(case)
    assert result.precision_bits >= 192 and not result.value.materialised
    assert_agrees("cross_entropy", "float64", {"logits": x, "target": t}, params)


def test_disabled_pins_and_precision_overrides_use_the_arb_path(monkeypatch):
    from reference import precision as ev
    x = {"x": [[0.25, 0.5, 4.0]]}
    assert reference.evaluate("softmax", "float32", x).precision_bits == 53
    monkeypatch.setattr(ev, "START_BITS", 256)
    assert reference.evaluate("softmax", "float32", x).precision_bits == 256
    monkeypatch.undo()
    monkeypatch.setattr(fastpath, "ENABLED", False)
    assert reference.evaluate("softmax", "float32", x).precision_bits == 192


def test_plain_copies_every_field():
    r = reference.evaluate("cross_entropy", "float16", {"logits": [[1.0, 2.0, 3.0]], "target": [[0.25, 0.25, 0.5]]})
    p = fastpath.plain(r)
    assert type(p.value) is reference.result.RefArray and set(p.grads) == {"logits", "target"}
    for a, b in [(r.value, p.value), (r.grads["target"], p.grads["target"])]:
        assert list(a.exact.ravel()) == list(b.exact.ravel()) and _same(a.rounded, b.rounded)
        assert np.array_equal(a.cond, b.cond) and np.array_equal(a.certified, b.certified)


# --- exact special cases of the bounded rules (bound.Arith.mul by an exact 1, division by a power of two) ---


def test_a_product_with_an_exact_one_is_the_other_factor_unrounded():
    from reference.fastpath.bound import F64, Arith, B

    ar = Arith(F64)
    x = B(np.array([[1.5, -0.0, 3.0], [0.0, 2.0 ** -1070, -7.25]]), np.array([[1e-17, 0.0, 0.0], [0.0, 1e-320, 1.0]]))
    ones = ar.exact(np.ones((2, 1)))
    out = ar.mul(ones, x)
    assert out.v.shape == (2, 3) and np.array_equal(out.v, x.v) and np.array_equal(out.e, x.e)
    assert not np.signbit(out.v[0, 1])  # an exact zero is +0, as the general rule writes it
    out.v[0, 0] = 99.0
    assert x.v[0, 0] == 1.5  # a copy: callers may write into a product in place
    general = ar.mul(ar.exact(np.full((2, 1), 1.0 + 2.0 ** -52)), x)  # not exactly 1: the general rule
    assert np.all(general.e >= x.e)


@pytest.mark.parametrize("k", [0, 3, 6, -2, 40])
def test_division_by_a_power_of_two_is_exact_and_its_bound_encloses(k):
    from reference.fastpath.bound import F64, Arith, B

    ar = Arith(F64)
    rng = np.random.default_rng(k + 10)
    v = rng.normal(0, 1, 50) * 10.0 ** rng.integers(-30, 30, 50)
    e = np.abs(v) * 2.0 ** -50 * rng.random(50)
    v[:3], e[:3] = 0.0, [0.0, 1e-300, 0.0]
    D = ar.exact(np.float64(2.0 ** k))
    out = ar.div(B(v, e), D)
    for vi, ei, qi, qe in zip(v, e, out.v, out.e):
        assert Fraction(qi) == Fraction(vi) / 2 ** k  # the scaling is exact
        assert Fraction(qe) >= Fraction(ei) / 2 ** k  # |a'/D - q| <= e_a / D for every a' within e_a of a


def test_division_by_a_power_of_two_falls_back_near_the_bottom_of_the_range():
    from reference.fastpath.bound import F64, Arith, B

    ar = Arith(F64)
    a = B(np.array([2.0 ** -1020, 1.0]), np.array([2.0 ** -1060, 2.0 ** -60]))
    D = ar.exact(np.float64(2.0 ** 10))
    assert ar._by_power_of_two(a, D) is None  # the quotient would be subnormal: not an exact scaling
    out = ar.div(a, D)  # the general rule, with its rounding term
    assert out.e[0] > 0 and out.e[1] >= 2.0 ** -70
    assert ar._by_power_of_two(a, ar.exact(np.float64(3.0))) is None
    assert ar._by_power_of_two(a, B(np.float64(4.0), np.float64(1e-20))) is None  # an inexact divisor
