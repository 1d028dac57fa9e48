"""Information measures: entropy, cross_entropy_dist, kl_divergence, and the elementwise entr, xlogy, rel_entr,
generalized_kl (scipy.special.kl_div). Logs are natural; `base` divides every log by ln(base)."""
from __future__ import annotations

import numpy as np

from reference.ext import NAN, NEG, POS, UND, X, full, xsum
from reference.ops.common import class_axis, cond_abs, from_rows, fvals, is_limit, same_shape, to_rows
from reference.ops.params import check_bool, log_base
from reference.ops.reduce import poison
from reference.ops.normalize import normalize_rows
from reference.ops.spec import Input, OpOutput, Part, scalar_safe, spec
from reference.ops.two_dist import two_dist
from reference.ops.xlog import (as_obj, finite_or_zero, fl, rel_entr, rel_entr_dx, rel_entr_dx1, rel_entr_dy,
                                rel_entr_dy1, xlogy)


def _elementwise(value, gx, gy, x, y, want_cond, grad_cond) -> OpOutput:
    """An elementwise op's output: cond(value) = |d/dx||x| + |d/dy||y|; grad_cond(fy, gx, gy) gives the
    gradients' cond arrays from the second derivatives (documented per op). NaN items: rule of poison()."""
    poison(value, gx, gy)
    cv = cx = cy = np.zeros(x.shape)
    if want_cond and x.size:
        cv = _clean(finite_or_zero(np.abs(fl(gx)) * cond_abs(x) + np.abs(fl(gy)) * cond_abs(y)), value, x, y)
        cx, cy = grad_cond(fvals(y), fl(gx), fl(gy))
        cx, cy = _clean(cx, gx, x, y), _clean(cy, gy, x, y)
    return OpOutput(Part(value, cv), {"x": Part(gx, cx), "y": Part(gy, cy)})


def _clean(cond, *parts):
    """0 where the element or one of its inputs is not finite (cond is not meaningful there)."""
    for p in parts:
        cond = np.where(np.isfinite(fl(p)), cond, 0.0)
    return np.where(np.isnan(cond), 0.0, cond)


# elementwise ---------------------------------------------------------------------------------------------
def _entr1(x: X) -> X:
    if x.k == NAN:
        return X(NAN)
    s = x.sign()
    if s is None:
        return X(UND)
    if s == 0:
        return X.from_float(0.0)
    if s < 0 or x.k == POS:
        return X(NEG)
    return -(x * x.log())


@scalar_safe
def entr(x, *, want_cond=True) -> OpOutput:
    """entr(x) = -x log x for x > 0;  0 at x = 0;  -inf for x < 0 (scipy.special.entr, torch.special.entr).

    grad: d/dx = -(log x + 1)  (+inf at x = 0, the limit from the right; NaN for x < 0; -inf at +inf).
    Hessian: d2/dx2 = -1/x:  cond(value) = |log x + 1| |x|;  cond(grad) = |1/x| |x| = 1 (x > 0).
    """
    value = as_obj(np.frompyfunc(_entr1, 1, 1)(x)) if x.size else full(x.shape, 0)
    grad = -(np.log(x) + 1) if x.size else full(x.shape, 0)
    grad = as_obj(grad)
    poison(value, grad)
    cv = cg = np.zeros(x.shape)
    if want_cond and x.size:
        cv = _clean(finite_or_zero(np.abs(fl(grad)) * cond_abs(x)), value, x)
        cg = _clean(np.where(fvals(x) > 0, 1.0, 0.0), grad, x)
    return OpOutput(Part(value, cv), {"x": Part(grad, cg)})


@scalar_safe
def xlogy_op(x, y, *, want_cond=True) -> OpOutput:
    """xlogy(x, y) = x log y, 0 where x = 0 (y not NaN).

    grads: d/dx = log y;  d/dy = x / y (0 where x = 0: limit).
    Hessian: d2/dx2 = 0, d2/dxdy = 1/y, d2/dy2 = -x/y^2.
    cond(value) = |x| (|log y| + 1);  cond(grad x) = |1/y||y| = 1;  cond(grad y) = 2 |x/y|.
    """
    same_shape(x, y, ("x", "y"))
    value = as_obj(xlogy(x, y))
    gx = as_obj(np.log(y)) if y.size else full(y.shape, 0)
    gy = as_obj(x / y) if y.size else full(y.shape, 0)
    return _elementwise(value, gx, gy, x, y, want_cond,
                        lambda fy, fgx, fgy: (np.where(fy != 0, 1.0, 0.0), 2 * np.abs(finite_or_zero(fgy))))


def _xlog1py1(x: X, y: X) -> X:
    if x.k == NAN or y.k == NAN:
        return X(NAN)
    if x.is_zero():
        return X.from_float(0.0)
    return x * y.log1p()


def _xlog1py_dy1(x: X, y: X) -> X:
    if x.k == NAN or y.k == NAN:
        return X(NAN)
    if x.is_zero() and is_limit():
        # the function is 0 along x = 0: exactly 0 (x is an exact zero: 0 * inf = 0 at y = -1), written as a
        # product with x so that a dual number's tangent keeps d/dx (x / (1 + y)) = 1 / (1 + y) (the hvp)
        return x * (1 / (1 + y))
    return x / (1 + y)


@scalar_safe
def xlog1py_op(x, y, *, want_cond=True) -> OpOutput:
    """xlog1py(x, y) = x log(1 + y), 0 where x = 0 (y not NaN); NaN for y < -1 (x != 0).

    grads: d/dx = log1p(y);  d/dy = x / (1 + y) (0 where x = 0: limit).
    Hessian: d2/dx2 = 0, d2/dxdy = 1/(1 + y), d2/dy2 = -x/(1 + y)^2.
    cond(value) = |log1p y||x| + |x/(1+y)||y|;  cond(grad x) = |y/(1+y)|;
    cond(grad y) = |x/(1+y)| (1 + |y/(1+y)|).
    """
    same_shape(x, y, ("x", "y"))
    if not x.size:
        z = full(x.shape, 0)
        return _elementwise(z, z, z, x, y, want_cond, lambda fy, fgx, fgy: (np.zeros(fy.shape),) * 2)
    value = as_obj(np.frompyfunc(_xlog1py1, 2, 1)(x, y))
    gx = as_obj(np.log1p(y))
    gy = as_obj(np.frompyfunc(_xlog1py_dy1, 2, 1)(x, y))

    def grad_cond(fy, fgx, fgy):
        with np.errstate(all="ignore"):
            r = np.abs(fy / (1 + fy))
        return finite_or_zero(r), finite_or_zero(np.abs(fgy) * (1 + r))

    return _elementwise(value, gx, gy, x, y, want_cond, grad_cond)


@scalar_safe
def rel_entr_op(x, y, *, want_cond=True) -> OpOutput:
    """rel_entr(x, y) = x log(x/y) for x > 0, y > 0; 0 for x = 0, y >= 0; +inf otherwise (scipy).

    grads: d/dx = log(x/y) + 1;  d/dy = -x/y  (limits: (0,0) -> (+inf, 0); outside the domain NaN).
    Hessian: d2/dx2 = 1/x, d2/dxdy = -1/y, d2/dy2 = x/y^2:
    cond(value) = |log(x/y) + 1||x| + |x/y||y|;  cond(grad x) = 2;  cond(grad y) = 2 |x/y|.
    """
    same_shape(x, y, ("x", "y"))
    value = as_obj(rel_entr(x, y, np.inf))
    gx, gy = as_obj(rel_entr_dx(x, y)), as_obj(rel_entr_dy(x, y))
    return _elementwise(value, gx, gy, x, y, want_cond,
                        lambda fy, fgx, fgy: (np.full(fy.shape, 2.0), 2 * np.abs(finite_or_zero(fgy))))


def _gkl1(x: X, y: X) -> X:
    if x.k == NAN or y.k == NAN:
        return X(NAN)
    sx, sy = x.sign(), y.sign()
    if sx is None or sy is None:
        return X(UND)
    if sx == 0 and sy >= 0:
        return y
    if sx == 1 and sy == 1:
        if not (x.finite and y.finite):  # inf/inf is NaN; otherwise x log(x/y) or y grows without bound
            return X(NAN) if not (x.finite or y.finite) else X(POS)
        return x * (x / y).log() - x + y
    return X(POS)  # x > 0 = y, or outside the domain


def _gkl_dx1(x: X, y: X) -> X:
    return rel_entr_dx1(x, y) - 1


def _gkl_dy1(x: X, y: X) -> X:
    return rel_entr_dy1(x, y) + 1


@scalar_safe
def generalized_kl(x, y, *, want_cond=True) -> OpOutput:
    """generalized_kl(x, y) = x log(x/y) - x + y for x > 0, y > 0; y for x = 0, y >= 0; +inf otherwise
    (scipy.special.kl_div). With an infinite argument the value is +inf (NaN for inf/inf).

    grads: d/dx = log(x/y);  d/dy = 1 - x/y  (limits: (0,0) -> (+inf, 1); outside the domain NaN).
    Hessian: d2/dx2 = 1/x, d2/dxdy = -1/y, d2/dy2 = x/y^2:
    cond(value) = |log(x/y)||x| + |1 - x/y||y|;  cond(grad x) = 2;  cond(grad y) = 2 |x/y|.
    """
    same_shape(x, y, ("x", "y"))
    value = as_obj(np.frompyfunc(_gkl1, 2, 1)(x, y))
    gx = as_obj(np.frompyfunc(_gkl_dx1, 2, 1)(x, y))
    gy = as_obj(np.frompyfunc(_gkl_dy1, 2, 1)(x, y))
    return _elementwise(value, gx, gy, x, y, want_cond,
                        lambda fy, fgx, fgy: (np.full(fy.shape, 2.0), 2 * np.abs(finite_or_zero(fgy - 1))))


# entropy -------------------------------------------------------------------------------------------------
def entropy(p, *, axis=-1, base="e", normalize=False, want_cond=True) -> OpOutput:
    """H(p) = -sum_i p_i log p_i / ln(base) over `axis` (0 log 0 = 0).

    normalize=false: grad g_i = -(log p_i + 1) / ln b (+inf at p_i = 0; NaN for p_i < 0).
        Hessian diagonal -1/(p_i ln b):  cond(H) = sum_i |log p_i + 1||p_i| / ln b;  cond(g_i) = 1 / ln b.
    normalize=true: p_hat = p / T, T = sum p, H = H(p_hat);  g_j = -(log p_hat_j + H_e) / (T ln b)
        (H_e the entropy in nats). Hessian d g_j / d p_k = [-delta_jk/(p_j T) + (1 + a_j + a_k)/T^2] / ln b
        with a = log p_hat + H_e, so cond(g_j) = sum_k |-delta_jk + (1 + a_j + a_k) p_hat_k| / (|T| ln b)
        (a_k p_hat_k -> 0 at p_hat_k = 0). A row with a non-finite entry or T = 0 is NaN.
    """
    ax = class_axis(axis, p.ndim)
    norm = check_bool("normalize", normalize)
    lnb = log_base(base)
    rows, outer = to_rows(p, ax)
    R, C = rows.shape
    if norm:
        ph, T, bad = normalize_rows(rows)
    else:
        ph, T, bad = rows, None, np.zeros(R, dtype=bool)
    terms = -as_obj(xlogy(ph, ph)) if C else full((R, C), 0)
    He = xsum(terms, axis=1)
    H = He / lnb
    if not C:
        grad = full((R, C), 0)
    elif norm:
        grad = -(np.log(ph) + He[:, None]) / (T[:, None] * lnb)
    else:
        grad = -(np.log(rows) + 1) / lnb
    if norm:
        for r in np.nonzero(bad)[0]:
            H[r] = X(NAN)
            grad[r] = X(NAN)
    poison(H, grad)
    cond_v = np.zeros(R)
    cond_g = np.zeros((R, C))
    if want_cond and R and C:
        ap = cond_abs(rows)
        gf = fl(grad)
        cond_v = np.sum(finite_or_zero(np.abs(gf) * ap), axis=1)
        lb = lnb.to_float()
        if norm:
            phf = fl(ph)
            a = np.log(np.where(phf > 0, phf, 1.0)) + fl(He)[:, None]
            a_p = np.where(phf > 0, a * phf, 0.0)
            inner = (-np.eye(C)[None] + (1 + a[:, :, None]) * phf[:, None, :] + a_p[:, None, :])
            tf = np.abs(fl(T))
            cond_g = np.sum(np.abs(inner), axis=2) / (tf[:, None] * lb)
        else:
            cond_g = np.where(fvals(rows) > 0, 1.0 / lb, 0.0)
        cond_g = _clean(cond_g, grad)
        rowbad = ~np.isfinite(fvals(rows)).all(axis=1)
        cond_v = np.where(rowbad | ~np.isfinite(fl(H)), 0.0, cond_v)
        cond_g = np.where(rowbad[:, None], 0.0, cond_g)
    value = H.reshape(outer)
    return OpOutput(Part(value, np.asarray(cond_v).reshape(outer)),
                    {"p": Part(from_rows(grad, outer, ax), from_rows(cond_g, outer, ax))})


def cross_entropy_dist(p, q, *, axis=-1, base="e", normalize="none", clip=None, label_smoothing=0.0,
                       reduction="none", want_cond=True) -> OpOutput:
    """H(p, q) = -sum_i p_i log q_i / ln(base) over `axis` (0 log 0 = 0); p may be int labels (one-hot).

    label_smoothing e: p is replaced by (1 - e) p + e/C first (C classes; Keras's label_smoothing).
    normalize "q": q / sum q first; "both": p / sum p as well. clip [lo, hi] clamps q (after normalising).
    grads (reduction "sum"; "mean" divides by the number of rows):
        d/dq_i = -c_i p_i / q_i / ln b   (normalised q: (u_j + sum_i c_i p_i) / Q with u = -c p'/q'),
        d/dp_i = -log q_i / ln b         (normalised p: (-log q'_j - H_e) / (P ln b)), times (1 - e).
    cond: see reference.ops.two_dist (second derivatives p/q^2, -1/q, 0, chained through clip/normalise).
    """
    return two_dist("ce", p, q, axis=axis, base=base, normalize=normalize, clip=clip, reduction=reduction,
                    want_cond=want_cond, label_smoothing=label_smoothing)


def kl_divergence(p, q, *, axis=-1, base="e", normalize="none", clip=None, reduction="none",
                  want_cond=True) -> OpOutput:
    """KL(p || q) = sum_i p_i log(p_i / q_i) / ln(base) over `axis`, each term rel_entr(p_i, q_i): 0 at
    p_i = 0, +inf at p_i > 0 = q_i, NaN for a negative p_i or q_i; p log(p/q) is exactly 0 where p = q.

    normalize "q" / "both" as in cross_entropy_dist; clip [lo, hi] clamps p and q (after normalising).
    grads (reduction "sum"): d/dp_i = (log(p_i/q_i) + 1) / ln b,  d/dq_i = -p_i / q_i / ln b, chained
        through clip (0 outside (lo, hi)) and normalisation ((u_j - sum_i u_i z^_i) / Z).
    cond: see reference.ops.two_dist (second derivatives p/q^2, -1/q, 1/p).
    """
    return two_dist("kl", p, q, axis=axis, base=base, normalize=normalize, clip=clip, reduction=reduction,
                    want_cond=want_cond)


_DIST_DEFAULTS = {"axis": -1, "base": "e", "normalize": "none", "clip": None, "reduction": "none"}

SPECS = [  # in the report's order (docs/ops.md)
    spec("entropy", [Input("p", domain="prob", class_axis=True)], {"axis": -1, "base": "e", "normalize": False},
         entropy, "information"),
    spec("cross_entropy_dist", [Input("p", "labels_or_float", like="q", domain="target", class_axis=True),
                                Input("q", domain="prob", class_axis=True)], {**_DIST_DEFAULTS, "label_smoothing": 0.0},
         cross_entropy_dist, "information"),
    spec("kl_divergence", [Input("p", domain="prob", class_axis=True), Input("q", domain="prob", class_axis=True)],
         _DIST_DEFAULTS, kl_divergence, "information"),
    spec("entr", [Input("x", domain="prob")], {}, entr, "information"),
    spec("xlogy", [Input("x", domain="prob"), Input("y", domain="prob")], {}, xlogy_op, "information"),
    spec("xlog1py", [Input("x", domain="prob"), Input("y", domain="prob")], {}, xlog1py_op, "information"),
    spec("rel_entr", [Input("x", domain="prob"), Input("y", domain="prob")], {}, rel_entr_op, "information"),
    spec("generalized_kl", [Input("x", domain="prob"), Input("y", domain="prob")], {}, generalized_kl, "information"),
]
