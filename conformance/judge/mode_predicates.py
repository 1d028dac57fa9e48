"""Known-divergence predicates of the derivative modes (vjp / jvp / hvp), registered beside those of
known_predicates.py (same contract: a predicate reads only the record's element) by conformance/judge/known.py
at import."""
from __future__ import annotations

import math
from decimal import Decimal

import ml_dtypes
import numpy as np

from conformance.judge.known_predicates import Element, _related

_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _named_related(e: Element, name: str) -> np.ndarray | None:
    """The elements of floating input `name` the failing element depends on (None: no such input)."""
    t = (e.record.get("inputs") or {}).get(name)
    if t is None or t["dtype"].startswith(("int", "uint", "bool")) or not t["data"] or e.index is None:
        return None
    a = np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])
    idx = np.unravel_index(e.index, e.shape) if e.shape else ()
    return _related(a, tuple(idx), e.shape, (e.record.get("params") or {}).get("axis"))


def observed_nan_at_xlogy_corner(e: Element) -> bool:
    """The observed element is NaN where x = 0 and the log's argument is 0 (y = 0 for xlogy, 1 + y = 0 for
    xlog1py): a forward rule x_dot log(y) + y_dot x / y evaluates the other input's term as 0 * (0 / 0) = NaN
    even where that input's tangent is 0."""
    x, y = _named_related(e, "x"), _named_related(e, "y")
    if not math.isnan(e.observed) or x is None or y is None or x.shape != y.shape:
        return False
    arg = y + 1 if e.record.get("op") == "xlog1py" else y
    return bool(((x == 0) & (arg == 0)).any())


def target_zero_at_mismatch(e: Element) -> bool:
    """`target` is 0 where the element fails: where(target == 0, 0, log(target)) takes a constant branch."""
    t = _named_related(e, "target")
    return t is not None and bool((t == 0).any())


def label_y_at_an_end_at_mismatch(e: Element) -> bool:
    """The label `y` is exactly 0 or 1 where the element fails: logsumexp(a, b=[1 - y, y]) masks the entry
    whose b is 0 (a -> -inf), so every derivative through that b is lost."""
    y = _named_related(e, "y")
    return y is not None and bool(((y == 0) | (y == 1)).any())


def relative_error_within_bce_double_backward_eps(e: Element) -> bool:
    """0 < p < 1, |observed - exact| <= 4e-12 (1/p + 1/(1 - p)) max(|observed|, |exact|): a division by
    (p + 1e-12)^2 (1 - p + 1e-12)^2 (torch's BCE double backward; float64 shows it)."""
    p = _named_related(e, "p")
    x = e.exact
    if p is None or x is None or not math.isfinite(e.observed) or not ((p > 0) & (p < 1)).all():
        return False
    scale = float(np.max(1 / p + 1 / (1 - p)))
    return abs(Decimal(e.observed) - x) <= Decimal(4e-12 * scale) * max(abs(Decimal(e.observed)), abs(x))


def observed_zero_where_a_term_is_dropped(e: Element) -> bool:
    """Observed exactly 0: a rule returns no term for this input (TF's softmax CE: no labels second order)."""
    return e.observed == 0.0 and e.exact is not None


def _request_array(e: Element, key: str, name: str | None = None) -> np.ndarray | None:
    """The record's cotangent (key "cotangent") or the tangent of input `name` (key "tangents") as float64."""
    t = (e.record.get("derivative_request") or {}).get(key)
    if name is not None:
        t = (t or {}).get(name)
    if not t or t.get("data") is None:
        return None
    return np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])


def observed_inf_where_cotangent_tangent_difference_overflows(e: Element) -> bool:
    """The observed hvp element is +-inf where the exact one is finite, and at its row the intermediate
    v_n (t_c - <t_n, s_n>) (s_n = softmax of the row's logits, v_n the row's cotangent, divided by the item
    count for a mean) exceeds the dtype's largest finite number: TensorFlow's softmax cross-entropy gradients
    form (grad_grad - <grad_grad, softmax>) * softmax with grad_grad = v t rounded in the input dtype, and
    multiply by the softmax only after the difference (the exact product is v s_c (t_c - <t, s>))."""
    if not math.isinf(e.observed) or not math.isfinite(e.reference) or e.index is None:
        return False
    name = "logits" if "logits" in (e.record.get("inputs") or {}) else "x"
    x_in = (e.record.get("inputs") or {}).get(name)
    t = _request_array(e, "tangents", name)
    if x_in is None or t is None or e.part != f"hvp:{name}":
        return False
    x = np.asarray([float(v) for v in x_in["data"]], dtype=np.float64).reshape(x_in["shape"])
    if x.ndim == 0 or t.shape != x.shape or tuple(e.shape) != x.shape:
        return False
    params = e.record.get("params") or {}
    ax = (params.get("axis") if isinstance(params.get("axis"), int) else -1) % x.ndim
    x, t = np.moveaxis(x, ax, -1), np.moveaxis(t, ax, -1)
    idx = np.unravel_index(e.index, e.shape)
    row = tuple(i for k, i in enumerate(idx) if k != ax)
    v = _request_array(e, "cotangent")
    v = 1.0 if v is None else (float(v) if v.ndim == 0 else float(v[row]) if v.shape == x.shape[:-1] else None)
    if v is None:
        return False
    if params.get("reduction") == "mean":
        v /= max(1, int(np.prod(x.shape[:-1], dtype=np.int64)))
    xr, tr = x[row], t[row]
    if not np.isfinite(xr).all() or not np.isfinite(tr).all():
        return False
    s = np.exp(xr - xr.max())
    s /= s.sum()
    with np.errstate(all="ignore"):
        d = v * (tr[idx[ax]] - float(np.dot(tr, s)))
    return bool(abs(d) > float(ml_dtypes.finfo(_DTYPES[e.dtype]).max)) if e.dtype in _DTYPES else False


PREDICATES = {f.__name__: f for f in (
    observed_nan_at_xlogy_corner, target_zero_at_mismatch, label_y_at_an_end_at_mismatch,
    relative_error_within_bce_double_backward_eps, observed_zero_where_a_term_is_dropped,
    observed_inf_where_cotangent_tangent_difference_overflows)}
