"""The ops and params added for issue 17 (entr, poly_loss, multilabel_soft_margin_loss, kl_div's generalized,
cross_entropy_dist's label_smoothing, ...): closed forms, special values, and the frameworks' formulas they must
reproduce. Their drawn values and gradients against mpmath are checked with every other op's
(draw_helpers.ISSUE_17_CASES in test_ref_gradients and test_ref_derivs)."""
from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest

import reference
from ref_helpers import evaluate


def test_entr_special_values():
    r = evaluate("entr", "float64", {"x": [0.0, -1.0, math.inf, math.nan, 1.0, math.exp(-1)]})
    v, g = r.value.rounded, r.grads["x"].rounded
    assert v[0] == 0 and v[1] == -math.inf and v[2] == -math.inf and math.isnan(v[3]) and v[4] == 0
    assert g[0] == math.inf and math.isnan(g[1]) and g[2] == -math.inf and g[4] == -1.0
    assert v[5] == pytest.approx(math.exp(-1), rel=1e-15)  # -x log x at x = 1/e is 1/e (the maximum)
    assert abs(g[5]) < 1e-15  # and the gradient vanishes there


def test_poly_loss_closed_forms():
    # equal logits, one-hot target: CE = ln C, 1 - p_t = 1 - 1/C; epsilon 0 is cross_entropy with probabilities
    C = 4
    x, t = np.zeros((1, C)), np.eye(C)[:1]
    r = evaluate("poly_loss", "float64", {"logits": x, "target": t}, {"epsilon": 2.0})
    assert r.value.rounded[0] == pytest.approx(math.log(C) + 2 * (1 - 1 / C), rel=1e-15)
    # d/dx_j = p_j - t_j - e p_j (t_j - p_t): at the label 1/4 - 1 - 2 (1/4)(3/4), elsewhere 1/4 + 2 (1/4)(1/4)
    assert r.grads["logits"].rounded[0].tolist() == [0.25 - 1 - 0.375, 0.375, 0.375, 0.375]
    x = np.array([[0.5, -1.25, 3.0]])
    t = np.array([[0.25, 0.25, 0.5]])
    poly0 = evaluate("poly_loss", "float64", {"logits": x, "target": t}, {"epsilon": 0.0})
    ce = evaluate("cross_entropy", "float64", {"logits": x, "target": t}, {"axis": -1, "reduction": "none"})
    assert poly0.value.exact[0] == ce.value.exact[0]
    assert poly0.grads["logits"].exact.tolist() == ce.grads["logits"].exact.tolist()


def test_poly_loss_matches_optax_formula_in_float64():
    """optax's own definition, evaluated in float64, agrees to a few ulp (a check of the formula, not the oracle)."""
    x = np.array([[0.3, -1.2, 2.0], [4.0, 4.0, -2.5]])
    t = np.array([[0.2, 0.0, 0.8], [0.0, 1.0, 0.0]])
    r = evaluate("poly_loss", "float64", {"logits": x, "target": t}, {"epsilon": 2.0})
    lp = x - np.log(np.exp(x).sum(-1, keepdims=True))
    want = -(t * lp).sum(-1) + 2.0 * (t * (1 - np.exp(lp))).sum(-1)
    assert np.allclose(r.value.rounded, want, rtol=1e-14, atol=0)


def test_multilabel_soft_margin_is_the_class_mean_of_bce_with_logits():
    x = np.array([[0.5, -2.0, 7.25], [1.0, 0.0, -3.5]])
    y = np.array([[1.0, 0.0, 0.5], [0.0, 1.0, 1.0]])
    m = evaluate("multilabel_soft_margin_loss", "float64", {"x": x, "y": y}, {"reduction": "sum"})
    b = evaluate("binary_cross_entropy_with_logits", "float64", {"x": x, "y": y}, {"reduction": "sum"})
    with mp.workprec(200):
        assert abs(mp.mpf(m.value.exact[()]) * 3 - mp.mpf(b.value.exact[()])) < mp.mpf("1e-40")
        for idx in np.ndindex(*x.shape):
            assert abs(mp.mpf(m.grads["x"].exact[idx]) * 3 - mp.mpf(b.grads["x"].exact[idx])) < mp.mpf("1e-40")
    empty = evaluate("multilabel_soft_margin_loss", "float64", {"x": np.zeros((2, 0)), "y": np.zeros((2, 0))},
                     {"reduction": "none"})
    assert np.isnan(empty.value.rounded).all()  # a mean over no classes is 0/0


def test_kl_div_generalized_is_scipy_kl_div_at_q_equal_exp_input():
    """generalized kl_div(input = log q, t) = t log(t/q) - t + q = generalized_kl(t, q) where exp(input) is exact:
    input = 0 (q = 1) and the t = 0 boundary (the value is q)."""
    t = np.array([0.0, 0.5, 1.0, 2.0])
    r = evaluate("kl_div", "float64", {"input": np.zeros(4), "target": t}, {"generalized": True, "reduction": "none"})
    g = evaluate("generalized_kl", "float64", {"x": t, "y": np.ones(4)})
    assert r.value.exact.tolist() == g.value.exact.tolist()
    assert r.grads["target"].exact.tolist() == g.grads["x"].exact.tolist()
    inf = evaluate("kl_div", "float64", {"input": [math.inf, -math.inf], "target": [0.5, 0.0]},
                   {"generalized": True, "reduction": "none"})
    assert inf.value.rounded.tolist() == [math.inf, 0.0]  # exp(+inf) dominates; 0 log 0 - 0 + exp(-inf) = 0


def test_cross_entropy_dist_label_smoothing_on_labels_and_in_full():
    q = np.array([[0.25, 0.5, 0.25]])
    lab = evaluate("cross_entropy_dist", "float64", {"p": [1], "q": q}, {"label_smoothing": 0.25})
    dense = evaluate("cross_entropy_dist", "float64", {"p": [[0.0, 1.0, 0.0]], "q": q}, {"label_smoothing": 0.25})
    assert lab.value.exact.tolist() == dense.value.exact.tolist()
    assert lab.grads["q"].exact.tolist() == dense.grads["q"].exact.tolist()
    # smoothing 1 makes p uniform: H = -mean log q, and d/dp = 0 (p no longer matters)
    full = evaluate("cross_entropy_dist", "float64", {"p": [[0.0, 1.0, 0.0]], "q": q}, {"label_smoothing": 1.0})
    assert full.value.rounded[0] == pytest.approx(-np.log(q).mean(), rel=1e-15)
    assert full.grads["p"].rounded.tolist() == [[0.0, 0.0, 0.0]]


def test_new_ops_are_in_the_catalog():
    for op in ("entr", "poly_loss", "multilabel_soft_margin_loss"):
        assert op in reference.OPS and reference.OPS[op].doc
    assert reference.OPS["kl_div"].defaults["generalized"] is False
    assert reference.OPS["cross_entropy_dist"].defaults["label_smoothing"] == 0.0
    assert "label_smoothing" not in reference.OPS["kl_divergence"].defaults


def test_binary_focal_loss_gamma_0_is_bce_and_matches_sigmoid_focal_at_sigmoid_points():
    p, y = np.array([0.25, 0.5, 0.75]), np.array([1.0, 0.0, 0.5])
    f = evaluate("binary_focal_loss", "float64", {"p": p, "y": y}, {"gamma": 0.0, "reduction": "none"})
    b = evaluate("binary_cross_entropy", "float64", {"p": p, "y": y}, {"reduction": "none"})
    assert f.value.exact.tolist() == b.value.exact.tolist()
    # sigma(0) = 1/2 exactly: the probability path at p = 1/2 is the logits path at x = 0 (value; d/dy too)
    fl_ = evaluate("binary_focal_loss", "float64", {"p": [0.5, 0.5], "y": [1.0, 0.25]}, {"alpha": 0.25})
    sg = evaluate("sigmoid_focal_loss", "float64", {"x": [0.0, 0.0], "y": [1.0, 0.25]}, {"alpha": 0.25})
    with mp.workprec(200):
        assert abs(mp.mpf(fl_.value.exact[()]) - mp.mpf(sg.value.exact[()])) < mp.mpf("1e-40")
        for i in range(2):
            assert abs(mp.mpf(fl_.grads["y"].exact[i]) - mp.mpf(sg.grads["y"].exact[i])) < mp.mpf("1e-40")


def test_logsumexp_closed_forms_and_special_rows():
    r = evaluate("logsumexp", "float64", {"x": [[0.0, 0.0, 0.0, 0.0], [-math.inf, 1.0, -math.inf, -math.inf]]})
    assert r.value.rounded[0] == pytest.approx(math.log(4), rel=1e-16) and r.value.rounded[1] == 1.0
    assert r.grads["x"].rounded.tolist() == [[0.25] * 4, [0.0, 1.0, 0.0, 0.0]]
    s = evaluate("logsumexp", "float64", {"x": [[-math.inf, -math.inf], [math.inf, 0.0], [math.nan, 0.0]]})
    assert s.value.rounded[0] == -math.inf and s.value.rounded[1] == math.inf and math.isnan(s.value.rounded[2])
    assert s.grads["x"].rounded[1].tolist() == [1.0, 0.0] and np.isnan(s.grads["x"].rounded[0]).all()


def test_xlog1py_special_values():
    r = evaluate("xlog1py", "float64", {"x": [0.0, 0.0, 2.0, 1.0, 0.0], "y": [-1.0, -2.0, -1.0, -2.0, math.nan]})
    v = r.value.rounded
    assert v[0] == 0 and v[1] == 0 and v[2] == -math.inf and math.isnan(v[3]) and math.isnan(v[4])
    assert r.grads["y"].rounded[0] == 0 and r.grads["x"].rounded[0] == -math.inf


def test_generalized_cross_entropy_closed_forms():
    # q = 1 is 1 - p_y (mean absolute error on the label); a label outside [0, C) is undefined
    r = evaluate("generalized_cross_entropy", "float64", {"p": [[0.25, 0.75]], "target": [1]}, {"q": 1.0})
    assert r.value.rounded.tolist() == [0.25] and r.grads["p"].rounded.tolist() == [[0.0, -1.0]]
    z = evaluate("generalized_cross_entropy", "float64", {"p": [[0.0, 1.0]], "target": [0]}, {"q": 0.5})
    assert z.value.rounded.tolist() == [2.0] and z.grads["p"].rounded[0, 0] == -math.inf
    with pytest.raises(reference.errors.CaseError):
        evaluate("generalized_cross_entropy", "float64", {"p": [[0.5, 0.5]], "target": [2]}, {})
