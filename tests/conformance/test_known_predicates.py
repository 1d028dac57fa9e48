"""Wildcard-scoped known divergences match the mechanism they document, never a look-alike symptom.

For every bundled entry whose implementation scope is a wildcard: a record it must match, and near misses
it must not (a 2x gradient, a NaN at a finite input, a nonzero value where the truth is 0, a custom kernel).
"""
import math

import numpy as np
import pytest

from conformance.judge import known

from conformance.judge import known_predicates
from conformance.results.stream import tensor_json
from conformance.judge.severity import FAILING


def ref_json(exact, dtype):
    rounded = [float(e) for e in exact]
    return {"dtype": dtype, "shape": [len(exact)], "exact": [str(e) for e in exact],
            "rounded": rounded, "ieee": None}


def record(impl, op, dtype, verdict, part, inputs, observed, exact, failing, params=None, framework=None,
           shape=None):
    """A failing record: `observed` and `exact` are the part's elements (1-D), `failing` their indices."""
    np_dtype = np.float64 if dtype == "float64" else np.float32
    obs = tensor_json(np.asarray(observed, dtype=np.float64).astype(np_dtype))
    if shape is not None:
        obs["shape"] = list(shape)
    ref = ref_json(exact, dtype)
    key = "value" if part == "value" else part[5:]
    rec = {"implementation": impl, "framework": framework or impl.split(".")[0].replace("tf", "tensorflow"),
           "op": op, "dtype": dtype, "device": "cpu", "case_id": "c", "framework_version": "x 1.0",
           "params": params or {}, "verdict": verdict, "part": part, "detail": "",
           "inputs": {k: tensor_json(np.asarray(v, dtype=np_dtype)) for k, v in inputs.items()},
           "observed": {"value": obs, "grad": {}}, "reference": {"certified": True, "value": ref, "grad": {}},
           "failing_elements": {part: list(failing)}}
    if part != "value":
        rec["observed"] = {"value": tensor_json(np.zeros(1)), "grad": {key: obs}}
        rec["reference"] = {"certified": True, "value": ref_json(["0"], dtype), "grad": {key: ref}}
    return rec


@pytest.fixture(scope="module")
def entries():
    return known.load()


def classified(rec, entries):
    for e in entries:
        e.matched = e.in_scope = 0
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"]


# ------------------------------------------------------------------------ exp-flushes-subnormal-results

def sigmoid_value(observed, exact, x=-100.0, impl="torch.sigmoid"):
    return record(impl, "sigmoid", "float32", "inaccurate", "value", {"x": [x]}, [observed], [exact], [0])


def test_flush_to_zero_of_a_subnormal_is_known(entries):
    assert classified(sigmoid_value(0.0, "3.7200759760208359e-44"), entries) == "exp-flushes-subnormal-results"


@pytest.mark.parametrize("observed,exact", [
    (7.44e-44, "3.7200759760208359e-44"),  # twice the truth
    (0.69, "0"),                            # a nonzero value where the truth is 0
    (6e-8, "0"),
    (0.0, "1.2e-5"),                        # zero where the truth is a normal number
])
def test_flush_to_zero_near_misses_stay_unexpected(entries, observed, exact):
    rec = sigmoid_value(observed, exact)
    assert classified(rec, entries) is None and rec["unexpected"]


def test_wildcard_entries_never_reach_custom_kernels(entries):
    rec = sigmoid_value(0.0, "3.7200759760208359e-44", impl="custom:mine:sigmoid")
    rec["framework"] = "custom:torch"
    assert classified(rec, entries) is None and rec["unexpected"]


def test_a_flushed_element_beside_a_wrong_one_is_not_known(entries):
    rec = record("torch.sigmoid", "sigmoid", "float32", "inaccurate", "value", {"x": [-100.0, 1.0]},
                 [0.0, 0.99], ["3.7200759760208359e-44", "0.7310585786300049"], [0, 1])
    assert classified(rec, entries) is None


# ------------------------------------------------------------------------ sigmoid-ce-infinite-logit-nan

def bcel(x, observed, exact, dtype="float64", impl="tf.nn.sigmoid_cross_entropy_with_logits"):
    return record(impl, "binary_cross_entropy_with_logits", dtype, "special_value_mismatch", "value",
                  {"x": [x], "y": [0.5]}, [observed], [exact], [0])


def test_nan_at_an_infinite_logit_is_known(entries):
    assert classified(bcel(math.inf, math.nan, "inf"), entries) == "sigmoid-ce-infinite-logit-nan"
    assert classified(bcel(1.5e308, math.inf, "7.5e307"), entries) == "sigmoid-ce-infinite-logit-nan"
    assert classified(bcel(-1.5e308, math.nan, "0"), entries) == "sigmoid-ce-infinite-logit-nan"  # inf - inf


@pytest.mark.parametrize("x,observed,exact", [(40.0, math.nan, "20.0"), (100.0, math.inf, "50.0"),
                                              (100.0, math.nan, "50.0")])
def test_nan_or_inf_at_a_finite_logit_is_not_known(entries, x, observed, exact):
    rec = bcel(x, observed, exact)
    assert classified(rec, entries) is None and rec["unexpected"]


# ------------------------------------------------------------------------ log-softmax-dominant-class-is-zero

def log_softmax(observed_last, exact_last):
    return record("jax.nn.log_softmax", "log_softmax", "float64", "inaccurate", "value", {"x": [-40.0, 0.0, 40.0]},
                  [-80.0, -40.0, observed_last], ["-80", "-40", exact_last], [2], params={"axis": -1})


def test_zero_at_a_dominant_class_is_known(entries):
    assert classified(log_softmax(0.0, "-4.2483542552915889e-18"), entries) == "log-softmax-dominant-class-is-zero"


@pytest.mark.parametrize("observed,exact", [(0.0, "-0.5"), (-1e-3, "-4.2483542552915889e-18")])
def test_other_log_softmax_errors_are_not_known(entries, observed, exact):
    assert classified(log_softmax(observed, exact), entries) is None


# ------------------------------------------------------------------------ softmax-backward-uses-rounded-output

def softmax_grad(observed):
    return record("torch.nn.functional.softmax", "softmax", "float64", "inaccurate", "grad:x",
                  {"x": [1.0, 2.0, 3.0]}, [observed, 0.0, 0.0], ["0", "0", "0"], [0], params={"axis": 1})


def test_rounded_sum_of_softmax_in_the_backward_is_known(entries):
    assert classified(softmax_grad(1.1e-16), entries) == "softmax-backward-uses-rounded-output"


@pytest.mark.parametrize("observed", [0.69, 1e-9, math.nan])
def test_large_softmax_gradient_where_the_truth_is_zero_is_not_known(entries, observed):
    assert classified(softmax_grad(observed), entries) is None


# ------------------------------------------------------------------------ torch-mean-over-nothing-gradient-zero

def empty_mean_grad(observed, exact):
    return record("torch.nn.functional.nll_loss", "nll_loss", "float32", "special_value_mismatch", "grad:logp",
                  {"logp": [-1.0, -2.0]}, [observed, 0.0], [exact, "nan"], [0], params={"axis": 1})


def test_zero_gradient_of_an_undefined_mean_is_known(entries):
    assert classified(empty_mean_grad(0.0, "nan"), entries) == "torch-mean-over-nothing-gradient-zero"


@pytest.mark.parametrize("observed,exact", [(1.0, "nan"), (0.0, "0.5"), (math.inf, "nan")])
def test_other_gradients_are_not_known(entries, observed, exact):
    assert classified(empty_mean_grad(observed, exact), entries) is None


# ------------------------------------------------------------------------ keras-empty-batch-unreduced

def keras_value(observed_shape, observed=(), failing=()):
    rec = record("keras.losses.CategoricalCrossentropy(from_logits=True)", "cross_entropy", "float32",
                 "inaccurate", "value", {"logits": [1.0], "target": [1.0]}, list(observed) or [0.0], ["0.25"],
                 [], params={"axis": -1}, framework="tensorflow", shape=observed_shape)
    rec["failing_elements"] = {"value": list(failing)}
    return rec


def test_unreduced_shape_is_known(entries):
    rec = keras_value((0,), observed=[])
    rec["observed"]["value"] = {"dtype": "float32", "shape": [0], "data": []}
    for name in ("logits", "target"):
        rec["inputs"][name] = {"dtype": "float32", "shape": [0, 2], "data": []}  # an empty batch
    rec["params"]["reduction"] = "mean"
    rec["reference"]["value"]["shape"] = []  # the mean: a scalar
    assert classified(rec, entries) == "keras-empty-batch-unreduced"


def test_a_wrong_value_of_the_right_shape_is_not_known(entries):
    rec = keras_value((1,), observed=[0.5], failing=[0])
    assert classified(rec, entries) is None


# ------------------------------------------------------------------------ the vocabulary itself

def test_every_wildcard_entry_has_a_predicate_and_frameworks(entries):
    wild = [e for e in entries if known_predicates.is_wildcard(e.implementation) and e.relation is None]
    assert len(wild) >= 5
    for e in wild:
        assert known_predicates.names(e.predicate) and e.frameworks, e.id


@pytest.mark.parametrize("fields, message", [
    ('implementation = "*"\nframeworks = ["torch"]\n', "needs a predicate"),  # a wildcard entry without one
    ('implementation = "torch.sigmoid"\npredicate = "os.system"\n', "unknown predicate"),
])
def test_a_wildcard_entry_without_predicate_or_an_unknown_predicate_is_rejected(tmp_path, fields, message):
    path = tmp_path / "k.toml"
    path.write_text(f'[[divergence]]\nid = "x"\n{fields}verdicts = ["inaccurate"]\nreason = "r"\n'
                    'link = "https://e"\n')
    with pytest.raises(known.KnownDivergenceError, match=message):
        known.load(path)


def test_absolute_rounding_of_log_sum_at_a_dominant_class_is_known(entries):
    rec = log_softmax(-6.495969382670586e-06, "-6.495969382599701161538659205203448866808e-6")
    assert classified(rec, entries) == "log-softmax-dominant-class-is-zero"
    # twice that value is not the rounding of log(sum)
    assert classified(log_softmax(-1.3e-05, "-6.495969382599701161538659205203448866808e-6"), entries) is None


# ------------------------------------------------------------------------ Keras on the JAX and torch backends

def keras_backend_bce(observed, exact, impl="keras.losses.BinaryCrossentropy(from_logits=True)@jax",
                      framework="keras_jax", dtype="float64"):
    return record(impl, "binary_cross_entropy_with_logits", dtype, "inaccurate", "value", {"x": [0.0], "y": [1.0]},
                  [observed], [exact], [0], framework=framework)


def test_a_float64_loss_computed_in_float32_is_known_on_the_backends(entries):
    ln2 = "0.6931471805599453094172321214581765680755"
    assert classified(keras_backend_bce(0.6931471824645996, ln2), entries) == \
        "keras-backend-float64-computed-in-float32"
    torch_rec = keras_backend_bce(0.6931471824645996, ln2, impl="keras.losses.BinaryCrossentropy(from_logits=True)@torch",
                                  framework="keras_torch")
    assert classified(torch_rec, entries) == "keras-backend-float64-computed-in-float32"
    # near misses: a float64 value that is no float32 number; the same row on the TensorFlow backend
    assert classified(keras_backend_bce(0.6931471805599463, ln2), entries) is None
    tf_rec = keras_backend_bce(0.6931471824645996, ln2, impl="keras.losses.BinaryCrossentropy(from_logits=True)",
                               framework="tensorflow")
    assert classified(tf_rec, entries) is None


def test_the_empty_batch_shape_is_known_on_the_backends_only_as_a_shape(entries):
    rec = keras_value((0,), observed=[])
    rec.update(implementation="keras.losses.CategoricalCrossentropy(from_logits=True)@torch", framework="keras_torch")
    rec["observed"]["value"] = {"dtype": "float32", "shape": [0], "data": []}
    rec["inputs"] = {n: {"dtype": "float32", "shape": [0, 2], "data": []} for n in ("logits", "target")}
    rec["params"]["reduction"] = "sum"
    rec["reference"]["value"]["shape"] = []
    assert classified(rec, entries) == "keras-backend-empty-batch-unreduced"
    wrong = keras_value((1,), observed=[0.5], failing=[0])
    wrong.update(implementation="keras.losses.CategoricalCrossentropy(from_logits=True)@jax", framework="keras_jax")
    assert classified(wrong, entries) is None


COVERED = {"exp-flushes-subnormal-results", "sigmoid-ce-infinite-logit-nan", "log-softmax-dominant-class-is-zero",
           "softmax-backward-uses-rounded-output", "torch-mean-over-nothing-gradient-zero",
           "keras-empty-batch-unreduced", "keras-backend-float64-computed-in-float32",
           "keras-backend-empty-batch-unreduced",
           "keras-loss-wrapper-squeezes-single-class",  # its records and near misses: test_known_shapes.py
           "keras-sample-weight-squeezes-unit-batch"}  # test_known_shapes.py too


def test_every_wildcard_entry_has_a_match_and_near_misses_here(entries):
    """A new wildcard-scoped entry needs its own matching record and near misses in this file."""
    wild = {e.id for e in entries if known_predicates.is_wildcard(e.implementation) and e.relation is None}
    assert wild == COVERED


def test_records_from_older_results_files_are_judged_from_their_data(entries):
    """A results file written before records kept failing_elements: they are derived from its values."""
    old = sigmoid_value(0.0, "3.7200759760208359e-44")
    del old["failing_elements"]
    old["bound_ratio"] = {"value": 26.5, "grad": {}}
    assert classified(old, entries) == "exp-flushes-subnormal-results"
    wrong = sigmoid_value(7.44e-44, "3.7200759760208359e-44")
    del wrong["failing_elements"]
    wrong["bound_ratio"] = {"value": 26.5, "grad": {}}
    assert classified(wrong, entries) is None


# ------------------------------------------------------------------------ issue 17: xlogy boundary, NaN at max

def xlogy_grad(x, y, observed, exact, impl="torch.special.xlogy"):
    return record(impl, "xlogy", "float64", "special_value_mismatch", "grad:x", {"x": [x], "y": [y]},
                  [observed], [exact], [0])


def test_masked_xlogy_gradient_at_the_boundary_is_known(entries):
    assert classified(xlogy_grad(0.0, 0.0, 0.0, "-inf"), entries) == \
        "torch-xlogy-x-gradient-zero-at-x-zero-y-nonpositive"
    assert classified(xlogy_grad(0.0, 0.0, 0.0, "-inf", impl="tf.math.xlogy"), entries) == \
        "tf-xlogy-x-gradient-zero-at-x-zero"


def test_a_wrong_xlogy_gradient_inside_the_domain_is_not_known(entries):
    rec = xlogy_grad(0.5, 2.0, math.inf, "0.6931471805599453")  # x, y > 0: log y is finite, no mechanism
    assert classified(rec, entries) is None and rec["unexpected"]


def ce_probs_target_grad(logits, observed, dtype="float64"):
    n = len(logits)
    rec = record("torch.nn.CrossEntropyLoss[probs]", "cross_entropy", dtype, "special_value_mismatch",
                 "grad:target", {"logits": [logits], "target": [[1.0] + [0.0] * (n - 1)]}, [observed] * n,
                 ["0"] * n, list(range(n)), params={"axis": 1, "label_smoothing": 1.0}, shape=(1, n))
    rec["reference"]["grad"]["target"]["shape"] = [1, n]
    return rec


def test_nan_target_gradient_beside_a_max_logit_is_known(entries):
    rec = ce_probs_target_grad([0.0, -1.7976931348623157e308, 1.7976931348623157e308], math.nan)
    assert known_predicates.PREDICATES["observed_nan_where_input_near_max"] is not None
    assert classified(rec, entries) == "torch-probs-ce-nan-target-gradient-at-max-logits"


def test_nan_target_gradient_at_moderate_logits_is_not_known(entries):
    rec = ce_probs_target_grad([0.0, -30.0, 30.0], math.nan)
    assert classified(rec, entries) is None and rec["unexpected"]


def soft_margin(x, observed_grad, dtype="float64"):
    impl = "torch.nn.functional.soft_margin_loss[y=2t-1]"
    return record(impl, "binary_cross_entropy_with_logits", dtype, "special_value_mismatch", "grad:x",
                  {"x": [x], "y": [0.0]}, [observed_grad], ["1"], [0], framework="torch")


def test_nan_gradient_where_exp_overflows_is_known(entries):
    assert classified(soft_margin(1e30, math.nan), entries) == "torch-soft-margin-exp-overflow"
    assert classified(soft_margin(40.0, math.nan, "float32"), entries) is None  # exp(40) is finite in float32


@pytest.mark.parametrize("x, observed", [(3.0, math.nan), (1.7976931348623157e308, 2.0)])
def test_nan_gradient_without_overflow_or_a_wrong_finite_gradient_is_not_known(entries, x, observed):
    rec = soft_margin(x, observed)
    assert classified(rec, entries) is None and rec["unexpected"]


# ------------------------------------------------------------------------ issue 17: entr, multilabel soft margin

def entr_grad(x, observed, exact, dtype="float64", impl="jax.scipy.special.entr"):
    return record(impl, "entr", dtype, "special_value_mismatch", "grad:x", {"x": [x]}, [observed], [exact], [0],
                  framework="jax")


def test_infinite_entr_gradient_at_a_subnormal_input_is_known(entries):
    assert classified(entr_grad(5e-324, math.inf, "743.44007192138126"), entries) == \
        "jax-cpu-subnormal-inputs-read-as-zero"


@pytest.mark.parametrize("x, exact", [(1e-300, "689.77552789821368"), (0.0, "inf")])
def test_infinite_entr_gradient_at_a_normal_input_or_zero_is_not_known(entries, x, exact):
    rec = entr_grad(x, math.inf if exact != "inf" else -math.inf, exact)
    assert classified(rec, entries) is None and rec["unexpected"]


def scipy_entr_half(observed, exact, rounded):
    rec = record("scipy.special.entr", "entr", "float16", "special_value_mismatch", "value", {"x": [65504.0]},
                 [observed], [exact], [0], framework="numpy")
    rec["reference"]["value"]["rounded"] = [rounded]
    return rec


def test_a_finite_float32_result_where_float16_overflows_is_known(entries):
    rec = scipy_entr_half(-726430.625, "-726430.61446015039705", -math.inf)
    assert classified(rec, entries) == "scipy-special-float16-computed-in-float32"


@pytest.mark.parametrize("observed, exact, rounded", [(-7.0, "-5.5", -5.5), (math.nan, "-726430.6", -math.inf)])
def test_a_wrong_finite_value_or_nan_is_not_known(entries, observed, exact, rounded):
    rec = scipy_entr_half(observed, exact, rounded)
    assert classified(rec, entries) is None and rec["unexpected"]


def test_multilabel_class_sum_overflow_is_known_and_a_finite_error_is_not(entries):
    impl = "torch.nn.functional.multilabel_soft_margin_loss"
    inputs = {"x": [1.7976931348623157e308, -1.7976931348623157e308], "y": [0.0, 1.0]}
    rec = record(impl, "multilabel_soft_margin_loss", "float64", "special_value_mismatch", "value", inputs,
                 [math.inf], ["1.7976931348623157e308"], [0], framework="torch")
    assert classified(rec, entries) == "torch-multilabel-soft-margin-class-sum-overflows"
    rec = record(impl, "multilabel_soft_margin_loss", "float64", "special_value_mismatch", "value", inputs,
                 [math.nan], ["1.7976931348623157e308"], [0], framework="torch")
    assert classified(rec, entries) == "torch-multilabel-soft-margin-class-sum-overflows"  # inf - inf near max
    moderate = {"x": [1.0, -1.0], "y": [0.0, 1.0]}
    rec = record(impl, "multilabel_soft_margin_loss", "float64", "special_value_mismatch", "value", moderate,
                 [math.nan], ["1.3132616875182228"], [0], framework="torch")
    assert classified(rec, entries) is None and rec["unexpected"]


def keras_focal_grad(p, y, observed, exact, part="grad:p"):
    impl = "keras.losses.binary_focal_crossentropy(from_logits=False)[per-element]"
    return record(impl, "binary_focal_loss", "float32", "special_value_mismatch", part, {"p": [p], "y": [y]},
                  [observed], [exact], [0], params={"gamma": 0.0}, framework="tensorflow")


@pytest.mark.parametrize("p, observed", [(0.0, math.nan), (1.0, math.nan), (1.5, 0.0)])
def test_special_focal_gradient_at_a_probability_end_is_known(entries, p, observed):
    assert classified(keras_focal_grad(p, 0.0, observed, "-inf"), entries) == "keras-binary-focal-probability-ends"


def test_the_probability_end_predicate_needs_p_at_0_or_1():
    holds = known_predicates.PREDICATES["probability_p_at_an_end_at_mismatch"]
    for p, want in ((0.0, True), (1.0, True), (2.0, True), (0.5, False), (1e-7, False)):
        rec = keras_focal_grad(p, 0.0, math.nan, "0")
        assert holds(known_predicates.Element(rec, "grad:p", 0)) is want, p


def gce_grad(p_row, label, observed_row):
    n = len(p_row)
    rec = record("keras.losses.categorical_generalized_cross_entropy", "generalized_cross_entropy", "float64",
                 "special_value_mismatch", "grad:p", {"p": [p_row]}, observed_row, ["0"] * n,
                 [i for i, v in enumerate(observed_row) if math.isnan(v)], params={"axis": -1, "q": 0.7},
                 framework="tensorflow", shape=(1, n))
    rec["inputs"]["target"] = tensor_json(np.array([label], dtype=np.int64))
    rec["reference"]["grad"]["p"]["shape"] = [1, n]
    return rec


def test_nan_gradient_beside_a_zero_label_probability_is_known(entries):
    rec = gce_grad([0.0, 1.0], 0, [-math.inf, math.nan])
    assert classified(rec, entries) == "keras-generalized-ce-nan-gradient-at-zero-label-probability"


def test_nan_gradient_with_a_positive_label_probability_is_not_known(entries):
    rec = gce_grad([0.0, 1.0], 1, [math.nan, -1.0])  # the label's probability is 1: nothing infinite
    assert classified(rec, entries) is None and rec["unexpected"]


def test_xlog1py_masked_gradients_are_known_only_at_x_zero(entries):
    def rec(impl, x, y, observed, exact):
        return record(impl, "xlog1py", "float64", "special_value_mismatch", "grad:x", {"x": [x], "y": [y]},
                      [observed], [exact], [0])
    assert classified(rec("torch.special.xlog1py", 0.0, -1.0, 0.0, "-inf"), entries) == \
        "torch-xlog1py-x-gradient-masked-at-x-zero"
    assert classified(rec("tf.math.xlog1py", 0.0, -1.0, 0.0, "-inf"), entries) == "tf-xlog1py-x-gradient-zero-at-x-zero"
    wrong = rec("torch.special.xlog1py", 0.5, 1.0, math.inf, "0.6931471805599453")
    assert classified(wrong, entries) is None and wrong["unexpected"]


# ------------------------------------------------------------------------ an undefined item's other gradients

def multilabel_grad(x_item, observed, exact="nan"):
    return record("torch.nn.MultiLabelSoftMarginLoss", "multilabel_soft_margin_loss", "float64",
                  "special_value_mismatch", "grad:x", {"x": [x_item], "y": [[0.5] * len(x_item)]},
                  [observed] + [0.0] * (len(x_item) - 1), [exact] + ["0"] * (len(x_item) - 1), [0],
                  params={"axis": -1}, framework="torch", shape=None)


def test_a_finite_gradient_in_an_undefined_item_is_known(entries):
    rec = multilabel_grad([0.5, math.nan, 1.0], -0.1)
    rec["observed"]["grad"]["x"]["shape"] = rec["reference"]["grad"]["x"]["shape"] = [1, 3]
    assert classified(rec, entries) == "torch-multilabel-soft-margin-undefined-item-finite-gradient"


def test_a_finite_gradient_where_the_item_is_finite_is_not_known(entries):
    rec = multilabel_grad([0.5, 2.0, 1.0], -0.1)
    rec["observed"]["grad"]["x"]["shape"] = rec["reference"]["grad"]["x"]["shape"] = [1, 3]
    assert classified(rec, entries) is None and rec["unexpected"]


# ------------------------------------------------------------------------ Keras smoothing counts the last axis

def keras_smoothed(axis, shape, smoothing=0.1):
    rec = record("keras.losses.categorical_crossentropy(from_logits=True)", "cross_entropy", "float64",
                 "inaccurate", "value", {}, [1.7029862626665995], ["1.632605964444380303"], [0],
                 params={"axis": axis, "label_smoothing": smoothing, "reduction": "none"}, framework="tensorflow")
    n = int(np.prod(shape))
    rec["inputs"] = {"logits": {"dtype": "float64", "shape": list(shape), "data": [0.0] * n},
                     "target": {"dtype": "float64", "shape": list(shape), "data": [0.0] * n}}
    return rec


def test_keras_smoothing_along_axis_1_is_known_only_off_the_last_axis(entries):
    assert classified(keras_smoothed(1, (1, 3, 2)), entries) == "keras-label-smoothing-counts-classes-on-the-last-axis"
    assert classified(keras_smoothed(-1, (1, 2, 3)), entries) != "keras-label-smoothing-counts-classes-on-the-last-axis"
    assert classified(keras_smoothed(1, (1, 3, 2), 0.0), entries) != \
        "keras-label-smoothing-counts-classes-on-the-last-axis"


# ------------------------------------------------------------- keras-generalized-ce-single-class-labels-broadcast

GCE = "keras.losses.CategoricalGeneralizedCrossEntropy"


def gce_broadcast_grad(observed, p_shape=(3, 1)):
    n = p_shape[0] * p_shape[1]
    return record(GCE, "generalized_cross_entropy", "float32", "inaccurate", "grad:p",
                  {"p": np.ones(p_shape), "target": np.zeros(p_shape[0], dtype=np.int64)},
                  [observed] * n, ["-1"] * n, range(n), framework="tensorflow", shape=p_shape)


def test_gce_single_class_gradient_n_times_too_big_is_the_broadcast(entries):
    assert classified(gce_broadcast_grad(-3.0), entries) == "keras-generalized-ce-single-class-labels-broadcast"


@pytest.mark.parametrize("observed, p_shape", [(-2.0, (3, 1)), (-3.5, (3, 1)), (-3.0, (3, 2)), (0.0, (3, 1))])
def test_gce_near_misses_are_not_the_broadcast(entries, observed, p_shape):
    """Another factor, more than one class, or a zero gradient: not this mechanism, reported."""
    assert classified(gce_broadcast_grad(observed, p_shape), entries) != "keras-generalized-ce-single-class-labels-broadcast"



def test_an_entry_without_a_predicate_never_explains_a_wrong_output_shape():
    """An entry documents a numerical mechanism; a part that comes back in another shape (an axis bug, a
    reduction over the wrong dims) is a different one. Found on optax softmax_cross_entropy(axis=0): corpus
    cases left at axis -1 came back in another shape and were explained as 'confident cancellation'."""
    entry = known.Divergence(id="cancel", implementation=["optax.losses.softmax_cross_entropy(axis=0)"],
                             verdicts=["inaccurate"], reason="r", link="l", op="cross_entropy", parts=["value"])
    wrong_shape = record("optax.losses.softmax_cross_entropy(axis=0)", "cross_entropy", "float64", "inaccurate",
                         "value", {"logits": [0.0, 1.0, 2.0]}, [1.0, 2.0, 3.0], ["1.5"], [], shape=[3])
    wrong_shape["failing_elements"] = {"value": []}
    assert not known_predicates.holds(entry, wrong_shape)
    numeric = record("optax.losses.softmax_cross_entropy(axis=0)", "cross_entropy", "float64", "inaccurate",
                     "value", {"logits": [0.0, 1.0, 2.0]}, [1.5000000001], ["1.5"], [0])
    assert known_predicates.holds(entry, numeric)  # the same entry still explains a numerical failure
    naming = known.Divergence(id="shape", implementation=["optax.losses.softmax_cross_entropy(axis=0)"],
                              verdicts=["inaccurate"], reason="r", link="l", predicate="observed_shape_differs")
    assert known_predicates.holds(naming, wrong_shape)


def _single_class_record(q_shape, label_shape, obs_shape, ref_shape):
    impl = "keras.losses.SparseCategoricalCrossentropy(from_logits=False)"
    rec = record(impl, "cross_entropy_dist", "float64", "special_value_mismatch", "grad:q",
                 {"q": np.zeros(q_shape)}, [0.0], ["-inf"], [0], framework="tensorflow",
                 params={"axis": -1, "reduction": "none"})
    rec["inputs"]["p"] = tensor_json(np.zeros(label_shape, dtype=np.int64))
    rec["observed"]["value"] = {**tensor_json(np.zeros(int(np.prod(obs_shape)))), "shape": list(obs_shape)}
    rec["reference"]["value"] = {**ref_json(["inf"] * int(np.prod(ref_shape)), "float64"), "shape": list(ref_shape)}
    rec["failing_elements"] = {"value": [], "grad:q": [0]}
    rec["detail"] = "at (0, 0, 0): got 0.0, reference -inf (exact -inf)"
    return rec


def test_keras_sparse_loss_with_one_class_squeezed_is_matched_part_by_part():
    """Keras's Loss wrapper squeezes y_pred's one-class axis ([N, L, 1] -> [N, L]) and returns [N] for an [N, L]
    loss, and the clipped -inf gradient is 0: the record is explained part by part -- the gradient by
    keras-probability-paths-clip-and-order (no predicate), the value's shape by
    keras-loss-wrapper-squeezes-single-class; the gradient entry alone does not explain a wrong shape."""
    entries = known.load()
    rec = _single_class_record((1, 1, 1), (1, 1), (1,), (1, 1))
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == "keras-probability-paths-clip-and-order" and not rec["unexpected"]
    alone = [e for e in entries if e.id != "keras-loss-wrapper-squeezes-single-class"]
    rec = _single_class_record((1, 1, 1), (1, 1), (1,), (1, 1))
    known.classify(rec, alone, FAILING)
    assert rec["unexpected"]
