"""The fast path's op formulas: softmax, log_softmax and cross_entropy (labels or probabilities) as
(value, {input: gradient}) of bounded arrays plus what is known of their signs. The same formulas as the
arb path (reference/ops/softmax.py, reference/ops/cross_entropy.py), in bounded float arithmetic."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from reference.case import Case
from reference.fastpath.bound import Arith, B
from reference.ops.common import from_rows, to_rows


@dataclass
class Out:
    val: B
    sign: object = None  # see certify


@dataclass
class SoftmaxRowsB:
    d: B  # x - max
    e: B  # exp(d); exactly 1 at the max
    T: B  # sum of e over the row, the max excluded
    S: B  # 1 + T
    k: np.ndarray  # index of the (first) max


def softmax_rows(ar: Arith, rows: np.ndarray) -> SoftmaxRowsB:
    R, C = rows.shape
    k = np.argmax(rows, axis=1)
    idx = np.arange(R)
    x = ar.exact(rows)
    d = ar.sub(x, ar.exact(rows[idx, k][:, None]))
    e = ar.exp(d)
    e.set_exact((idx, k), 1)
    others = e.copy()
    others.set_exact((idx, k), 0)
    T = ar.tree_sum(others)
    S = ar.add(ar.exact(np.ones(R)), T)
    return SoftmaxRowsB(d, e, T, S, k)


def _col(b: B) -> B:
    return b.map(lambda a: a[:, None])


def _lp(ar: Arith, sm: SoftmaxRowsB) -> B:
    return ar.sub(sm.d, _col(ar.log1p(sm.T)))


def _complement_at(ar: Arith, sm: SoftmaxRowsB, cols: np.ndarray) -> B:
    """1 - s at one column per row (see _complement)."""
    idx = np.arange(len(cols))
    num = ar.add(ar.exact(np.ones(len(cols))), ar.sub(sm.T, sm.e[idx, cols]))
    at_max = cols == sm.k
    num = B.where(at_max, sm.T, num)
    return ar.div(num, sm.S)


class Unsupported(Exception):
    """Not for the fast path: the arb path answers (and validates)."""


def _rows_of(ar, arr: np.ndarray, axis) -> tuple[np.ndarray, tuple, int]:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise Unsupported("axis")
    nd = arr.ndim
    if nd == 0 or not -nd <= axis < nd:
        raise Unsupported("axis")
    ax = int(axis) % nd
    rows, outer = to_rows(arr, ax)
    if rows.size == 0:
        raise Unsupported("empty")
    return rows.astype(ar.dt), outer, ax


def _from_rows(b: B, outer, ax) -> B:
    return b.map(lambda a: from_rows(a, outer, ax))


UNSET_WHEN_NONE = ("where", "sample_weight")  # params that change nothing at None; the arb path answers others


def _only(params: dict, allowed: set) -> None:
    if {k for k, v in params.items() if not (k in UNSET_WHEN_NONE and v is None)} - allowed:
        raise Unsupported("params")


def op_softmax(ar, case: Case):
    _only(case.params, {"axis"})
    x = case.floats["x"]
    rows, outer, ax = _rows_of(ar, x, case.params["axis"])
    sm = softmax_rows(ar, rows)
    s = ar.div(sm.e, _col(sm.S))
    zero = ar.exact(np.zeros(x.shape))
    return Out(_from_rows(s, outer, ax), 1), {"x": Out(zero)}


def op_log_softmax(ar, case: Case):
    _only(case.params, {"axis"})
    x = case.floats["x"]
    rows, outer, ax = _rows_of(ar, x, case.params["axis"])
    C = rows.shape[1]
    sm = softmax_rows(ar, rows)
    lp = _lp(ar, sm)
    g = ar.div(ar.sub(_col(sm.S), ar.mul(ar.exact(C), sm.e)), _col(sm.S))
    sign = -1 if C > 1 else 0
    return Out(_from_rows(lp, outer, ax), sign), {"x": Out(_from_rows(g, outer, ax))}


_CE_PARAMS = {"axis", "weight", "ignore_index", "label_smoothing", "reduction", "mean_denominator"}


def _ce_params(case: Case, C: int):
    p = case.params
    _only(p, _CE_PARAMS)
    e = p["label_smoothing"]
    if isinstance(e, bool) or not isinstance(e, (int, float, np.integer, np.floating)):
        raise Unsupported("label_smoothing")
    e = float(e)
    if not 0.0 <= e <= 1.0:
        raise Unsupported("label_smoothing")
    if p["reduction"] not in ("none", "sum", "mean") or p["mean_denominator"] not in ("count", "weight_sum"):
        raise Unsupported("reduction")
    w = p["weight"]
    if w is not None:
        w = np.asarray(w, dtype=np.float64)
        if w.shape != (C,) or not np.isfinite(w).all():
            raise Unsupported("weight")
    return e, w


def _reduce(ar, items: B, grads: dict, reduction: str, D: B | None, outer, sign_v, signs_g: dict,
            divided: bool = False):
    """items (R,) and row-form gradients -> the reduced value and gradients (reference.ops.reduce);
    divided: the gradients are already divided by a mean's denominator D."""
    if reduction == "none":
        return Out(items.map(lambda a: a.reshape(outer)), sign_v), {
            k: Out(g, signs_g.get(k)) for k, g in grads.items()}
    total = ar.tree_sum(items)
    if reduction == "sum":
        return Out(total, sign_v), {k: Out(g, signs_g.get(k)) for k, g in grads.items()}
    if not np.all(D.lower_magnitude() > 2 * D.e):
        raise Unsupported("mean over a denominator that may be 0")
    flip = -1 if np.all(D.v < 0) else 1
    sv = None if sign_v is None else np.asarray(sign_v) * flip
    return Out(ar.div(total, D), sv), {
        k: Out(g if divided else ar.div(g, D), None if signs_g.get(k) is None else np.asarray(signs_g[k]) * flip)
        for k, g in grads.items()}


def op_cross_entropy(ar, case: Case):
    logits = case.floats["logits"]
    rows, outer, ax = _rows_of(ar, logits, case.params.get("axis"))
    R, C = rows.shape
    e, w = _ce_params(case, C)
    if "target" in case.labels:
        return _ce_labels(ar, case, rows, outer, ax, e, w)
    target = case.floats["target"]
    if target.shape != logits.shape:
        raise Unsupported("target shape")
    trows, _, _ = _rows_of(ar, target, ax)
    return _ce_probs(ar, case, rows, trows, outer, ax, e, w)


def _counted_labels(case, R: int, C: int, outer) -> tuple[np.ndarray, np.ndarray]:
    """The rows' integer labels checked for the fast path: (counted, yc) with counted[r] False for an ignored
    row and yc its label (0 where ignored). Unsupported for what the fast path leaves to arb: a label shape that
    is not the rows', a non-integer ignore_index, a counted label outside [0, C) (the arb path raises
    UndefinedError)."""
    labels = case.labels["target"]
    if labels.shape != tuple(outer):
        raise Unsupported("label shape")
    ignore = case.params["ignore_index"]
    if ignore is not None and (isinstance(ignore, bool) or not isinstance(ignore, (int, np.integer))):
        raise Unsupported("ignore_index")
    y = labels.reshape(-1)
    counted = np.ones(R, dtype=bool) if ignore is None else y != ignore
    if np.any(counted & ((y < 0) | (y >= C))):
        raise Unsupported("undefined label")
    return counted, np.where(counted, y, 0)


def _mean_denominator(ar, case, counted, wv, yc):
    """The mean's denominator D of integer-label cross_entropy, bounded (None unless reduction is mean): the
    counted items' class weights summed (weight_sum) or their number (count)."""
    if case.params["reduction"] != "mean":
        return None
    if case.params["mean_denominator"] == "weight_sum":
        return ar.tree_sum(ar.exact(np.where(counted, wv[yc], 0.0)))
    return ar.exact(float(counted.sum()))


def _ce_labels(ar, case, rows, outer, ax, e, w):
    R, C = rows.shape
    counted, yc = _counted_labels(case, R, C, outer)
    idx = np.arange(R)
    wv = np.ones(C) if w is None else w
    sm = softmax_rows(ar, rows)
    one = ar.exact(1.0)
    ex = ar.exact(e)
    alpha = ar.mul(ar.sub(one, ex), ar.exact(wv[yc]))  # (1 - e) w_y
    alpha = alpha.masked(counted)
    lp_y = ar.sub(sm.d[idx, yc], ar.log1p(sm.T))
    item = ar.mul(alpha, -lp_y)
    sc_y = _complement_at(ar, sm, yc)
    gy = -ar.mul(alpha, sc_y)
    D = _mean_denominator(ar, case, counted, wv, yc)
    divided = D is not None and e == 0
    if e == 0:  # one factor per row, alpha / S (/ D for a mean), then one product over the (R, C) array
        c = ar.div(alpha, sm.S)
        if divided:
            c, gy = ar.div(c, D), ar.div(gy, D)
        g = ar.mul(sm.e, _col(c))
    else:
        g = ar.mul(_col(alpha), ar.div(sm.e, _col(sm.S)))
    g.put((idx, yc), gy)
    if e > 0:
        beta = ar.div(ex, ar.exact(C))
        W = ar.tree_sum(ar.exact(wv[None, :]))
        wx = ar.exact(wv[None, :])
        smooth = ar.tree_sum(ar.mul(wx, -_lp(ar, sm)))
        item = ar.add(item, ar.mul(beta, smooth))
        corr = ar.div(ar.sub(ar.mul(_col(W), sm.e), ar.mul(wx, _col(sm.S))), _col(sm.S))
        g = ar.add(g, ar.mul(beta, corr))
    zero_rows = ~counted
    item = item.masked(~zero_rows)
    g = g.masked(~zero_rows[:, None])
    nonneg = bool(np.all(wv >= 0))
    sign_v = 1 if nonneg else None
    sign_g = None
    if nonneg and e == 0:
        sg = np.ones((R, C))
        sg[idx, yc] = -1 if C > 1 else 0
        sign_g = sg
    grads = {"logits": g}
    value, gout = _reduce(ar, item, grads, case.params["reduction"], D, outer, sign_v, {"logits": sign_g},
                          divided=divided)
    gl = gout["logits"]
    sgn = None if gl.sign is None else np.broadcast_to(gl.sign, (R, C))
    return value, {"logits": Out(_from_rows(gl.val, outer, ax),
                                 None if sgn is None else np.moveaxis(sgn.reshape(tuple(outer) + (C,)), -1, ax))}


def _ce_probs(ar, case, rows, trows, outer, ax, e, w):
    R, C = rows.shape
    wv = np.ones(C) if w is None else w
    sm = softmax_rows(ar, rows)
    lp = _lp(ar, sm)
    one = ar.exact(1.0)
    ex = ar.exact(e)
    ome = ar.sub(one, ex)
    t = ar.exact(trows)
    tp = ar.add(ar.mul(ome, t), ar.div(ex, ar.exact(C))) if e > 0 else t
    wx = ar.exact(wv[None, :])
    a = ar.mul(wx, tp) if w is not None else tp
    A = ar.tree_sum(a)
    loss = ar.tree_sum(ar.mul(a, -lp))
    gx = ar.div(ar.sub(ar.mul(_col(A), sm.e), ar.mul(a, _col(sm.S))), _col(sm.S))
    gt = -ar.mul(ar.mul(ome, wx), lp)
    reduction, denom = case.params["reduction"], case.params["mean_denominator"]
    D = None
    if reduction == "mean":
        D = ar.tree_sum(A[None, :]) if denom == "weight_sum" else ar.exact(float(R))
        D = D.map(lambda a: a.reshape(())) if np.ndim(D.v) else D
    nonneg_w = bool(np.all(wv >= 0))
    value, gout = _reduce(ar, loss, {"logits": gx, "target": gt}, reduction, D, outer,
                          1 if nonneg_w and bool(np.all(trows >= 0)) else None, {})
    g_t = gout["target"].val
    if reduction == "mean" and denom == "weight_sum":
        mean = value.val
        dD = ar.mul(ome, wx)  # d D / d t_c, shape (1, C)
        shift = -ar.div(mean, D)
        g_t = ar.add(g_t, ar.mul(dD, shift.map(lambda a: np.asarray(a)[..., None])))
    return value, {"logits": Out(_from_rows(gout["logits"].val, outer, ax)),
                   "target": Out(_from_rows(g_t, outer, ax))}


OP_FUNCS = {"softmax": op_softmax, "log_softmax": op_log_softmax, "cross_entropy": op_cross_entropy}
