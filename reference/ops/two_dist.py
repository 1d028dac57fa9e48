"""The row engine behind cross_entropy_dist and kl_divergence: two distributions p, q along a class axis.

Per row:  p  = (1 - e) p + e/C   first, when label_smoothing e > 0 (cross entropy only; d/dp gets (1 - e))
          p^ = p / sum p   (normalize="both"),           q^ = q / sum q   (normalize "q" or "both")
          q' = clamp(q^, lo, hi)   (clip),               p' = clamp(p^, lo, hi)   (clip, kl only)
          F  = sum_i phi(p'_i, q'_i) / ln b   with  phi = -xlogy(p', q')  (cross entropy)
                                                    phi = rel_entr(p', q'), NaN outside p, q >= 0  (KL)
Gradients by the chain rule. With c = 1 strictly inside (lo, hi), else 0 (the clamp):
          u_q = c_q dphi/dq' = -c_q p'/q'        u_p = c_p dphi/dp'  (-log q'  |  log(p'/q') + 1)
          normalised input z:  g_z_j = (u_j - sum_i u_i z^_i) / Z,  otherwise g_z = u.
In the limit, sum_i u_q,i q^_i = -sum_i c_q,i p'_i (q' = q^ where c = 1) and sum_i u_p,i p^_i is
sum_i phi_i (cross entropy) or sum_i c_p,i (phi_i + p^_i) (KL), finite even where q^_i = 0 or p^_i = 0.
Second derivatives of phi: d2/dq'2 = p'/q'^2, d2/dp'dq' = -1/q', d2/dp'2 = 0 (cross entropy) or 1/p' (KL);
the Hessian of a row is J^T diag(.) J plus, for a normalised input, (-u_j - u_k + 2 sum_i u_i z^_i)/Z^2,
with J the normalisation's Jacobian (delta_ij - z^_i)/Z (reference.ops.normalize). cond(g_j) sums
|H_jk| |x_k| over every floating input; terms of elements whose own derivatives are infinite are left out.
"""
from __future__ import annotations

import numpy as np

from reference.errors import CaseError
from reference.ext import NAN, X, full, xsum
from reference.ops.common import (check_labels, clamp, class_axis, cond_abs, from_rows, fvals, is_limit, onehot,
                                  target_abs, to_rows)
from reference.ops.params import check_choice, check_clip, check_number, log_base
from reference.ops.reduce import check_reduction, count_x, poison, reduce_grad, reduce_value
from reference.ops.normalize import contraction, jacobian_scaled, normalize_rows
from reference.ops.spec import OpOutput, Part
from reference.ops.xlog import as_obj, finite_or_zero, fl, rel_entr, rel_entr_dx, rel_entr_dy, xlogy

NORMALIZE = ("none", "q", "both")


def two_dist(kind, p, q, *, axis, base, normalize, clip, reduction, want_cond, label_smoothing=0.0) -> OpOutput:
    ax = class_axis(axis, q.ndim)
    e = check_number("label_smoothing", label_smoothing, lo=0, hi=1)
    norm = check_choice("normalize", normalize, NORMALIZE)
    bounds = check_clip(clip)
    reduction = check_reduction(reduction)
    lnb = log_base(base)
    qr, outer = to_rows(q, ax)
    R, C = qr.shape
    labels = p.dtype != object
    if labels:
        if p.shape != tuple(outer) and p.shape != q.shape[:ax] + q.shape[ax + 1:]:
            raise CaseError(f"labels p must have the shape of q without the class axis, got {p.shape}")
        check_labels(p, C, None)
        pr = onehot(p, C)
    else:
        if p.shape != q.shape:
            raise CaseError(f"p and q must have the same shape, got {p.shape} and {q.shape}")
        pr, _ = to_rows(p, ax)
    p_given = pr
    if e > 0 and C:
        ex = X.from_float(e)
        pr = (1 - ex) * pr + ex / C
    nq, np_ = norm in ("q", "both"), norm == "both"
    bad = np.zeros(R, dtype=bool)
    qh, Q, b = normalize_rows(qr) if nq else (qr, None, bad)
    bad = bad | b
    ph, P, b = normalize_rows(pr) if np_ else (pr, None, np.zeros(R, dtype=bool))
    bad = bad | b
    q1, cq = clamp(qh, bounds)
    p1, cp = clamp(ph, bounds) if kind == "kl" else (ph, full(ph.shape, 1))
    if C:
        if kind == "ce":
            phi = -as_obj(xlogy(p1, q1))
            dq = -(p1 / q1)
            dp = -np.log(q1)
        else:
            phi = as_obj(rel_entr(p1, q1, np.nan))
            dq = as_obj(rel_entr_dy(p1, q1))
            dp = as_obj(rel_entr_dx(p1, q1))
        uq, up = cq * dq, cp * dp
    else:
        phi = uq = up = full((R, C), 0)
    Fe = xsum(phi, axis=1)
    gq, gp = uq, up
    if nq and C:
        Wq = xsum(cq * -p1, axis=1) if is_limit() else xsum(uq * qh, axis=1)
        gq = (uq - Wq[:, None]) / Q[:, None]
    if np_ and C:
        if is_limit():
            Wp = Fe if kind == "ce" else xsum(cp * (phi + ph), axis=1)
        else:
            Wp = xsum(up * ph, axis=1)
        gp = (up - Wp[:, None]) / P[:, None]
    F = Fe / lnb
    gq, gp = (gq / lnb, gp / lnb) if C else (gq, gp)
    if e > 0 and C:
        gp = (1 - X.from_float(e)) * gp
    for r in np.nonzero(bad)[0]:
        F[r] = X(NAN)
        gq[r] = X(NAN)
        gp[r] = X(NAN)
    poison(F, gq, gp)
    cond_v, cond_q, cond_p = np.zeros(R), np.zeros((R, C)), np.zeros((R, C))
    if want_cond and R and C:
        cond_v, cond_q, cond_p = _conds(kind, qr, p_given, qh, ph, q1, p1, cq, cp, uq, up, gq, gp, Q, P,
                                        lnb.to_float(), labels, 1.0 - e)
        rowbad = bad | ~np.isfinite(fvals(qr)).all(axis=1) | ~np.isfinite(fl(pr)).all(axis=1)
        cond_v = np.where(rowbad | ~np.isfinite(fl(F)), 0.0, cond_v)
        cond_q = np.where(rowbad[:, None] | ~np.isfinite(fl(gq)), 0.0, cond_q)
        cond_p = np.where(rowbad[:, None] | ~np.isfinite(fl(gp)), 0.0, cond_p)
    denom = count_x(R)
    value, cv = reduce_value(F.reshape(outer), cond_v.reshape(outer), reduction, denom)
    gq_full, cq_full = reduce_grad(from_rows(gq, outer, ax), from_rows(cond_q, outer, ax), reduction, denom)
    grads = {"q": Part(gq_full, cq_full)}
    if not labels:
        gp_full, cp_full = reduce_grad(from_rows(gp, outer, ax), from_rows(cond_p, outer, ax), reduction, denom)
        grads = {"p": Part(gp_full, cp_full), **grads}
    return OpOutput(Part(value, cv), grads)


def _conds(kind, qr, pr, qh, ph, q1, p1, cq, cp, uq, up, gq, gp, Q, P, lb, labels, k=1.0):
    """cond of the value and both gradients; pr is p as given, k = 1 - label_smoothing (dp_smoothed/dp)."""
    aq, ap = cond_abs(qr), (np.zeros(qr.shape) if labels else target_abs(pr))
    cond_v = np.sum(finite_or_zero(np.abs(fl(gq)) * aq + np.abs(fl(gp)) * ap), axis=1)
    q1f, p1f, cqf, cpf = fl(q1), fl(p1), fl(cq), fl(cp)
    with np.errstate(divide="ignore", invalid="ignore", over="ignore"):
        dqq = finite_or_zero(cqf * p1f / q1f ** 2)
        dpq = finite_or_zero(cpf * cqf * (-1.0 / q1f))
        dpp = finite_or_zero(cpf / p1f) if kind == "kl" else np.zeros(q1f.shape)
    R, C = q1f.shape
    eye = np.broadcast_to(np.eye(C), (R, C, C))
    if Q is not None:
        Jq, sq = jacobian_scaled(fl(qh)), 1.0 / fl(Q)
    else:
        Jq, sq = eye, np.ones(R)
    if P is not None:
        Jp, sp = jacobian_scaled(fl(ph)), 1.0 / fl(P)
    else:
        Jp, sp = eye, np.ones(R)
    with np.errstate(invalid="ignore", over="ignore"):
        Hqq = np.einsum("rij,ri,rik->rjk", Jq, dqq, Jq) * (sq ** 2)[:, None, None]
        Hqp = np.einsum("rij,ri,rik->rjk", Jq, dpq, Jp) * (sq * sp)[:, None, None]
        Hpp = np.einsum("rij,ri,rik->rjk", Jp, dpp, Jp) * (sp ** 2)[:, None, None]
        if Q is not None:
            Hqq = Hqq + contraction(finite_or_zero(fl(uq)), fl(qh)) * (sq ** 2)[:, None, None]
        if P is not None:
            Hpp = Hpp + contraction(finite_or_zero(fl(up)), fl(ph)) * (sp ** 2)[:, None, None]
        Hqp, Hpp = Hqp * k, Hpp * k * k
        cond_q = (np.einsum("rjk,rk->rj", np.abs(Hqq), aq) + np.einsum("rjk,rk->rj", np.abs(Hqp), ap)) / lb
        cond_p = (np.einsum("rkj,rk->rj", np.abs(Hqp), aq) + np.einsum("rjk,rk->rj", np.abs(Hpp), ap)) / lb
    return cond_v, np.where(np.isnan(cond_q), 0.0, cond_q), np.where(np.isnan(cond_p), 0.0, cond_p)
