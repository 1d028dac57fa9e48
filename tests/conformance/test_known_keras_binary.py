"""ci-profile findings of the Keras binary losses and sigmoid ops on the JAX and torch backends (issue 14 triage,
conformance/judge/known_predicates_keras_binary.py and the entries of known_divergences.toml's s5-14b section):
each predicate matches the records of its mechanism (numbers of the ci run, seed 0) and not a neighbouring
record whose error it cannot explain; and the adapter declares what those backends do (no _keras_logits
recovery off TensorFlow, torch's domain check on the focal loss's smoothed labels)."""
import math

import numpy as np
import pytest

from conformance.judge import known, known_predicates, known_predicates_keras_binary as kb
from tests.conformance.known_helpers import classified
from tests.installed_helpers import needs

NP = {"float64": np.float64, "float32": np.float32, "float16": np.float16}


def _tensor(values, dtype):
    return {"dtype": dtype, "shape": [len(values)], "data": [float(v) if math.isfinite(v) else str(v) for v in values]}


def record(impl, op, dtype, inputs, params, part, observed, exact, verdict="inaccurate", index=0, reduced=False):
    """A record of `impl` whose `part` failed at element `index` (per-element outputs unless `reduced`)."""
    n = len(next(iter(inputs.values())))
    shape = [] if reduced else [n]
    obs = [0.0] * (1 if reduced else n)
    obs[index] = observed
    exacts = ["0"] * len(obs)
    exacts[index] = exact
    ref = {"dtype": dtype, "shape": shape, "exact": exacts,
           "rounded": [float(x) if x not in ("inf", "-inf", "nan") else float(x) for x in exacts], "ieee": None}
    out = {"dtype": dtype, "shape": shape, "data": obs}
    observed_parts, reference_parts = {"value": None, "grad": {}}, {"certified": True, "value": None, "grad": {}}
    if part == "value":
        observed_parts["value"], reference_parts["value"] = out, ref
    else:
        observed_parts["grad"][part[5:]], reference_parts["grad"][part[5:]] = out, ref
    backend = impl.rsplit("@", 1)[1]
    return {"implementation": impl, "framework": f"keras_{backend}", "op": op, "dtype": dtype, "device": "cpu",
            "mode": "jit" if backend == "jax" else "eager", "case_id": "hyp",
            "framework_version": f"keras 3.15.1 ({backend} backend)", "params": params, "verdict": verdict,
            "part": part, "detail": "", "inputs": {k: _tensor(v, dtype) for k, v in inputs.items()},
            "observed": observed_parts, "reference": reference_parts, "failing_elements": {part: [index]}}


@pytest.fixture(scope="module")
def entries():
    return known.load()


SIGMOID_16 = "1.125351493909322918170304313576608377354e-7"  # sigmoid'(16) = sigmoid'(-16)


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_sigmoid_gradient_from_the_rounded_output(entries, backend):
    rec = record(f"keras.ops.sigmoid@{backend}", "sigmoid", "float64", {"x": [16.0]}, {}, "grad:x",
                 1.1253514941371313e-07, SIGMOID_16)  # 1.7e6 ulp: 1 - y cancels at y = 1 - 1.1e-7
    assert classified(rec, entries) == (f"keras-{backend}-sigmoid-grad-rounded-output", False)
    rec = record(f"keras.ops.sigmoid@{backend}", "sigmoid", "float64", {"x": [40.0]}, {}, "grad:x",
                 0.0, "4.248354255291588959232207025950354801666e-18")  # y rounded to 1
    assert classified(rec, entries)[1] is False


@pytest.mark.parametrize("x, observed", [
    (-16.0, 1.1253514941371313e-07),  # the same error where y is tiny: 1 - y does not cancel there
    (16.0, 1.2e-07),                  # 7e-9 off: far beyond a rounding of y near 1
])
def test_sigmoid_gradient_errors_the_rounded_output_cannot_explain_stay_unexpected(entries, x, observed):
    rec = record("keras.ops.sigmoid@jax", "sigmoid", "float64", {"x": [x]}, {}, "grad:x", observed, SIGMOID_16)
    assert classified(rec, entries) == (None, True)


def test_log_sigmoid_gradient_through_the_logaddexp_jvp(entries):
    exact = "0.9820137900379084419732068620504615751275"  # sigmoid(4), bfloat16 x = -4
    rec = record("keras.ops.log_sigmoid@jax", "log_sigmoid", "bfloat16", {"x": [-4.0]}, {}, "grad:x", 0.96875, exact)
    assert classified(rec, entries) == ("keras-jax-log-sigmoid-grad-logaddexp-jvp", False)
    rec = record("keras.ops.log_sigmoid@jax", "log_sigmoid", "bfloat16", {"x": [-4.0]}, {}, "grad:x", 0.875, exact)
    assert classified(rec, entries) == (None, True)


BCEL = {"weight": None, "pos_weight": None, "reduction": "none", "label_smoothing": 0.0}


def test_jax_bce_with_logits_gradient_from_the_log_sigmoid_terms(entries):
    args = ("keras.ops.binary_crossentropy(from_logits=True)@jax", "binary_cross_entropy_with_logits", "float32",
            {"x": [13.0], "y": [0.0]}, BCEL, "grad:x")
    exact = "0.9999977396757020964255394691584937802348"
    assert classified(record(*args, 0.9999980926513672, exact), entries) == (
        "keras-jax-bce-with-logits-log-sigmoid-terms", False)
    assert classified(record(*args, 0.9999, exact), entries) == (None, True)  # 1e-4: not a rounding of out


def test_torch_bce_with_logits_gradient_sigmoid_minus_smoothed_label(entries):
    args = ("keras.losses.binary_crossentropy(from_logits=True)[per-element]@torch", "binary_cross_entropy_with_logits",
            "float32", {"x": [0.125], "y": [0.0]}, {**BCEL, "label_smoothing": 1.0}, "grad:x")
    exact = "0.03120937337375625724507144559710566705347"
    assert classified(record(*args, 0.03120940923690796, exact), entries) == (
        "keras-torch-bce-with-logits-sigmoid-minus-target", False)
    assert classified(record(*args, 0.0313, exact), entries) == (None, True)


def test_torch_bce_with_logits_function_forms_nan_at_an_infinite_logit(entries):
    impl = "keras.ops.binary_crossentropy(from_logits=True)@torch"
    rec = record(impl, "binary_cross_entropy_with_logits", "float32", {"x": [np.inf, -np.inf], "y": [0.25, 0.75]},
                 BCEL, "value", float("nan"), "inf", verdict="special_value_mismatch", index=1)
    assert classified(rec, entries) == ("keras-torch-bce-with-logits-functions-infinite-logit-nan", False)
    rec = record(impl, "binary_cross_entropy_with_logits", "float32", {"x": [1.0, -1.0], "y": [0.25, 0.75]},
                 BCEL, "value", float("nan"), "1.063", verdict="special_value_mismatch", index=1)
    assert classified(rec, entries) == (None, True)  # NaN at a finite logit is not inf - inf


FOCAL = {"gamma": 2.0, "alpha": 0.25, "reduction": "none"}
FOCAL_40 = "29.99999999999999974828501037397335361727"  # x = 40, y = 0


@pytest.mark.parametrize("impl", ["keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]@jax",
                                  "keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]@torch"])
def test_focal_with_logits_is_the_loss_of_the_clipped_rounded_probability(entries, impl):
    rec = record(impl, "sigmoid_focal_loss", "float32", {"x": [40.0], "y": [0.0]}, FOCAL, "value",
                 11.956789016723633, FOCAL_40)  # sigmoid(40) = 1 clipped to 1 - eps
    assert classified(rec, entries) == ("keras-backend-focal-logits-rounded-sigmoid-probability", False)
    rec = record(impl, "sigmoid_focal_loss", "float16", {"x": [40.0], "y": [0.0]}, FOCAL, "value",
                 float("inf"), FOCAL_40, verdict="special_value_mismatch")  # 1 - eps is 1 in float16: log(0)
    assert classified(rec, entries)[1] is False
    rec = record(impl, "sigmoid_focal_loss", "bfloat16", {"x": [3.0], "y": [0.0]},
                 {"gamma": 0.0, "alpha": None, "reduction": "none"}, "value", 3.140625,
                 "3.048587351573742058758925919854689997942")  # log(1 - p), p = sigmoid(3) rounded to bfloat16
    assert classified(rec, entries)[1] is False


def test_focal_with_logits_errors_beyond_the_probability_rounding_stay_unexpected(entries):
    impl = "keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]@jax"
    rec = record(impl, "sigmoid_focal_loss", "float32", {"x": [3.0], "y": [0.0]},
                 {"gamma": 0.0, "alpha": None, "reduction": "none"}, "value", 3.140625,
                 "3.048587351573742058758925919854689997942")  # 3% in float32: sigmoid(3) is not clipped
    assert classified(rec, entries) == (None, True)
    rec = record(impl, "sigmoid_focal_loss", "float32", {"x": [float("nan")], "y": [0.0]}, FOCAL, "value",
                 1.0, "nan", verdict="special_value_mismatch")
    assert classified(rec, entries) == (None, True)


BCE = {"weight": None, "reduction": "mean", "clip": None, "log_clamp": None, "label_smoothing": 0.0}


@pytest.mark.parametrize("backend", ["jax", "torch"])
def test_a_clipped_probability_evaluated_in_the_dtype(entries, backend):
    impl = f"keras.losses.BinaryCrossentropy(from_logits=False)@{backend}"
    # float64, p = 0, y = 1: the float32 -log(1e-7) (the clipped loss averaged in float32)
    rec = record(impl, "binary_cross_entropy", "float64", {"p": [0.0], "y": [1.0]}, BCE, "value",
                 16.11809539794922, "inf", verdict="special_value_mismatch", reduced=True)
    assert classified(rec, entries) == (f"keras-{backend}-probability-path-clipped-in-dtype", False)
    # float16, p = 6e-8 < eps: the gradient through jnp.clip's max is inf * 0
    rec = record(impl, "binary_cross_entropy", "float16", {"p": [5.960464477539063e-08], "y": [1.0]}, BCE,
                 "grad:p", float("nan"), "-16777216", verdict="special_value_mismatch")
    assert classified(rec, entries)[1] is False
    rec = record(impl, "binary_cross_entropy", "float64", {"p": [0.5], "y": [1.0]}, BCE, "value",
                 0.6931471824645996 + 1e-3, "0.6931471805599453094172321214581765680755", reduced=True)
    assert classified(rec, entries) == (None, True)  # inside the clip: not this mechanism


def test_the_probability_path_rounds_one_minus_p_and_the_focal_base(entries):
    rec = record("keras.ops.binary_crossentropy(from_logits=False)@jax", "binary_cross_entropy", "bfloat16",
                 {"p": [6.103515625e-05], "y": [0.0]}, {**BCE, "reduction": "none"}, "value", -0.0,
                 "0.00006103701897094392572114242980681797646601")  # 1 - p rounds to 1 in bfloat16
    assert classified(rec, entries) == ("keras-backend-probability-path-rounding", False)
    focal = {"gamma": 2.0, "alpha": 0.25, "clip": None, "label_smoothing": 0.1, "reduction": "none"}
    args = ("keras.losses.binary_focal_crossentropy(from_logits=False)[per-element]@torch", "binary_focal_loss",
            "float16", {"p": [0.5, 0.125], "y": [1.0, 0.0]}, focal, "value")
    exact = "0.004419072801870273260723100329775206284882"
    assert classified(record(*args, 0.00440216064453125, exact, index=1), entries)[1] is False
    assert classified(record(*args, 0.0040, exact, index=1), entries) == (None, True)  # 10%: beyond the base's rounding


def test_predicates_are_registered_and_the_clip_bounds_are_those_of_the_dtype():
    for name in kb.PREDICATES:
        assert known_predicates.PREDICATES[name] is kb.PREDICATES[name]
    assert kb._clip_bounds("float16")[1] == 1.0 and kb._clip_bounds("bfloat16")[1] == 1.0
    assert kb._clip_bounds("float32") == (float(np.float32(1e-7)), float(np.float32(1 - 1e-7)))


@needs("keras", "tensorflow")
def test_jax_and_torch_rows_declare_their_own_focal_behaviour():
    from conformance.adapters import keras_backend_adapter

    torch_rows = {r.id: r for r in keras_backend_adapter.implementations("torch")}
    jax_rows = {r.id: r for r in keras_backend_adapter.implementations("jax")}
    for rows, suffix in ((torch_rows, "@torch"), (jax_rows, "@jax")):
        for base in ("keras.losses.BinaryFocalCrossentropy(from_logits=True)",
                     "keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]"):
            keys = {c.key for c in rows[base + suffix].conventions}
            assert "logits_recovered_for_bce" not in keys  # a TensorFlow-backend-only tag
            assert "sigmoid_then_clipped_probability_unexpressed" in keys
    check = next(c for c in torch_rows["keras.losses.BinaryFocalCrossentropy(from_logits=False)@torch"].conventions
                 if c.key == "raises_if_smoothed_y_outside_0_1")
    assert check.raises
    assert check.applies({"p": np.array([0.0]), "y": np.array([2.74])}, {"label_smoothing": 0.1})
    assert not check.applies({"p": np.array([0.0]), "y": np.array([1.0])}, {"label_smoothing": 0.1})
    assert not check.applies({"p": np.array([1.5]), "y": np.array([1.0])}, {})  # p is clipped before torch sees it
    assert all(c.key != "raises_if_smoothed_y_outside_0_1"
               for c in jax_rows["keras.losses.BinaryFocalCrossentropy(from_logits=False)@jax"].conventions)


def test_a_part_is_inaccurate_only_where_one_element_is_beyond_both_budget_and_bound():
    """Per element (docs/verdicts.md): within the ULP budget, or within the bound. A part whose most-ULP
    element is within its bound and whose worst-ratio element is within the budget is stable (it was
    'inaccurate' with no failing element: BinaryFocalCrossentropy(from_logits=False)@torch, float32,
    gradients of a 1.2e-38 sample weight, ci seed 1), and one element beyond both is still inaccurate."""
    from conformance.judge.verdict import compare_part
    from reference.result import RefArray

    u = float(np.finfo(np.float32).eps)
    ref = RefArray(exact=np.array(["1", "2"], dtype=object), rounded=np.array([1.0, 2.0], dtype=np.float32),
                   cond=np.array([10.0, 0.0]), certified=np.array([True, True]))
    five_ulp_within_bound, two_ulp_beyond_bound = 1 + 5 * u, 2 + 2 * 2 * u
    part = compare_part(ref, np.array([five_ulp_within_bound, two_ulp_beyond_bound], dtype=np.float32), "float32", 1)
    assert (part.verdict, part.failing) == ("stable", [])
    assert part.bound_ratio <= 1.0
    part = compare_part(ref, np.array([1 + 40 * u, two_ulp_beyond_bound], dtype=np.float32), "float32", 1)
    assert (part.verdict, part.failing) == ("inaccurate", [0])


def test_a_huge_sample_weight_overflows_the_smoothed_labels_cotangent(entries):
    params = {**BCEL, "reduction": "mean", "label_smoothing": 1.0, "sample_weight": 8.5070586659632215e+37}
    args = ("keras.losses.BinaryCrossentropy(from_logits=True)@jax", "binary_cross_entropy_with_logits", "float32",
            {"x": [-9.034406661987305, 0.17322105169296265, -20.0], "y": [0.0, 0.0, 0.0]})
    rec = record(*args, params, "grad:y", float("nan"), "0", verdict="special_value_mismatch", index=2)
    assert classified(rec, entries) == ("keras-bce-smoothed-label-cotangent-overflows", False)
    rec = record(*args, {**params, "sample_weight": 1.0}, "grad:y", float("nan"), "0",
                 verdict="special_value_mismatch", index=2)
    assert classified(rec, entries) == (None, True)  # a weight of 1 cannot overflow: NaN is something else


@needs("keras", "tensorflow")
def test_torch_focal_with_logits_declares_torch_s_domain_check():
    from conformance.adapters import keras_backend_adapter

    rows = {r.id: r for r in keras_backend_adapter.implementations("torch")}
    check = next(c for c in rows["keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]@torch"]
                 .conventions if c.key == "raises_if_sigmoid_nan_or_y_outside_0_1")
    assert check.raises
    assert check.applies({"x": np.array([0.0, np.nan]), "y": np.array([0.0, 1.0])}, {})
    assert not check.applies({"x": np.array([0.0, np.inf]), "y": np.array([0.0, 1.0])}, {})


def test_the_label_cotangent_entry_runs_only_where_a_case_can_overflow():
    f = kb.observed_nonfinite_where_weighted_label_cotangent_overflows.case_applies
    params = {**BCEL, "reduction": "mean", "label_smoothing": 1.0, "sample_weight": 8.5070586659632215e+37}
    rec = record("keras.losses.BinaryCrossentropy(from_logits=True)@jax", "binary_cross_entropy_with_logits",
                 "float32", {"x": [-9.0, 0.17, -20.0], "y": [0.0, 0.0, 0.0]}, params, "grad:y", 0.0, "0")
    assert f(rec)
    rec["inputs"]["x"]["data"] = [-9.0, 0.17, -2.0]
    assert not f(rec)
    rec["params"]["label_smoothing"] = 0.0
    assert not f(rec)
    rec["inputs"]["x"]["data"] = [1.6947656946257677e+38]  # w |x| overflows, and so does the exact gradient
    rec["params"].update(label_smoothing=1e-07, reduction="none", sample_weight=8.473828473128839e+37)
    assert not f(rec)


def test_a_float16_label_smoothed_back_to_one_meets_an_infinite_logit(entries):
    args = ("keras.ops.binary_crossentropy(from_logits=True)@jax", "binary_cross_entropy_with_logits", "float16")
    rec = record(*args, {"x": [11.0, np.inf], "y": [0.0, 1.0]}, {**BCEL, "label_smoothing": 1e-07}, "value",
                 float("nan"), "inf", verdict="special_value_mismatch", index=1)
    assert classified(rec, entries) == ("keras-jax-bce-with-logits-smoothed-label-rounded-to-one", False)
    rec = record(*args, {"x": [11.0, 3.0], "y": [0.0, 1.0]}, {**BCEL, "label_smoothing": 1e-07}, "value",
                 float("nan"), "0.05", verdict="special_value_mismatch", index=1)
    assert classified(rec, entries) == (None, True)  # no infinite logit: a NaN is something else


def test_focal_with_logits_gradient_where_one_over_p_overflows_float16(entries):
    impl = "keras.losses.binary_focal_crossentropy(from_logits=True)[per-element]@jax"
    args = (impl, "sigmoid_focal_loss", "float16", {"x": [-14.9140625, 0.0], "y": [0.472900390625, 0.0]},
            {"gamma": 2.0, "alpha": None, "reduction": "none"}, "grad:x", float("nan"), "-0.2364500286358308200")
    assert classified(record(*args, verdict="special_value_mismatch"), entries) == (
        "keras-backend-focal-logits-rounded-sigmoid-probability", False)
    rec = record(impl, "sigmoid_focal_loss", "float32", *args[3:], verdict="special_value_mismatch")
    assert classified(rec, entries) == (None, True)  # 1 / sigmoid(-14.9) = 3e6 is finite in float32


def test_a_subnormal_sample_weight_zeroes_the_gradients(entries):
    params = {**BCEL, "reduction": "mean", "label_smoothing": 0.1, "sample_weight": 5.960464477539063e-08}
    args = ("keras.losses.BinaryCrossentropy(from_logits=True)@torch", "binary_cross_entropy_with_logits", "float16",
            {"x": [-0.0, -1e-05, -17.0, 31.0, 10000.0, -65504.0, -34.6, 0.5], "y": [0.5] * 8})
    rec = record(*args, params, "grad:y", 0.0, "-0.0000670552253723144", index=4)
    assert classified(rec, entries) == ("keras-weighted-mean-cotangent-underflows", False)
    rec = record(*args, {**params, "sample_weight": 1e-3}, "grad:y", 0.0, "-0.0000670552253723144", index=4)
    assert classified(rec, entries) == (None, True)  # 1e-3 / 8 is a float16 number: the cotangent survives


def test_a_bfloat16_focal_base_rounded_to_zero_gives_the_pow_gradient_nan(entries):
    params = {"gamma": 0.0, "alpha": None, "clip": None, "label_smoothing": 0.0, "reduction": "none"}
    args = ("keras.losses.binary_focal_crossentropy(from_logits=False)[per-element]@jax", "binary_focal_loss")
    rec = record(*args, "bfloat16", {"p": [1.0013580322265625e-05], "y": [0.0]}, params, "grad:p", float("nan"),
                 "1.000010013680595060585151809782030783962", verdict="special_value_mismatch")
    assert classified(rec, entries) == ("keras-jax-focal-base-rounded-to-zero-pow-gradient", False)
    assert kb.observed_nan_where_focal_base_rounds_to_zero.case_applies(rec)
    rec = record(*args, "float32", {"p": [1.0013580322265625e-05], "y": [0.0]}, params, "grad:p", float("nan"),
                 "1.000010013680595060585151809782030783962", verdict="special_value_mismatch")
    assert classified(rec, entries) == (None, True)  # 1 - 1e-5 is not 1 in float32: the base is not 0
    assert not kb.observed_nan_where_focal_base_rounds_to_zero.case_applies(rec)


def test_case_applies_of_the_smoothed_label_and_the_weighted_mean():
    rec = record("keras.ops.binary_crossentropy(from_logits=True)@jax", "binary_cross_entropy_with_logits", "float16",
                 {"x": [11.0, np.inf], "y": [0.0, 1.0]}, {**BCEL, "label_smoothing": 1e-07}, "value", 0.0, "0")
    assert kb.observed_nan_where_smoothed_label_rounds_to_an_end.case_applies(rec)
    for dtype in ("float32", "float64"):  # 1 - 5e-8 is 1 - 2^-24 in float32 (nearest), itself in float64
        rec["dtype"] = dtype
        assert not kb.observed_nan_where_smoothed_label_rounds_to_an_end.case_applies(rec)
    weighted = {**BCEL, "reduction": "mean", "sample_weight": 5.960464477539063e-08}
    rec = record("keras.losses.BinaryCrossentropy(from_logits=True)@torch", "binary_cross_entropy_with_logits",
                 "float16", {"x": [10000.0, 1.0], "y": [0.0, 0.0]}, weighted, "grad:y", 0.0, "-0.0000670552253723144")
    assert kb.observed_zero_where_weighted_mean_cotangent_underflows.case_applies(rec)
    rec["params"]["sample_weight"] = 1e-3
    assert not kb.observed_zero_where_weighted_mean_cotangent_underflows.case_applies(rec)
    rec["params"]["sample_weight"] = 5.960464477539063e-08
    rec["reference"]["grad"]["y"]["rounded"] = [0.0, 0.0]  # nothing the dtype can hold: no failure to show
    assert not kb.observed_zero_where_weighted_mean_cotangent_underflows.case_applies(rec)
