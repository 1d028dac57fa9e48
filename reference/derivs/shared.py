"""vjp and jvp of an op whose items share some inputs (linear_cross_entropy with reduction "none": item n reads
row n of `input` and all of linear_weight and linear_bias), from the op run once per item.

With g_n = the certified gradient of item n alone (the op on row n, reduction "sum"), v the cotangent and t the
tangents:
    vjp:input[n] = v_n g_n[input],          vjp:K = sum_n v_n g_n[K]   for the shared inputs K
    jvp:K[n]     = sum over K's elements of g_n[K] t_K   (for input: row n only)
    cond(vjp)    = |v| (cond(g) + |g|), summed like the vjp;   cond(jvp_n) = sum |t| cond(g_n) + |g_n| |t|
(the cotangent's and tangent's share included, as reference.derivs.parts states for item-wise ops).
hvp: reference.derivs.shared_hvp.
"""
from __future__ import annotations

import numpy as np

from reference.ext import xs, xsum
from reference.ops.spec import Part
from reference.ops.xlog import finite_or_zero, fl

ITEM_INPUT = "input"  # the input whose rows are the items; every other floating input is shared


def _abs(a) -> np.ndarray:
    return finite_or_zero(np.abs(fl(a)))


def _item_output(case, n: int, want_cond: bool):
    args = {name: xs(arr[n:n + 1] if name == ITEM_INPUT else arr) for name, arr in case.floats.items()}
    args.update({name: labels[n:n + 1] for name, labels in case.labels.items()})
    params = {**case.params, "reduction": "sum"}
    with np.errstate(all="ignore"):
        return case.spec.fn(**args, **params, want_cond=want_cond)


def compute(case, req, names: list, base, want_cond: bool, undefined_where_value_is) -> dict:
    """{part name: Part} for the request's vjp and jvp parts (base: the op's own output on the case; the
    caller's undefined_where_value_is makes a jvp NaN where its item's value is)."""
    N = case.floats[ITEM_INPUT].shape[0]
    items = [_item_output(case, n, want_cond) for n in range(N)]
    parts = {}
    if req.cotangent is not None:
        v = xs(req.cotangent)
        vabs = np.abs(np.where(np.isfinite(req.cotangent), req.cotangent, 0.0))
        for name in names:
            shape = case.floats[name].shape
            if name == ITEM_INPUT:
                val = np.concatenate([v[n] * items[n].grads[name].val for n in range(N)]) if N else \
                    np.empty(shape, dtype=object)
                cond = (np.concatenate([vabs[n] * (items[n].grads[name].cond + _abs(items[n].grads[name].val))
                                        for n in range(N)]) if N and want_cond else np.zeros(shape))
            else:
                terms = [v[n] * items[n].grads[name].val for n in range(N)]
                val = _sum_arrays(terms, shape)
                cond = (sum(vabs[n] * (items[n].grads[name].cond + _abs(items[n].grads[name].val)) for n in range(N))
                        if N and want_cond else np.zeros(shape))
            parts[f"vjp:{name}"] = Part(val, np.asarray(cond, dtype=np.float64).reshape(shape))
    for name, t in req.tangents.items():
        jvp = np.empty((N,), dtype=object)
        cond = np.zeros(N)
        for n in range(N):
            tn = t[n:n + 1] if name == ITEM_INPUT else t
            g = items[n].grads[name]
            jvp[n] = xsum((g.val * xs(tn)).reshape(-1))
            if want_cond:
                ta = np.abs(np.where(np.isfinite(tn), tn, 0.0))
                cond[n] = float(np.sum(ta * g.cond + _abs(g.val) * ta))
        parts[f"jvp:{name}"] = Part(undefined_where_value_is(jvp, base.value.val), cond)
    return parts


def _sum_arrays(terms: list, shape: tuple) -> np.ndarray:
    out = np.empty(shape, dtype=object)
    for idx in np.ndindex(*shape):
        out[idx] = xsum(np.array([t[idx] for t in terms], dtype=object)) if terms else xs(np.zeros(1))[0]
    return out
