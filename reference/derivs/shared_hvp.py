"""hvp of ops whose items share inputs (linear_cross_entropy: item n reads row n of `input` and the whole
linear_weight W and linear_bias b; reference.derivs.shared has their vjp and jvp).

With f the op's output, v the cotangent (ones when not given) and t the tangents (one per differentiable input):
    reduction "sum" / "mean" (a scalar loss L; the mean's denominator depends on the labels only):
        hvp:K = v (H t)_K = v d/dh [dL/dK (x + h t)] at h = 0,
    reduction "none" (VJP-of-VJP, d/dK (v^T J) t), with L_n the loss of item n alone (the op on row n,
    reduction "sum"), t_n = (t_input[n], t_W, t_b):
        hvp:input[n] = v_n (H_n t_n)_input,      hvp:K = sum_n v_n (H_n t_n)_K   for the shared K = W, b.
Each (H t) is the tangent of the op's certified gradient evaluated on dual inputs (reference.derivs.dual):
forward mode over the gradient formulas G W, G^T x, sum_n G of reference/ops/linear.py, i.e. with
dz = t_x W^T + x t_W^T + t_b and H_z the logits' Hessian (cross_entropy's),
        (H t)_input = (H_z dz) W + G t_W,   (H t)_W = (H_z dz)^T x + G^T t_x,   (H t)_b = sum_n (H_z dz)_n.
Cond (docs/verdicts.md; as reference.derivs.parts states for the other ops), per unit u (the whole case for a
reduced loss, item n for "none") and summed over the units for a shared input (triangle inequality):
    cond(hvp_j) = sum_u |v_u| (sum_k |d (H_u t)_j / d x_k| |x_k| + |(H_u)_jk| |t_k| + |(H_u t)_j|)
with one nested dual pass per input element k of the unit (eps1 along t, eps2 along e_k: the third
derivatives and the Hessian's column exactly); the last term is the cotangent's share.
"""
from __future__ import annotations

import numpy as np

from reference.derivs.dual import primal, seed, tangent
from reference.derivs.parts import perturbed_abs
from reference.derivs.shared import ITEM_INPUT
from reference.ext import xs, xsum
from reference.ops.spec import Part
from reference.ops.xlog import finite_or_zero, fl


def _abs(a) -> np.ndarray:
    return finite_or_zero(np.abs(fl(a)))


def _units(case, vf: np.ndarray) -> list:
    """[(rows of the item input or None for all, cotangent as float, params)] for the case's reduction."""
    if case.params.get("reduction", "mean") != "none":
        return [(None, float(vf[()]), case.params)]
    params = {**case.params, "reduction": "sum"}
    return [((n, n + 1), float(vf[n]), params) for n in range(case.floats[ITEM_INPUT].shape[0])]


def _slice(name: str, arr: np.ndarray, rows):
    return arr if rows is None or name != ITEM_INPUT else arr[rows[0]:rows[1]]


def _run(case, rows, params, eps1: dict, eps2: dict | None = None):
    """The op on the unit's inputs carrying tangents eps1 (inner) and, nested, eps2 (outer)."""
    args = {}
    for name, arr in case.floats.items():
        t1 = eps1.get(name)
        x = seed(xs(_slice(name, arr, rows)), None if t1 is None else xs(_slice(name, t1, rows)))
        if eps2 is not None:
            t2 = eps2.get(name)
            x = seed(x, None if t2 is None else seed(xs(t2), None))
        args[name] = x
    args.update({name: (labels if rows is None else labels[rows[0]:rows[1]]) for name, labels in case.labels.items()})
    with np.errstate(all="ignore"):
        return case.spec.fn(**args, **params, want_cond=False)


def compute(case, req, names: list, vf: np.ndarray, want_cond: bool) -> dict:
    """{"hvp:K": Part} for every differentiable floating input K (req.tangents holds one tangent for each)."""
    units = _units(case, vf)
    per_item = case.params.get("reduction", "mean") == "none"
    terms = {name: [] for name in names}  # shared inputs: per-unit object arrays v_u (H_u t)_K
    rows_out = {name: [] for name in names}  # the item input under "none": per-item rows
    conds = {name: np.zeros(case.floats[name].shape) for name in names}
    for rows, v, params in units:
        out = _run(case, rows, params, req.tangents)
        vx = xs(np.asarray(v))[()]
        for name in names:
            ht = tangent(out.grads[name].val)
            scaled = np.vectorize(lambda a: vx * a, otypes=[object])(ht) if ht.size else ht
            (rows_out if rows is not None and name == ITEM_INPUT else terms)[name].append(scaled)
            if want_cond:
                _place(conds, name, rows, abs(v) * _abs(ht))
        if want_cond and v != 0:
            _unit_conds(case, rows, params, req.tangents, names, abs(v), conds)
    parts = {}
    for name in names:
        shape = case.floats[name].shape
        if name == ITEM_INPUT and per_item:
            val = np.concatenate(rows_out[name]) if rows_out[name] else np.empty(shape, dtype=object)
        else:
            val = _sum_units(terms[name], shape)
        c = np.where(np.isfinite(fl(val)) & np.isfinite(conds[name]), conds[name], 0.0) if want_cond else \
            np.zeros(shape)
        parts[f"hvp:{name}"] = Part(np.asarray(val, dtype=object).reshape(shape), np.asarray(c, dtype=np.float64))
    return parts


def _place(conds: dict, name: str, rows, add: np.ndarray) -> None:
    if rows is None or name != ITEM_INPUT:
        conds[name] += add
    else:
        conds[name][rows[0]:rows[1]] += add


def _sum_units(arrays: list, shape: tuple) -> np.ndarray:
    if len(arrays) == 1:
        return arrays[0]
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = xsum(np.array([a[idx] for a in arrays], dtype=object)) if arrays else xs(np.zeros(1))[0]
    return out


def _unit_conds(case, rows, params, tangents: dict, names: list, vabs: float, conds: dict) -> None:
    """Add |v_u| (sum_k |d (H_u t)_J / d x_k| |x_k| + |(H_u)_Jk| |t_k|) to conds[J] for every J: one nested
    pass per element k of each input K within the unit."""
    for K in names:
        xK = _slice(K, perturbed_abs(case, K), rows)
        tK = _slice(K, tangents[K], rows)
        tK = np.abs(np.where(np.isfinite(tK), tK, 0.0))
        for k in np.ndindex(*xK.shape):
            if xK[k] == 0 and tK[k] == 0:
                continue  # neither share counts: no pass
            e = np.zeros(xK.shape)
            e[k] = 1.0
            out = _run(case, rows, params, tangents, {K: e})
            for J in names:
                d2 = tangent(out.grads[J].val)
                add = vabs * (_abs(tangent(d2)) * xK[k] + _abs(primal(d2)) * tK[k])
                _place(conds, J, rows, add)
