"""linear_cross_entropy (reference/ops/linear.py): values and gradients against mpmath are test_ref_gradients'
(draw_helpers.linear_cross_entropy); here closed forms, exact logits beyond the float range, special values, the cond bounds, and the derivative modes (hvp included)."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import draw_helpers as dh
import mp_ops
import reference
from hypothesis import given, settings
from hypothesis import strategies as st
from test_ref_derivs import check_derivs, direction, value_shape
from ref_helpers import evaluate, gradient_cond
from reference.errors import CaseError, UndefinedError

OP = "linear_cross_entropy"


def test_is_cross_entropy_of_the_exact_logits():
    """Inputs whose logits are exact in float64: the same value as cross_entropy on those logits, and the
    gradients are G W, G^T x and sum_n G (G the logits' gradient)."""
    x = np.array([[1.0, 2.0], [0.5, -1.0], [3.0, 0.0]])
    w = np.array([[0.25, 1.0], [1.0, -2.0], [0.0, 0.5]])
    b = np.array([0.0, 1.0, -1.0])
    y = np.array([0, 2, 1])
    params = {"weight": [1.0, 2.0, 0.5], "label_smoothing": 0.1}
    r = evaluate(OP, "float64", {"input": x, "linear_weight": w, "linear_bias": b, "target": y}, params)
    ce = evaluate("cross_entropy", "float64", {"logits": x @ w.T + b, "target": y}, params)
    assert r.value.exact[()] == ce.value.exact[()]
    G = ce.grads["logits"].rounded
    np.testing.assert_allclose(r.grads["linear_bias"].rounded, G.sum(0), rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(r.grads["input"].rounded, G @ w, rtol=1e-14, atol=1e-16)
    np.testing.assert_allclose(r.grads["linear_weight"].rounded, G.T @ x, rtol=1e-14, atol=1e-16)


def test_closed_forms():
    # equal logits (every weight row the same): loss ln C, input gradient exactly 0
    r = evaluate(OP, "float32", {"input": [[1.5, -2.0]], "linear_weight": [[1, 2]] * 4, "linear_bias": [0.5] * 4,
                                 "target": [3]}, {"reduction": "sum"})
    assert r.value.rounded[()] == np.float32(math.log(4))
    assert r.grads["input"].rounded.tolist() == [[0.0, 0.0]] and r.certified
    # D = 0: the logits are the bias
    r = evaluate(OP, "float64", {"input": {"shape": [1, 0], "data": []}, "linear_weight": {"shape": [2, 0], "data": []},
                                 "linear_bias": [0.0, 0.0], "target": [1]}, {"reduction": "none"})
    assert r.value.rounded[0] == pytest.approx(math.log(2), rel=1e-15)
    assert r.grads["linear_bias"].rounded.tolist() == [0.5, -0.5]


def test_logits_beyond_the_float_range_are_exact():
    """x W^T = [1e400, 1e400 + 0]: the rows are shifted by their exact maximum, the loss is ln 2 (a float
    evaluation overflows to inf - inf)."""
    r = evaluate(OP, "float64", {"input": [[1e200, 1e200]], "linear_weight": [[1e200, 0], [0, 1e200]],
                                 "linear_bias": [0, 0], "target": [0]}, {"reduction": "none"})
    assert r.value.rounded[0] == pytest.approx(math.log(2), rel=1e-15) and r.certified
    assert r.grads["linear_weight"].rounded.tolist() == [[-5e199, -5e199], [5e199, 5e199]]
    # a label logit 1e400 below the other: loss 1e400 rounds to +inf, gradients finite
    r = evaluate(OP, "float64", {"input": [[1e200, 1e200]], "linear_weight": [[1e200, 0], [0, -1e200]],
                                 "linear_bias": [0, 0], "target": [1]}, {"reduction": "none"})
    assert r.value.rounded[0] == math.inf and r.grads["linear_bias"].rounded.tolist() == [1.0, -1.0]


def test_special_values():
    inf = math.inf
    # +inf input where its weight column is 0: 0 * inf is 0 in the limit (NaN under IEEE)
    r = evaluate(OP, "float64", {"input": [[inf, 1.0]], "linear_weight": [[0, 1], [0, 2]], "linear_bias": [0, 0],
                                 "target": [0]}, {"reduction": "sum"})
    assert r.value.rounded[()] == pytest.approx(math.log1p(math.e), rel=1e-15)
    assert math.isnan(r.value.ieee[()])
    # one +inf logit at the label: loss 0, gradients 0; elsewhere: +inf
    r = evaluate(OP, "float64", {"input": [[inf]], "linear_weight": [[1], [-1]], "linear_bias": [0, 0],
                                 "target": [0]}, {"reduction": "sum"})
    assert r.value.rounded[()] == 0 and r.grads["linear_weight"].rounded.tolist() == [[0.0], [0.0]]
    r = evaluate(OP, "float64", {"input": [[inf]], "linear_weight": [[1], [-1]], "linear_bias": [0, 0],
                                 "target": [1]}, {"reduction": "sum"})
    assert r.value.rounded[()] == inf and r.grads["linear_weight"].rounded.tolist() == [[inf], [-inf]]
    # NaN anywhere in an item's logits: NaN, NaN gradients; an empty batch: mean NaN, sum 0
    r = evaluate(OP, "float64", {"input": [[1.0]], "linear_weight": [[1], [-1]], "linear_bias": ["nan", 0],
                                 "target": [1]}, {"reduction": "sum"})
    assert math.isnan(r.value.rounded[()]) and np.isnan(r.grads["input"].rounded).all()
    empty = {"input": {"shape": [0, 2], "data": []}, "linear_weight": [[1, 2], [3, 4]], "linear_bias": [0, 0],
             "target": []}
    mean = evaluate(OP, "float64", empty, {})
    assert math.isnan(mean.value.rounded[()]) and np.isnan(mean.grads["linear_weight"].rounded).all()
    assert np.isnan(mean.grads["linear_bias"].rounded).all()
    # one class, zero weight: the weight_sum mean is 0/0, NaN gradients (even where the input gradient's sum
    # over other classes is empty)
    zero = evaluate(OP, "float64", {"input": [[1.0, 2.0]], "linear_weight": [[1.0, 0.5]], "linear_bias": [0.0],
                                    "target": [0]}, {"weight": [0.0], "label_smoothing": 0.1})
    assert np.isnan(zero.grads["input"].rounded).all()
    assert evaluate(OP, "float64", empty, {"reduction": "sum"}).value.rounded[()] == 0
    with pytest.raises(UndefinedError):
        evaluate(OP, "float64", {"input": [[1.0]], "linear_weight": [[1], [2]], "linear_bias": [0, 0],
                                 "target": [2]}, {})


@pytest.mark.parametrize("bad", [
    {"input": [1.0, 2.0]},  # not (N, D)
    {"linear_weight": [[1.0, 2.0, 3.0]]},  # D differs
    {"linear_bias": [0.0]},  # C differs
    {"target": [[0]]},  # not (N,)
    {"target": [[0.5, 0.5]]},  # probabilities
])
def test_malformed_cases_are_case_errors(bad):
    inputs = {"input": [[1.0, 2.0]], "linear_weight": [[1.0, 0.0], [0.0, 1.0]], "linear_bias": [0.0, 0.0],
              "target": [0], **bad}
    with pytest.raises(CaseError):
        evaluate(OP, "float64", inputs, {})


def _numeric_value_cond(inputs, params):
    """sum_i |d loss / d x_i| |x_i| over every floating input, by mpmath.diff of mp_ops."""
    full = {**reference.OPS[OP].defaults, **params}
    vals = {k: (np.asarray(v) if k == "target" else np.vectorize(mp.mpf, otypes=[object])(np.asarray(v, float)))
            for k, v in inputs.items()}
    total = mp.mpf(0)
    for name in ("input", "linear_weight", "linear_bias"):
        for idx in np.ndindex(*vals[name].shape):
            def f(t, name=name, idx=idx):
                vv = {k: v.copy() for k, v in vals.items()}
                vv[name][idx] = t
                return mp.fsum(np.asarray(mp_ops.linear_cross_entropy(**vv, **full), dtype=object).ravel().tolist())
            total += abs(mp.diff(f, vals[name][idx])) * abs(vals[name][idx])
    return total


def test_value_cond_bounds_the_exact_condition_number():
    """The value's cond counts the logits' perturbation once per product (sum_c |G| (|x||W| + |b|)): at least
    the exact sum |d loss/d input||input| over all inputs, and within a small factor of it here."""
    inputs = {"input": [[1.0, -2.0], [0.5, 3.0]], "linear_weight": [[0.25, 1.0], [1.0, -2.0], [-1.5, 0.5]],
              "linear_bias": [0.0, 1.0, -1.0], "target": [0, 2]}
    r = evaluate(OP, "float64", inputs, {"reduction": "sum"})
    with mp.workprec(200):
        exact = float(_numeric_value_cond(inputs, {"reduction": "sum"}))
    assert exact <= float(r.value.cond[()]) <= 4 * exact


def _closed_form_hvp(x, w, b, y, v, tx, tw, tb, reduction):
    """hvp of sum / mean / none (VJP-of-VJP with per-item v) for unweighted cross entropy on z = x W^T + b:
    dz = t_x W^T + x t_W^T + t_b, H_z dz = s (dz - <s, dz>) per item, G = s - onehot(y);
    hvp:x = v (H_z dz) W + v G t_W,  hvp:W = (v H_z dz)^T x + (v G)^T t_x,  hvp:b = sum_n v_n (H_z dz)_n."""
    z = x @ w.T + b
    s = np.exp(z - z.max(1, keepdims=True))
    s /= s.sum(1, keepdims=True)
    G = s - np.eye(w.shape[0])[y]
    vn = np.broadcast_to(np.asarray(v, float), (len(x),)) / (len(x) if reduction == "mean" else 1)
    dz = tx @ w.T + x @ tw.T + tb
    Hdz = vn[:, None] * s * (dz - (s * dz).sum(1, keepdims=True))
    vG = vn[:, None] * G
    return {"hvp:input": Hdz @ w + vG @ tw, "hvp:linear_weight": Hdz.T @ x + vG.T @ tx, "hvp:linear_bias": Hdz.sum(0)}


HVP_CASE = {"input": np.array([[1.0, -2.0, 0.5], [0.5, 3.0, -1.0]]),
            "linear_weight": np.array([[0.25, 1.0, 0.0], [1.0, -2.0, 0.5], [-1.5, 0.5, 2.0], [0.0, 0.125, -1.0]]),
            "linear_bias": np.array([0.0, 1.0, -1.0, 0.5]), "target": np.array([0, 2])}
HVP_TANGENTS = {"input": np.array([[1.0, 0.5, -1.0], [0.0, 2.0, 1.0]]),
                "linear_weight": np.array([[0.5, 0, 1], [1, -1, 0], [0, 0.25, 1], [2, 0, -0.5]]),
                "linear_bias": np.array([1.0, 0, -2, 0.5])}


@pytest.mark.parametrize("reduction, cot", [("sum", 2.0), ("mean", -0.5), ("none", [1.0, -3.0])])
def test_hvp_closed_form(reduction, cot):
    """hvp w.r.t. the input, the weight matrix and the bias, for a scalar loss and VJP-of-VJP ("none")."""
    r = reference.evaluate(OP, "float64", HVP_CASE, {"reduction": reduction}, cotangent=cot, tangents=HVP_TANGENTS,
                           hvp=True)
    want = _closed_form_hvp(HVP_CASE["input"], HVP_CASE["linear_weight"], HVP_CASE["linear_bias"],
                            HVP_CASE["target"], cot, *HVP_TANGENTS.values(), reduction)
    for key, arr in want.items():
        assert r.derivs[key].certified.all(), key
        np.testing.assert_allclose(r.derivs[key].rounded, arr, rtol=1e-13, atol=1e-15, err_msg=key)


def test_hvp_cond_is_the_exact_condition_number_for_a_scalar_loss():
    """cond(hvp_j) = sum_k |d hvp_j / d x_k| |x_k| + |H_jk| |t_k| + |hvp_j| over every element k of the three
    inputs: the nested passes give it exactly for a reduced loss (checked by central differences of the closed
    form), and under "none" the per-item sum bounds it from above."""
    names = ("input", "linear_weight", "linear_bias")
    x0 = {n: HVP_CASE[n] for n in names}

    def hvp_at(vals, tans, reduction, cot):
        return _closed_form_hvp(vals["input"], vals["linear_weight"], vals["linear_bias"], HVP_CASE["target"], cot,
                                tans["input"], tans["linear_weight"], tans["linear_bias"], reduction)

    for reduction, cot in (("sum", 2.0), ("none", [1.0, -3.0])):
        r = reference.evaluate(OP, "float64", HVP_CASE, {"reduction": reduction}, cotangent=cot,
                               tangents=HVP_TANGENTS, hvp=True)
        base = hvp_at(x0, HVP_TANGENTS, reduction, cot)
        want = {f"hvp:{n}": np.abs(base[f"hvp:{n}"]) for n in names}
        for K in names:
            for k in np.ndindex(*x0[K].shape):
                h = 1e-6 * max(1.0, abs(x0[K][k]))
                up, down = ({n: a.copy() for n, a in x0.items()} for _ in range(2))
                up[K][k] += h
                down[K][k] -= h
                hu, hd = hvp_at(up, HVP_TANGENTS, reduction, cot), hvp_at(down, HVP_TANGENTS, reduction, cot)
                e = {n: np.zeros_like(a) for n, a in x0.items()}
                e[K][k] = 1.0
                col = hvp_at(x0, e, reduction, cot)  # H_.k (times v)
                for J in names:
                    key = f"hvp:{J}"
                    want[key] = want[key] + np.abs((hu[key] - hd[key]) / (2 * h)) * abs(x0[K][k]) \
                        + np.abs(col[key]) * abs(HVP_TANGENTS[K][k])
        for key, exact in want.items():
            got = r.derivs[key].cond
            if reduction == "sum":
                np.testing.assert_allclose(got, exact, rtol=1e-6, err_msg=key)
            else:
                assert (got >= exact * (1 - 1e-6)).all(), (key, got, exact)


@settings(max_examples=6, deadline=None, derandomize=True)
@given(data=st.data())
def test_vjp_jvp_and_hvp_against_mpmath(data):
    """vjp with a drawn cotangent, jvp along drawn tangents and the hvp (reference.derivs.shared and shared_hvp
    for reduction "none": the shared weight and bias summed over items), against mpmath.diff of mp_ops."""
    case = dh.draw_case(data, OP)
    names = ("input", "linear_weight", "linear_bias")
    cot = data.draw(direction(value_shape(*case)), label="cotangent")
    tans = {n: data.draw(direction(np.shape(case.inputs[n])), label=f"tangent {n}") for n in names}
    check_derivs(OP, dh.dtype(data), case.inputs, case.params, cotangent=cot, tangents=tans, hvp=True)


def test_gradient_conds_bound_the_exact_ones():
    """cond(gradient element) >= sum_j |d g_i / d x_j| |x_j| (mixed second derivatives by mpmath.diff) for every
    element of the three gradients: the triangle-inequality bound of the docstring never undercounts."""
    inputs = {"input": [[1.0, -2.0]], "linear_weight": [[0.25, 1.0], [1.0, -0.5]], "linear_bias": [0.5, -1.0],
              "target": [1]}
    params = {"reduction": "mean", "weight": [2.0, 0.5], "label_smoothing": 0.25}
    r = evaluate(OP, "float64", inputs, params)
    full = {**reference.OPS[OP].defaults, **params}
    names = ("input", "linear_weight", "linear_bias")
    with mp.workprec(200):
        vals = {k: np.vectorize(mp.mpf, otypes=[object])(np.asarray(inputs[k], float)) for k in names}
        coords = [(n, idx) for n in names for idx in np.ndindex(*vals[n].shape)]
        x0 = [vals[n][idx] for n, idx in coords]

        def F(*ts):
            vv = {k: v.copy() for k, v in vals.items()}
            for (n, idx), t in zip(coords, ts):
                vv[n][idx] = t
            return mp_ops.linear_cross_entropy(**vv, target=np.asarray(inputs["target"]), **full)[()]

        for i, (name, idx) in enumerate(coords):
            exact = gradient_cond(F, x0, i)
            got = float(r.grads[name].cond[idx])
            assert got >= float(exact) * (1 - 1e-9), (name, idx, got, exact)
            assert got <= 8 * float(exact) + 1e-12, (name, idx, got, exact)
