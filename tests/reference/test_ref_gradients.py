"""Values and gradients against independent mpmath formulas (tests/reference/mp_ops.py) and mpmath.diff."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

import mp_ops
import reference
from ref_helpers import evaluate, in_dtype, logits_strategy, mpf, prob_rows_strategy

PREC = 200


def _mp_inputs(inputs: dict, dtype: str) -> dict:
    out = {}
    for k, v in inputs.items():
        v = np.asarray(v)
        out[k] = v if v.dtype.kind in "iu" else np.vectorize(mp.mpf, otypes=[object])(in_dtype(v, dtype))
    return out


def check_against_mpmath(op, dtype, inputs, params, rel=mp.mpf("1e-28")):
    """The reference's exact value and gradients agree with mp_ops and with mpmath.diff of mp_ops."""
    r = evaluate(op, dtype, inputs, params)
    spec = reference.OPS[op]
    full = {**spec.defaults, **params}
    for key in ("clip", "weight", "pos_weight"):  # the reference rounds these into the dtype first
        if full.get(key) is not None:
            full[key] = in_dtype(full[key], dtype).tolist()
    with mp.workprec(PREC):
        vals = _mp_inputs(inputs, dtype)
        fn = mp_ops.OPS[op]
        want = np.asarray(fn(**vals, **full), dtype=object)
        for idx, w in np.ndenumerate(want):
            got = mpf(r.value.exact[idx])
            assert abs(got - w) <= rel * max(abs(w), mp.mpf(1e-30)), (op, "value", idx, got, w)
        for name in spec.differentiable:
            if name not in r.grads:
                continue
            for idx in np.ndindex(*vals[name].shape):
                def f(t, name=name, idx=idx):
                    vv = dict(vals)
                    arr = vv[name].copy()
                    arr[idx] = t
                    vv[name] = arr
                    return mp.fsum(np.asarray(fn(**vv, **full), dtype=object).ravel().tolist())
                d = mp.diff(f, vals[name][idx])
                got = mpf(r.grads[name].exact[idx])
                assert abs(got - d) <= rel * max(abs(d), mp.mpf(1)), (op, name, idx, got, d)
    return r


SETTINGS = settings(max_examples=10, deadline=None)
DT = st.sampled_from(["float64", "float32", "float16", "bfloat16"])


@pytest.mark.parametrize("op", ["softmax", "log_softmax"])
@SETTINGS
@given(data=st.data())
def test_softmax_family(op, data):
    x = data.draw(logits_strategy(2, 3), label="x")
    axis = data.draw(st.sampled_from([0, 1, -1]), label="axis")
    check_against_mpmath(op, data.draw(DT, label="dtype"), {"x": x}, {"axis": axis})


@pytest.mark.parametrize("op", ["sigmoid", "log_sigmoid"])
@SETTINGS
@given(data=st.data())
def test_sigmoid_family(op, data):
    x = data.draw(logits_strategy(1, 4, -30, 30), label="x")
    check_against_mpmath(op, data.draw(DT, label="dtype"), {"x": x}, {})


@SETTINGS
@given(data=st.data())
def test_entropy(data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    params = {"base": data.draw(st.sampled_from(["e", 2]), label="base"),
              "normalize": data.draw(st.booleans(), label="normalize")}
    check_against_mpmath("entropy", data.draw(DT, label="dtype"), {"p": p}, params)


@pytest.mark.parametrize("op", ["cross_entropy_dist", "kl_divergence"])
@SETTINGS
@given(data=st.data())
def test_two_distributions(op, data):
    p = data.draw(prob_rows_strategy(2, 3), label="p")
    q = data.draw(prob_rows_strategy(2, 3), label="q")
    params = {"normalize": data.draw(st.sampled_from(["none", "q", "both"]), label="normalize"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "base": data.draw(st.sampled_from(["e", 2]), label="base")}
    if data.draw(st.booleans(), label="clip"):
        params["clip"] = [0.1, 0.9]  # off the 1/64 grid: no input sits on a kink
    check_against_mpmath(op, data.draw(DT, label="dtype"), {"p": p, "q": q}, params)


@pytest.mark.parametrize("op", ["xlogy", "rel_entr", "generalized_kl"])
@SETTINGS
@given(data=st.data())
def test_elementwise_information(op, data):
    x = data.draw(prob_rows_strategy(1, 3), label="x") * 4
    y = data.draw(prob_rows_strategy(1, 3), label="y")
    check_against_mpmath(op, data.draw(DT, label="dtype"), {"x": x, "y": y}, {})


@SETTINGS
@given(data=st.data())
def test_cross_entropy_labels(data):
    x = data.draw(logits_strategy(3, 4), label="logits")
    y = np.array([data.draw(st.integers(0, 3), label=f"label {i}") for i in range(3)])
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.125, 1.0]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "mean_denominator": data.draw(st.sampled_from(["count", "weight_sum"]), label="mean_denominator")}
    if data.draw(st.booleans(), label="weight"):
        params["weight"] = [0.5, 1.0, 2.0, 4.0]
    if data.draw(st.booleans(), label="ignore_index"):
        params["ignore_index"] = int(y[0])
    if params.get("ignore_index") is not None and params["reduction"] == "mean" and (y == y[0]).all():
        params["reduction"] = "sum"  # a mean over nothing is NaN (tested elsewhere)
    check_against_mpmath("cross_entropy", data.draw(DT, label="dtype"), {"logits": x, "target": y}, params)


@SETTINGS
@given(data=st.data())
def test_cross_entropy_probabilities(data):
    x = data.draw(logits_strategy(2, 3), label="logits")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "mean_denominator": data.draw(st.sampled_from(["count", "weight_sum"]), label="mean_denominator"),
              "weight": data.draw(st.sampled_from([None, [0.5, 1.0, 3.0]]), label="weight")}
    check_against_mpmath("cross_entropy", data.draw(DT, label="dtype"), {"logits": x, "target": t}, params)


@SETTINGS
@given(data=st.data())
def test_cross_entropy_spatial_class_axis(data):
    x = data.draw(logits_strategy(3, 4), label="logits").reshape(1, 3, 4)  # (N, C, d1)
    y = np.array([[data.draw(st.integers(0, 2), label=f"label {i}") for i in range(4)]])
    check_against_mpmath("cross_entropy", "float64", {"logits": x, "target": y}, {"axis": 1})


@SETTINGS
@given(data=st.data())
def test_nll_loss(data):
    logp = -data.draw(prob_rows_strategy(3, 3), label="-logp") * 4
    y = np.array([data.draw(st.integers(0, 2), label=f"label {i}") for i in range(3)])
    params = {"weight": data.draw(st.sampled_from([None, [1.0, 2.0, 0.5]]), label="weight"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    check_against_mpmath("nll_loss", data.draw(DT, label="dtype"), {"logp": logp, "target": y}, params)


@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy(data):
    p = data.draw(prob_rows_strategy(1, 4), label="p") * 0.96875  # keeps p < 1
    y = data.draw(prob_rows_strategy(1, 4), label="y")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "weight": data.draw(st.sampled_from([None, [[1.0, 2.0, 0.5, 4.0]]]), label="weight")}
    if data.draw(st.booleans(), label="clip"):
        params["clip"] = [0.1, 0.9]  # off the 1/64 grid: no input sits on a kink
    if data.draw(st.booleans(), label="log_clamp"):
        params["log_clamp"] = -2.0
    check_against_mpmath("binary_cross_entropy", data.draw(DT, label="dtype"), {"p": p, "y": y}, params)


@SETTINGS
@given(data=st.data())
def test_binary_cross_entropy_with_logits(data):
    x = data.draw(logits_strategy(2, 3, -20, 20), label="x")
    y = data.draw(prob_rows_strategy(2, 3), label="y")
    params = {"label_smoothing": data.draw(st.sampled_from([0.0, 0.25]), label="label_smoothing"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction"),
              "pos_weight": data.draw(st.sampled_from([None, [1.0, 3.0, 0.5]]), label="pos_weight"),
              "weight": data.draw(st.sampled_from([None, [[2.0], [0.5]]]), label="weight")}
    check_against_mpmath("binary_cross_entropy_with_logits", data.draw(DT, label="dtype"), {"x": x, "y": y}, params)


@SETTINGS
@given(data=st.data())
def test_kl_div(data):
    q = data.draw(prob_rows_strategy(2, 3), label="q")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    log_target = data.draw(st.booleans(), label="log_target")
    inputs = {"input": np.log(q), "target": np.log(t) if log_target else t}
    params = {"log_target": log_target,
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean", "batchmean"]), label="reduction")}
    check_against_mpmath("kl_div", data.draw(DT, label="dtype"), inputs, params)


@SETTINGS
@given(data=st.data())
def test_sigmoid_focal_loss(data):
    x = data.draw(logits_strategy(1, 4, -12, 12), label="x")
    y = data.draw(prob_rows_strategy(1, 4), label="y")
    params = {"gamma": data.draw(st.sampled_from([0.0, 0.5, 1.0, 2.0, 3.0]), label="gamma"),
              "alpha": data.draw(st.sampled_from([None, 0.25]), label="alpha"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    check_against_mpmath("sigmoid_focal_loss", data.draw(DT, label="dtype"), {"x": x, "y": y}, params)


@SETTINGS
@given(data=st.data())
def test_softmax_focal_loss(data):
    x = data.draw(logits_strategy(2, 3), label="logits")
    t = data.draw(prob_rows_strategy(2, 3), label="target")
    params = {"gamma": data.draw(st.sampled_from([0.0, 0.5, 2.0]), label="gamma"),
              "alpha": data.draw(st.sampled_from([None, 0.25]), label="alpha"),
              "reduction": data.draw(st.sampled_from(["none", "sum", "mean"]), label="reduction")}
    check_against_mpmath("softmax_focal_loss", data.draw(DT, label="dtype"), {"logits": x, "target": t}, params)
