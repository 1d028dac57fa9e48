"""Reductions over items ("none", "sum", "mean" = sum / D) and the NaN-item rule for gradients."""
from __future__ import annotations

import numpy as np
from flint import arb

from reference.errors import CaseError
from reference.ext import FIN, NAN, X, xsum
from reference.ops.common import is_limit
from reference.ops.sample_weight import weigh_grad, weigh_items


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


REDUCTIONS = ("none", "sum", "mean")


def check_reduction(reduction, allowed=REDUCTIONS) -> str:
    if reduction not in allowed:
        raise CaseError(f"reduction must be one of {', '.join(allowed)}, got {reduction!r}")
    return reduction


def reduce_value(items: np.ndarray, item_cond: np.ndarray, reduction: str, denom: X | None):
    """(value, cond) of the reduced output: items as is ("none"), their sum, or their sum / denom."""
    items, item_cond = weigh_items(items, item_cond)
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
    grad, grad_cond = weigh_grad(grad, grad_cond)
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
