"""The x log y family as elementwise primitives on extended reals, with their partial derivatives.

Values use the definitions of docs/ops.md under both semantics (0 log 0 = 0 is part of the definition):
    xlogy(x, y)    = x log y, and 0 where x = 0 (y not NaN)
    rel_entr(x, y) = x log(x/y) for x > 0, y > 0;  0 for x = 0, y >= 0;  `ood` otherwise (out of domain)
Derivatives are the plain formulas (d/dx xlogy = log y, d/dy xlogy = x/y; d/dx rel_entr = log(x/y) + 1,
d/dy rel_entr = -x/y). Under limit semantics they are limits: x/y with x = 0 is 0 (the function is 0 along
x = 0); rel_entr at (0, 0) has d/dx = +inf (rel_entr(h, 0) = +inf for every h > 0) and d/dy = 0; outside the
domain the derivatives are NaN. Under IEEE semantics the plain formulas stand (0/0 = NaN, ...).
"""
from __future__ import annotations

import numpy as np

from reference.ext import NAN, POS, UND, X
from reference.ops.common import is_limit

_NAN = X(NAN)


def _zero():
    return X.from_float(0.0)


def xlogy1(x: X, y: X) -> X:
    if x.k == NAN or y.k == NAN:
        return _NAN
    if x.is_zero():
        return _zero()
    return x * y.log()


def _signs(x: X, y: X):
    return x.sign(), y.sign()


def rel_entr1(x: X, y: X, ood: X) -> X:
    if x.k == NAN or y.k == NAN:
        return _NAN
    sx, sy = _signs(x, y)
    if sx is None or sy is None:
        return X(UND)
    if sx == 0 and sy >= 0:
        return _zero()
    if sx == 1 and sy == 1:
        return x * (x / y).log()  # x/y = 1 exactly when x == y: the term is exactly 0
    if sx == 1 and sy == 0:
        return X(POS)
    return ood


def rel_entr_dx1(x: X, y: X) -> X:
    if is_limit() and x.k != NAN and y.k != NAN:
        sx, sy = _signs(x, y)
        if sx is None or sy is None:
            return X(UND)
        if sx == 0 and sy == 0:
            return X(POS)
        if sx < 0 or sy < 0:
            return _NAN
    return (x / y).log() + 1


def rel_entr_dy1(x: X, y: X) -> X:
    if is_limit() and x.k != NAN and y.k != NAN:
        sx, sy = _signs(x, y)
        if sx is None or sy is None:
            return X(UND)
        if sx < 0 or sy < 0:
            return _NAN
    return -(x / y)


xlogy = np.frompyfunc(xlogy1, 2, 1)
rel_entr_dx = np.frompyfunc(rel_entr_dx1, 2, 1)
rel_entr_dy = np.frompyfunc(rel_entr_dy1, 2, 1)


def rel_entr(x: np.ndarray, y: np.ndarray, ood_value: float) -> np.ndarray:
    ood = X.from_float(ood_value)
    return np.frompyfunc(lambda a, b: rel_entr1(a, b, ood), 2, 1)(x, y)


def as_obj(a) -> np.ndarray:
    """frompyfunc returns a bare X for 0-d inputs: keep object arrays."""
    if isinstance(a, np.ndarray):
        return a
    out = np.empty((), dtype=object)
    out[()] = a
    return out


def fl(a: np.ndarray) -> np.ndarray:
    """Float64 midpoints (cond arithmetic), NaN for undecided."""
    out = np.empty(np.shape(a), dtype=np.float64)
    for idx, x in np.ndenumerate(a):
        out[idx] = x.to_float()
    return out


def conds_where_defined(ok: np.ndarray, loss: np.ndarray, cv: np.ndarray, pairs) -> tuple:
    """The rows' value cond cv and each (cond, gradient) pair's cond, zeroed where no conditioning is
    claimed: the row is not ok (an undefined softmax row, a non-finite target), the float value or gradient
    element is not finite, or the float cond arithmetic itself gave NaN."""
    cv = np.where(ok & np.isfinite(fl(loss)), cv, 0.0)
    return (cv, *(np.where(ok[:, None] & np.isfinite(fl(g)) & ~np.isnan(c), c, 0.0) for c, g in pairs))


def finite_or_zero(f: np.ndarray) -> np.ndarray:
    return np.where(np.isfinite(f), f, 0.0)

