"""Bounded arithmetic for the fast path: a working format W and values carried with a rigorous error bound.

The rules (a + b by TwoSum, a * b by TwoProduct, a / b, exp, log1p, pairwise sums), the constants U, ETA,
TINY and assumption (A) are derived in the package docstring (reference/fastpath/__init__.py).
"""
from __future__ import annotations

import math
import os
from dataclasses import dataclass

import numpy as np

N_ULP = 4  # assumption (A): ulps of error per np.exp / np.log1p call

@dataclass(frozen=True)
class Working:
    """A working format and the constants of the error rules (module docstring)."""

    dtype: type
    bits: int  # significand bits p
    emin: int
    emax: int

    @property
    def U(self):
        return self.dtype(math.ldexp(1.0, -self.bits)) if self.bits <= 53 else np.ldexp(self.dtype(1), -self.bits)

    @property
    def ETA(self):
        return np.ldexp(self.dtype(1), self.emin - self.bits + 1)

    @property
    def TINY(self):
        return np.ldexp(self.dtype(1), self.emin)

    @property
    def SPLIT(self):
        return self.dtype(2 ** ((self.bits + 1) // 2) + 1)

    @property
    def SAFE(self):  # |factor| <= SAFE: the TwoProduct split cannot overflow
        return np.ldexp(self.dtype(1), self.emax // 2)

    @property
    def LOWP(self):  # |product| >= LOWP: no partial product of TwoProduct underflows
        return np.ldexp(self.dtype(1), self.emin + 2 * self.bits + 4)

    @property
    def LOG_UNDER(self):  # exp(a) < ETA / 2 for a < LOG_UNDER
        return self.dtype(math.floor((self.emin - self.bits) * math.log(2)) - 2)


F64 = Working(np.float64, 53, -1022, 1023)
_LD_INFO = np.finfo(np.longdouble)
LONG = Working(np.longdouble, 64, -16382, 16383) if _LD_INFO.nmant >= 63 and _LD_INFO.maxexp >= 16384 else None


DD = Working(np.float64, 106, -1022, 1023)  # double-double (reference/fastpath/dd.py): float64 cases
FLOAT64_WORKING = os.environ.get("CE_FASTPATH_FLOAT64", "dd")  # "dd", or "long" (x87 long double, then arb)


def working_format(dtype_name: str) -> Working | None:
    if dtype_name != "float64":
        return F64
    return DD if FLOAT64_WORKING == "dd" else LONG


class B:
    """A computed value v (+ lo, for double-double values: the value is v + lo exactly) and a bound
    E >= |value - exact| (arrays of the working format; lo is None for single-word values)."""

    __slots__ = ("v", "e", "lo")

    def __init__(self, v, e, lo=None):
        self.v = v
        self.e = e
        self.lo = lo

    def map(self, f) -> "B":
        """The same function (a reshape, an index, from_rows) applied to every component."""
        return B(f(self.v), f(self.e), None if self.lo is None else f(self.lo))

    def __getitem__(self, idx) -> "B":
        return self.map(lambda a: a[idx])

    def __neg__(self) -> "B":
        return B(-self.v, self.e, None if self.lo is None else -self.lo)

    def copy(self) -> "B":
        return self.map(np.copy)

    def put(self, idx, src: "B") -> None:
        """self[idx] = src, in place."""
        self.v[idx] = src.v
        self.e[idx] = src.e
        if self.lo is None and src.lo is not None:
            self.lo = np.zeros(np.shape(self.v))
        if self.lo is not None:
            self.lo[idx] = 0 if src.lo is None else src.lo

    def set_exact(self, idx, value) -> None:
        """self[idx] = value, exactly (bound 0), in place."""
        self.v[idx] = value
        self.e[idx] = 0
        if self.lo is not None:
            self.lo[idx] = 0

    def masked(self, keep) -> "B":
        """Exactly 0 where `keep` is False (broadcast), self elsewhere."""
        return self.map(lambda a: np.where(keep, a, 0))

    @staticmethod
    def where(cond, a: "B", b: "B") -> "B":
        lo = None
        if a.lo is not None or b.lo is not None:
            lo = np.where(cond, 0 if a.lo is None else a.lo, 0 if b.lo is None else b.lo)
        return B(np.where(cond, a.v, b.v), np.where(cond, a.e, b.e), lo)

    def lower_magnitude(self):
        """A lower bound on |value| (before the error bound): |v| - |lo| (lo is tiny beside v)."""
        return np.abs(self.v) if self.lo is None else np.abs(self.v) - np.abs(self.lo)


class Arith:
    def __init__(self, w: Working):
        self.w = w
        self.dt = w.dtype
        self.U, self.ETA, self.TINY = w.U, w.ETA, w.TINY
        self.SLACK = self.dt(1) + 16 * self.U
        self.N = self.dt(N_ULP)

    def exact(self, x) -> B:
        v = np.asarray(x, dtype=self.dt)
        return B(v, np.zeros(v.shape, dtype=self.dt))

    def _finish(self, e, inexact=None) -> np.ndarray:
        """e (1 + 16U) + 16 ETA where the result is inexact (default: where e > 0), exactly 0 elsewhere."""
        out = np.asarray(np.multiply(e, self.SLACK, dtype=self.dt))
        if inexact is None:  # e (1 + 16U) is 0 exactly where e is: add 16 ETA elsewhere only (one pass fewer)
            np.add(out, 16 * self.ETA, out=out, where=~(e == 0))
            return out
        out += 16 * self.ETA
        np.copyto(out, self.dt(0), where=~np.asarray(inexact))
        return out

    def add(self, a: B, b: B) -> B:
        s = a.v + b.v
        bb = s - a.v
        r = (a.v - (s - bb)) + (b.v - bb)  # TwoSum: s + r == a + b exactly
        e = np.abs(r)
        e += a.e  # a sum of non-negative terms: > 0 exactly when one of them is (no underflow to 0)
        e += b.e
        return B(s, self._finish(e))

    def sub(self, a: B, b: B) -> B:
        return self.add(a, -b)

    def _product_error(self, a, b, p, exact_factors) -> np.ndarray:
        """|fl(a*b) - a*b|: exact by TwoProduct where that is exact, else U|p| + ETA; 0 for a zero factor.
        TwoProduct is only worth its cost where both factors are exact (elsewhere the product is inexact
        anyway): when no element has two exact factors the generic bound is used throughout."""
        w = self.w
        if not np.any(exact_factors):
            return np.where((a == 0) | (b == 0), self.dt(0), self.U * np.abs(p) + self.ETA)
        c = w.SPLIT * a
        ah = c - (c - a)
        al = a - ah
        c = w.SPLIT * b
        bh = c - (c - b)
        bl = b - bh
        r = ((ah * bh - p) + ah * bl + al * bh) + al * bl
        safe = (np.abs(a) <= w.SAFE) & (np.abs(b) <= w.SAFE) & (np.abs(p) >= w.LOWP)
        generic = self.U * np.abs(p) + self.ETA
        out = np.where(safe, np.abs(r), generic)
        return np.where((a == 0) | (b == 0), self.dt(0), out)

    @staticmethod
    def _exact_one(b: B) -> bool:
        return bool(np.all(b.e == 0) and np.all(b.v == 1))

    def mul(self, a: B, b: B) -> B:
        """(package docstring); a factor that is exactly 1 everywhere leaves the other as it is (the product is
        exact and its bound the other's: no rounding to account for)."""
        for one, other in ((a, b), (b, a)):
            if np.size(one.v) <= np.size(other.v) and self._exact_one(one):
                shape = np.broadcast_shapes(np.shape(one.v), np.shape(other.v))
                out = other.map(lambda x: np.broadcast_to(x, shape).copy())
                out.v[(out.v == 0) & (out.e == 0)] = 0  # an exact zero is +0, as the general rule writes it
                return out
        with np.errstate(all="ignore"):
            p = a.v * b.v
            r = self._product_error(a.v, b.v, p, (a.e == 0) & (b.e == 0))
            e = np.abs(a.v) * b.e + np.abs(b.v) * a.e + a.e * b.e + r
        zero = ((a.v == 0) & (a.e == 0)) | ((b.v == 0) & (b.e == 0))  # an exact zero factor: exactly 0
        return B(np.where(zero, self.dt(0), p), self._finish(e, ~zero & ((a.e > 0) | (b.e > 0) | (r > 0))))

    def _by_power_of_two(self, a: B, b: B) -> B | None:
        """a / b for an exact divisor that is a power of two everywhere: q = a / b and a.e / |b| are exact
        scalings while they neither overflow nor fall below the smallest normal, so the exact quotient of any
        a' within a.e of a is within a.e / |b| of q: that bound, unrounded. None where it does not apply."""
        if not np.all(b.e == 0):
            return None
        with np.errstate(all="ignore"):
            mant, _ = np.frexp(b.v)
            if not np.all((np.abs(mant) == 0.5) & np.isfinite(b.v)):
                return None
            q = a.v / b.v
            e = a.e / np.abs(b.v)
            ok = (np.isfinite(q) & np.isfinite(e) & ((np.abs(q) >= self.TINY) | (a.v == 0))
                  & ((e >= self.TINY) | (a.e == 0)))  # no overflow, no rounding below TINY, no underflow to 0
        return B(q, e) if np.all(ok) else None

    def div(self, a: B, b: B) -> B:
        exact = self._by_power_of_two(a, b) if self.w.bits <= 64 else None
        if exact is not None:
            return exact
        with np.errstate(all="ignore"):
            q = a.v / b.v
            aq = np.abs(q)
            room = np.abs(b.v) - b.e
            r = np.where(a.v == 0, self.dt(0), self.U * aq + self.ETA)
            e = (a.e + (aq * (1 + self.U) + self.ETA) * b.e) / room + r
        e = np.where(b.e * 2 < np.abs(b.v), e, self.dt(np.inf))
        zero = (a.v == 0) & (a.e == 0) & (b.e * 2 < np.abs(b.v))  # 0 / nonzero: exactly 0
        return B(np.where(zero, self.dt(0), q), self._finish(e, ~zero & ((a.e > 0) | (b.e > 0) | (r > 0))))

    def exp(self, a: B) -> B:
        N, U, ETA = self.N, self.U, self.ETA
        with np.errstate(all="ignore"):
            v = np.exp(a.v)
            upper = (v + N * ETA) * (1 + 4 * N * U)
            e = upper * (2 * N * U + self.dt(1.65) * a.e) + N * ETA
        e = np.where(a.e <= 0.5, e, self.dt(np.inf))
        exact_one = (a.v == 0) & (a.e == 0)
        under = a.v + a.e < self.w.LOG_UNDER
        v = np.where(exact_one, self.dt(1), np.where(under, self.dt(0), v))
        e = self._finish(np.where(under, ETA, e), ~exact_one)
        return B(v, e)

    def log1p(self, a: B) -> B:
        """log1p of a value whose exact counterpart is >= 0."""
        N, U, ETA = self.N, self.U, self.ETA
        with np.errstate(all="ignore"):
            v = np.log1p(a.v)
            prop = a.e / (1 + np.maximum(a.v - a.e, self.dt(0)))
            call = N * (2 * U * (np.abs(v) + N * ETA) * (1 + 4 * N * U) + ETA)
        exact_zero = (a.v == 0) & (a.e == 0)
        e = np.where(a.v >= 0, prop + call, self.dt(np.inf))
        return B(np.where(exact_zero, self.dt(0), v), self._finish(e, ~exact_zero))

    def tree_sum(self, a: B) -> B:
        """Sum over the last axis by a fixed pairwise tree (an empty sum is exactly 0)."""
        n = a.v.shape[-1]
        width = 1 << max(n - 1, 0).bit_length()
        pad = [(0, 0)] * (a.v.ndim - 1) + [(0, width - n)]
        v, e = (a.v, a.e) if width == n > 1 else (np.pad(a.v, pad), np.pad(a.e, pad))  # adds make new arrays
        cur = B(v, e)
        while cur.v.shape[-1] > 1:
            half = cur.v.shape[-1] // 2
            cur = self.add(cur[..., :half], cur[..., half:])
        return B(cur.v[..., 0], cur.e[..., 0])
