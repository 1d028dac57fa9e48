"""Exact digits on demand (docs/results.md): a large fast-path answer is judged from its certified rounded
values and reference.approx's approximations without an arb evaluation when the observation is accurate;
every verdict, ULP error and failing element equals the one judged from the exact values, and the bound
ratio is within reference.approx.ratio_error of it."""
import numpy as np
import pytest

import reference
from conformance.execute import reference_cache
from conformance.execute.reference_cache import ReferenceCache, defer_exact
from conformance.judge.verdict import compare_part
from conformance.results.stream import reference_json, tensor_json
from reference.approx import approximate, ratio_error
from reference.fastpath import plain

CASES = [  # (dtype, shape, params)
    ("float32", (3, 50), {}),
    ("float32", (2, 7, 3), {"axis": 1, "reduction": "none"}),
    ("float32", (4, 40), {"reduction": "sum", "weight": list(np.linspace(0.5, 2, 40)), "ignore_index": 3}),
    ("float32", (5, 30), {"mean_denominator": "count", "ignore_index": 1}),
    ("float16", (3, 64), {}),
    ("bfloat16", (3, 64), {"reduction": "none"}),
]


def _inputs(dtype, shape, params, seed=0):
    import ml_dtypes

    rng = np.random.default_rng(seed)
    axis = params.get("axis", 1)
    logits = rng.normal(0.0, 4.0, shape).astype(np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else dtype)
    label_shape = tuple(d for i, d in enumerate(shape) if i != axis % len(shape))
    labels = rng.integers(0, shape[axis], label_shape)
    return {"logits": logits, "target": labels}


def _fresh(dtype, inputs, params):
    return reference.evaluate("cross_entropy", dtype, inputs, params)


@pytest.mark.parametrize("dtype, shape, params", CASES)
def test_approximations_are_within_their_stated_error_of_the_exact_values_and_cond(dtype, shape, params):
    inputs = _inputs(dtype, shape, params)
    approx = approximate("cross_entropy", dtype, inputs, params)
    exact = plain(_fresh(dtype, inputs, params))
    for key, ref in (("value", exact.value), ("grad:logits", exact.grads["logits"])):
        a = approx[key]
        e = np.asarray(ref.exact, dtype=object).astype(np.float64)
        assert a.value.shape == e.shape
        assert np.all(np.abs(a.value - e) <= a.rel_error * np.abs(e) + 1e-300), key
        assert np.allclose(a.cond, ref.cond, rtol=1e-12, atol=1e-300), key


def test_cases_it_does_not_cover_get_no_approximation():
    inputs = _inputs("float32", (2, 5), {})
    assert approximate("cross_entropy", "float64", inputs, {}) is None
    assert approximate("cross_entropy", "float32", inputs, {"label_smoothing": 0.1}) is None
    assert approximate("cross_entropy", "float32", inputs, {"weight": [1, -1, 1, 1, 1]}) is None
    assert approximate("softmax", "float32", {"x": inputs["logits"]}, {}) is None
    probs = {"logits": inputs["logits"], "target": np.full((2, 5), 0.2, dtype=np.float32)}
    assert approximate("cross_entropy", "float32", probs, {}) is None


def _observations(ref_rounded, dtype, rng):
    """accurate (the rounded values, and 1-3 ulps off), and far off at a few elements."""
    r = np.array(ref_rounded)
    ones = np.nextafter(r, np.array(np.inf, dtype=r.dtype))
    far = r.copy()
    flat = far.reshape(-1)
    flat[:: max(flat.size // 3, 1)] *= r.dtype.type(1.25)
    return {"exact": r, "one ulp": ones, "far": far}


@pytest.mark.parametrize("dtype, shape, params", CASES)
def test_verdicts_from_approximations_equal_the_exact_ones(dtype, shape, params):
    inputs = _inputs(dtype, shape, params, seed=1)
    rng = np.random.default_rng(2)
    n = int(np.prod(shape))
    for key in ("value", "grad:logits"):
        exact = plain(_fresh(dtype, inputs, params))
        deferred = _fresh(dtype, inputs, params)
        assert defer_exact(deferred, "cross_entropy", dtype, inputs, params, min_elements=0)
        part = lambda r: r.value if key == "value" else r.grads["logits"]  # noqa: E731
        for name, obs in _observations(part(exact).rounded, dtype, rng).items():
            want = compare_part(part(exact), obs, dtype, n)
            got = compare_part(part(deferred), obs, dtype, n)
            assert (got.verdict, got.ulp, got.failing) == (want.verdict, want.ulp, want.failing), (key, name)
            assert abs(got.bound_ratio - want.bound_ratio) <= ratio_error(part(deferred).approx), (key, name)
            if got.verdict == "accurate":
                assert got.detail == want.detail
            if name != "far":
                assert not part(deferred).materialised  # no arb evaluation for an accurate part


def test_a_failing_part_of_a_deferred_answer_reads_and_keeps_its_exact_digits():
    inputs = _inputs("float32", (2, 3000), {}, seed=3)
    deferred = _fresh("float32", inputs, {})
    assert defer_exact(deferred, "cross_entropy", "float32", inputs, {})
    g = np.array(deferred.grads["logits"].rounded)
    g.reshape(-1)[[5, 4000]] *= np.float32(3)
    part = compare_part(deferred.grads["logits"], g, "float32", 6000)
    assert part.verdict == "inaccurate" and {5, 4000} <= set(part.failing)
    assert deferred.grads["logits"].materialised
    observed = {"value": tensor_json(np.asarray(deferred.value.rounded)), "grad": {"logits": tensor_json(g)}}
    out = reference_json(deferred, observed, {"grad:logits": part.failing})
    exact = out["grad"]["logits"]["exact"]
    full = np.asarray(deferred.grads["logits"].exact, dtype=object).ravel()
    assert exact[5] == str(full[5]) and exact[4000] == str(full[4000])
    # a record with a finding keeps the digits of every part (the value: one element, all shown)
    assert out["value"]["exact"] == [str(np.asarray(deferred.value.exact, dtype=object).ravel()[0])]
    assert reference_json(deferred, observed, {})["value"]["exact"] == [None]  # without one: none


def test_an_accurate_large_case_makes_no_exact_string(tmp_path):
    inputs = _inputs("float32", (1, 8192), {}, seed=4)
    cache = ReferenceCache(tmp_path / "cache")
    before = reference_cache.EXACT_CLOCK[0]
    ref = cache.get("cross_entropy", "float32", inputs, {})
    assert reference_cache.deferred(ref)
    g = np.asarray(ref.grads["logits"].rounded)
    part = compare_part(ref.grads["logits"], g, "float32", 8192)
    observed = {"value": tensor_json(np.asarray(ref.value.rounded)), "grad": {"logits": tensor_json(g)}}
    out = reference_json(ref, observed, {})
    assert part.verdict == "accurate" and not ref.grads["logits"].materialised
    assert reference_cache.EXACT_CLOCK[0] == before
    assert all(e is None for e in out["grad"]["logits"]["exact"])
    assert not list((tmp_path / "cache").rglob("*.json"))  # a deferred answer is recomputed, never stored
    small = cache.get("cross_entropy", "float32", _inputs("float32", (2, 8), {}), {})
    assert not reference_cache.deferred(small) and list((tmp_path / "cache").rglob("*.json"))
