"""Float64 approximations of a certified answer's exact values and cond quantities, for the one figure of a
part that its certified, correctly rounded values do not already decide: the bound ratio the judge reports
for a part it found accurate (conformance/judge/verdict.py; docs/results.md, "Exact digits on demand").

approximate(op, dtype, inputs, params) -> {part key: Approx} | None

Covered (None for anything else): cross_entropy with integer targets, label_smoothing 0, class weights >= 0,
float32 / float16 / bfloat16 cases with finite inputs (each input value is a float64 exactly). With rows x
(R, C) (the class axis last), m_r the row max, y_r the label, a_r = w_{y_r} (1 without weights; 0 for an
ignored item), in plain float64 NumPy:
    e_rj = exp(x_rj - m_r),  S_r = sum_j e_rj,  s = e / S,  sc = (S - e) / S = 1 - s
    loss_r = a_r (log S_r - (x_{r,y} - m_r))                      (two non-negative terms: no cancellation)
    g_rj   = a_r s_rj (j != y_r),  -a_r sc_{r,y} (j = y_r)
    value: loss (reduction "none"), sum_r loss_r ("sum"), that sum / D ("mean"; D = sum of a_r over counted
    items for "weight_sum", their number for "count"); the mean's gradient is g / D.
cond, the arb path's formulas (reference/ops/cross_entropy.py with e = 0; reference/ops/softmax.py):
    cond(loss_r) = sum_j |g_rj| |x_rj|,   cond(g_rj) = a_r s_rj (sc_rj |x_rj| + sum_{k != j} s_rk |x_rk|)
    "sum": cond(value) = sum_r cond(loss_r);  "mean": that / D and cond(g) / D.
Accuracy: every quantity is a short chain of correctly rounded float64 operations on non-negative terms
(NumPy's exp <= 1 ulp, pairwise sums of length <= C or R), so each approximation's relative error is at most
K u, u = 2**-53, K = 4 log2(C) + 4 log2(R) + 16 (a value below float64's normal range may be further off
relatively, but by less than 2**-1000 absolutely, far below the bound's smallest-subnormal term). The judge divides |observed - approx| by a bound of at
least 2 u_d |rounded| + the dtype's smallest subnormal (u_d >= 2**-24, the case dtype's unit roundoff;
|rounded| >= |exact| / 2 or |exact| below half that subnormal), so the reported ratio is within
K u / u_d <= K 2**-29 of the ratio from the exact value (ratio_error(); 1.5e-7 for one row of 32768 classes):
a figure, never a decision (the verdict comes from the certified rounded values).
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reference.errors import CaseError

DTYPES = ("float32", "float16", "bfloat16")


@dataclass
class Approx:
    """One part: `value` approximates each element's exact value, `cond` its cond quantity (float64 arrays
    of the part's shape); `rel_error` bounds |value - exact| / |exact| (module docstring, K u)."""

    value: np.ndarray
    cond: np.ndarray
    rel_error: float


def ratio_error(a: Approx) -> float:
    """An upper bound on the absolute error of a bound ratio the judge computes from `a` (module docstring)."""
    return a.rel_error * 2.0 ** 24


def approximate(op: str, dtype: str, inputs: dict, params: dict | None) -> dict | None:
    """{"value": Approx, "grad:logits": Approx} for a covered case (module docstring), else None."""
    if op != "cross_entropy" or dtype not in DTYPES:
        return None
    from reference.case import prepare

    try:
        case = prepare(op, dtype, inputs, params)
    except CaseError:
        return None
    p = case.params
    if "target" not in case.labels or "logits" not in case.floats or float(p.get("label_smoothing") or 0) != 0:
        return None
    if p["reduction"] not in ("none", "sum", "mean") or p["mean_denominator"] not in ("count", "weight_sum"):
        return None
    x = case.floats["logits"]
    axis = p["axis"]
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or not -x.ndim <= axis < x.ndim:
        return None
    if x.size == 0 or not np.isfinite(x).all():
        return None
    ax = int(axis) % x.ndim
    rows = np.moveaxis(x, ax, -1)
    outer = rows.shape[:-1]
    rows = rows.reshape(-1, rows.shape[-1])
    R, C = rows.shape
    y = case.labels["target"].reshape(-1)
    if y.size != R:
        return None
    ignore = p["ignore_index"]
    counted = np.ones(R, dtype=bool) if ignore is None else y != ignore
    if np.any(counted & ((y < 0) | (y >= C))):
        return None
    w = p["weight"]
    wv = np.ones(C) if w is None else np.asarray(w, dtype=np.float64)
    if wv.shape != (C,) or not np.isfinite(wv).all() or np.any(wv < 0):
        return None
    yc = np.where(counted, y, 0)
    idx = np.arange(R)
    a = np.where(counted, wv[yc], 0.0)
    with np.errstate(all="ignore"):  # the formulas above, with as few temporary arrays as they allow
        m = rows.max(axis=1, keepdims=True)
        d = rows - m
        e = np.exp(d)
        S = e.sum(axis=1, keepdims=True)
        loss = a * (np.log(S[:, 0]) - d[idx, yc])
        absx = np.abs(rows, out=d)
        s = e / S
        sc = np.subtract(S, e, out=e)
        sc /= S
        g = a[:, None] * s
        g[idx, yc] = -a * sc[idx, yc]
        others = s * absx  # s_k |x_k|, then the sum over k != j
        np.subtract(others.sum(axis=1, keepdims=True), others, out=others)
        np.maximum(others, 0.0, out=others)
        cond_g = np.multiply(sc, absx, out=sc)
        cond_g += others
        cond_g *= s
        cond_g *= a[:, None]
        np.abs(g, out=others)
        others *= absx
        cond_v = others.sum(axis=1)
    reduction = p["reduction"]
    if reduction == "none":
        value, cv = loss.reshape(outer), cond_v.reshape(outer)
    else:
        value, cv = np.float64(np.sum(loss)), np.float64(np.sum(cond_v))
        if reduction == "mean":
            D = float(np.sum(a)) if p["mean_denominator"] == "weight_sum" else float(counted.sum())
            if D == 0:
                return None
            value, cv, g, cond_g = value / D, cv / D, g / D, cond_g / D
    def back(arr):
        return np.moveaxis(arr.reshape(tuple(outer) + (C,)), -1, ax)

    if not (np.isfinite(value).all() and np.isfinite(g).all() and np.isfinite(cond_g).all() and np.isfinite(cv).all()):
        return None
    k = (4 * math.log2(max(C, 2)) + 4 * math.log2(max(R, 2)) + 16) * 2.0 ** -53
    return {"value": Approx(np.asarray(value, dtype=np.float64), np.asarray(cv, dtype=np.float64), k),
            "grad:logits": Approx(back(g), back(cond_g), k)}
