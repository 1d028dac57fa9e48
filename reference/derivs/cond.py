"""Cond quantities of the derivative parts (the formulas are in reference.derivs.parts' docstring).

A direction pass seeds eps2 = e_{K,c} (input K, ones at class index c of every row; ones everywhere for an
op without a class axis: its items are elementwise) on top of eps1 = the hvp tangents, and reads
    d y / d x_{K,c}  (eps2),   d (J t) / d x_{K,c}  (eps1 eps2)        of the value y,
    d F_v / d x_{K,c} (eps2),  d hvp / d x_{K,c}    (eps1 eps2)        of the VJP formula F_v.
Every output element j belongs to one row (or element), so |x_K| at (row of j, c) weights its partial.
"""
from __future__ import annotations

import numpy as np

from reference.derivs.dual import primal, tangent
from reference.derivs.parts import (_item_sum_f, _run, float_inputs, perturbed_abs, vjp_formula)
from reference.ext import xs
from reference.ops.xlog import finite_or_zero, fl


def _abs(a) -> np.ndarray:
    return finite_or_zero(np.abs(fl(a)))


def _directions(case, ax, name):
    """(tangent array e, selector) per direction for input `name`; selector(w) maps an input-shaped weight
    array to the output elements of the direction's rows (broadcast over the class axis)."""
    shape = case.floats[name].shape
    if ax is None:
        yield np.ones(shape), (lambda w: w)
        return
    for c in range(shape[ax]):
        e = np.zeros(shape)
        idx = [slice(None)] * len(shape)
        idx[ax] = c
        e[tuple(idx)] = 1.0

        def pick(w, idx=tuple(idx)):
            return np.broadcast_to(np.expand_dims(w[idx], ax), shape)
        yield e, pick


def _at_class(total: np.ndarray, ax, c_idx, shape) -> np.ndarray:
    """A row-wise quantity (value shape without the class axis) placed at class c of an input-shaped array."""
    out = np.zeros(shape)
    out[c_idx] = total
    return out


def fill_conds(case, req, kind, ax, base, vf, parts) -> None:
    """Set parts[*].cond in place."""
    names = float_inputs(case)
    vabs = np.abs(np.where(np.isfinite(vf), vf, 0.0))
    conds = {k: np.zeros(p.val.shape) for k, p in parts.items()}
    if kind != "vector":
        vb = vabs if kind == "elementwise" else (np.expand_dims(vabs, ax) if kind == "rows" else vabs[()])
        for name in names:
            g = base.grads[name]
            if f"vjp:{name}" in parts:
                conds[f"vjp:{name}"] = vb * g.cond + vb * _abs(g.val)
            if name in req.tangents:
                ta = np.abs(np.where(np.isfinite(req.tangents[name]), req.tangents[name], 0.0))
                conds[f"jvp:{name}"] = _item_sum_f(ta * g.cond + _abs(g.val) * ta, kind, ax)
    need = req.hvp or (kind == "vector" and (req.cotangent is not None or req.tangents))
    if need:
        v = xs(vf)
        eps1 = req.tangents if (req.hvp or kind == "vector") else None
        for K in names:
            wx = perturbed_abs(case, K)
            tK = req.tangents.get(K)
            wt = np.abs(np.where(np.isfinite(tK), tK, 0.0)) if tK is not None else np.zeros(wx.shape)
            for c, (e, pick) in enumerate(_directions(case, ax, K)):
                out = _run(case, eps1, {K: e})
                fv = vjp_formula(case, out, v, kind, ax)
                for J in names:
                    d2 = tangent(fv[J])
                    f_e2, f_e12 = _abs(primal(d2)), _abs(tangent(d2))
                    if req.hvp:
                        conds[f"hvp:{J}"] += f_e12 * pick(wx) + f_e2 * pick(wt)
                    if kind == "vector" and f"vjp:{J}" in parts:
                        conds[f"vjp:{J}"] += f_e2 * pick(wx)
                if kind == "vector":
                    y2 = tangent(out.value.val)
                    y_e2, y_e12 = _abs(primal(y2)), _abs(tangent(y2))
                    idx = [slice(None)] * y_e2.ndim
                    idx[ax] = c
                    if f"vjp:{K}" in parts:
                        conds[f"vjp:{K}"] += _at_class(np.sum(y_e2 * vabs, axis=ax), ax, tuple(idx), y_e2.shape)
                    if f"jvp:{K}" in parts:
                        conds[f"jvp:{K}"] += y_e12 * pick(wx) + y_e2 * pick(wt)
                    if req.hvp:
                        conds[f"hvp:{K}"] += _at_class(np.sum(y_e12 * vabs, axis=ax), ax, tuple(idx), y_e2.shape)
        if req.hvp and kind != "vector":
            for J in names:
                conds[f"hvp:{J}"] += _abs(parts[f"hvp:{J}"].val)  # the cotangent's share (linear in v)
    for k, p in parts.items():
        c = np.where(np.isfinite(fl(p.val)) & np.isfinite(conds[k]), conds[k], 0.0)
        p.cond = np.asarray(c, dtype=np.float64).reshape(p.val.shape)
