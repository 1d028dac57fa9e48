"""Helpers for the reference tests: exact strings as mpmath numbers, dtype values, Hypothesis strategies, the
command line run in process."""
from __future__ import annotations

import io
import math
import sys
from fractions import Fraction

import mpmath as mp
import numpy as np
from hypothesis import strategies as st

import reference
from reference import cli
from reference.dtypes import DTYPES, round_fraction

DTYPE_NAMES = tuple(DTYPES)


def mpf(text: str) -> mp.mpf:
    """An exact string of the reference as an mpmath number (at the current mp precision)."""
    return mp.mpf(text)


def close(a, b, rel=mp.mpf("1e-30"), abs_=mp.mpf("1e-300")) -> bool:
    a, b = mp.mpf(a), mp.mpf(b)
    if mp.isnan(a) or mp.isnan(b):
        return bool(mp.isnan(a) and mp.isnan(b))
    if mp.isinf(a) or mp.isinf(b):
        return a == b
    return abs(a - b) <= max(rel * max(abs(a), abs(b)), abs_)


def in_dtype(values, dtype: str) -> np.ndarray:
    """float64 array of the values rounded (once, correctly) into `dtype`."""
    dt = DTYPES[dtype]
    arr = np.asarray(values, dtype=np.float64)
    out = np.empty(arr.shape)
    for idx, v in np.ndenumerate(arr):
        out[idx] = round_fraction(*Fraction(float(v)).as_integer_ratio(), dt) if math.isfinite(v) else v
    return out


def rounded_of(exact: mp.mpf, dtype: str) -> float:
    """The correct rounding of an mpmath number into `dtype` (via its exact binary value)."""
    man, exp = mp.mpf(exact).man_exp
    frac = Fraction(int(man)) * (Fraction(2) ** int(exp)) if man else Fraction(0)
    return round_fraction(frac.numerator, frac.denominator, DTYPES[dtype])


def evaluate(op, dtype, inputs, params=None):
    return reference.evaluate(op, dtype, inputs, params or {})


def gradient_cond(F, x0: list, i: int) -> mp.mpf:
    """sum_j |d^2 F / dx_i dx_j| |x0_j| (mixed derivatives by mpmath.diff at the current precision): the exact
    condition number of the gradient element dF/dx_i at x0."""
    total = mp.mpf(0)
    for j in range(len(x0)):
        order = [0] * len(x0)
        order[i] += 1
        order[j] += 1
        total += abs(mp.diff(F, x0, tuple(order))) * abs(x0[j])
    return total


def run_cli(argv, stdin_text, monkeypatch, capsys) -> tuple[int, str, str]:
    """`python -m reference ARGV` in this process with `stdin_text` on stdin: (exit code, stdout, stderr)."""
    monkeypatch.setattr(sys, "stdin", io.StringIO(stdin_text))
    code = cli.main(argv)
    out, err = capsys.readouterr()
    return code, out, err


def logits_strategy(rows, cols, lo=-8.0, hi=8.0):
    """(rows, cols) finite logits on a coarse grid (quarters), exact in every dtype."""
    return st.lists(st.lists(st.integers(int(lo * 4), int(hi * 4)).map(lambda k: k / 4), min_size=cols,
                             max_size=cols), min_size=rows, max_size=rows).map(lambda v: np.array(v, dtype=float))


def prob_rows_strategy(rows, cols):
    """(rows, cols) probabilities in (0, 1]: multiples of 1/64, exact in every dtype (rows need not sum to 1)."""
    return st.lists(st.lists(st.integers(1, 64), min_size=cols, max_size=cols), min_size=rows,
                    max_size=rows).map(lambda v: np.array(v, dtype=float) / 64.0)
