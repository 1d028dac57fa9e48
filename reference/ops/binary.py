"""binary_cross_entropy (on probabilities) and binary_cross_entropy_with_logits, elementwise, and
multilabel_soft_margin_loss (their class mean along an axis)."""
from __future__ import annotations

import numpy as np

from reference.ext import X, full, xsum
from reference.ops.common import clamp, class_axis, cond_abs, max_const, same_shape, target_abs
from reference.ops.params import check_clip, check_number, elementwise_weight
from reference.ops.reduce import (check_reduction, count_x, divide_by_denominator, poison, reduce_grad,
                                  reduce_value)
from reference.ops.sigmoid import sigmoid_pair, softplus_pair
from reference.ops.spec import Input, OpOutput, Part, scalar_safe, spec
from reference.ops.xlog import finite_or_zero, fl


def _smooth(y, e):
    return (1 - X.from_float(e)) * y + X.from_float(e / 2) if e > 0 else y


def _reduce(loss, gp, gy, conds, names, reduction):
    poison(loss, gp, gy)
    cv, cp, cy = conds
    denom = count_x(loss.size)
    value, cvr = reduce_value(loss, cv, reduction, denom)
    g1, c1 = reduce_grad(gp, cp, reduction, denom)
    g2, c2 = reduce_grad(gy, cy, reduction, denom)
    return OpOutput(Part(value, cvr), {names[0]: Part(g1, c1), names[1]: Part(g2, c2)})


def _conds(want, a, b, ga, gb, laa, lab, lbb, *specials):
    """cond of the loss and of both gradients from first and second derivatives (elementwise)."""
    if not want or not a.size:
        z = np.zeros(a.shape)
        return z, z, z
    xa, xb = cond_abs(a), target_abs(b)  # b is the target y: a hard 0/1 label is not perturbed
    laa, lab, lbb = (finite_or_zero(np.abs(v)) for v in (laa, lab, lbb))
    cv = finite_or_zero(np.abs(fl(ga)) * xa + np.abs(fl(gb)) * xb)
    ca = laa * xa + lab * xb
    cb = lab * xa + lbb * xb
    bad = ~np.isfinite(fl(a)) | ~np.isfinite(fl(b))
    for s in specials:
        bad |= ~np.isfinite(fl(s))
    out = []
    for c, part in ((cv, specials[0]), (ca, ga), (cb, gb)):
        out.append(np.where(bad | ~np.isfinite(fl(part)) | np.isnan(c), 0.0, c))
    return tuple(out)


@scalar_safe
def binary_cross_entropy(p, y, *, weight=None, reduction="mean", clip=None, log_clamp=None,
                         label_smoothing=0.0, want_cond=True) -> OpOutput:
    """l = -w (y' A + (1 - y') B) elementwise, y' = (1 - e) y + e/2 (e = label_smoothing), p' = clamp(p)
    (clip), A = max(log p', L), B = max(log(1 - p'), L) (L = log_clamp; none when null). 0 log 0 = 0.
    Mean over all elements.

    grads: d/dp = -w c (y' a / p' - (1 - y') b / (1 - p')),  d/dy = -w (1 - e) (A - B),
        c = 1 strictly inside the clip, a = [log p' > L], b = [log(1 - p') > L] (else 0).
    Hessian: d2/dp2 = w c (y' a / p'^2 + (1 - y') b / (1 - p')^2), d2/dpdy = -w c (1 - e)(a/p' + b/(1-p')),
        d2/dy2 = 0;  cond(grad p) = |l_pp||p| + |l_py||y|, cond(grad y) = |l_py||p|.
    p outside [0, 1] (after the clip) makes a log NaN: the element is NaN.
    """
    same_shape(p, y, ("p", "y"))
    check_reduction(reduction)
    e = check_number("label_smoothing", label_smoothing, lo=0, hi=1)
    L = check_number("log_clamp", log_clamp, allow_none=True)
    w = elementwise_weight(weight, p.shape)
    w = w if w is not None else full(p.shape, 1)
    ys = _smooth(y, e)
    p1, c = clamp(p, check_clip(clip))
    if not p.size:
        z = full(p.shape, 0)
        return _reduce(z, z, z, (np.zeros(p.shape),) * 3, ("p", "y"), reduction)
    q1 = 1 - p1
    la, lb = np.log(p1), np.log1p(-p1)
    (la, a), (lb, b) = (max_const(la, L), max_const(lb, L)) if L is not None else ((la, full(p.shape, 1)),
                                                                                  (lb, full(p.shape, 1)))
    loss = -(w * (ys * la + (1 - ys) * lb))
    gp = -(w * c * (ys * a / p1 - (1 - ys) * b / q1))
    gy = -(w * (1 - X.from_float(e)) * (la - lb))
    if want_cond:
        wf, cf, af, bf, pf, qf, yf = (fl(v) for v in (w, c, a, b, p1, q1, ys))
        lpp = wf * cf * (yf * af / pf ** 2 + (1 - yf) * bf / qf ** 2)
        lpy = -wf * cf * (1 - e) * (af / pf + bf / qf)
        conds = _conds(True, p, y, gp, gy, lpp, lpy, np.zeros(p.shape), loss)
    else:
        conds = (np.zeros(p.shape),) * 3
    return _reduce(loss, gp, gy, conds, ("p", "y"), reduction)


@scalar_safe
def binary_cross_entropy_with_logits(x, y, *, weight=None, pos_weight=None, reduction="mean",
                                     label_smoothing=0.0, want_cond=True) -> OpOutput:
    """l = w (pw y' sp(-x) + (1 - y') sp(x)) = -w (pw y' log sigma(x) + (1 - y') log sigma(-x)), with
    sp(z) = log(1 + exp(z)) (softplus, stable), y' = (1 - e) y + e/2, pw = pos_weight (broadcast over the
    last dimension; 1 when null). Mean over all elements.

    grads: d/dx = w ((1 - y') sigma(x) - pw y' sigma(-x))   (= w (sigma(x) - y') without pos_weight),
           d/dy = w (1 - e) (pw sp(-x) - sp(x))             (= -w (1 - e) x without pos_weight).
    Hessian: d2/dx2 = w (pw y' + 1 - y') sigma(x) sigma(-x), d2/dxdy = -w (1 - e)(sigma(x) + pw sigma(-x)),
        d2/dy2 = 0;  cond(grad x) = |l_xx||x| + |l_xy||y|, cond(grad y) = |l_xy||x|.
    """
    same_shape(x, y, ("x", "y"))
    check_reduction(reduction)
    e = check_number("label_smoothing", label_smoothing, lo=0, hi=1)
    w = elementwise_weight(weight, x.shape)
    w = w if w is not None else full(x.shape, 1)
    pw = elementwise_weight(pos_weight, x.shape, "pos_weight")
    if not x.size:
        z = full(x.shape, 0)
        return _reduce(z, z, z, (np.zeros(x.shape),) * 3, ("x", "y"), reduction)
    ys = _smooth(y, e)
    s, sn = sigmoid_pair(x)
    spx, spn = softplus_pair(x)
    one_e = 1 - X.from_float(e)
    if pw is None:
        loss = w * (ys * spn + (1 - ys) * spx)
        gx = w * (s - ys)
        gy = -(w * one_e * x)
    else:
        loss = w * (pw * ys * spn + (1 - ys) * spx)
        gx = w * ((1 - ys) * s - pw * ys * sn)
        gy = w * one_e * (pw * spn - spx)
    if want_cond:
        wf, yf, sf, snf = fl(w), fl(ys), fl(s), fl(sn)
        pwf = fl(pw) if pw is not None else np.ones(x.shape)
        lxx = wf * (pwf * yf + 1 - yf) * sf * snf
        lxy = -wf * (1 - e) * (sf + pwf * snf)
        conds = _conds(True, x, y, gx, gy, lxx, lxy, np.zeros(x.shape), loss)
    else:
        conds = (np.zeros(x.shape),) * 3
    return _reduce(loss, gx, gy, conds, ("x", "y"), reduction)


def multilabel_soft_margin_loss(x, y, *, axis=-1, weight=None, reduction="mean", want_cond=True) -> OpOutput:
    """Per item: the mean over the class axis (C classes) of binary_cross_entropy_with_logits,
        l = (1/C) sum_c w_c (y_c sp(-x_c) + (1 - y_c) sp(x_c))   (torch.nn.functional.multilabel_soft_margin_loss),
    w = weight broadcast against x (ones when null); reductions over items: "none", "sum", "mean" (the
    number of items). C = 0 is 0/0 (NaN).

    grads: d/dx_c = w_c (sigma(x_c) - y_c) / C,  d/dy_c = -w_c x_c / C;  cond: the elementwise conds of
    binary_cross_entropy_with_logits divided by C (summed over the class axis for the value).
    """
    ax = class_axis(axis, x.ndim)
    same_shape(x, y, ("x", "y"))
    check_reduction(reduction)
    el = binary_cross_entropy_with_logits(x, y, weight=weight, reduction="none", want_cond=want_cond)
    C = x.shape[ax]
    Cx = count_x(C)
    items = xsum(el.value.val, axis=ax)
    items = np.asarray(items, dtype=object).reshape(x.shape[:ax] + x.shape[ax + 1:])
    per_item = np.empty(items.shape, dtype=object)
    scale = 0.0
    for idx, v in np.ndenumerate(items):
        per_item[idx], scale = divide_by_denominator(v, Cx)
    grads = {}
    for name, part in el.grads.items():
        g = np.empty(part.val.shape, dtype=object)
        for idx, v in np.ndenumerate(part.val):
            g[idx], _ = divide_by_denominator(v, Cx)
        grads[name] = (g, part.cond * scale)
    item_cond = np.sum(el.value.cond, axis=ax) * scale
    poison(per_item, *(np.moveaxis(g, ax, -1) for g, _ in grads.values()))  # views: poisons g in place
    denom = count_x(per_item.size)
    value, cv = reduce_value(per_item, np.asarray(item_cond, dtype=np.float64).reshape(per_item.shape), reduction,
                             denom)
    out = {}
    for name, (g, c) in grads.items():
        out[name] = Part(*reduce_grad(g, c, reduction, denom))
    return OpOutput(Part(value, cv), out)


SPECS = [
    spec("binary_cross_entropy", [Input("p", domain="prob"), Input("y", domain="binary")],
         {"weight": None, "reduction": "mean", "clip": None, "log_clamp": None, "label_smoothing": 0.0},
         binary_cross_entropy, "binary"),
    spec("binary_cross_entropy_with_logits", [Input("x"), Input("y", domain="binary")],
         {"weight": None, "pos_weight": None, "reduction": "mean", "label_smoothing": 0.0},
         binary_cross_entropy_with_logits, "binary"),
    spec("multilabel_soft_margin_loss", [Input("x", class_axis=True), Input("y", domain="binary", class_axis=True)],
         {"axis": -1, "weight": None, "reduction": "mean"}, multilabel_soft_margin_loss, "binary"),
]
