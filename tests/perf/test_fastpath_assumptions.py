"""The ground the fast path stands on: numpy's exp / log1p accuracy (assumption (A) of reference.fastpath,
measured against arb), and correct rounding into each dtype (round_to_dtype against integer rounding)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from flint import arb, ctx, fmpq

from reference import fastpath
from reference.dtypes import DTYPES, round_float, round_fraction

FORMATS = [fastpath.F64] + ([fastpath.LONG] if fastpath.LONG is not None else [])


def _to_arb(x) -> arb:
    """A float64 or x87 long double value, exactly (its 64-bit significand times a power of two)."""
    num, den = _ratio(x)
    return arb(fmpq(num, den))  # den is a power of two: exact


def _max_ulps(fn_np, fn_arb, args: np.ndarray) -> float:
    got = fn_np(args)
    info = np.finfo(got.dtype)
    _, k = np.frexp(np.abs(got))  # 2**(k-1) <= |got| < 2**k: ulp 2**(k - p), at least ETA
    spacing = np.maximum(np.ldexp(np.ones_like(got), k - (info.nmant + 1)), info.smallest_subnormal)
    worst = 0.0
    saved = ctx.prec
    ctx.prec = 256
    try:
        for a, g, sp in zip(args, got, spacing):
            exact = fn_arb(_to_arb(a))
            err = abs(_to_arb(g) - exact)
            ulps = float((err / _to_arb(sp)).upper())
            assert math.isfinite(ulps), (a, g)
            worst = max(worst, ulps)
    finally:
        ctx.prec = saved
    return worst


@pytest.mark.parametrize("w", FORMATS, ids=lambda w: w.dtype.__name__)
def test_numpy_exp_is_within_the_assumed_ulps(w):
    rng = np.random.default_rng(0)
    low = float(w.LOG_UNDER) + 40
    args = np.concatenate([rng.uniform(-30, 0, 3000), rng.uniform(low, 0, 1000), -(10.0 ** rng.uniform(-20, 0, 1000)),
                           rng.uniform(-745, -700, 200) if w.bits == 53 else rng.uniform(-11355, -11340, 200)])
    args = args.astype(w.dtype)
    assert _max_ulps(np.exp, lambda a: a.exp(), args) <= 1.0 <= fastpath.N_ULP


@pytest.mark.parametrize("w", FORMATS, ids=lambda w: w.dtype.__name__)
def test_numpy_log1p_is_within_the_assumed_ulps(w):
    rng = np.random.default_rng(1)
    args = np.concatenate([10.0 ** rng.uniform(-300, 6, 3000), rng.uniform(0, 2, 2000)]).astype(w.dtype)
    assert _max_ulps(np.log1p, lambda a: a.log1p(), args) <= 1.0 <= fastpath.N_ULP


@pytest.mark.parametrize("name", ["float32", "float16", "bfloat16"])
def test_round_to_dtype_matches_integer_rounding(name):
    dt = DTYPES[name]
    rng = np.random.default_rng(2)
    fmax = dt.max_finite
    tiny = math.ldexp(1.0, dt.qmin)
    samples = [rng.normal(0, 1, 2000) * 10.0 ** rng.uniform(-50, 40, 2000),
               rng.integers(-40, 40, 500) * tiny / 2,  # subnormal multiples and their midpoints
               np.array([fmax, -fmax, fmax * (1 + 2.0 ** -(dt.precision + 1)), 0.0, -0.0, tiny / 2, -tiny / 2])]
    # exact midpoints between neighbours, and a hair beside them
    base = rng.normal(0, 1, 500).astype(dt.np_dtype).astype(np.float64)
    nxt = np.nextafter(base.astype(dt.np_dtype), np.asarray(np.inf, dt.np_dtype)).astype(np.float64)
    mids = (base + nxt) / 2
    samples += [mids, np.nextafter(mids, np.inf), np.nextafter(mids, -np.inf)]
    x = np.concatenate(samples)
    x = x[np.isfinite(x)]
    got = fastpath.round_to_dtype(x, dt)
    want = np.array([round_float(v, dt) for v in x])
    assert np.array_equal(got, want) and np.array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.skipif(fastpath.LONG is None, reason="no x87 long double here")
def test_round_to_dtype_from_long_double_to_float64():
    dt = DTYPES["float64"]
    rng = np.random.default_rng(3)
    base = rng.normal(0, 1, 1000) * 10.0 ** rng.uniform(-300, 300, 1000)
    half = np.spacing(np.abs(base)).astype(np.longdouble) / 2
    x = np.concatenate([base.astype(np.longdouble) + half, base.astype(np.longdouble) - half,
                        base.astype(np.longdouble) + half * np.longdouble(0.75)])
    got = fastpath.round_to_dtype(x, dt)
    for xv, g in zip(x, got):
        num, den = _ratio(xv)
        assert g == round_fraction(num, den, dt)


def _ratio(x) -> tuple[int, int]:
    m, e = np.frexp(np.longdouble(x))
    num = int(np.ldexp(m, 64))
    e = int(e) - 64
    return (num << e, 1) if e >= 0 else (num, 1 << -e)
