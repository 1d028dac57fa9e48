"""The derivative parts of one case at the current working precision: vjp:IN, jvp:IN, hvp:IN.

With f the op's output (reduced or not), x the differentiable inputs, v the cotangent (shape of f; ones when
not given) and t the tangents (one array per differentiable input):
    vjp:IN = v^T J_IN                              = d/dIN (v . f)
    jvp:IN = J_IN t_IN                             (the directional derivative along IN's tangent alone)
    hvp:IN = d/dIN [ d/dh (v . f)(x + h t) ]       = (H_v t)_IN, H_v the Hessian of v . f over all inputs
             (for a scalar loss and v = 1 the Hessian-vector product H t; for reduction "none" VJP-of-VJP)
How each is computed (F_v = the VJP formula, evaluated in ball arithmetic):
    * ops whose output items each depend on one element or one class-axis row of the inputs ("items":
      elementwise ops, row losses with reduction "none", every op with a scalar output): the op's
      certified gradient g is the gradient of sum(items), so F_v = v_item g (v broadcast over the class
      axis; a scalar v for a scalar output) and jvp:IN = sum over the item's elements of g t_IN;
    * softmax and log_softmax (every output element depends on its whole row): F_v = s (v - <v, s>) and
      v - s sum(v) (s = softmax), jvp:IN = the tangent of the value (forward mode, reference.derivs.dual);
    * hvp: the tangent of F_v when the inputs carry tangents t (forward mode over the op's own gradient
      formula: the Hessians the op docstrings state, evaluated).
Cond quantities (docs/verdicts.md: sum |d part / d x_k| |x_k| over perturbed inputs, plus the share of the
cotangent and tangent, which a backward-stable algorithm may perturb too):
    cond(vjp) = |v| cond(g) + |v| |g|   (items; vector ops: direction passes, below)
    cond(jvp) <= sum_j |t_j| cond(g_j) + |g_j| |t_j| over the item's elements (items; the triangle
                 inequality on sum_k |(H t)_k| |x_k|), exact sums from direction passes for vector ops;
    cond(hvp) = sum_k |d hvp / d x_k| |x_k| + |H_v|_{.k} |t_k| + the cotangent share, from nested dual passes
                 (eps1 along t, eps2 along e_k: third derivatives exactly), one pass per input and class index
                 (one per input for elementwise ops). A mean whose denominator depends on the inputs
                 (cross_entropy, probability targets, "weight_sum") leaves the denominator's cross-item
                 terms out.
"""
from __future__ import annotations

import numpy as np

from reference.derivs.dual import seed
from reference.ext import X, xs, xsum
from reference.ops.common import class_axis, cond_abs, target_abs

VECTOR_OPS = ("softmax", "log_softmax")
_TARGET_DOMAINS = ("binary", "target")


def layout(case) -> str:
    """"vector", "rows" (one item per class-axis row), "scalar" (a reduced output) or "elementwise"."""
    spec = case.spec
    if spec.name in VECTOR_OPS:
        return "vector"
    if case.params.get("reduction", "none") != "none":
        return "scalar"
    if spec.dims is not None:  # items share inputs (linear_cross_entropy's weight and bias): reference.derivs.shared
        return "shared"
    return "rows" if spec.class_axis_inputs else "elementwise"


def float_inputs(case) -> list[str]:
    """The differentiable inputs that are floating in this case (labels get no derivative)."""
    return [n for n in case.spec.differentiable if n in case.floats]


def _axis(case) -> int | None:
    if not case.spec.class_axis_inputs:
        return None
    floating = [n for n in case.spec.class_axis_inputs if n in case.floats]  # labels have no class axis
    return class_axis(case.params["axis"], case.floats[floating[0]].ndim) if floating else None


def _run(case, eps1: dict | None, eps2: dict | None = None):
    """The op on inputs carrying tangents: eps1 (inner level) and, nested, eps2 (outer level); a missing
    input's tangent is an exact zero."""
    args = {}
    for name, arr in case.floats.items():
        t1 = (eps1 or {}).get(name)
        x = seed(xs(arr), None if t1 is None else xs(t1))
        if eps2 is not None:
            t2 = eps2.get(name)
            x = seed(x, None if t2 is None else seed(xs(t2), None))
        args[name] = x
    args.update(case.labels)
    with np.errstate(all="ignore"):
        return case.spec.fn(**args, **case.params, want_cond=False)


def vjp_formula(case, out, v: np.ndarray, kind: str, ax) -> dict:
    """F_v for every differentiable floating input: {name: object array shaped like the input}."""
    names = float_inputs(case)
    if kind == "vector":
        f = out.value.val
        if not f.size:
            return {names[0]: f}
        if case.spec.name == "softmax":  # a masked class (where=) has f = 0: its row of F_v is 0 too
            return {names[0]: f * (v - np.expand_dims(xsum(v * f, axis=ax), ax))}
        keep = case.params.get("where")
        if keep is None:
            return {names[0]: v - np.exp(f) * np.expand_dims(xsum(v, axis=ax), ax)}
        kept_v = np.where(keep, v, X.from_float(0.0))  # log_softmax(where=): masked outputs are constants
        return {names[0]: np.where(keep, kept_v - np.exp(f) * np.expand_dims(xsum(kept_v, axis=ax), ax),
                                   X.from_float(0.0))}
    out_v = {}
    for name in names:
        g = out.grads[name].val
        if kind == "scalar":
            vb = v[()]
            out_v[name] = np.vectorize(lambda x: vb * x, otypes=[object])(g) if g.size else g
        elif kind == "rows":
            out_v[name] = np.expand_dims(v, ax) * g if g.size else g
        else:
            out_v[name] = v * g if g.ndim else _zero_d(v[()] * g[()])
    return out_v


def _zero_d(x) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def item_sum(a: np.ndarray, kind: str, ax) -> np.ndarray:
    """Sum of an input-shaped array over each item's elements (value-shaped)."""
    if kind == "scalar":
        return _zero_d(xsum(a.reshape(-1)))
    if kind == "rows":
        return xsum(a, axis=ax)
    return a


def _item_sum_f(a: np.ndarray, kind: str, ax) -> np.ndarray:
    if kind == "scalar":
        return np.asarray(np.sum(a))
    if kind == "rows":
        return np.sum(a, axis=ax)
    return a


def perturbed_abs(case, name: str) -> np.ndarray:
    """|x| of an input as the cond quantities count it: a hard 0/1 target element is exact data."""
    inp = next(i for i in case.spec.inputs if i.name == name)
    arr = case.floats[name]
    return target_abs(arr) if inp.domain in _TARGET_DOMAINS else cond_abs(arr)
