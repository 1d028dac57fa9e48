"""The derivative-mode known divergences (triage of the ci profile, issue 13) match the mechanism each documents
and not a look-alike: for each, a record shaped like the finding is explained by that entry, and a near miss
(another input, another size of error, another part) is not."""
import numpy as np
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json


def mode_record(impl, framework, op, dtype, verdict, part, inputs, observed, exact, cot=None, tans=None,
                params=None):
    np_dtype = np.float64 if dtype == "float64" else np.float32
    obs = tensor_json(np.asarray(observed, dtype=np.float64).astype(np_dtype))
    ref = {"dtype": dtype, "shape": [len(exact)], "exact": [str(e) for e in exact],
           "rounded": [float(e) for e in exact], "ieee": None}
    failing = [i for i, (o, e) in enumerate(zip(observed, exact)) if str(o) != str(float(e))]
    return {"implementation": impl, "framework": framework, "op": op, "dtype": dtype, "device": "cpu",
            "case_id": "m", "framework_version": "x 1.0", "params": params or {}, "verdict": verdict,
            "part": part, "detail": "",
            "inputs": {k: tensor_json(np.asarray(v, dtype=np_dtype)) for k, v in inputs.items()},
            "observed": {"value": None, "grad": {}, "derivs": {part: obs}},
            "reference": {"certified": True, "value": None, "grad": {}, "derivs": {part: ref}},
            "failing_elements": {part: failing},
            "derivative_request": {"cotangent": None if cot is None else tensor_json(np.asarray(cot, np_dtype)),
                                   "tangents": {k: tensor_json(np.asarray(v, np_dtype)) for k, v in (tans or {}).items()},
                                   "hvp": part.startswith("hvp")}}


@pytest.fixture(scope="module")
def entries():
    return known.load()


def explained(rec, entries):
    known.classify(rec, entries, FAILING)
    return rec["known_divergence"]


def test_jax_log_sigmoid_hvp(entries):
    r = mode_record("jax.nn.log_sigmoid", "jax", "log_sigmoid", "float64", "inaccurate", "hvp:x",
                    {"x": [-20.0]}, [-2.0611530217855834e-09], ["-2.061153613941849343652294605e-9"], [1.0], {"x": [1.0]})
    assert explained(r, entries) == "jax-log-sigmoid-hvp-logaddexp-jvp-cancellation"
    far = mode_record("jax.nn.log_sigmoid", "jax", "log_sigmoid", "float64", "inaccurate", "hvp:x",
                      {"x": [-2.0]}, [-0.2], ["-0.1049935854035065173486079213"], [1.0], {"x": [1.0]})
    assert explained(far, entries) is None  # a wrong second derivative, not a rounding of size u


def test_xlogy_jvp_at_the_corner(entries):
    r = mode_record("jax.scipy.special.xlogy", "jax", "xlogy", "float32", "special_value_mismatch", "jvp:x",
                    {"x": [0.0], "y": [0.0]}, [float("nan")], ["-inf"], [1.0], {"x": [1.0]})
    assert explained(r, entries) == "jax-xlogy-jvp-other-term-zero-over-zero"
    near = mode_record("jax.scipy.special.xlogy", "jax", "xlogy", "float32", "special_value_mismatch", "jvp:x",
                       {"x": [0.5], "y": [0.0]}, [float("nan")], ["-inf"], [1.0], {"x": [1.0]})
    assert explained(near, entries) is None  # x != 0: no 0/0 term
    r = mode_record("jax.scipy.special.xlog1py", "jax", "xlog1py", "float32", "special_value_mismatch", "jvp:x",
                    {"x": [0.0], "y": [-1.0]}, [float("nan")], ["-inf"], [1.0], {"x": [1.0]})
    assert explained(r, entries) == "jax-xlogy-jvp-other-term-zero-over-zero"


def test_kl_div_target_zero(entries):
    args = ("optax.losses.kl_divergence", "jax", "kl_div", "float64", "special_value_mismatch", "jvp:target")
    r = mode_record(*args, {"input": [-0.0], "target": [0.0]}, [0.0], ["-inf"], [1.0], {"target": [1.0]})
    assert explained(r, entries) == "optax-kl-divergence-target-derivative-modes-at-zero"
    assert explained(mode_record(*args, {"input": [-0.5], "target": [0.25]}, [0.0], ["-0.886"], [1.0],
                                 {"target": [1.0]}), entries) is None
    r = mode_record("torch.nn.functional.kl_div", "torch", "kl_div", "float64", "special_value_mismatch",
                    "jvp:target", {"input": [-0.0], "target": [0.0]}, [float("nan")], ["-inf"], [1.0],
                    {"target": [1.0]})
    assert explained(r, entries) == "torch-kl-div-target-derivative-modes-at-zero"


def test_optax_focal_label_mask(entries):
    args = ("optax.losses.sigmoid_focal_loss", "jax", "sigmoid_focal_loss", "float64", "inaccurate", "hvp:x")
    r = mode_record(*args, {"x": [-1.0], "y": [0.0]}, [0.4033494010867584], ["-0.0846866637796381822"],
                    [1.0], {"x": [1.0], "y": [2.0]})
    assert explained(r, entries) == "optax-focal-label-mask-derivative-modes"
    assert explained(mode_record(*args, {"x": [-1.0], "y": [0.5]}, [0.4], ["-0.08"], [1.0],
                                 {"x": [1.0], "y": [2.0]}), entries) is None  # b = [0.5, 0.5]: nothing masked


def test_torch_bce_double_backward_eps(entries):
    args = ("torch.nn.functional.binary_cross_entropy", "torch", "binary_cross_entropy", "float64", "inaccurate",
            "hvp:p")
    r = mode_record(*args, {"p": [0.25], "y": [0.0]}, [8.888888888850962], ["8.888888888888888888888888889"],
                    [1.0], {"p": [1.0], "y": [-0.5]})
    assert explained(r, entries) == "torch-bce-derivative-modes-backward-formulas"
    off = mode_record(*args, {"p": [0.25], "y": [0.0]}, [8.8888887], ["8.888888888888888888888888889"],
                      [1.0], {"p": [1.0], "y": [-0.5]})
    assert explained(off, entries) is None  # 1e-8 relative: far beyond what the 1e-12 eps gives
    r = mode_record("torch.nn.BCELoss", "torch", "binary_cross_entropy", "float64", "special_value_mismatch",
                    "hvp:p", {"p": [0.0], "y": [0.0]}, [float("-inf")], ["0"], [1.0], {"p": [1.0], "y": [1.0]})
    assert explained(r, entries) == "torch-bce-derivative-modes-backward-formulas"


def test_softmax_double_backward_and_jvp_cancellations(entries):
    x = {"x": [0.0, 0.0, -4.0]}
    r = mode_record("torch.softmax", "torch", "softmax", "float16", "inaccurate", "hvp:x", x,
                    [0.0419, -0.016143798828125, 0.0], ["0.04119697020194099", "-0.015567330040285382", "0"],
                    [0.5, 3.0, -1.0], {"x": [0.0, -3.0, 0.25]}, params={"axis": -1})
    assert explained(r, entries) == "torch-softmax-double-backward-cancellation"
    r["implementation"], r["framework"] = "jax.scipy.special.softmax", "jax"
    assert explained(r, entries) == "jax-scipy-softmax-jvp-cancellation"
    big = mode_record("torch.softmax", "torch", "softmax", "float16", "inaccurate", "hvp:x", x,
                      [0.0419, -0.5, 0.0], ["0.04119697020194099", "-0.015567330040285382", "0"],
                      [0.5, 3.0, -1.0], {"x": [0.0, -3.0, 0.25]}, params={"axis": -1})
    assert explained(big, entries) is None


def test_torch_xlogy_jvp_mask_and_rel_entr_branches(entries):
    r = mode_record("torch.xlogy", "torch", "xlogy", "float64", "special_value_mismatch", "jvp:x",
                    {"x": [0.0], "y": [0.0]}, [0.0], ["-inf"], [1.0], {"x": [1.0]})
    assert explained(r, entries) == "torch-xlogy-jvp-masked-at-x-zero"
    assert explained(mode_record("torch.xlogy", "torch", "xlogy", "float64", "special_value_mismatch", "jvp:x",
                                 {"x": [1.0], "y": [2.0]}, [0.0], ["0.693"], [1.0], {"x": [1.0]}), entries) is None
    r = mode_record("jax.scipy.special.rel_entr", "jax", "rel_entr", "float64", "special_value_mismatch", "jvp:x",
                    {"x": [0.0], "y": [0.0]}, [0.0], ["inf"], [1.0], {"x": [1.0]})
    assert explained(r, entries) == "jax-rel-entr-constant-branch-derivative-modes"


def test_tf_softmax_ce_labels_second_order_dropped(entries):
    args = ("tf.nn.softmax_cross_entropy_with_logits", "tensorflow", "cross_entropy", "float64", "inaccurate",
            "hvp:target")
    inputs = {"logits": [0.0, 0.0, 0.0], "target": [1.0, 0.0, 0.0]}
    r = mode_record(*args, inputs, [0.0, 0.0, 0.0], ["1.8333333333333333", "-4.1666666666666667", "2.3333333333"],
                    [-2.0], {"logits": [0.0, -3.0, 0.25], "target": [0.25, 1.0, -0.5]}, params={"axis": -1})
    assert explained(r, entries) == "tf-softmax-ce-labels-second-order-dropped"
    wrong = mode_record(*args, inputs, [1.0, -4.0, 2.0], ["1.8333333333333333", "-4.1666666666666667",
                                                          "2.3333333333"],
                        [-2.0], {"logits": [0.0, -3.0, 0.25], "target": [0.25, 1.0, -0.5]}, params={"axis": -1})
    assert explained(wrong, entries) is None  # nonzero and wrong: not a dropped term


def test_tf_xlogy_hvp_mask_and_keras_gce_hvp_broadcast(entries):
    r = mode_record("tf.math.xlog1py", "tensorflow", "xlog1py", "float64", "inaccurate", "hvp:x",
                    {"x": [0.0], "y": [0.0]}, [0.0], ["1"], [1.0], {"x": [1.0], "y": [1.0]})
    assert explained(r, entries) == "tf-xlogy-hvp-masked-at-x-zero"
    assert explained(mode_record("tf.math.xlog1py", "tensorflow", "xlog1py", "float64", "inaccurate", "hvp:x",
                                 {"x": [0.5], "y": [1.0]}, [0.0], ["0.5"], [1.0], {"x": [1.0], "y": [1.0]}),
                     entries) is None
    gce = ("keras.losses.CategoricalGeneralizedCrossEntropy", "tensorflow", "generalized_cross_entropy", "float64",
           "inaccurate", "hvp:p")
    r = mode_record(*gce, {"p": [[1.0], [1.0], [1.0]]}, [-3.0, 1.5, -6.0], ["-1", "0.5", "-2"], [-2.0],
                    {"p": [1.0, -0.5, 2.0]}, params={"axis": -1, "q": 0.5})
    r["inputs"]["p"]["shape"] = [3, 1]
    for t in (r["observed"]["derivs"]["hvp:p"], r["reference"]["derivs"]["hvp:p"]):
        t["shape"] = [3, 1]
    assert explained(r, entries) == "keras-generalized-ce-single-class-hvp-broadcast"


# ------------------------------------------------ tf-softmax-ce-hvp-cotangent-tangent-overflows (session 4)

def _softmax_ce_hvp_record(v, observed_inf=True, impl="keras.ops.sparse_categorical_crossentropy(from_logits=True)"):
    """One item x = [20, 0, 0] with label 0, tangent [-T, T, T] (T = 1.84e19) and cotangent v, bfloat16: the
    exact hvp v s_c (t_c - <t, s>) is finite; the observed element 1 is inf (or NaN)."""
    x = np.array([20.0, 0.0, 0.0])
    T = 1.8374686479671624e19
    t = np.array([-T, T, T])
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    exact = (v * s * (t - (t * s).sum())).ravel()
    observed = exact.copy()
    observed[1] = np.inf if observed_inf else np.nan
    rec = mode_record(impl, "tensorflow", "cross_entropy", "bfloat16", "special_value_mismatch", "hvp:logits",
                      {"logits": x, "target": 0}, list(observed), [repr(float(e)) for e in exact], cot=v,
                      tans={"logits": t}, params={"axis": -1, "reduction": "none"})
    rec["framework_version"] = "tensorflow 2.21.0, keras 3.15.1"
    return rec


def test_tf_softmax_ce_hvp_overflow_explained(entries):
    rec = _softmax_ce_hvp_record(1.8374686479671624e19)
    assert rec["failing_elements"]["hvp:logits"] == [1]
    assert explained(rec, entries) == "tf-softmax-ce-hvp-cotangent-tangent-overflows"


def test_tf_softmax_ce_hvp_overflow_near_misses(entries):
    # a cotangent small enough that v (t_c - <t, s>) stays in range: an inf there is another mechanism
    assert explained(_softmax_ce_hvp_record(1e18), entries) is None
    # NaN is not the overflow this entry documents
    assert explained(_softmax_ce_hvp_record(1.8374686479671624e19, observed_inf=False), entries) is None
    # torch's cross_entropy has no such intermediate: not in scope
    assert explained(_softmax_ce_hvp_record(1.8374686479671624e19, impl="torch.nn.functional.cross_entropy[class]"),
                     entries) is None


# ------------------------------------------------ torch-cross-entropy-double-backward-dominant-class-cancellation

def _torch_ce_hvp_record(error):
    """One item x = [20, 0, 0], label 1, tangent [-1000, 37, 0.25], v = 1, float32: the observed hvp at the
    dominant class is the exact one plus `error`."""
    x = np.array([20.0, 0.0, 0.0])
    t = np.array([-1000.0, 37.0, 0.25])
    s = np.exp(x - x.max()) / np.exp(x - x.max()).sum()
    exact = s * np.array([sum(s[k] * (t[c] - t[k]) for k in range(3) if k != c) for c in range(3)])
    observed = [float(np.float32(exact[0] + error))] + [float(np.float32(e)) for e in exact[1:]]
    exact_text = [repr(float(e)) for e in exact]
    rec = mode_record("torch.nn.functional.cross_entropy[class]", "torch", "cross_entropy", "float32", "inaccurate",
                      "hvp:logits", {"logits": x, "target": 1}, observed, exact_text, cot=1.0, tans={"logits": t},
                      params={"axis": -1, "reduction": "sum"})
    rec["framework_version"] = "torch 2.13.0+cpu"
    rec["failing_elements"] = {"hvp:logits": [0]}
    return rec


def test_torch_ce_hvp_dominant_class_cancellation_explained(entries):
    assert explained(_torch_ce_hvp_record(2.1e-5), entries) == \
        "torch-cross-entropy-double-backward-dominant-class-cancellation"


def test_torch_ce_hvp_dominant_class_cancellation_near_miss(entries):
    # an error of 1 (beyond 4 (C + 1) u |v| |t|, 1e-3 here) is not the rounding of O(|t|) terms
    assert explained(_torch_ce_hvp_record(1.0), entries) is None


def test_keras_bce_float16_hvp_is_the_clip_not_the_first_order_rounding(entries):
    """p = y = 0 in float16: the clip's zero derivative times 1/eps = inf gives NaN where the limit is -inf. The
    first-order entry keras-bce-one-minus-p-rounded (value/grad/vjp/jvp parts) must not take credit for it."""
    r = mode_record("keras.losses.BinaryCrossentropy(from_logits=False)", "tensorflow", "binary_cross_entropy",
                    "float16", "special_value_mismatch", "hvp:y", {"p": [0.0], "y": [0.0]}, [float("nan")],
                    ["-inf"], [1.0], {"p": [1.0], "y": [1.0]})
    r["detail"] = "hvp:y: nan where the reference is -inf"
    assert explained(r, entries) == "keras-probability-paths-clip-and-order-hvp"
    r["part"] = "value"
    assert explained(r, entries) == "keras-bce-one-minus-p-rounded"
