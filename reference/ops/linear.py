"""linear_cross_entropy: a linear layer and cross entropy in one op (torch.nn.functional.linear_cross_entropy,
torch.nn.LinearCrossEntropyLoss): the logits are computed exactly, then cross_entropy takes them."""
from __future__ import annotations

import math

import numpy as np
from flint import arb, arf

from reference.errors import CaseError
from reference.ext import FIN, NAN, X, full, xsum
from reference.ops.common import fvals
from reference.ops.cross_entropy import cross_entropy
from reference.ops.spec import Input, OpOutput, Part, spec
from reference.ops.xlog import finite_or_zero, fl


def linear_cross_entropy(input, linear_weight, linear_bias, target, *, weight=None, ignore_index=None,
                         label_smoothing=0.0, reduction="mean", mean_denominator="weight_sum",
                         want_cond=True) -> OpOutput:
    """Cross entropy of a linear layer's logits. input x (N, D), linear_weight W (C, D), linear_bias b (C,),
    target y (N,) integer class labels:
        z = x W^T + b,   z_nc = sum_d x_nd W_cd + b_c   (exact: sums of exact products of the inputs; under
                                                         limit semantics an exact 0 times +-inf is 0)
        loss = cross_entropy(z, y; weight, ignore_index, label_smoothing, reduction, mean_denominator) over
               the class axis 1 (docs/ops.md: ignored items count 0, a counted label outside [0, C) is undefined).
    grads, with G = d loss / d z (cross_entropy's gradient of the reduced loss, N x C):
        d/dx_nd = sum_c G_nc W_cd     (computed as sum_{c != k} G_nc (W_cd - W_kd), k the item's label, in rows
                                       where every z and W is finite: sum_c G_nc = 0 exactly there)
        d/dW_cd = sum_n G_nc x_nd,    d/db_c = sum_n G_nc.
    Hessian of an item's loss in z: H_n = A_n (diag(s_n) - s_n s_n^T), s = softmax(z_n), A_n = ((1 - e) w_y +
    (e / C) sum_c w_c) scaled like the reduction (1/D for the mean).
    cond(loss_n) = sum_d |dx_nd||x_nd| + sum_c |G_nc| (P_nc + |b_c|), P_nc = sum_d |x_nd||W_cd| (a backward-stable
    product perturbs every x and W once). cond of the gradients is the triangle-inequality bound, with
    Q_n = |H_n| (2 P_n + |b|):  cond(dx) = (|G| + Q) |W|,  cond(dW) = (|G| + Q)^T |x|,  cond(db_c) = sum_n Q_nc.
    """
    x, w_lin, b = input, linear_weight, linear_bias
    if x.ndim != 2 or w_lin.ndim != 2 or b.ndim != 1:
        raise CaseError(f"linear_cross_entropy: input must be (N, D), linear_weight (C, D) and linear_bias (C,), "
                        f"got {x.shape}, {w_lin.shape} and {b.shape}")
    N, D = x.shape
    C = w_lin.shape[0]
    if w_lin.shape[1] != D or b.shape[0] != C:
        raise CaseError(f"linear_cross_entropy: input {x.shape}, linear_weight {w_lin.shape} and linear_bias "
                        f"{b.shape} do not agree on D and C")
    if target.dtype == object:
        raise CaseError("linear_cross_entropy: target must be integer class labels")
    if target.shape != (N,):
        raise CaseError(f"linear_cross_entropy: class labels must have shape ({N},), got {target.shape}")
    z = logits(x, w_lin, b)
    ce = cross_entropy(z, target, axis=1, weight=weight, ignore_index=ignore_index, label_smoothing=label_smoothing,
                       reduction=reduction, mean_denominator=mean_denominator, want_cond=False)
    G = ce.grads["logits"].val
    gx = _input_grad(G, w_lin, z, target, ignore_index)
    gw = full((C, D), 0)
    gb = full((C,), 0)
    # no items: d/dW and d/db are empty sums (0), or 0/0 (NaN, as the value) for a mean over nothing
    nothing = X(NAN) if reduction == "mean" else X.from_float(0.0)
    for c in range(C):
        for d in range(D):
            gw[c, d] = xsum(G[:, c] * x[:, d]) if N else nothing
        gb[c] = xsum(G[:, c]) if N else nothing
    value = ce.value.val
    cv = np.zeros(value.shape)
    cx, cw, cb = np.zeros((N, D)), np.zeros((C, D)), np.zeros(C)
    if want_cond and N and C:
        cv, cx, cw, cb = _conds(x, w_lin, b, z, G, gx, target, weight, ignore_index, float(label_smoothing),
                                reduction, mean_denominator, ce.value.val)
    return OpOutput(Part(value, cv), {"input": Part(gx, cx), "linear_weight": Part(gw, cw),
                                      "linear_bias": Part(gb, cb)})


def _dyadic(x: X):
    """(m, e) with x = m 2^e exactly, for a finite exact input (a float of the case dtype)."""
    m, e = math.frexp(x.to_float())
    return int(m * (1 << 53)), e - 53


def logits(x: np.ndarray, w: np.ndarray, b: np.ndarray) -> np.ndarray:
    """z = x W^T + b as exact X, each row whose terms are all finite shifted by its exact maximum (cross entropy
    and its gradients are unchanged by a shift, sum_c G_nc being 0; no logit then lies above the float range,
    as x W^T itself may). Such a row is summed in integers (dyadic rationals) and held as arb balls of radius 0:
    no rounding at any working precision. A row with +-inf or NaN terms takes X arithmetic unshifted (the
    semantics' rule for 0 * inf), as do dual numbers (reference.derivs)."""
    N, D = x.shape
    C = w.shape[0]
    z = full((N, C), 0)
    if any(type(v) is not X for v in (*x.flat, *w.flat, *b.flat)):  # dual numbers
        for n in range(N):
            for c in range(C):
                z[n, c] = xsum(x[n] * w[c]) + b[c] if D else b[c]
        return z
    xf, wf, bf = fvals(x), fvals(w), fvals(b)
    xd = [[_dyadic(v) if np.isfinite(f) else None for v, f in zip(x[n], xf[n])] for n in range(N)]
    wd = [[_dyadic(v) if np.isfinite(f) else None for v, f in zip(w[c], wf[c])] for c in range(C)]
    bd = [_dyadic(v) if np.isfinite(f) else None for v, f in zip(b, bf)]
    for n in range(N):
        row = []
        for c in range(C):
            terms = [(p[0] * q[0], p[1] + q[1]) for p, q in zip(xd[n], wd[c]) if p is not None and q is not None]
            if len(terms) < D or bd[c] is None:
                row = None
                break
            row.append(terms + [bd[c]])
        if row is None:
            for c in range(C):
                z[n, c] = xsum(x[n] * w[c]) + b[c] if D else b[c]
            continue
        if not C:
            continue
        low = min(e for terms in row for _, e in terms)
        totals = [sum(m << (e - low) for m, e in terms) for terms in row]
        top = max(totals)
        for c, t in enumerate(totals):
            z[n, c] = X(FIN, arb(arf((t - top, low))))
    return z


def _row_finite(z: np.ndarray) -> np.ndarray:
    return np.array([all(v.k == FIN for v in row) for row in z], dtype=bool) if z.size else np.zeros(len(z), bool)


def _input_grad(G, w, z, target, ignore_index) -> np.ndarray:
    """d loss / d x = G W; in rows with every z, G and W finite sum_c G_nc = 0 exactly, so the sum is taken
    against the item's label class k, without the cancellation of its -(1 - s_k) term."""
    N, C = G.shape
    D = w.shape[1]
    out = full((N, D), 0)
    if not C:
        return out
    w_finite = bool(np.isfinite(fvals(w)).all())
    finite = _row_finite(z)
    for n in range(N):
        k = int(target[n])
        row_ok = (w_finite and bool(finite[n]) and 0 <= k < C and k != ignore_index
                  and all(g.k == FIN for g in G[n]))
        for d in range(D):
            if row_ok:
                others = [c for c in range(C) if c != k]
                out[n, d] = (xsum(np.array([G[n, c] * (w[c, d] - w[k, d]) for c in others], dtype=object))
                             if others else X.from_float(0.0))
            else:
                out[n, d] = xsum(G[n] * w[:, d])
    return out


def _conds(x, w, b, z, G, gx, target, weight, ignore_index, e, reduction, mean_denominator, value):
    """The cond quantities of the docstring, in float64 (0 where an element or its row is not finite)."""
    N, C = G.shape
    ax, aw, ab = (np.abs(finite_or_zero(fvals(a))) for a in (x, w, b))
    zf, Gf = fvals(z), np.abs(fl(G))  # z: shifted rows, <= 0 (-inf below the float range)
    row_ok = _row_finite(z) & np.isfinite(Gf).all(axis=1)
    with np.errstate(all="ignore"):
        s = np.exp(zf - np.max(np.where(row_ok[:, None], zf, 0.0), axis=1, keepdims=True))
        s = s / np.sum(s, axis=1, keepdims=True)
    s = np.where(row_ok[:, None], s, 0.0)
    wc = np.ones(C) if weight is None else np.abs(np.asarray(weight, dtype=np.float64))
    A, counted, denom = np.zeros(N), np.zeros(N, dtype=bool), 0.0
    for n in range(N):
        y = int(target[n])
        if (ignore_index is None or y != ignore_index) and 0 <= y < C:
            A[n] = (1 - e) * wc[y] + e / C * wc.sum()
            counted[n] = True
            denom += wc[y] if mean_denominator == "weight_sum" else 1.0
    if reduction == "mean":
        A = A / denom if denom else A * 0
    P = ax @ aw.T  # (N, C)
    V = 2 * P + ab[None, :]
    # |H_n| v = A_n s_c ((1 - s_c) v_c + sum_{c' != c} s_c' v_c')
    sv = np.sum(s * V, axis=1, keepdims=True)
    with np.errstate(all="ignore"):
        Q = _overflowed(A[:, None] * s * ((1 - s) * V + (sv - s * V)))
        Q = np.where(row_ok[:, None], Q, 0.0)
        Gf = np.where(row_ok[:, None], Gf, 0.0)
        gxf = np.abs(finite_or_zero(fl(gx)))
        items = _overflowed(np.sum(gxf * ax, axis=1) + np.sum(Gf * (P + ab[None, :]), axis=1))
        items = np.where(row_ok, items, 0.0)
        if reduction == "none":
            cv = np.where(np.isfinite(fl(value)), items, 0.0)
        else:
            cv = np.float64(np.sum(items)) if np.isfinite(fl(value)).all() else np.float64(0.0)
        cx = _overflowed((Gf + Q) @ aw)
        cw = _overflowed((Gf + Q).T @ ax)
        cb = _overflowed(np.sum(Q, axis=0))
    return cv, cx, cw, cb


def _overflowed(a: np.ndarray) -> np.ndarray:
    """A cond quantity of finite elements, kept +inf where its float64 arithmetic overflowed (0 * inf, NaN,
    is taken as inf too): the conditioning exceeds the float range, so no accuracy can be asked there. The
    elements that are not finite get 0 from their callers (their value's kind is judged instead)."""
    return np.where(np.isnan(a), np.inf, np.abs(a))


_DEFAULTS = {"weight": None, "ignore_index": None, "label_smoothing": 0.0, "reduction": "mean",
             "mean_denominator": "weight_sum"}

SPECS = [
    spec("linear_cross_entropy", [Input("input", dims=("N", "D")), Input("linear_weight", dims=("C", "D")),
                                  Input("linear_bias", dims=("C",)),
                                  Input("target", "labels", differentiable=False, domain="label", dims=("N",))],
         _DEFAULTS, linear_cross_entropy, "cross_entropy"),
]
