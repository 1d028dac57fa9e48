"""Helpers the ops share: class-axis rows, labels, reductions, parameters, float views."""
from __future__ import annotations

import math

import numpy as np
from flint import arb

from reference.errors import CaseError, UndefinedError
from reference.ext import FIN, NAN, X, _limit, full, xsum


def fvals(a: np.ndarray) -> np.ndarray:
    """Float64 view of an object array of exact X (inputs): the exact values, with inf/nan."""
    out = np.empty(a.shape, dtype=np.float64)
    for idx, x in np.ndenumerate(a):
        out[idx] = x.to_float()
    return out


def is_limit() -> bool:
    """True under limit semantics, False under IEEE semantics (see reference.ext)."""
    return _limit()


def class_axis(axis, ndim: int, name: str = "axis") -> int:
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)):
        raise CaseError(f"{name} must be an integer, got {axis!r}")
    if ndim == 0 or not -ndim <= axis < ndim:
        raise CaseError(f"{name}={axis} is out of range for an input with {ndim} dimensions")
    return int(axis) % ndim


def to_rows(a: np.ndarray, axis: int) -> tuple[np.ndarray, tuple]:
    """(rows, outer_shape): the class axis moved last and the rest flattened: rows has shape (R, C)."""
    moved = np.moveaxis(a, axis, -1)
    outer = moved.shape[:-1]
    return moved.reshape(int(np.prod(outer, dtype=np.int64)), moved.shape[-1]), outer


def from_rows(rows: np.ndarray, outer: tuple, axis: int) -> np.ndarray:
    """Inverse of to_rows for an array of the original shape."""
    moved = rows.reshape(tuple(outer) + (rows.shape[-1],))
    return np.moveaxis(moved, -1, axis)


def check_labels(labels: np.ndarray, classes: int, ignore_index) -> np.ndarray:
    """Boolean mask of counted (not ignored) items. A counted label outside [0, C) is undefined."""
    labels = np.asarray(labels, dtype=np.int64)
    counted = np.ones(labels.shape, dtype=bool) if ignore_index is None else labels != ignore_index
    bad = counted & ((labels < 0) | (labels >= classes))
    if bad.any():
        where = tuple(int(i) for i in np.argwhere(bad)[0])
        raise UndefinedError(f"class label {int(labels[where])} at {where} is outside [0, {classes})"
                             + ("" if ignore_index is None else f" and is not ignore_index={ignore_index}"))
    return counted


def onehot(labels: np.ndarray, classes: int, counted: np.ndarray | None = None) -> np.ndarray:
    """(R, C) object array of exact 0/1 X; rows of uncounted items are all 0."""
    labels = np.asarray(labels, dtype=np.int64).reshape(-1)
    out = full((labels.size, classes), 0)
    one = X(FIN, arb(1))
    for r, y in enumerate(labels.tolist()):
        if counted is None or counted.reshape(-1)[r]:
            out[r, y] = one
    return out


def xconst(value) -> X:
    """A Python number (exact float64 value) as an exact X."""
    return X.from_float(float(value))


def x_of_arb(v: arb) -> X:
    return X.of(v)


def cond_abs(a: np.ndarray) -> np.ndarray:
    """|x| of input values as float64 with non-finite entries set to 0 (their elements' cond is 0 anyway)."""
    f = np.abs(fvals(a)) if a.dtype == object else np.abs(np.asarray(a, dtype=np.float64))
    return np.where(np.isfinite(f), f, 0.0)


def gfloat(a: np.ndarray) -> np.ndarray:
    """Float64 midpoints of an object array of X (for cond quantities), non-finite kept."""
    return fvals(a)


def clean_cond(cond: np.ndarray, *element_arrays: np.ndarray) -> np.ndarray:
    """cond with 0 wherever it is not meaningful: the element or any given companion array is non-finite,
    or the float computation itself produced NaN."""
    cond = np.where(np.isnan(cond), 0.0, np.abs(cond))
    for arr in element_arrays:
        f = fvals(arr) if arr.dtype == object else np.asarray(arr, dtype=np.float64)
        cond = np.where(np.isfinite(f), cond, 0.0)
    return cond


def poison(items: np.ndarray, *grads: np.ndarray) -> None:
    """Under limit semantics, an item whose value is NaN (undefined) has NaN gradients for its own inputs:
    grads shaped like items (elementwise ops) or items + (C,) (row ops). In place. Under IEEE semantics
    the gradient formulas stand."""
    if not is_limit() or not items.size:
        return
    mask = np.vectorize(lambda x: x.k == NAN, otypes=[bool])(items)
    if not mask.any():
        return
    for g in grads:
        m = mask.reshape(mask.shape + (1,) * (g.ndim - mask.ndim))
        g[np.broadcast_to(m, g.shape)] = X(NAN)


# reductions -----------------------------------------------------------------------------------------------
REDUCTIONS = ("none", "sum", "mean")


def check_reduction(reduction, allowed=REDUCTIONS) -> str:
    if reduction not in allowed:
        raise CaseError(f"reduction must be one of {', '.join(allowed)}, got {reduction!r}")
    return reduction


def reduce_value(items: np.ndarray, item_cond: np.ndarray, reduction: str, denom: X | None):
    """(value, cond) of the reduced output: items as is ("none"), their sum, or their sum / denom."""
    if reduction == "none":
        return items, item_cond
    total = xsum(items.reshape(-1))
    cond = float(np.sum(item_cond)) if item_cond.size else 0.0
    if reduction == "sum":
        return _scalar(total), np.float64(cond)
    value, scale = divide_by_denominator(total, denom)
    return _scalar(value), np.float64(cond * scale)


def reduce_grad(grad: np.ndarray, grad_cond: np.ndarray, reduction: str, denom: X | None):
    """A gradient of sum(items) turned into the gradient of the reduced output."""
    if reduction in ("none", "sum"):
        return grad, grad_cond
    out = np.empty(grad.shape, dtype=object)
    scale = 0.0
    for idx, g in np.ndenumerate(grad):
        out[idx], scale = divide_by_denominator(g, denom)
    return out, grad_cond * scale


def divide_by_denominator(x: X, denom: X) -> tuple[X, float]:
    """x / denom, and 1/|denom| as a float (for cond). A zero denominator (a mean over nothing) is 0/0:
    NaN under limit semantics whatever x is; under IEEE semantics x/0 (NaN for 0, +-inf otherwise)."""
    if denom.k == FIN and denom.v.is_zero():
        if is_limit():
            return X(NAN), 0.0
        return x / denom, 0.0
    inv = 1.0 / abs(denom.to_float()) if denom.to_float() != 0 else 0.0
    return x / denom, inv


def _scalar(x: X) -> np.ndarray:
    out = np.empty((), dtype=object)
    out[()] = x
    return out


def count_x(n: int) -> X:
    return X(FIN, arb(int(n)))


# parameters -----------------------------------------------------------------------------------------------
def check_number(name: str, value, lo=None, hi=None, lo_open=False, hi_open=False, allow_none=False):
    """A finite real parameter within [lo, hi] (open ends when asked); returns it as a float."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CaseError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise CaseError(f"{name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise CaseError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise CaseError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value!r}")
    return v


def log_base(base) -> X:
    """ln(base) as an X: base "e" or None means natural log (ln e = 1 exactly)."""
    if base is None or base == "e":
        return X(FIN, arb(1))
    b = check_number("base", base, lo=0, lo_open=True)
    if b == 1:
        raise CaseError("base must not be 1")
    return X(FIN, arb(b).log())


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise CaseError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise CaseError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_clip(clip):
    """None, or (lo, hi) floats with lo <= hi (already rounded to the case dtype by evaluate)."""
    if clip is None:
        return None
    if not isinstance(clip, (list, tuple)) or len(clip) != 2:
        raise CaseError(f"clip must be [lo, hi] or null, got {clip!r}")
    lo = check_number("clip[0]", clip[0])
    hi = check_number("clip[1]", clip[1])
    if lo > hi:
        raise CaseError(f"clip needs lo <= hi, got {clip!r}")
    return lo, hi


def clamp(a: np.ndarray, bounds) -> tuple[np.ndarray, np.ndarray]:
    """(min(max(a, lo), hi), mask) with mask = 1 strictly inside (lo, hi), else 0 (the gradient factor).

    Decided on the balls: an element whose ball straddles a bound is UND (raise the precision).
    """
    if bounds is None:
        return a, full(a.shape, 1)
    lo, hi = bounds
    xlo, xhi = X.from_float(lo), X.from_float(hi)
    out = np.empty(a.shape, dtype=object)
    mask = np.empty(a.shape, dtype=object)
    one, zero = X(FIN, arb(1)), X(FIN, arb(0))
    for idx, x in np.ndenumerate(a):
        if x.k == NAN:
            out[idx], mask[idx] = x, X(NAN)
            continue
        below, above = _cmp(x, lo), _cmp(x, hi)
        if below is None or above is None:
            out[idx], mask[idx] = X(4), X(4)
        elif below <= 0:
            out[idx], mask[idx] = xlo, zero
        elif above >= 0:
            out[idx], mask[idx] = xhi, zero
        else:
            out[idx], mask[idx] = x, one
    return out, mask


def _cmp(x: X, bound: float):
    """-1, 0, 1 for x <, =, > bound; None when the ball cannot tell."""
    if x.k != FIN:
        return {1: 1, 2: -1}.get(x.k)
    d = x.v - arb(bound)
    if d > 0:
        return 1
    if d < 0:
        return -1
    if d.is_zero():
        return 0
    return None


def class_weights(weight, classes: int, name: str = "weight") -> np.ndarray | None:
    """Per-class weights (already rounded to the case dtype) as an exact (C,) object array, or None."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != (classes,):
        raise CaseError(f"{name} must have one entry per class ({classes}), got shape {w.shape}")
    if not np.isfinite(w).all():
        raise CaseError(f"{name} entries must be finite")
    out = np.empty(w.shape, dtype=object)
    for i, v in enumerate(w.tolist()):
        out[i] = X.from_float(v)
    return out


MEAN_DENOMINATORS = ("count", "weight_sum")


def label_shape_check(labels: np.ndarray, data_shape: tuple, axis: int, what: str) -> None:
    expected = tuple(data_shape[:axis]) + tuple(data_shape[axis + 1:])
    if labels.shape != expected:
        raise CaseError(f"{what}: class labels must have shape {expected} (the input without its class axis), "
                        f"got {labels.shape}")


def elementwise_weight(weight, shape: tuple, name: str = "weight") -> np.ndarray | None:
    """An elementwise weight (already rounded to the case dtype) broadcast to `shape`, exact, or None."""
    if weight is None:
        return None
    w = np.asarray(weight, dtype=np.float64)
    try:
        w = np.broadcast_to(w, shape)
    except ValueError:
        raise CaseError(f"{name} of shape {w.shape} does not broadcast to the input shape {shape}") from None
    if not np.isfinite(w).all():
        raise CaseError(f"{name} entries must be finite")
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(w):
        out[idx] = X.from_float(float(v))
    return out


def same_shape(a: np.ndarray, b: np.ndarray, names: tuple[str, str]) -> None:
    if a.shape != b.shape:
        raise CaseError(f"{names[0]} and {names[1]} must have the same shape, got {a.shape} and {b.shape}")


def max_const(a: np.ndarray, bound: float):
    """(max(a, bound), mask) with mask 1 where a > bound (the derivative factor), 0 where a < bound;
    a ball that straddles the bound is UND (raise the precision); NaN stays NaN."""
    out = np.empty(a.shape, dtype=object)
    mask = np.empty(a.shape, dtype=object)
    xb = X.from_float(bound)
    one, zero = X(FIN, arb(1)), X(FIN, arb(0))
    for idx, x in np.ndenumerate(a):
        if x.k == NAN:
            out[idx], mask[idx] = x, X(NAN)
            continue
        c = _cmp(x, bound)
        if c is None:
            out[idx], mask[idx] = X(4), X(4)
        elif c > 0:
            out[idx], mask[idx] = x, one
        else:
            out[idx], mask[idx] = xb, zero
    return out, mask
