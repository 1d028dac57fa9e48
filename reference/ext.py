"""Extended reals over arb balls: the number type every op is written in.

An `X` is a finite arb ball, +inf, -inf, NaN, or UND (undecided: a sign that an infinity or a log needed could
not be decided from the ball at this precision; it rounds to NaN and is never certified).

A finite X may also carry a split v = b + t into an exact base b (radius 0) and a tail t of known sign, for
values like (x_i - max) - log1p(T) whose tail can be far below any working precision: rounding b plus an
infinitesimal of the tail's sign settles them even when the ball straddles a rounding boundary at b
(reference.certify). The split survives negation, adding exact numbers or same-signed splits, and
multiplying or dividing by exact nonzero numbers; any other operation drops it.

Finite arithmetic is arb's (rigorous balls). Special values follow one of two semantics, chosen with
`semantics("limit")` (the default) or `semantics("ieee")`:

    rule                              limit                        ieee
    0 * (+-inf), 0 an exact zero      0  (a zero factor is exact)  NaN
    0 / 0, numerator an exact zero    0  (a zero term stays zero)  NaN
    x / 0, x != 0                     sign(x) * inf                sign(x) * inf
    inf - inf, inf / inf              NaN                          NaN
    log 0 = -inf, log(x < 0) = NaN, exp(-inf) = 0, exp(inf) = inf   (both)

"limit" is the mathematical limit when the zero is an exact constant (a weight, a target, 0 log 0); "ieee" is
what IEEE 754 arithmetic gives for the same formula. Zeros are unsigned (exact arb zeros are taken as +0).
"""
from __future__ import annotations

import contextlib
import math

import numpy as np
from flint import arb

FIN, POS, NEG, NAN, UND = 0, 1, 2, 3, 4
_MODE = ["limit"]


@contextlib.contextmanager
def semantics(mode: str):
    if mode not in ("limit", "ieee"):
        raise ValueError(mode)
    _MODE.append(mode)
    try:
        yield
    finally:
        _MODE.pop()


def _limit() -> bool:
    return _MODE[-1] == "limit"


def _sign(v: arb):
    """1, -1, 0 (exact zero) or None (undecided) for a finite ball."""
    if v > 0:
        return 1
    if v < 0:
        return -1
    if v.is_zero():
        return 0
    return None


def _exact(v) -> bool:
    return v is not None and v.rad() == 0


class X:
    __slots__ = ("k", "v", "b", "t")

    def __init__(self, k: int, v: arb | None = None, b: arb | None = None, t: arb | None = None):
        self.k = k
        self.v = v
        self.b = b
        self.t = t

    @staticmethod
    def split(base: "X", tail: "X") -> "X":
        """base + tail, remembering the split when base is exact and tail's sign is known."""
        out = base + tail
        if (out.k == FIN and base.k == FIN and tail.k == FIN and _exact(base.v)
                and _sign(tail.v) in (1, -1)):
            out.b, out.t = base.v, tail.v
        return out

    def _with_split(self, b, t) -> "X":
        if self.k == FIN and _exact(b) and t is not None and _sign(t) in (1, -1):
            self.b, self.t = b, t
        return self

    # construction -------------------------------------------------------------------------------------
    @staticmethod
    def of(v: arb) -> "X":
        if v.is_finite():
            return X(FIN, v)
        return X(UND)

    @staticmethod
    def from_float(f: float) -> "X":
        """Exact: every float64 is an arb ball of radius 0 (at working precision >= 53)."""
        if math.isnan(f):
            return X(NAN)
        if math.isinf(f):
            return X(POS if f > 0 else NEG)
        return X(FIN, arb(f))

    @staticmethod
    def inf(sign: int) -> "X":
        return X(POS if sign > 0 else NEG)

    # inspection -----------------------------------------------------------------------------------------
    @property
    def finite(self) -> bool:
        return self.k == FIN

    def sign(self):
        """1, -1, 0, or None (NaN / undecided)."""
        if self.k == FIN:
            return _sign(self.v)
        return {POS: 1, NEG: -1}.get(self.k)

    def is_zero(self) -> bool:
        return self.k == FIN and self.v.is_zero()

    def to_float(self) -> float:
        if self.k == FIN:
            return float(self.v.mid())
        return {POS: math.inf, NEG: -math.inf}.get(self.k, math.nan)

    def __repr__(self):
        if self.k == FIN:
            return f"X({self.v.str(10)})"
        return "X(" + {POS: "+inf", NEG: "-inf", NAN: "nan", UND: "undecided"}[self.k] + ")"

    # arithmetic -----------------------------------------------------------------------------------------
    def __neg__(self):
        if self.k == FIN:
            if self.b is not None:
                return X(FIN, -self.v, -self.b, -self.t)
            return X(FIN, -self.v)
        return X({POS: NEG, NEG: POS}.get(self.k, self.k))

    def __abs__(self):
        if self.k == FIN:
            return X(FIN, abs(self.v))
        return X(POS) if self.k in (POS, NEG) else X(self.k)

    def __add__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = _x(other)
        if self.k == FIN and o.k == FIN:
            out = X(FIN, self.v + o.v)
            if self.b is not None or o.b is not None:
                if self.b is not None and o.b is not None:
                    if _sign(self.t) == _sign(o.t):
                        out._with_split(self.b + o.b, self.t + o.t)
                else:
                    sp, ex = (self, o) if self.b is not None else (o, self)
                    if _exact(ex.v):
                        out._with_split(sp.b + ex.v, sp.t)
            return out
        if NAN in (self.k, o.k):
            return X(NAN)
        if UND in (self.k, o.k):
            return X(UND)
        if self.k == FIN:
            return X(o.k)
        if o.k == FIN or o.k == self.k:
            return X(self.k)
        return X(NAN)  # inf - inf

    __radd__ = __add__

    def __sub__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self + (-_x(other))

    def __rsub__(self, other):
        return _x(other) + (-self)

    def __mul__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = _x(other)
        if self.k == FIN and o.k == FIN:
            out = X(FIN, self.v * o.v)
            if (self.b is None) != (o.b is None):
                sp, ex = (self, o) if self.b is not None else (o, self)
                if _exact(ex.v) and not ex.v.is_zero():
                    out._with_split(sp.b * ex.v, sp.t * ex.v)
            return out
        if NAN in (self.k, o.k):
            return X(NAN)
        if UND in (self.k, o.k):
            return X(UND)
        fin = self if self.k == FIN else (o if o.k == FIN else None)
        if fin is not None:
            s = _sign(fin.v)
            if s is None:
                return X(UND)
            if s == 0:
                return X(FIN, arb(0)) if _limit() else X(NAN)
            inf = o if fin is self else self
            return X.inf(s * (1 if inf.k == POS else -1))
        return X.inf((1 if self.k == POS else -1) * (1 if o.k == POS else -1))

    __rmul__ = __mul__

    def __truediv__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = _x(other)
        if NAN in (self.k, o.k):
            return X(NAN)
        if UND in (self.k, o.k):
            return X(UND)
        if o.k == FIN:
            so = _sign(o.v)
            if so is None:
                return X(UND)
            if so != 0:
                if self.k == FIN:
                    out = X.of(self.v / o.v)
                    if self.b is not None and _exact(o.v):
                        out._with_split(self.b / o.v, self.t / o.v)
                    return out
                return X.inf((1 if self.k == POS else -1) * so)
            # division by an exact zero (taken as +0)
            if self.k == FIN:
                s = _sign(self.v)
                if s is None:
                    return X(UND)
                if s == 0:
                    return X(FIN, arb(0)) if _limit() else X(NAN)
                return X.inf(s)
            return X(self.k)
        # division by +-inf
        if self.k == FIN:
            return X(FIN, arb(0))
        return X(NAN)

    def __rtruediv__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        return _x(other) / self

    def __pow__(self, g):
        """self ** g for a real constant g >= 0 (0 ** 0 = 1)."""
        g = float(g)
        if g < 0:
            raise ValueError("negative exponent")
        if self.k in (NAN, UND):
            return X(self.k)
        if g == 0:
            return X(FIN, arb(1))
        if self.k == POS:
            return X(POS)
        integral = g == int(g)
        if self.k == NEG:
            if not integral:
                return X(NAN)
            return X(POS) if int(g) % 2 == 0 else X(NEG)
        if integral:
            return X(FIN, self.v ** int(g))
        s = _sign(self.v)
        if s == 0:
            return X(FIN, arb(0))
        if s == 1:
            return X.of((arb(g) * self.v.log()).exp())
        if s == -1:
            return X(NAN)
        hi = self.v.upper()  # a ball [0 - r, hi]: x**g lies in [0, hi**g]
        if not hi > 0:
            return X(UND)
        return X.of(arb(0).union((arb(g) * hi.log()).exp()))

    # functions (numpy calls these on object arrays) ----------------------------------------------------
    def log(self):
        if self.k == FIN:
            s = _sign(self.v)
            if s == 1:
                return X(FIN, self.v.log())
            if s == 0:
                return X(NEG)
            return X(NAN) if s == -1 else X(UND)
        return X(POS) if self.k == POS else X(NAN if self.k in (NEG, NAN) else UND)

    def log1p(self):
        if self.k == FIN:
            s = _sign(self.v + 1)
            if s == 1:
                return X(FIN, self.v.log1p())
            if s == 0:
                return X(NEG)
            return X(NAN) if s == -1 else X(UND)
        return X(POS) if self.k == POS else X(NAN if self.k in (NEG, NAN) else UND)

    def exp(self):
        if self.k == FIN:
            e = self.v.exp()
            if self.v < 0 or not self.v > 0:
                e = e.nonnegative_part() if e.is_finite() else e
            return X.of(e)
        if self.k == NEG:
            return X(FIN, arb(0))
        return X(self.k)


def _x(o) -> X:
    if isinstance(o, X):
        return o
    if isinstance(o, arb):
        return X.of(o)
    if isinstance(o, (int, np.integer)):
        return X(FIN, arb(int(o)))
    if isinstance(o, (float, np.floating)):
        return X.from_float(float(o))
    raise TypeError(f"cannot use {type(o).__name__} as an extended real")



def xs(values) -> np.ndarray:
    """Object array of X from an array of Python floats / numpy floats / ints (exact)."""
    arr = np.asarray(values)
    out = np.empty(arr.shape, dtype=object)
    flat = out.reshape(-1)
    for i, v in enumerate(arr.reshape(-1).tolist()):
        flat[i] = X.from_float(float(v))
    return out


def full(shape, value) -> np.ndarray:
    """Object array of shape filled with the exact extended real `value` (a number or an X)."""
    out = np.empty(shape, dtype=object)
    v = _x(value)
    for idx in np.ndindex(*out.shape) if out.ndim else [()]:
        out[idx] = v
    return out


def xsum(arr: np.ndarray, axis=None) -> np.ndarray:
    """Sum of an object array of X (an empty sum is exactly 0)."""
    return np.add.reduce(arr, axis=axis, initial=X(FIN, arb(0)))


def kinds(arr: np.ndarray) -> np.ndarray:
    return np.vectorize(lambda x: x.k, otypes=[np.int8])(arr) if arr.size else np.zeros(arr.shape, np.int8)


def to_floats(arr: np.ndarray) -> np.ndarray:
    """Midpoints as float64 (cond quantities; not for rounding)."""
    out = np.zeros(arr.shape, dtype=np.float64)
    for idx, x in np.ndenumerate(arr):
        out[idx] = x.to_float()
    return out
