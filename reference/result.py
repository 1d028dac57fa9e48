"""The reference's answer for one case: exact values, correctly rounded values, conditioning.

This module is the contract between reference/ (which fills these in) and conformance/ (which reads them).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np


@dataclass
class RefArray:
    """One output (the value, or the gradient for one input), element by element.

    exact:    object array of str: each element's exact real as a decimal string with >= 30 significant
              digits, or "inf", "-inf", "nan" (the mathematical limit for non-finite inputs).
    rounded:  array in the case dtype: the correctly rounded value of each element (round to nearest even).
    ieee:     None, or array in the case dtype: where plain IEEE arithmetic gives a different special value
              than the mathematical limit (docs/special-values.md), that IEEE value; elsewhere equal to
              `rounded`.
    cond:     float64 array: sum_i |d element / d x_i| * |x_i| over every floating input x_i that carries
              rounding error (a hard target element, exactly 0 or 1, does not: it counts as 0) (the condition
              quantity of the conditioning-aware bound; see docs/verdicts.md). 0 where not meaningful.
    certified: bool array: True where the element's enclosure rounded to one float.
    """

    exact: np.ndarray
    rounded: np.ndarray
    cond: np.ndarray
    certified: np.ndarray
    ieee: np.ndarray | None = None

    @property
    def shape(self) -> tuple[int, ...]:
        return tuple(self.rounded.shape)


@dataclass
class RefResult:
    op: str
    dtype: str
    value: RefArray
    grads: dict[str, RefArray] = field(default_factory=dict)
    precision_bits: int = 0  # the arb working precision that certified the result
    derivs: dict[str, RefArray] = field(default_factory=dict)  # "vjp:IN", "jvp:IN", "hvp:IN" (reference.derivs)

    @property
    def certified(self) -> bool:
        arrays = [self.value, *self.grads.values(), *self.derivs.values()]
        return all(bool(np.all(a.certified)) for a in arrays)
