"""cond quantities against mpmath: sum_i |d element / d x_i| |x_i| for values (first derivatives) and for
gradient elements (mixed second derivatives), by mpmath.diff of the independent formulas in mp_ops."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import mp_ops
import reference
from ref_helpers import gradient_cond

RNG = np.random.default_rng(2)
X = RNG.standard_normal((2, 3))
P = RNG.random((2, 3)) + 0.05
P2 = P / P.sum(1, keepdims=True)
Q = RNG.random((2, 3)) + 0.05
Q2 = Q / Q.sum(1, keepdims=True)
LAB = np.array([1, 2])

CASES = [
    ("softmax", {"x": X}, {}), ("log_softmax", {"x": X}, {}), ("sigmoid", {"x": X}, {}),
    ("log_sigmoid", {"x": X}, {}), ("entropy", {"p": P2}, {}), ("entropy", {"p": P}, {"normalize": True, "base": 2}),
    ("cross_entropy_dist", {"p": P2, "q": Q}, {"reduction": "mean"}),
    ("cross_entropy_dist", {"p": P, "q": Q}, {"normalize": "both"}),
    ("cross_entropy_dist", {"p": P, "q": Q}, {"normalize": "q", "clip": [0.1, 0.9]}),
    ("kl_divergence", {"p": P2, "q": Q2}, {}), ("kl_divergence", {"p": P, "q": Q}, {"normalize": "both", "base": 2}),
    ("xlogy", {"x": X, "y": P}, {}), ("rel_entr", {"x": P, "y": Q}, {}), ("generalized_kl", {"x": P, "y": Q}, {}),
    ("cross_entropy", {"logits": X, "target": LAB}, {}),
    ("cross_entropy", {"logits": X, "target": LAB}, {"weight": [1, 2, 0.5], "label_smoothing": 0.2}),
    ("cross_entropy", {"logits": X, "target": P}, {"label_smoothing": 0.1, "weight": [1, 2, 0.5],
                                                   "mean_denominator": "count"}),
    ("nll_loss", {"logp": -P, "target": LAB}, {"weight": [1, 2, 0.5]}),
    ("binary_cross_entropy", {"p": P2, "y": Q2}, {}),
    ("binary_cross_entropy", {"p": P2, "y": Q2}, {"weight": [1, 2, 3], "label_smoothing": 0.1, "reduction": "sum"}),
    ("binary_cross_entropy_with_logits", {"x": X, "y": P2}, {"pos_weight": [1, 2, 3], "label_smoothing": 0.2}),
    ("kl_div", {"input": np.log(Q2), "target": P2}, {"reduction": "batchmean"}),
    ("kl_div", {"input": np.log(Q2), "target": np.log(P2)}, {"log_target": True}),
    ("sigmoid_focal_loss", {"x": X, "y": P2}, {}),
    ("sigmoid_focal_loss", {"x": X, "y": P2}, {"gamma": 0.5, "alpha": None}),
    ("softmax_focal_loss", {"logits": X, "target": P2}, {}),
    ("softmax_focal_loss", {"logits": X, "target": P2}, {"gamma": 1.5, "alpha": None, "reduction": "sum"}),
    ("entr", {"x": P}, {}),
    ("logsumexp", {"x": X}, {}), ("logsumexp", {"x": X}, {"axis": 0}),
    ("xlog1py", {"x": X, "y": P}, {}),
    ("generalized_cross_entropy", {"p": P2, "target": LAB}, {"q": 0.7, "reduction": "mean"}),
    ("binary_focal_loss", {"p": P2, "y": Q2}, {"alpha": 0.25, "label_smoothing": 0.1}),
    ("binary_focal_loss", {"p": P2, "y": Q2}, {"gamma": 0.5, "clip": [0.1, 0.9], "reduction": "sum"}),
    ("poly_loss", {"logits": X, "target": P2}, {}),
    ("poly_loss", {"logits": X, "target": P}, {"epsilon": -1.0, "reduction": "mean"}),
    ("multilabel_soft_margin_loss", {"x": X, "y": P2}, {"weight": [1, 2, 0.5]}),
    ("kl_div", {"input": np.log(Q), "target": P}, {"generalized": True, "reduction": "none"}),
    ("kl_div", {"input": np.log(Q2), "target": np.log(P2)}, {"log_target": True, "generalized": True}),
    ("cross_entropy_dist", {"p": P, "q": Q}, {"normalize": "q", "label_smoothing": 0.25}),
    ("cross_entropy_dist", {"p": P, "q": Q}, {"normalize": "both", "label_smoothing": 0.5, "clip": [0.1, 0.9]}),
]
# ops whose output elements each depend on a whole row: a gradient element's cond also counts the
# perturbation of the cotangent (docs/verdicts.md)
VECTOR_OUTPUT = ("softmax", "log_softmax")
# a weight_sum mean with probability targets: cond of the gradients is a triangle-inequality upper bound
BOUND_CASES = [("cross_entropy", {"logits": X, "target": P}, {"label_smoothing": 0.1, "weight": [1, 2, 0.5]})]


def _numeric_conds(op, inputs, params):
    spec = reference.OPS[op]
    full = {**spec.defaults, **params}
    vals = {k: (np.asarray(v) if np.asarray(v).dtype.kind in "iu"
                else np.vectorize(mp.mpf, otypes=[object])(np.asarray(v, dtype=np.float64)))
            for k, v in inputs.items()}
    coords = [(n, idx) for n in spec.input_names if vals[n].dtype == object for idx in np.ndindex(*vals[n].shape)]
    fn = mp_ops.OPS[op]

    def F(*ts, out_idx=None):
        vv = {k: (v.copy() if v.dtype == object else v) for k, v in vals.items()}
        for (n, idx), t in zip(coords, ts):
            vv[n][idx] = t
        out = np.asarray(fn(**vv, **full), dtype=object)
        return out[out_idx] if out_idx is not None else mp.fsum(out.ravel().tolist())

    x0 = [vals[n][idx] for n, idx in coords]
    unit = lambda i: tuple(1 if j == i else 0 for j in range(len(x0)))
    out_shape = np.asarray(fn(**vals, **full), dtype=object).shape
    value = {oi: mp.fsum(abs(mp.diff(lambda *t, oi=oi: F(*t, out_idx=oi), x0, unit(i))) * abs(x0[i])
                         for i in range(len(x0))) for oi in np.ndindex(*out_shape)}
    grads = {}
    for g, (n, idx) in enumerate(coords):
        total = gradient_cond(F, x0, g)
        if op in VECTOR_OUTPUT:  # the cotangent's share: sum_j |d f_j / d x_g| (|v_j| = 1)
            total += mp.fsum(abs(mp.diff(lambda *t, oi=oi: F(*t, out_idx=oi), x0, unit(g)))
                             for oi in np.ndindex(*out_shape))
        grads[(n, idx)] = total
    return value, grads


def _close(a, b):
    return abs(float(a) - b) <= 1e-9 * max(abs(float(a)), abs(b)) + 1e-25


def _value_conds_match(op, inputs, params):
    """The value's conds equal the numerical ones; returns the reference's result and the gradients' numerical conds."""
    r = reference.evaluate(op, "float64", inputs, params)
    with mp.workprec(160):
        value, grads = _numeric_conds(op, inputs, params)
    for oi, c in value.items():
        assert _close(c, float(r.value.cond[oi])), (op, "value", oi, c, r.value.cond[oi])
    return r, grads


@pytest.mark.parametrize("op,inputs,params", CASES, ids=[f"{c[0]}{c[2]}" for c in CASES])
def test_cond_matches_numerical_derivatives(op, inputs, params):
    r, grads = _value_conds_match(op, inputs, params)
    for (n, idx), c in grads.items():
        if n in r.grads:
            assert _close(c, float(r.grads[n].cond[idx])), (op, n, idx, c, r.grads[n].cond[idx])


@pytest.mark.parametrize("op,inputs,params", BOUND_CASES)
def test_cond_upper_bound_where_documented(op, inputs, params):
    r, grads = _value_conds_match(op, inputs, params)
    for (n, idx), c in grads.items():
        assert float(r.grads[n].cond[idx]) >= float(c) * (1 - 1e-9)
