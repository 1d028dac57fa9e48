"""Ziv-style certification of one element: round both ends of its ball; certified when they agree.

An element is *settled* at a working precision when
  * it is special (+-inf, NaN) or an exact ball (radius 0): it rounds exactly; or
  * both ends of its ball round to the same float of the dtype (certified) and the ball is narrow enough
    for the exact string (relative accuracy >= EXACT_BITS bits, i.e. > 33 significant digits); or
  * its ball contains 0 and lies inside float64's zero-rounding interval (|x| <= 2**-1075): it rounds to
    +0 in every dtype and its exact string is "0"; or
  * it carries an exact base b and a tail of known sign (reference.ext.X.split), and b plus an infinitesimal
    of that sign rounds like the far end of the ball (the tail may be far below the working precision).
Elements not settled at the precision cap keep the rounding of their midpoint with certified=False.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from reference.decimal_io import exact_string
from reference.dtypes import DTYPES, DType, round_dyadic, same_float
from reference.ext import FIN, NAN, NEG, POS, UND, X

EXACT_BITS = 112
_F64 = DTYPES["float64"]


@dataclass
class Settled:
    rounded: float
    exact: str
    certified: bool
    settled: bool


def round_end(v, dt: DType) -> float:
    man, exp = v.man_exp()
    return round_dyadic(int(man), int(exp), dt)


def settle(x: X, dt: DType) -> Settled:
    if x.k == POS:
        return Settled(math.inf, "inf", True, True)
    if x.k == NEG:
        return Settled(-math.inf, "-inf", True, True)
    if x.k == NAN:
        return Settled(math.nan, "nan", True, True)
    if x.k != FIN:
        return Settled(math.nan, "nan", False, False)
    v = x.v
    if v.rad() == 0:
        return Settled(round_end(v.mid(), dt), exact_string(x), True, True)
    lo, hi = v.lower(), v.upper()
    r_lo, r_hi = round_end(lo, dt), round_end(hi, dt)
    if r_lo == 0 and r_hi == 0:  # the value rounds to zero; only its sign (and exact digits) may be open
        if v.contains(0) and round_end(lo, _F64) == 0 and round_end(hi, _F64) == 0:
            return Settled(0.0, "0", True, True)
        same = same_float(r_lo, r_hi)
        return Settled(r_lo if same else 0.0, exact_string(x), True,
                       same and v.rel_accuracy_bits() >= EXACT_BITS)
    if same_float(r_lo, r_hi):
        return Settled(r_lo, exact_string(x), True, v.rel_accuracy_bits() >= EXACT_BITS)
    if x.b is not None:  # exact base plus a tail of known sign: the value lies in (b, far end] or [far end, b)
        up = x.t > 0
        man, exp = x.b.man_exp()
        near = round_dyadic(int(man), int(exp), dt, tie="up" if up else "down")
        far = r_hi if up else r_lo
        if same_float(near, far):
            return Settled(near, exact_string(x), True, v.rel_accuracy_bits() >= EXACT_BITS)
    return Settled(round_end(v.mid(), dt), exact_string(x), False, False)


class PartState:
    """Settled results of one output array across precisions."""

    def __init__(self, shape):
        self.rounded = np.zeros(shape, dtype=np.float64)
        self.exact = np.empty(shape, dtype=object)
        self.certified = np.zeros(shape, dtype=bool)
        self.settled = np.zeros(shape, dtype=bool)

    def update(self, val: np.ndarray, dt) -> None:
        for idx in zip(*np.nonzero(~self.settled)) if self.settled.ndim else ([()] if not self.settled[()] else []):
            s = settle(val[idx], dt)
            self.rounded[idx], self.exact[idx] = s.rounded, s.exact
            self.certified[idx], self.settled[idx] = s.certified, s.settled

    @property
    def open(self) -> bool:
        return not bool(np.all(self.settled))


def ieee_array(limit_val: np.ndarray, ieee_val: np.ndarray, rounded: np.ndarray, dt) -> np.ndarray | None:
    """The IEEE value where its kind differs from the limit's; None when it never does."""
    out = rounded.copy()
    differs = False
    for idx, lim in np.ndenumerate(limit_val):
        iv = ieee_val[idx]
        if iv.k == UND or lim.k == UND or iv.k == lim.k:
            continue
        differs = True
        if iv.k == FIN:
            out[idx] = settle(iv, dt).rounded
        else:
            out[idx] = iv.to_float()
    return out if differs else None
