"""Cross-entropy variants: poly_loss (the Poly-1 loss, Leng et al. 2022; optax.losses.poly_loss_cross_entropy)
from logits, and generalized_cross_entropy (Zhang & Sabuncu 2018; Keras) from probabilities and labels."""
from __future__ import annotations

import numpy as np

from reference.errors import CaseError
from reference.ext import NAN, X, full, xsum
from reference.ops.common import (check_labels, class_axis, from_rows, fvals, inv_pow, label_shape_check, target_abs,
                                  to_rows)
from reference.ops.params import check_number
from reference.ops.reduce import check_reduction, count_x, poison, reduce_grad, reduce_value
from reference.ops.softmax import softmax_rows
from reference.ops.spec import Input, OpOutput, Part, spec
from reference.ops.xlog import conds_where_defined, finite_or_zero, fl


def poly_loss(logits, target, *, axis=-1, epsilon=2.0, reduction="none", want_cond=True) -> OpOutput:
    """Poly-1 loss per row, p = softmax(logits) over `axis`, t = target probabilities, e = epsilon:
        loss = -sum_c t_c log p_c + e sum_c t_c (1 - p_c)
    (optax sums t_c (1 - p_c), which is 1 - p_t for a one-hot t; 1 - p_c is computed without cancellation).
    Reductions over rows: "none" (optax), "sum", "mean" (over the number of rows).

    grads, with T = sum_c t_c and D_j = t_j (1 - p_j) - sum_{c != j} t_c p_c  (= t_j - sum_c t_c p_c):
        d/dx_j = T p_j - t_j - e p_j D_j,      d/dt_c = -log p_c + e (1 - p_c).
    Hessian: d g_xj/d x_k = (T - e D_j) p_j (delta_jk - p_k) + e p_j p_k D_k,
        d g_xj/d t_c = p_j - delta_jc - e p_j (delta_jc - p_c),
        d g_tc/d x_k = -(1 + e p_c)(delta_ck - p_k),  d g_t/d t = 0;
    cond(g) sums |H| |input| over both inputs (float64); cond(loss) = sum |g_x||x| + |g_t||t|.
    """
    ax = class_axis(axis, logits.ndim)
    if target.dtype != object or target.shape != logits.shape:
        raise CaseError(f"target must be probabilities with the logits' shape {logits.shape}")
    eps = check_number("epsilon", epsilon)
    check_reduction(reduction)
    rows, outer = to_rows(logits, ax)
    trows, _ = to_rows(target, ax)
    R, C = rows.shape
    sm = softmax_rows(rows)
    ex = X.from_float(eps)
    if C:
        ts = trows * sm.s
        T = xsum(trows, axis=1)
        D = np.empty((R, C), dtype=object)
        for j in range(C):
            others = ts.copy()
            others[:, j] = X.from_float(0.0)
            D[:, j] = trows[:, j] * sm.sc[:, j] - xsum(others, axis=1)
        loss = xsum(trows * -sm.lp, axis=1) + ex * xsum(trows * sm.sc, axis=1)
        gx = (T[:, None] * sm.e - trows * sm.S[:, None]) / sm.S[:, None] - ex * sm.s * D
        gt = -sm.lp + ex * sm.sc
        poison(loss, gx, gt)
    else:
        loss, gx, gt = full((R,), 0), full((R, C), 0), full((R, C), 0)
    cv, cx, ct = np.zeros(R), np.zeros((R, C)), np.zeros((R, C))
    if want_cond and R and C:
        cv, cx, ct = _conds(sm, trows, D, gx, gt, loss, eps)
    denom = count_x(R)
    value, cvr = reduce_value(loss.reshape(outer), cv.reshape(outer), reduction, denom)
    g1, c1 = reduce_grad(from_rows(gx, outer, ax), from_rows(cx, outer, ax), reduction, denom)
    g2, c2 = reduce_grad(from_rows(gt, outer, ax), from_rows(ct, outer, ax), reduction, denom)
    return OpOutput(Part(value, cvr), {"logits": Part(g1, c1), "target": Part(g2, c2)})


def _conds(sm, trows, D, gx, gt, loss, eps):
    p, q = fl(sm.s), fl(sm.sc)
    tf, Df = fvals(trows), fl(D)
    ax_, at = sm.absx, target_abs(trows)
    C = p.shape[1]
    eye = np.eye(C, dtype=bool)[None]
    with np.errstate(all="ignore"):
        dk = np.where(eye, q[:, None, :], -p[:, None, :])  # delta_jk - p_k, indexed [r, j, k]
        T = np.sum(tf, axis=1)
        Hxx = ((T[:, None] - eps * Df)[:, :, None] * p[:, :, None] * dk
               + eps * p[:, :, None] * (p * Df)[:, None, :])
        Hxt = np.where(eye, -q[:, :, None], p[:, :, None]) - eps * p[:, :, None] * dk  # [r, j, c]
        Htx = -(1 + eps * p)[:, :, None] * dk
        cx = np.einsum("rjk,rk->rj", np.abs(Hxx), ax_) + np.einsum("rjc,rc->rj", np.abs(Hxt), at)
        ct = np.einsum("rck,rk->rc", np.abs(Htx), ax_)
        cv = np.sum(finite_or_zero(np.abs(fl(gx)) * ax_ + np.abs(fl(gt)) * at), axis=1)
    ok = sm.ok & np.isfinite(tf).all(axis=1)
    return conds_where_defined(ok, loss, cv, ((cx, gx), (ct, gt)))


def generalized_cross_entropy(p, target, *, axis=-1, q=0.5, reduction="none", want_cond=True) -> OpOutput:
    """Generalized cross entropy per item: loss = (1 - p_y^q) / q, p_y the probability at the integer label y
    (keras.losses.categorical_generalized_cross_entropy); q in (0, 1] (q -> 0 is -log p_y). A label outside
    [0, C) is undefined. Reductions over items: "none", "sum", "mean" (the number of items).

    grad: d/dp_y = -p_y^(q-1) (-inf at p_y = 0 for q < 1), 0 at the other classes.
    Hessian: d2/dp_y2 = (1 - q) p_y^(q-2):  cond(loss) = |p_y^(q-1)| |p_y| = p_y^q;
    cond(grad p_y) = (1 - q) p_y^(q-1).  p_y < 0: NaN (a non-integer power of a negative number).
    """
    ax = class_axis(axis, p.ndim)
    qv = check_number("q", q, lo=0, hi=1, lo_open=True)
    check_reduction(reduction)
    if target.dtype == object:
        raise CaseError("generalized_cross_entropy: target must be integer class labels")
    label_shape_check(target, p.shape, ax, "generalized_cross_entropy")
    rows, outer = to_rows(p, ax)
    R, C = rows.shape
    check_labels(target, C, None)
    y = np.asarray(target, dtype=np.int64).reshape(-1)
    qx = X.from_float(qv)
    loss, grad = full((R,), 0), full((R, C), 0)
    cv, cg = np.zeros(R), np.zeros((R, C))
    for r in range(R):
        py = rows[r, int(y[r])]
        loss[r] = (1 - py ** qv) / qx if py.sign() != -1 else X(NAN)
        grad[r, int(y[r])] = -(_pow_minus(py, qv)) if py.sign() != -1 else X(NAN)
    poison(loss, grad)
    if want_cond and R and C:
        pf = np.array([fvals(rows[r:r + 1, int(y[r])])[0] for r in range(R)])
        with np.errstate(all="ignore"):
            cv = np.where(np.isfinite(pf) & (pf > 0), np.abs(pf) ** qv, 0.0)
            gy = np.where(np.isfinite(pf) & (pf > 0), (1 - qv) * np.abs(pf) ** (qv - 1), 0.0)
        cg[np.arange(R), y] = finite_or_zero(gy)
        cv = np.where(np.isfinite(fl(loss)), cv, 0.0)
    denom = count_x(R)
    value, cvr = reduce_value(loss.reshape(outer), cv.reshape(outer), reduction, denom)
    g, c = reduce_grad(from_rows(grad, outer, ax), from_rows(cg, outer, ax), reduction, denom)
    return OpOutput(Part(value, cvr), {"p": Part(g, c)})


def _pow_minus(x: X, qv: float) -> X:
    """x^(q-1) for q in (0, 1]: 1 for q = 1; (1/x)^(1-q) otherwise (+inf at x = 0)."""
    if qv == 1:
        return X.from_float(1.0)
    return inv_pow(x, 1 - qv)


SPECS = [
    spec("poly_loss", [Input("logits", class_axis=True), Input("target", domain="prob", class_axis=True)],
         {"axis": -1, "epsilon": 2.0, "reduction": "none"}, poly_loss, "cross_entropy"),
    spec("generalized_cross_entropy", [Input("p", domain="prob", class_axis=True),
                                       Input("target", "labels", differentiable=False, domain="label")],
         {"axis": -1, "q": 0.5, "reduction": "none"}, generalized_cross_entropy, "cross_entropy"),
]
