"""cross_entropy (from logits, integer or probability targets) and nll_loss (from log-probabilities)."""
from __future__ import annotations

import numpy as np

from reference.errors import CaseError
from reference.ext import X, full, xsum
from reference.ops.common import (check_labels, class_axis, from_rows, fvals, label_shape_check, target_abs,
                                  to_rows)
from reference.ops.params import MEAN_DENOMINATORS, check_choice, check_number, class_weights
from reference.ops.reduce import (check_reduction, count_x, divide_by_denominator, poison, reduce_grad, reduce_value)
from reference.ops.softmax import keep_rows, masked_softmax_rows, softmax_cond
from reference.ops.spec import Input, OpOutput, Part, spec
from reference.ops.xlog import fl, finite_or_zero


def _lsm_cond(sm) -> np.ndarray:
    """sum_k |d lp_c / d x_k| |x_k| = (1 - s_c)|x_c| + sum_{k != c} s_k |x_k|, per (row, class)."""
    s, sc = fl(sm.s), fl(sm.sc)
    sx = s * sm.absx
    return sc * sm.absx + np.maximum(np.sum(sx, axis=1, keepdims=True) - sx, 0.0)


def _common(logits, axis, weight, label_smoothing, reduction, mean_denominator):
    """The class axis, the (R, C) rows, their outer shape, C, the exact class weights and the smoothing."""
    ax = class_axis(axis, logits.ndim)
    rows, outer = to_rows(logits, ax)
    C = rows.shape[1]
    w = class_weights(weight, C)
    e = check_number("label_smoothing", label_smoothing, lo=0, hi=1)
    check_reduction(reduction)
    check_choice("mean_denominator", mean_denominator, MEAN_DENOMINATORS)
    return ax, rows, outer, C, w, e


def cross_entropy(logits, target, *, axis=1, weight=None, ignore_index=None, label_smoothing=0.0,
                  reduction="mean", mean_denominator="weight_sum", where=None, want_cond=True) -> OpOutput:
    """Cross entropy from logits. lp = log_softmax(logits) over `axis`, e = label_smoothing, w = weight
    (ones when null), C classes, s = softmax.

    Integer targets y (logits' shape without the class axis); items with y == ignore_index are not counted
    (loss 0, gradient 0); a counted label outside [0, C) is undefined (UndefinedError):
        loss = a_y (-lp_y) + (e/C) sum_c w_c (-lp_c),  a_y = (1 - e) w_y   (the sum only when e > 0)
        d loss / d x_j = a_y (s_j - delta_jy) + (e/C) (W s_j - w_j),   W = sum_c w_c
            (s_y - 1 computed as -(1 - s_y), W s_j - w_j as (W e_j - w_j S)/S: exact for equal logits)
        mean = sum(loss) / D, D = sum of w_y over counted items ("weight_sum") or their number ("count").
    Probability targets t (logits' shape): t' = (1 - e) t + e/C,  a_c = w_c t'_c,  A = sum_c a_c:
        loss = sum_c a_c (-lp_c);  d/dx_j = A s_j - a_j;  d/dt_c = -(1 - e) w_c lp_c;
        D = number of items ("count") or sum_items A ("weight_sum", then d/dt also gets -mean (1-e) w_c / D).
    cond(loss) = sum |d loss/d x||x| (+ the same over t). Hessians: d g_xj/d x_k = A s_j (delta_jk - s_k),
    d g_xj/d t_c = (1-e) w_c (s_j - delta_cj), d g_tc/d x_k = -(1-e) w_c (delta_ck - s_k), d g_t/d t = 0;
    cond(g) sums |H| |input| over both inputs (for a weight_sum mean with probability targets the
    denominator's terms are bounded with the triangle inequality).
    where (a boolean mask of the logits' shape: optax's where=): the classes K kept in each item are the only
    ones computed with: lp = log_softmax over K (reference.ops.softmax.log_softmax's where), and the class
    sums run over K, loss = -sum_{c in K} a_c lp_c (t' is smoothed over all C classes first, as
    optax.smooth_labels then softmax_cross_entropy(where=) does). A masked class's logit and target are never
    read: their gradients are 0. Integer labels: an item whose label is masked has loss 0 and gradient 0
    (the one-hot target's only nonzero class is excluded); it still counts in D; label_smoothing must be 0.
    """
    ax, rows, outer, C, w, e = _common(logits, axis, weight, label_smoothing, reduction, mean_denominator)
    keep = keep_rows(where, logits.shape, ax)
    if target.dtype != object:
        if keep is not None and e > 0:
            raise CaseError("where with integer labels needs label_smoothing 0 (smooth probability targets instead)")
        return _with_labels(logits, target, ax, rows, outer, C, w, e, ignore_index, reduction,
                            mean_denominator, want_cond, keep)
    if target.shape != logits.shape:
        raise CaseError(f"probability targets must have the logits' shape {logits.shape}, got {target.shape}")
    return _with_probs(logits, target, ax, rows, outer, C, w, e, reduction, mean_denominator, want_cond, keep)


def _with_labels(logits, labels, ax, rows, outer, C, w, e, ignore_index, reduction, mean_denominator,
                 want_cond, keep=None):
    label_shape_check(labels, logits.shape, ax, "cross_entropy")
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise CaseError(f"ignore_index must be an integer or null, got {ignore_index!r}")
    counted = check_labels(labels, C, ignore_index).reshape(-1)
    y = labels.reshape(-1)
    R = rows.shape[0]
    sm = masked_softmax_rows(rows, keep)
    ones = full((C,), 1)
    wv = w if w is not None else ones
    W = xsum(wv)
    ex = X.from_float(e)
    beta = ex / C if C else ex
    loss = full((R,), 0)
    grad = full((R, C), 0)
    A = np.zeros(R)
    for r in np.nonzero(counted)[0]:
        yr = int(y[r])
        if keep is not None and not keep[r, yr]:
            continue  # the label's class is masked: nothing of the item is computed (loss 0, gradient 0)
        alpha = (1 - ex) * wv[yr]
        item = alpha * -sm.lp[r, yr]
        g = alpha * sm.s[r]
        g[yr] = -(alpha * sm.sc[r, yr])
        if e > 0:
            item = item + beta * xsum(wv * -sm.lp[r])
            g = g + beta * (W * sm.e[r] - wv * sm.S[r]) / sm.S[r]
        loss[r], grad[r] = item, g
        A[r] = abs((alpha + beta * W).to_float())
    poison(loss, grad)
    if mean_denominator == "weight_sum":
        D = weight_sum(wv, y, counted)
    else:
        D = count_x(int(counted.sum()))
    cond_v, cond_g = np.zeros(R), np.zeros((R, C))
    if want_cond and R and C:
        cond_v = np.sum(finite_or_zero(np.abs(fl(grad)) * sm.absx), axis=1)
        cond_g = A[:, None] * softmax_cond(sm)
        cond_v = np.where(sm.ok & np.isfinite(fl(loss)), cond_v, 0.0)
    value, cv = reduce_value(loss.reshape(outer), cond_v.reshape(outer), reduction, D)
    g, cg = reduce_grad(from_rows(grad, outer, ax), from_rows(cond_g, outer, ax), reduction, D)
    return OpOutput(Part(value, cv), {"logits": Part(g, cg)})


def _with_probs(logits, target, ax, rows, outer, C, w, e, reduction, mean_denominator, want_cond, keep=None):
    trows, _ = to_rows(target, ax)
    R = rows.shape[0]
    sm = masked_softmax_rows(rows, keep)
    kept = np.ones((R, C), dtype=bool) if keep is None else keep
    wv = w if w is not None else full((C,), 1)
    ex = X.from_float(e)
    tp = (1 - ex) * trows + ex / C if (e > 0 and C) else trows
    a = wv[None, :] * tp if C else tp
    nlp = -sm.lp
    if keep is not None:  # a masked class is never read: its a and -lp terms are exactly 0
        a, nlp = a.copy(), nlp.copy()
        a[~keep] = nlp[~keep] = X.from_float(0.0)
    A = xsum(a, axis=1)
    loss = xsum(a * nlp, axis=1) if C else full((R,), 0)
    gx = (A[:, None] * sm.e - a * sm.S[:, None]) / sm.S[:, None] if C else full((R, C), 0)
    gt = (1 - ex) * wv[None, :] * nlp if C else full((R, C), 0)
    poison(loss, gx, gt)
    D = xsum(A) if mean_denominator == "weight_sum" else count_x(R)
    cond_v, cond_x, cond_t = np.zeros(R), np.zeros((R, C)), np.zeros((R, C))
    at = np.where(kept, target_abs(trows), 0.0)  # a hard (0/1) target element is exact data: not perturbed
    if want_cond and R and C:
        wf = np.abs(fl(wv))
        s, sc = fl(sm.s), fl(sm.sc)
        cond_v = np.sum(finite_or_zero(np.abs(fl(gx)) * sm.absx + np.abs(fl(gt)) * at), axis=1)
        wt = wf[None, :] * at
        cond_x = (np.abs(fl(A))[:, None] * softmax_cond(sm)
                  + (1 - e) * (s * (np.sum(wt, axis=1, keepdims=True) - wt) + sc * wt))
        cond_t = np.where(kept, (1 - e) * wf[None, :] * _lsm_cond(sm), 0.0)
        rowok = sm.ok & np.isfinite(np.where(kept, fvals(trows), 0.0)).all(axis=1)
        cond_v = np.where(rowok & np.isfinite(fl(loss)), cond_v, 0.0)
        cond_x, cond_t = np.where(rowok[:, None], cond_x, 0.0), np.where(rowok[:, None], cond_t, 0.0)
    value, cv = reduce_value(loss.reshape(outer), cond_v.reshape(outer), reduction, D)
    g_x, c_x = reduce_grad(from_rows(gx, outer, ax), from_rows(cond_x, outer, ax), reduction, D)
    g_t, c_t = reduce_grad(from_rows(gt, outer, ax), from_rows(cond_t, outer, ax), reduction, D)
    if reduction == "mean" and mean_denominator == "weight_sum" and C:
        mean = value[()]
        dD = np.broadcast_to((1 - ex) * wv, (R, C)).copy()  # d D / d t_c (0 for a masked class)
        dD[~kept] = X.from_float(0.0)
        corr, _ = divide_by_denominator(X.from_float(1.0), D)
        shift = -(mean * corr)
        g_t = g_t + from_rows(dD * shift, outer, ax)
        if want_cond:
            Df = abs(D.to_float()) or np.inf
            dabs = (1 - e) * float(np.sum(np.abs(fl(wv))[None, :] * at))
            ncond = float(np.sum(cond_v))
            n_abs = abs(mean.to_float()) * Df
            dDf = (1 - e) * np.abs(fl(wv))
            extra_x = np.abs(fl(gx)) * dabs / Df ** 2
            extra_t = kept * (np.abs(fl(gt)) * dabs / Df ** 2 + dDf[None, :] * ncond / Df ** 2
                              + 2 * n_abs * dDf[None, :] * dabs / Df ** 3)
            c_x = c_x + from_rows(finite_or_zero(extra_x), outer, ax)
            c_t = c_t + from_rows(finite_or_zero(extra_t), outer, ax)
            cv = np.float64(np.sum(finite_or_zero(np.abs(fl(g_x)) * np.abs(_finite(fvals(logits))))) +
                            np.sum(finite_or_zero(np.abs(fl(g_t)) * np.abs(_finite(fvals(target))))))
    return OpOutput(Part(value, cv), {"logits": Part(g_x, c_x), "target": Part(g_t, c_t)})


def weight_sum(wv, y, counted) -> X:
    """D for "weight_sum": the sum of w[y] over counted items (exactly 0 when nothing is counted)."""
    return xsum(np.array([wv[int(y[r])] for r in np.nonzero(counted)[0]] or [X.from_float(0.0)], dtype=object))


def _finite(f):
    return np.where(np.isfinite(f), f, 0.0)


def nll_loss(logp, target, *, axis=1, weight=None, ignore_index=None, reduction="mean",
             mean_denominator="weight_sum", want_cond=True) -> OpOutput:
    """Negative log-likelihood from log-probabilities: loss = -w_y logp_y per counted item (y the label,
    w = weight or ones); ignore_index items count 0 with gradient 0; a counted label outside [0, C) is
    undefined. mean = sum(loss) / D with D = sum of w_y over counted items ("weight_sum") or their number.

    grad: d loss / d logp_{y} = -w_y (0 elsewhere), divided by D for the mean.
    cond(loss) = |w_y logp_y|;  cond(grad) = 0 (the loss is linear in logp).
    """
    ax = class_axis(axis, logp.ndim)
    rows, outer = to_rows(logp, ax)
    R, C = rows.shape
    w = class_weights(weight, C)
    check_reduction(reduction)
    check_choice("mean_denominator", mean_denominator, MEAN_DENOMINATORS)
    if target.dtype == object:
        raise CaseError("nll_loss: target must be integer class labels")
    label_shape_check(target, logp.shape, ax, "nll_loss")
    if ignore_index is not None and (isinstance(ignore_index, bool) or not isinstance(ignore_index, (int, np.integer))):
        raise CaseError(f"ignore_index must be an integer or null, got {ignore_index!r}")
    counted = check_labels(target, C, ignore_index).reshape(-1)
    y = target.reshape(-1)
    wv = w if w is not None else full((C,), 1)
    loss = full((R,), 0)
    grad = full((R, C), 0)
    cond_v = np.zeros(R)
    for r in np.nonzero(counted)[0]:
        yr = int(y[r])
        loss[r] = -(wv[yr] * rows[r, yr])
        grad[r, yr] = -wv[yr]
        cond_v[r] = abs(loss[r].to_float())
    poison(loss, grad)
    cond_v = finite_or_zero(cond_v)
    if mean_denominator == "weight_sum":
        D = weight_sum(wv, y, counted)
    else:
        D = count_x(int(counted.sum()))
    value, cv = reduce_value(loss.reshape(outer), cond_v.reshape(outer), reduction, D)
    g, cg = reduce_grad(from_rows(grad, outer, ax), np.zeros(logp.shape), reduction, D)
    return OpOutput(Part(value, cv), {"logp": Part(g, cg)})


_CE_DEFAULTS = {"axis": 1, "weight": None, "ignore_index": None, "label_smoothing": 0.0, "reduction": "mean",
                "mean_denominator": "weight_sum"}
_NLL_DEFAULTS = {"axis": 1, "weight": None, "ignore_index": None, "reduction": "mean",
                 "mean_denominator": "weight_sum"}

SPECS = [
    spec("cross_entropy", [Input("logits", class_axis=True),
                            Input("target", "labels_or_float", like="logits", domain="target", class_axis=True)], _CE_DEFAULTS,
         cross_entropy, "cross_entropy", optional=("where",)),
    spec("nll_loss", [Input("logp", domain="logp", class_axis=True),
                       Input("target", "labels", differentiable=False, domain="label")], _NLL_DEFAULTS, nll_loss,
         "cross_entropy"),
]
