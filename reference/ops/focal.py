"""Focal losses: sigmoid_focal_loss (torchvision), binary_focal_loss (on probabilities, Keras's
from_logits=False path) and softmax_focal_loss."""
from __future__ import annotations

import numpy as np

from reference.errors import CaseError
from reference.ext import X, full, xsum
from reference.ops.common import (clamp, class_axis, cond_abs, from_rows, fvals, inv_pow, same_shape, target_abs,
                                  to_rows)
from reference.ops.params import check_clip, check_number
from reference.ops.reduce import check_reduction, count_x, poison, reduce_grad, reduce_value
from reference.ops.sigmoid import sigmoid_pair, softplus_pair
from reference.ops.softmax import softmax_rows
from reference.ops.spec import Input, OpOutput, Part, scalar_safe, spec
from reference.ops.xlog import conds_where_defined, finite_or_zero, fl


def pow_minus_one(m: np.ndarray, gamma: float) -> np.ndarray:
    """gamma * m**(gamma - 1) (the derivative of m**gamma), as X: 0 for gamma = 0; +inf at m = 0 when
    gamma < 1."""
    if gamma == 0:
        return full(m.shape, 0)
    if gamma >= 1:
        return gamma * m ** (gamma - 1) if m.size else m
    return gamma * np.frompyfunc(lambda a: inv_pow(a, 1 - gamma), 1, 1)(m).astype(object) if m.size else m


def _pow_f(m: np.ndarray, g: float) -> np.ndarray:
    with np.errstate(all="ignore"):
        return np.where(m > 0, np.power(np.where(m > 0, m, 1.0), g), 0.0 if g > 0 else 1.0)


def _gamma_alpha(gamma, alpha):
    g = check_number("gamma", gamma, lo=0)
    a = check_number("alpha", alpha, allow_none=True)
    return g, a


@scalar_safe
def sigmoid_focal_loss(x, y, *, gamma=2.0, alpha=0.25, reduction="mean", want_cond=True) -> OpOutput:
    """l = a_t m^gamma ce elementwise (torchvision.ops.sigmoid_focal_loss), with p = sigma(x),
        ce  = bce_with_logits(x, y) = y sp(-x) + (1 - y) sp(x),
        m   = 1 - p_t = p (1 - y) + (1 - p) y        (sigma(x)(1-y) + sigma(-x) y: no cancellation),
        a_t = alpha y + (1 - alpha)(1 - y)             (1 when alpha is null).
    grads: with v = sigma(x) sigma(-x), m_x = v (1 - 2y), m_y = sigma(-x) - sigma(x), ce_x = sigma(x) - y,
           ce_y = -x, P = m^gamma, P' = gamma m^(gamma-1), a_y = 2 alpha - 1 (0 when alpha is null):
        d/dx = a_t (P' m_x ce + P ce_x),   d/dy = a_y P ce + a_t (P' m_y ce + P ce_y).
    cond(grad): from the exact second derivatives (chain and product rules on the same pieces:
        m_xx = v (sigma(-x) - sigma(x))(1 - 2y), m_xy = -2v, ce_xx = v, ce_xy = -1, P'' = gamma (gamma-1) m^(gamma-2)),
        cond(grad x) = |l_xx||x| + |l_xy||y|, cond(grad y) = |l_xy||x| + |l_yy||y|, evaluated in float64.
    """
    same_shape(x, y, ("x", "y"))
    check_reduction(reduction)
    g, alpha = _gamma_alpha(gamma, alpha)
    denom = count_x(x.size)
    if not x.size:
        z = full(x.shape, 0)
        value, cv = reduce_value(z, np.zeros(x.shape), reduction, denom)
        return OpOutput(Part(value, cv), {"x": Part(z, np.zeros(x.shape)), "y": Part(z, np.zeros(x.shape))})
    s, sn = sigmoid_pair(x)
    spx, spn = softplus_pair(x)
    ce = y * spn + (1 - y) * spx
    m = s * (1 - y) + sn * y
    P = m ** g
    P1 = pow_minus_one(m, g)
    a = alpha * y + (1 - alpha) * (1 - y) if alpha is not None else full(x.shape, 1)
    a_y = 2 * alpha - 1 if alpha is not None else 0.0
    v = s * sn
    m_x, m_y, ce_x = v * (1 - 2 * y), sn - s, s - y
    loss = a * P * ce
    gx = a * (P1 * m_x * ce + P * ce_x)
    gy = X.from_float(a_y) * P * ce + a * (P1 * m_y * ce + P * -x)
    poison(loss, gx, gy)
    cv = cx = cy = np.zeros(x.shape)
    if want_cond:
        xf, yf, sf, snf, mf, cef = fvals(x), fvals(y), fl(s), fl(sn), fl(m), fl(ce)
        af = fl(a)
        vf = sf * snf
        mx, my = vf * (1 - 2 * yf), snf - sf
        mxx, mxy = vf * (snf - sf) * (1 - 2 * yf), -2 * vf
        cex, cey, cexx, cexy = sf - yf, -xf, vf, -1.0
        Pf, P1f = _pow_f(mf, g), (g * _pow_f(mf, g - 1) if g else np.zeros(x.shape))
        P2f = g * (g - 1) * _pow_f(mf, g - 2) if g not in (0.0, 1.0) else np.zeros(x.shape)
        Px, Py = P1f * mx, P1f * my
        Pxx, Pxy, Pyy = P2f * mx ** 2 + P1f * mxx, P2f * mx * my + P1f * mxy, P2f * my ** 2
        Fx, Fy = Px * cef + Pf * cex, Py * cef + Pf * cey
        Fxx = Pxx * cef + 2 * Px * cex + Pf * cexx
        Fxy = Pxy * cef + Px * cey + Py * cex + Pf * cexy
        Fyy = Pyy * cef + 2 * Py * cey
        lxx, lxy, lyy = af * Fxx, a_y * Fx + af * Fxy, 2 * a_y * Fy + af * Fyy
        ax_, ay_ = cond_abs(x), target_abs(y)
        bad = ~np.isfinite(xf) | ~np.isfinite(yf)
        cv = _keep(np.abs(fl(gx)) * ax_ + np.abs(fl(gy)) * ay_, bad, loss)
        cx = _keep(np.abs(lxx) * ax_ + np.abs(lxy) * ay_, bad, gx)
        cy = _keep(np.abs(lxy) * ax_ + np.abs(lyy) * ay_, bad, gy)
    value, cvr = reduce_value(loss, cv, reduction, denom)
    g1, c1 = reduce_grad(gx, cx, reduction, denom)
    g2, c2 = reduce_grad(gy, cy, reduction, denom)
    return OpOutput(Part(value, cvr), {"x": Part(g1, c1), "y": Part(g2, c2)})


@scalar_safe
def binary_focal_loss(p, y, *, gamma=2.0, alpha=None, clip=None, label_smoothing=0.0, reduction="mean",
                      want_cond=True) -> OpOutput:
    """l = a_t m^gamma bce elementwise, from probabilities (keras.losses.binary_focal_crossentropy with
    from_logits=False), with y' = (1 - e) y + e/2 (e = label_smoothing), p' = clamp(p) (clip; bce only):
        bce = -(y' log p' + (1 - y') log(1 - p')),   m = 1 - p_t = y' (1 - p) + (1 - y') p  (unclipped p),
        a_t = alpha y' + (1 - alpha)(1 - y')  (1 when alpha is null; Keras's apply_class_balancing).
    grads, with P = m^gamma, P' = gamma m^(gamma-1), m_p = 1 - 2y', m_y = 1 - 2p, c = 1 inside the clip,
        bce_p = -c (y'/p' - (1-y')/(1-p')), bce_y = -(log p' - log(1 - p')), a_y = 2 alpha - 1 (0 if null):
        d/dp = a_t (P' m_p bce + P bce_p),   d/dy = (1 - e) [a_y P bce + a_t (P' m_y bce + P bce_y)].
    cond(grad): from the exact second derivatives (m_py = -2, bce_pp = c (y'/p'^2 + (1-y')/(1-p')^2),
        bce_py = -c (1/p' + 1/(1-p')), P'' = gamma (gamma-1) m^(gamma-2); chain and product rules), float64.
    """
    same_shape(p, y, ("p", "y"))
    check_reduction(reduction)
    g, alpha = _gamma_alpha(gamma, alpha)
    e = check_number("label_smoothing", label_smoothing, lo=0, hi=1)
    bounds = check_clip(clip)
    denom = count_x(p.size)
    if not p.size:
        z = full(p.shape, 0)
        value, cv = reduce_value(z, np.zeros(p.shape), reduction, denom)
        return OpOutput(Part(value, cv), {"p": Part(z, np.zeros(p.shape)), "y": Part(z, np.zeros(p.shape))})
    one_e = 1 - X.from_float(e)
    ys = one_e * y + X.from_float(e / 2) if e > 0 else y
    p1, c = clamp(p, bounds)
    la, lb = np.log(p1), np.log1p(-p1)
    bce = -(ys * la + (1 - ys) * lb)
    m = ys * (1 - p) + (1 - ys) * p
    P, P1 = m ** g, pow_minus_one(m, g)
    a = alpha * ys + (1 - alpha) * (1 - ys) if alpha is not None else full(p.shape, 1)
    a_y = 2 * alpha - 1 if alpha is not None else 0.0
    m_p, m_y = 1 - 2 * ys, 1 - 2 * p
    bce_p = -(c * (ys / p1 - (1 - ys) / (1 - p1)))
    bce_y = -(la - lb)
    loss = a * P * bce
    gp = a * (P1 * m_p * bce + P * bce_p)
    gy = one_e * (X.from_float(a_y) * P * bce + a * (P1 * m_y * bce + P * bce_y))
    poison(loss, gp, gy)
    cv = cp = cy = np.zeros(p.shape)
    if want_cond:
        cv, cp, cy = _binary_focal_conds(p, y, p1, c, ys, m, bce, a, a_y, g, e, gp, gy, loss)
    value, cvr = reduce_value(loss, cv, reduction, denom)
    g1, c1 = reduce_grad(gp, cp, reduction, denom)
    g2, c2 = reduce_grad(gy, cy, reduction, denom)
    return OpOutput(Part(value, cvr), {"p": Part(g1, c1), "y": Part(g2, c2)})


def _binary_focal_conds(p, y, p1, c, ys, m, bce, a, a_y, g, e, gp, gy, loss):
    pf, yf, cf, mf, bf, af = fvals(p), fl(ys), fl(c), fl(m), fl(bce), fl(a)
    qf = fl(p1)
    with np.errstate(all="ignore"):
        la, lb = np.log(qf), np.log1p(-qf)
        Pf = _pow_f(mf, g)
        P1f = g * _pow_f(mf, g - 1) if g else np.zeros(p.shape)
        P2f = g * (g - 1) * _pow_f(mf, g - 2) if g not in (0.0, 1.0) else np.zeros(p.shape)
        mp_, my_ = 1 - 2 * yf, 1 - 2 * pf
        bp = -cf * (yf / qf - (1 - yf) / (1 - qf))
        by = -(la - lb)
        bpp = cf * (yf / qf ** 2 + (1 - yf) / (1 - qf) ** 2)
        bpy = -cf * (1 / qf + 1 / (1 - qf))
        Fp, Fy = P1f * mp_ * bf + Pf * bp, P1f * my_ * bf + Pf * by
        Fpp = P2f * mp_ ** 2 * bf + 2 * P1f * mp_ * bp + Pf * bpp
        Fpy = P2f * mp_ * my_ * bf - 2 * P1f * bf + P1f * mp_ * by + P1f * my_ * bp + Pf * bpy
        Fyy = P2f * my_ ** 2 * bf + 2 * P1f * my_ * by
        k = 1 - e
        lpp, lpy, lyy = af * Fpp, k * (a_y * Fp + af * Fpy), k * k * (2 * a_y * Fy + af * Fyy)
        ap_, ay_ = cond_abs(p), target_abs(y)
        bad = ~np.isfinite(pf) | ~np.isfinite(fvals(y))
        cv = _keep(np.abs(fl(gp)) * ap_ + np.abs(fl(gy)) * ay_, bad, loss)
        cp = _keep(np.abs(lpp) * ap_ + np.abs(lpy) * ay_, bad, gp)
        cy = _keep(np.abs(lpy) * ap_ + np.abs(lyy) * ay_, bad, gy)
    return cv, cp, cy


def _keep(c, bad, part):
    return np.where(bad | ~np.isfinite(fl(part)) | np.isnan(c), 0.0, c)


def softmax_focal_loss(logits, target, *, axis=-1, gamma=2.0, alpha=0.25, reduction="mean",
                       want_cond=True) -> OpOutput:
    """loss = -sum_c alpha y_c (1 - p_c)^gamma log p_c per row, p = softmax(logits) over `axis`, y = target
    probabilities (alpha 1 when null); 1 - p_c computed without cancellation (SoftmaxRows.sc).

    grads: h_c = p_c d/dp_c[(1-p_c)^gamma log p_c] = -gamma (1-p_c)^(gamma-1) p_c log p_c + (1-p_c)^gamma,
        d/dx_j = -alpha (y_j h_j - p_j sum_c y_c h_c),   d/dy_c = -alpha (1 - p_c)^gamma log p_c.
    Hessian: with h'(p) = gamma(gamma-1)(1-p)^(gamma-2) p log p - gamma (1-p)^(gamma-1)(log p + 2),
        k_c = y_c h'_c p_c, K = sum k, Y = sum y_c h_c, c_j = k_j - p_j Y, d_k = k_k - p_k K:
        d g_xj / d x_k = -alpha (delta_jk c_j - p_k c_j - p_j d_k),  d g_xj / d y_c = -alpha (delta_jc h_j - p_j h_c),
        d g_yc / d x_k = -alpha h_c (delta_ck - p_k),  d g_y / d y = 0;  cond(g) sums |H| |input| (float64).
    """
    ax = class_axis(axis, logits.ndim)
    if target.dtype != object or target.shape != logits.shape:
        raise CaseError(f"target must be probabilities with the logits' shape {logits.shape}")
    check_reduction(reduction)
    g, alpha = _gamma_alpha(gamma, alpha)
    rows, outer = to_rows(logits, ax)
    trows, _ = to_rows(target, ax)
    R, C = rows.shape
    al = X.from_float(alpha if alpha is not None else 1.0)
    sm = softmax_rows(rows)
    if C:
        F = sm.sc ** g
        h = -(pow_minus_one(sm.sc, g) * sm.s * sm.lp) + F
        Y = xsum(trows * h, axis=1)
        loss = -(al * xsum(trows * F * sm.lp, axis=1))
        gx = -(al * (trows * h - sm.s * Y[:, None]))
        gy = -(al * F * sm.lp)
        poison(loss, gx, gy)
    else:
        loss, gx, gy = full((R,), 0), full((R, C), 0), full((R, C), 0)
    cv, cx, cy = np.zeros(R), np.zeros((R, C)), np.zeros((R, C))
    if want_cond and R and C:
        cv, cx, cy = _softmax_focal_conds(sm, trows, h, Y, gx, gy, loss, g, abs(al.to_float()))
    denom = count_x(R)
    value, cvr = reduce_value(loss.reshape(outer), cv.reshape(outer), reduction, denom)
    g1, c1 = reduce_grad(from_rows(gx, outer, ax), from_rows(cx, outer, ax), reduction, denom)
    g2, c2 = reduce_grad(from_rows(gy, outer, ax), from_rows(cy, outer, ax), reduction, denom)
    return OpOutput(Part(value, cvr), {"logits": Part(g1, c1), "target": Part(g2, c2)})


def _softmax_focal_conds(sm, trows, h, Y, gx, gy, loss, g, alpha):
    p, q, lp = fl(sm.s), fl(sm.sc), fl(sm.lp)
    yf, hf, Yf = fvals(trows), fl(h), fl(Y)
    ax_, ay_ = sm.absx, target_abs(trows)
    with np.errstate(all="ignore"):
        plogp = np.where(p > 0, p * lp, 0.0)
        h1 = (g * (g - 1) * _pow_f(q, g - 2) * plogp if g not in (0.0, 1.0) else 0.0) \
            - (g * _pow_f(q, g - 1) * (lp + 2) if g else 0.0)
        k = yf * h1 * p
        K = np.sum(k, axis=1, keepdims=True)
        cj = k - p * Yf[:, None]
        dk = k - p * K
        C = p.shape[1]
        eye = np.eye(C)[None]
        Hxx = -alpha * (eye * cj[:, :, None] - p[:, None, :] * cj[:, :, None] - p[:, :, None] * dk[:, None, :])
        Hxy = -alpha * (eye * hf[:, :, None] - p[:, :, None] * hf[:, None, :])
        cx = np.einsum("rjk,rk->rj", np.abs(Hxx), ax_) + np.einsum("rjc,rc->rj", np.abs(Hxy), ay_)
        sx = p * ax_
        lsm = q * ax_ + np.maximum(np.sum(sx, axis=1, keepdims=True) - sx, 0.0)
        cy = alpha * np.abs(hf) * lsm
        cv = np.sum(finite_or_zero(np.abs(fl(gx)) * ax_ + np.abs(fl(gy)) * ay_), axis=1)
    ok = sm.ok & np.isfinite(yf).all(axis=1)
    return conds_where_defined(ok, loss, cv, ((cx, gx), (cy, gy)))


_DEFAULTS = {"gamma": 2.0, "alpha": 0.25, "reduction": "mean"}

SPECS = [
    spec("sigmoid_focal_loss", [Input("x"), Input("y", domain="binary")], _DEFAULTS, sigmoid_focal_loss, "focal"),
    spec("binary_focal_loss", [Input("p", domain="prob"), Input("y", domain="binary")],
         {"gamma": 2.0, "alpha": None, "clip": None, "label_smoothing": 0.0, "reduction": "mean"},
         binary_focal_loss, "focal"),
    spec("softmax_focal_loss", [Input("logits", class_axis=True), Input("target", domain="prob", class_axis=True)], {"axis": -1, **_DEFAULTS}, softmax_focal_loss,
         "focal"),
]
