"""Forward-mode dual numbers over extended reals: the derivative machinery of reference.derivs.

A `D` is p + d*eps (eps^2 = 0): p the primal, d the tangent, each an X (reference.ext) or, nested, a D
(p + d1 eps1 + d2 eps2 + d12 eps1 eps2 for second-order mixed derivatives). A tangent of None is an exact
zero (a constant), which keeps constants out of the tangent arithmetic entirely: no 0 * inf terms appear
for them under either semantics.

D subclasses X, so the ops of reference/ops run on object arrays of D unchanged: inspection (k, v, sign,
to_float, is_zero) reads the primal, every arithmetic operation and function the ops use (+ - * / **, abs,
exp, log, log1p) propagates the tangent by the usual rules, and Python's reflected-operator rule (a subclass
that overrides the reflected method is asked first) makes X op D a D. Branches the ops take on the primal
select a formula; at a tie point (x = 0 in sigmoid_pair) the branch chosen must be the one whose formula is
valid on a one-sided neighbourhood consistent with d|x| = dx at x = 0 (the smooth function's derivatives
equal the one-sided formula's). Ball arithmetic keeps every tangent rigorous; the precision loop of
reference.derivs.evaluate settles them like values.
"""
from __future__ import annotations

import numpy as np
from flint import arb

from reference.ext import FIN, NAN, UND, X, _x



def _add(a, b):
    if a is None:
        return b
    if b is None:
        return a
    return a + b


def _mul(a, b):
    """a * b where either may be None (an exact zero tangent: the product is an exact zero)."""
    if a is None or b is None:
        return None
    return a * b


class D(X):
    __slots__ = ("p", "d")

    def __init__(self, p, d=None):  # noqa: D107 (no X.__init__: k, v, b, t read the primal)
        self.p = p
        self.d = d

    k = property(lambda self: self.p.k)
    v = property(lambda self: self.p.v)

    def _get_b(self):
        return self.p.b

    def _set_b(self, value):
        self.p.b = value

    def _get_t(self):
        return self.p.t

    def _set_t(self, value):
        self.p.t = value

    b = property(_get_b, _set_b)
    t = property(_get_t, _set_t)

    def __repr__(self):
        return f"D({self.p!r}, {self.d!r})"

    # arithmetic -----------------------------------------------------------------------------------------
    def __neg__(self):
        return D(-self.p, None if self.d is None else -self.d)

    def __abs__(self):
        """d|x| = sign(x) dx with sign(0) = +1 (the x >= 0 side; see the module docstring)."""
        neg = self.p.sign() == -1
        return D(abs(self.p), None if self.d is None else (-self.d if neg else self.d))

    def __add__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = lift(other)
        return D(self.p + o.p, _add(self.d, o.d))

    def __radd__(self, other):
        return self.__add__(other)

    def __sub__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        return self + (-lift(other))

    def __rsub__(self, other):
        return lift(other) + (-self)

    def __mul__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = lift(other)
        return D(self.p * o.p, _add(_mul(self.d, o.p), _mul(self.p, o.d)))

    def __rmul__(self, other):
        return self.__mul__(other)

    def __truediv__(self, other):
        """(p + d eps) / (q + e eps) = p/q + (d - (p/q) e)/q eps."""
        if isinstance(other, np.ndarray):
            return NotImplemented
        o = lift(other)
        quot = self.p / o.p
        num = _add(self.d, None if o.d is None else -(quot * o.d))
        return D(quot, None if num is None else num / o.p)

    def __rtruediv__(self, other):
        if isinstance(other, np.ndarray):
            return NotImplemented
        return lift(other) / self

    def __pow__(self, g):
        """p**g + g p**(g-1) d eps for a real constant g >= 0 (as reference.ops.focal.pow_minus_one)."""
        g = float(g)
        val = self.p ** g
        if self.d is None or g == 0:
            return D(val, None)
        deriv = g * self.p ** (g - 1) if g >= 1 else g * (1 / self.p) ** (1 - g)
        return D(val, deriv * self.d)

    # functions (numpy calls these on object arrays) ----------------------------------------------------
    def log(self):
        return D(self.p.log(), None if self.d is None else self.d / self.p)

    def log1p(self):
        return D(self.p.log1p(), None if self.d is None else self.d / (1 + self.p))

    def exp(self):
        e = self.p.exp()
        return D(e, None if self.d is None else e * self.d)


def lift(o) -> D:
    """A D of any number (a constant when it is not a D: tangent None)."""
    if isinstance(o, D):
        return o
    return D(_x(o), None)


def seed(values: np.ndarray, tangent: np.ndarray | None) -> np.ndarray:
    """Object array of D: values (an object array of X or D) with tangents (an object array of X, or None
    for all-zero tangents)."""
    out = np.empty(values.shape, dtype=object)
    for idx, v in np.ndenumerate(values):
        out[idx] = D(v, None if tangent is None else tangent[idx])
    return out


def primal(arr) -> np.ndarray:
    """The primal parts of an object array of D (elements that are plain X are constants)."""
    return _map(arr, lambda x: x.p if isinstance(x, D) else x)


def tangent(arr) -> np.ndarray:
    """The tangent parts of an object array of D as X (or D when nested); exact zeros where None."""
    zero = X(FIN, arb(0))
    return _map(arr, lambda x: (x.d if x.d is not None else _zero_like(x.p, zero)) if isinstance(x, D) else
                _zero_like(x, zero))


def _zero_like(p, zero):
    """The tangent of a constant: an exact zero at the nesting depth of p (a D primal gets a D zero), or
    NaN / undecided where the constant is (a poisoned element's derivatives are NaN too)."""
    if isinstance(p, D):
        return D(_zero_like(p.p, zero), None)
    return X(p.k) if p.k in (NAN, UND) else zero


def _map(arr, fn) -> np.ndarray:
    arr = np.asarray(arr, dtype=object) if not isinstance(arr, np.ndarray) else arr
    out = np.empty(arr.shape, dtype=object)
    for idx, x in np.ndenumerate(arr):
        out[idx] = fn(x)
    return out
