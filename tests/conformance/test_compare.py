"""Verdicts from hand-made reference arrays: each verdict reachable, each threshold able to fail."""
import numpy as np
import pytest

from conformance.judge.verdict import ULP_BUDGET, compare, compare_part
from conformance.adapters.implementation import Convention, Implementation, Observed
from conformance.judge.severity import FAILING, failing
from reference.result import RefArray, RefResult


def ref_array(exact, dtype, cond=None, ieee=None, certified=True):
    exact = [str(e) for e in exact]
    rounded = np.asarray([float(e) for e in exact], dtype=np.float64).astype(dtype)
    cond = np.zeros(len(exact)) if cond is None else np.asarray(cond, dtype=np.float64)
    return RefArray(np.asarray(exact, dtype=object), rounded, cond, np.full(len(exact), certified),
                    None if ieee is None else np.asarray(ieee, dtype=np.float64).astype(dtype))


def steps(x, k, dtype):
    x = np.asarray(x, dtype=dtype)
    for _ in range(k):
        x = np.nextafter(x, np.asarray(np.inf, dtype=dtype))
    return x


def test_correctly_rounded_is_accurate_with_zero_ulp():
    ref = ref_array(["0.1000000000000000055511151231257827"], "float64")
    part = compare_part(ref, np.asarray([0.1]), "float64", 1)
    assert part.verdict == "accurate" and part.ulp == 0


def test_budget_edge_is_accurate_and_one_more_is_not():
    ref = ref_array(["1"], "float32")
    budget = ULP_BUDGET["float32"]
    assert compare_part(ref, steps([1.0], budget, np.float32), "float32", 1).verdict == "accurate"
    assert compare_part(ref, steps([1.0], budget + 1, np.float32), "float32", 1).verdict == "inaccurate"


def test_error_within_conditioning_bound_is_stable():
    # a large condition quantity (huge logits with small differences) allows many ULPs of the result
    ref = ref_array(["1"], "float32", cond=[1e6])
    part = compare_part(ref, steps([1.0], 50, np.float32), "float32", 2)
    assert part.verdict == "stable" and part.bound_ratio <= 1


@pytest.mark.parametrize("got,expected,verdict", [
    (np.nan, "1", "special_value_mismatch"),
    (np.inf, "1", "special_value_mismatch"),
    (1.0, "inf", "special_value_mismatch"),
    (-np.inf, "inf", "special_value_mismatch"),
    (np.inf, "inf", "accurate"),
    (np.nan, "nan", "accurate"),
])
def test_special_values(got, expected, verdict):
    ref = ref_array([expected], "float32")
    assert compare_part(ref, np.asarray([got], np.float32), "float32", 1).verdict == verdict


def test_ieee_alternative_is_its_own_verdict_not_a_convention():
    ref = ref_array(["1", "0"], "float32", ieee=[np.nan, np.nan])
    part = compare_part(ref, np.asarray([np.nan, np.nan], np.float32), "float32", 2)
    assert part.verdict == "ieee_special" and part.ieee and "limit" in part.detail
    assert part.verdict not in FAILING and part.verdict in failing(strict_special_values=True)


def test_ieee_special_fails_only_under_strict(tmp_path):
    from conformance.judge import known

    record = {"implementation": "torch.sigmoid", "framework": "torch", "op": "sigmoid", "dtype": "float32",
              "device": "cpu", "case_id": "c", "verdict": "ieee_special", "part": "value", "detail": ""}
    known.classify(record, [], failing(False))
    assert not record["unexpected"]
    known.classify(record, [], failing(True))
    assert record["unexpected"]


def test_a_value_neither_the_limit_nor_ieee_is_a_mismatch():
    ref = ref_array(["1"], "float32", ieee=[np.nan])
    assert compare_part(ref, np.asarray([np.inf], np.float32), "float32", 1).verdict == "special_value_mismatch"


def test_shape_mismatch_is_inaccurate():
    ref = ref_array(["1", "2"], "float32")
    assert compare_part(ref, np.asarray([1.0], np.float32), "float32", 1).verdict == "inaccurate"


def test_float64_error_uses_the_exact_decimal():
    # exact 1 + 2^-60 rounds to 1.0; an observation of 1 + 2^-52 is one ULP away
    ref = ref_array(["1.00000000000000000086736173798840354720596"], "float64")
    part = compare_part(ref, np.asarray([1.0 + 2**-52]), "float64", 1)
    assert part.ulp == 1 and part.verdict == "accurate"


def _impl(**kw):
    return Implementation(id="x", framework="t", op="sigmoid", call=lambda *a: None, dtypes=("float32",), **kw)


def _result(ref):
    return RefResult("sigmoid", "float32", ref)


def test_raising_on_a_defined_input_is_an_error_behaviour_mismatch():
    c = compare(_result(ref_array(["1"], "float32")), None, ("RuntimeError", "boom"), _impl(), "float32",
                {"value": 1})
    assert c.verdict == "error_behaviour_mismatch"


def test_dtype_not_implemented_is_unsupported():
    c = compare(_result(ref_array(["1"], "float32")), None,
                ("RuntimeError", '"log_sigmoid_forward" not implemented for \'Half\''), _impl(), "float32",
                {"value": 1})
    assert c.verdict == "unsupported"


def test_undefined_input_raising_is_accurate_returning_is_a_mismatch():
    undefined = ValueError("label 3 out of range [0, 3)")
    assert compare(undefined, None, ("IndexError", "out of bounds"), _impl(), "float32", {}).verdict == "accurate"
    returned = Observed(np.asarray(0.5, np.float32))
    assert compare(undefined, returned, None, _impl(), "float32", {}).verdict == "error_behaviour_mismatch"
    nan = Observed(np.asarray(np.nan, np.float32))
    assert compare(undefined, nan, None, _impl(bad_labels="nan"), "float32", {}).verdict == "convention"
    assert compare(undefined, returned, None, _impl(bad_labels="nan"), "float32", {}).verdict == \
        "error_behaviour_mismatch"


def test_declared_convention_explains_a_difference_exactly():
    math = _result(ref_array(["inf"], "float32"))
    clamped = _result(ref_array(["100"], "float32"))
    conv = Convention("log_clamp_-100", "clamps log terms", "https://example.org", {"log_clamp": -100})
    observed = Observed(np.asarray([100.0], np.float32))
    plain = compare(math, observed, None, _impl(), "float32", {"value": 1})
    assert plain.verdict == "special_value_mismatch"
    c = compare(math, observed, None, _impl(), "float32", {"value": 1}, [(conv, clamped)])
    assert c.verdict == "convention" and c.convention == "log_clamp_-100"
    wrong = Observed(np.asarray([99.0], np.float32))
    assert compare(math, wrong, None, _impl(), "float32", {"value": 1}, [(conv, clamped)]).verdict == \
        "special_value_mismatch"


def test_gradient_part_decides_when_worse():
    ref = RefResult("sigmoid", "float32", ref_array(["0.5"], "float32"), {"x": ref_array(["0.25"], "float32")})
    obs = Observed(np.asarray([0.5], np.float32), {"x": np.asarray([0.5], np.float32)})
    c = compare(ref, obs, None, _impl(), "float32", {"value": 1, "x": 1})
    assert c.verdict == "inaccurate" and c.part == "grad:x" and c.ulp["value"] == 0


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_ulps_computed_only_where_values_differ_equal_those_of_every_element(dtype):
    """verdict._ulps_of_differing: equal values are 0 steps apart (signed zeros too); the rest as _ulps."""
    from conformance.floats import np_dtype
    from conformance.judge.verdict import _ulps, _ulps_of_differing

    dt = np_dtype(dtype)
    rng = np.random.default_rng(3)
    expected = rng.normal(size=(6, 500)).astype(dt)
    expected.flat[:4] = [0.0, -0.0, 1.0, -1.0]
    for observed in (expected.copy(), -expected, expected.astype(np.float64) * (1 + 2.0 ** -40)):
        observed = np.array(observed)
        observed.flat[:2] = [-0.0, 0.0]
        observed.flat[10:400:7] = expected.flat[11:401:7]  # a mix of equal and differing elements
        got = _ulps_of_differing(observed, expected, dtype)
        want = _ulps(observed, expected, dtype).reshape(expected.shape)
        assert got.shape == want.shape and np.array_equal(got, want)
    scalar = np.asarray(np.float32(1.5)).astype(dt)
    assert _ulps_of_differing(scalar, scalar, dtype).shape == ()


@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_error_bound_is_the_documented_formula_bit_for_bit(dtype):
    import math

    from conformance.floats import unit_roundoff
    from conformance.judge.verdict import HALF_DTYPES, _denorm_min, error_bound

    rng = np.random.default_rng(4)
    cond, exact = rng.normal(size=300) * 1e3, rng.normal(size=300)
    for n in (1, 7, 4096):
        c = 2.0 * (1.0 + math.log2(n))
        scale = np.abs(cond) + np.abs(exact)
        if dtype in HALF_DTYPES:
            want = (2 * unit_roundoff(dtype) + c * unit_roundoff("float32")) * scale + _denorm_min(dtype)
        else:
            floor = float(np.finfo(np.float64).tiny) if dtype == "float64" else 0.0
            want = c * unit_roundoff(dtype) * scale + _denorm_min(dtype) + floor
        assert np.array_equal(error_bound(cond, exact, dtype, n), want)
        assert error_bound(cond[0], exact[0], dtype, n) == want[0]
