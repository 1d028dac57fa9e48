"""reference/fastpath/apriori.py: its a-priori bounds enclose the exact values (checked with arb on
adversarial rows: many classes, huge and tiny logits, spreads past exp's underflow, subnormal results,
the cancelling label gradient p - y, huge weights), and every element it certifies is the arb path's
correctly rounded value, on many drawn batches and on elements found next to a midpoint of the dtype."""
from __future__ import annotations

import math
import sys
from pathlib import Path

import numpy as np
import pytest
from flint import arb, ctx

from reference.case import prepare
from reference.dtypes import DTYPES
from reference.evaluate import arb_path
from reference.fastpath import apriori
from reference.fastpath.bound import F64, Arith

sys.path.insert(0, str(Path(__file__).parent))
from test_fastpath import _same, random_cases  # noqa: E402

F32 = np.finfo(np.float32)


@pytest.fixture(autouse=True)
def _precision():
    saved = ctx.prec
    ctx.prec = 3000  # sums of exponentials far apart in magnitude stay exact
    yield
    ctx.prec = saved


def _adversarial_rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(21)
    big = float(F32.max)
    tiny = float(F32.smallest_subnormal)
    return {
        "many classes": rng.normal(0, 3, (1, 20000)),
        "huge and tiny": np.array([[big, -big, 0.0, tiny, -tiny, 1e-30, 88.0, -1e30]]),
        "past underflow": np.concatenate([np.array([[0.0, -700.0, -745.5, -746.5, -800.0, -1e4]]),
                                          rng.uniform(-760, 0, (1, 200))], axis=1)[:, :200],
        "subnormal results": np.array([[0.0, -95.0, -100.0, -103.2, -110.0, -87.3, -87.4]]),
        "dominant max": np.array([[60.0, 0.0, -1.0, -2.5, -40.0]]),
        "ties": np.array([[2.0, 2.0, 2.0, -1.0, 2.0]]),
        "small magnitudes beside a large max": np.array([[1e-30, -3e-29, 5.0, -7e-12, 2.5e-20, 0.0]]),
        "one class": np.array([[3.0]]),
    }


def _exact_row(row) -> tuple[list, int, arb, arb]:
    """(exact e_j, k, T, S) of one row, in arb."""
    k = int(np.argmax(row))
    m = arb(float(row[k]))
    e = [(arb(float(v)) - m).exp() for v in row]
    T = sum((e[j] for j in range(len(row)) if j != k), arb(0))
    return e, k, T, T + 1


@pytest.mark.parametrize("name", list(_adversarial_rows()))
def test_row_sum_and_softmax_bounds_enclose_the_exact_values(name):
    rows = np.asarray(_adversarial_rows()[name], dtype=np.float32).astype(np.float64)
    ar = Arith(F64)
    rw = apriori.Rows(ar, rows.copy())
    c = ar.div(ar.exact(np.ones(rows.shape[0])), rw.S)
    v, _, _, (K, A) = apriori._scale(rw, c, DTYPES["float32"])
    checked = 0
    for i, row in enumerate(rows):
        e, k, T, S = _exact_row(row)
        assert abs(arb(float(rw.T.v[i])) - T) <= arb(float(rw.T.e[i])), "row sum"
        for j in range(len(row)):
            err = abs(arb(float(v[i, j])) - e[j] / S)
            assert err <= arb(float(K[i])) * abs(arb(float(v[i, j]))) + arb(float(A[i])), (name, j)
            checked += 1
    assert checked == rows.size


def test_the_bound_has_teeth():
    """A bound 2**12 times smaller than the derived one fails on these rows: the check above can fail."""
    rows = np.asarray(_adversarial_rows()["many classes"][:, :3000], dtype=np.float32).astype(np.float64)
    ar = Arith(F64)
    rw = apriori.Rows(ar, rows.copy())
    c = ar.div(ar.exact(np.ones(1)), rw.S)
    v, _, _, (K, A) = apriori._scale(rw, c, DTYPES["float32"])
    e, _, _, S = _exact_row(rows[0])
    worst = max(float((abs(arb(float(v[0, j])) - e[j] / S) / abs(arb(float(v[0, j])))).upper())
                for j in range(rows.shape[1]))
    assert worst > float(K[0]) * 2.0 ** -12


def _check_against_arb(op, dtype, inputs, params=None, min_share=0.0) -> int:
    """Every element apriori.compute certifies is the arb path's rounded value (and arb certifies it).
    Returns how many were certified."""
    case = prepare(op, dtype, inputs, params)
    out = apriori.compute(case)
    assert out is not None, "apriori declined a case it supports"
    slow = arb_path(case)
    certified = total = 0
    for key, (rounded, ok) in out.items():
        s = slow.value if key == "value" else slow.grads[key[5:]]
        want = np.asarray(s.rounded).astype(np.float64)
        assert rounded.shape == want.shape
        assert _same(rounded[ok], want[ok]), f"{op} {dtype} {key}: a certified value differs from arb's"
        assert np.all(np.asarray(s.certified)[ok])
        certified += int(ok.sum())
        total += ok.size
    assert certified >= min_share * total
    return certified


@pytest.mark.parametrize("name", list(_adversarial_rows()))
@pytest.mark.parametrize("dtype", ["float32", "float16", "bfloat16"])
def test_adversarial_rows_agree_with_arb(name, dtype):
    x = _adversarial_rows()[name]
    if name == "many classes":
        x = x[:, :600]
    big = DTYPES[dtype].max_finite
    x = np.clip(x, -big, big).astype(DTYPES[dtype].np_dtype)
    R, C = x.shape
    _check_against_arb("softmax", dtype, {"x": x})
    huge = DTYPES[dtype].max_finite / 4
    for y in {0, C - 1, int(np.argmax(x[0]))}:  # the label at the max: 1 - s_y cancels
        for params in ({}, {"reduction": "none"}, {"reduction": "sum", "weight": [huge] * C},
                       {"weight": [-2.5] * C, "mean_denominator": "weight_sum"}):
            _check_against_arb("cross_entropy", dtype, {"logits": x, "target": np.array([y])}, params)


def test_drawn_batches_agree_with_arb():
    used = certified = 0
    for seed in range(100, 106):
        for op, dtype, inputs, params in random_cases(seed, 40):
            case = prepare(op, dtype, inputs, params)
            if apriori.compute(case) is None:
                continue
            certified += _check_against_arb(op, dtype, inputs, params, min_share=0.9)
            used += 1
    assert used >= 40 and certified >= 2000


def _near_midpoint_rows(dtype: str, want: int) -> tuple[np.ndarray, np.ndarray]:
    """Rows (and labels) holding a softmax element within 2**-12 of a dtype spacing from a midpoint,
    screened in float64 (its error is far smaller) from many random rows."""
    rng = np.random.default_rng(8)
    dt = DTYPES[dtype]
    found = []
    while len(found) < want:
        x = rng.normal(0, 2, (4096, 16)).astype(dt.np_dtype).astype(np.float64)
        e = np.exp(x - x.max(axis=1, keepdims=True))
        s = e / e.sum(axis=1, keepdims=True)
        _, k = np.frexp(s)
        quantum = np.ldexp(1.0, k - dt.precision)  # spacing of the dtype at s (normal range)
        frac = s / quantum - np.floor(s / quantum)
        near = np.abs(frac - 0.5) < 2.0 ** -12
        found.extend(x[np.nonzero(near.any(axis=1))[0]])
    rows = np.array(found[:want])
    return rows.astype(dt.np_dtype), rng.integers(0, 16, len(rows))


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])
def test_elements_next_to_a_midpoint_are_never_certified_wrongly(dtype):
    x, y = _near_midpoint_rows(dtype, 6)
    _check_against_arb("softmax", dtype, {"x": x})
    _check_against_arb("cross_entropy", dtype, {"logits": x, "target": y}, {"reduction": "sum"})


class _Depth:
    """Counts additions: a sum is one deeper than the deeper of its operands."""

    def __init__(self, d: int):
        self.d = d

    def __add__(self, other):
        return _Depth(max(self.d, other.d) + 1)


@pytest.mark.parametrize("C", [1, 2, 3, 5, 8, 13, 100, 1000, 4096, 5000, 32768])
def test_tree_sum_depth_is_what_it_claims(C):
    """tree_sum's h: no term takes part in more than h additions (the same tree run on addition counters),
    and h <= floor(log2 C) + 2 as the bound (3) of the module docstring uses."""
    depth = np.empty((1, C), dtype=object)
    for j in range(C):
        depth[0, j] = _Depth(0)
    got, h = apriori.tree_sum(depth)
    assert got[0].d == h
    assert h <= (0 if C == 1 else math.floor(math.log2(C)) + 2)
    terms = np.random.default_rng(C).integers(0, 1000, (3, C)).astype(np.float64)
    sums, _ = apriori.tree_sum(terms)  # small integers add exactly: every term reaches the sum once
    assert np.array_equal(sums, terms.sum(axis=1))


@pytest.mark.parametrize("params", [{}, {"reduction": "none"}, {"reduction": "sum", "ignore_index": 2},
                                    {"weight": [float(v) for v in np.linspace(-2, 3, 24)],
                                     "mean_denominator": "weight_sum"}])
def test_undecided_rows_are_settled_by_the_running_bound(monkeypatch, params):
    """With every a-priori bound made 2**30 times looser (still sound) nothing is decided by the tiers:
    every row goes through bound.Arith alone, which decides it, and the answers are the arb path's."""
    monkeypatch.setattr(apriori, "SAFE", 2.0 ** 30)
    rng = np.random.default_rng(3)
    x = rng.normal(0, 3, (5, 24, 2)).astype(np.float32)
    y = rng.integers(0, 24, (5, 2))
    case = prepare("cross_entropy", "float32", {"logits": x, "target": y}, {**params, "axis": 1})
    out = apriori.compute(case)
    assert out["grad:logits"][1].mean() > 0.99
    if params.get("reduction") == "none":
        assert out["value"][1].all()
    _check_against_arb("cross_entropy", "float32", {"logits": x, "target": y}, {**params, "axis": 1})
    _check_against_arb("softmax", "float32", {"x": x}, {"axis": 1}, min_share=0.99)


@pytest.mark.parametrize("bad", [math.inf, -math.inf, math.nan])
def test_non_finite_inputs_are_left_to_the_other_paths(bad):
    x = np.array([[0.5, bad, -1.0], [1.0, 2.0, 3.0]], dtype=np.float32)
    assert apriori.compute(prepare("softmax", "float32", {"x": x}, {})) is None
    case = prepare("cross_entropy", "float32", {"logits": x, "target": np.array([0, 1])}, {})
    assert apriori.compute(case) is None
