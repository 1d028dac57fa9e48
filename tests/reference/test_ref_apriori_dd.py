"""reference/fastpath/apriori_dd.py and dd_kernel.py, the a-priori double-double path of float64 softmax and
cross_entropy: its bounds (kernel, row sum, every scaled element) enclose the exact values (arb, 400 bits) on random and
adversarial rows (arguments at the reduction's rounding boundaries, huge and tiny logits, spreads past
exp's underflow, subnormal results, a dominant class, ties, C = 32768); every element it certifies is the
arb path's correctly rounded value; the certification refuses values within the bound of a float64
midpoint; undecided elements go to the running bound and then arb; and mutants (a dropped table low word,
a bound 2**12 too small, a broken TwoSum) are caught."""
from __future__ import annotations

import math

import numpy as np
import pytest
from flint import arb, ctx

import reference
from reference import fastpath
from reference.case import prepare
from reference.evaluate import arb_path
from reference.fastpath import apriori_dd, dd_kernel
from reference.fastpath.bound import B
from reference.fastpath.dd import DDArith

AR = DDArith()
STEP = math.log(2) / dd_kernel.STEP


@pytest.fixture(autouse=True)
def _precision():
    saved = ctx.prec
    ctx.prec = 400
    yield
    ctx.prec = saved


def _rows() -> dict[str, np.ndarray]:
    rng = np.random.default_rng(2121)
    k = rng.integers(-2_000_000, 0, 300)
    boundary = (k + 0.5) * STEP + rng.normal(0, 1e-13, 300)  # n = rint(d / c) decided by a hair
    return {
        "normal": rng.normal(0, 3, (3, 300)),
        "reduction boundaries": np.concatenate([[0.0], np.clip(boundary, -707.9, -1e-9)])[None, :],
        "large magnitudes (inexact x - m)": np.concatenate([[1e6 + 0.3], 1e6 - rng.uniform(0, 700, 199),
                                                            -rng.uniform(0, 1e-3, 50) + 1e6])[None, :],
        "opposite signs": np.concatenate([[350.3], rng.uniform(-357, 350, 200), [-1e-300, 5e-324]])[None, :],
        "huge and tiny": np.array([[1.7e308, 1.7e308 - 2.0 ** 970, 1e308, 0.0, -1e-300, 5e-324, -1.7e308]]),
        "past underflow": np.concatenate([[0.0, -707.9, -708.0, -708.1, -745.0, -760.0, -1e5],
                                          rng.uniform(-720, 0, 100)])[None, :],
        "subnormal results": np.array([[0.0, -700.0, -705.3, -707.99, -690.0, -1.0]]),
        "dominant max": np.array([[60.0, 0.0, -1.0, -2.5, -40.0]]),
        "ties": np.array([[2.0, 2.0, 2.0, -1.0, 2.0]]),
        "one class": np.array([[3.0]]),
        "two classes": np.array([[0.0, -math.log(3.0)], [1.0, 1.0]]),
    }


def _exact_e(row) -> tuple[list, int, arb]:
    k = int(np.argmax(row))
    m = arb(float(row[k]))
    e = [(arb(float(v)) - m).exp() for v in row]
    return e, k, sum((e[j] for j in range(len(row)) if j != k), arb(0))


def _violations(rows: np.ndarray, sample=None) -> tuple[int, int]:
    """(bound violations, elements checked): the kernel's (EH + EL vs e_j, KE), the row sums' (T vs E_T)
    and the scaled elements' (1/S e_j, K |p| + A)."""
    rw = apriori_dd.RowsDD(AR, rows.copy())
    c = AR.div(rw.one, rw.S)
    c1, c2 = apriori_dd._split(c.v)
    work = dd_kernel.Work(rows.shape)
    p, lo = apriori_dd.product_block(rw.EH, rw.EL, c.v[:, None], c.lo[:, None], c1[:, None], c2[:, None],
                                     work.f)
    EH = rw.EH.copy()
    _, _, (K, A) = apriori_dd.scale_certify(rw, c)  # writes the rounded values over rw.EH
    rw.EH = EH
    bad = checked = 0
    for i, row in enumerate(rows):
        e, k, T = _exact_e(row)
        if not abs(arb(float(rw.T.v[i])) + arb(float(rw.T.lo[i])) - T) <= arb(float(rw.T.e[i])):
            bad += 1
        S = T + 1
        for j in range(len(row)) if sample is None else sample:
            got = arb(float(rw.EH[i, j])) + arb(float(rw.EL[i, j]))
            if j != k and rw.dmin[i] >= dd_kernel.DLOW:  # KE applies to kernel elements (module docstring)
                bad += not abs(got - e[j]) <= arb(float(rw.KE[i])) * e[j] + arb(2.0 ** -1073)
            if p[i, j] == 0:
                continue  # p = 0 is never certified (module docstring (4))
            pv = arb(float(p[i, j]))
            bad += not abs(pv + arb(float(lo[i, j])) - e[j] / S) <= arb(float(K[i])) * abs(pv) + arb(float(A[i]))
            checked += 1
    return bad, checked


@pytest.mark.parametrize("name", list(_rows()))
def test_bounds_enclose_the_exact_values(name):
    bad, checked = _violations(_rows()[name])
    assert bad == 0 and checked >= 1


def test_bounds_enclose_on_a_row_of_32768_classes():
    rng = np.random.default_rng(5)
    rows = rng.normal(0, 3, (1, 32768))
    bad, checked = _violations(rows, sample=rng.choice(32768, 400, replace=False))
    assert bad == 0 and checked >= 390


def test_the_kernel_is_near_its_bound_and_exact_at_zero():
    """The kernel's observed error is within 2**5 of KE (the bound has teeth), and d = 0 gives exactly 1."""
    rows = _rows()["normal"]
    rw = apriori_dd.RowsDD(AR, rows.copy())
    worst = 0.0
    for i, row in enumerate(rows):
        e, k, _ = _exact_e(row)
        assert rw.EH[i, k] == 1.0 and rw.EL[i, k] == 0.0
        for j in range(len(row)):
            err = abs(arb(float(rw.EH[i, j])) + arb(float(rw.EL[i, j])) - e[j]) / e[j]
            worst = max(worst, float(err.upper()) / float(rw.KE[i]))
    assert 2.0 ** -6 < worst <= 1.0
    one = np.empty((1, 1)), np.empty((1, 1))
    dd_kernel.exp_block(np.zeros((1, 1)), np.zeros((1, 1)), *one, dd_kernel.Work((1, 1)))
    assert one[0][0, 0] == 1.0 and one[1][0, 0] == 0.0


def test_split_sum_bound_encloses_the_exact_row_sums():
    """Rows of magnitudes far apart (a dominant term, tiny terms, zeros, subnormals, one term): the bound holds,
    and a bound 2**-20 times smaller fails somewhere (the check has teeth)."""
    rng = np.random.default_rng(6)
    rows = [rng.uniform(0, 1, 1000), np.concatenate([[1.0], 10.0 ** rng.uniform(-300, -1, 999)]),
            np.zeros(7), np.array([5e-324, 1e-310, 0.0]), np.array([0.7]), rng.uniform(0, 1e-200, 33),
            np.concatenate([rng.uniform(0, 1, 4096), [1.0 - 2.0 ** -53] * 100])]
    tight = 0
    for H in rows:
        H = H[None, :]
        L = H * rng.uniform(-1, 1, H.shape) * 2.0 ** -53
        th, tl, bound = dd_kernel.split_sum(H, L, dd_kernel.Work(H.shape))
        exact = sum((arb(float(h)) + arb(float(lo)) for h, lo in zip(H[0], L[0])), arb(0))
        err = abs(arb(float(th[0])) + arb(float(tl[0])) - exact)
        assert err <= arb(float(bound[0]))
        tight += not err <= arb(float(bound[0])) * arb(2.0 ** -20)
    assert tight >= 1


def _check_against_arb(op, inputs, params=None) -> int:
    """Every element apriori_dd.compute certifies is the arb path's rounded value; returns how many."""
    case = prepare(op, "float64", inputs, params)
    out = apriori_dd.compute(case)
    assert out is not None, "apriori_dd declined a case it supports"
    slow = arb_path(case)
    certified = 0
    for key, (rounded, ok) in out.items():
        s = slow.value if key == "value" else slow.grads[key[5:]]
        want = np.asarray(s.rounded, dtype=np.float64)
        assert rounded.shape == want.shape
        same = (rounded[ok] == want[ok]) & (np.signbit(rounded[ok]) == np.signbit(want[ok]))
        assert same.all(), f"{op} {key}: a certified value differs from arb's"
        assert np.all(np.asarray(s.certified)[ok])
        certified += int(ok.sum())
    return certified


@pytest.mark.parametrize("name", list(_rows()))
def test_adversarial_rows_agree_with_arb(name):
    x = _rows()[name]
    R, C = x.shape
    _check_against_arb("softmax", {"x": x})
    _check_against_arb("log_softmax", {"x": x})
    for y in {0, C - 1, int(np.argmax(x[0]))}:
        for params in ({}, {"reduction": "none"}, {"reduction": "sum", "weight": [1e300] * C},
                       {"weight": [-2.5] * C, "mean_denominator": "weight_sum"}, {"ignore_index": y, "reduction": "sum"}):
            _check_against_arb("cross_entropy", {"logits": x, "target": np.full(R, y)}, params)


def test_drawn_batches_agree_with_arb():
    rng = np.random.default_rng(7)
    certified = 0
    for _ in range(12):
        R, C = int(rng.integers(1, 5)), int(rng.integers(1, 60))
        x = rng.normal(0, float(rng.choice([0.01, 3.0, 100.0])), (R, C, 2))
        axis = int(rng.choice([1, -2]))
        certified += _check_against_arb("softmax", {"x": x}, {"axis": axis})
        certified += _check_against_arb("log_softmax", {"x": x}, {"axis": axis})
        y = rng.integers(0, C, (R, 2))
        params = {"axis": 1, "reduction": str(rng.choice(["none", "sum", "mean"])),
                  "weight": [float(v) for v in rng.choice([0.5, 1.0, 7.25], size=C)]}
        certified += _check_against_arb("cross_entropy", {"logits": x, "target": y}, params)
    assert certified >= 2000


def _fake_rows(EH, EL, KE):
    rw = apriori_dd.RowsDD.__new__(apriori_dd.RowsDD)
    rw.EH, rw.EL = np.array([EH]), np.array([EL])
    rw.R, rw.C = 1, len(EH)
    rw.KE = np.array([KE])
    return rw


def test_certification_refuses_values_within_the_bound_of_a_midpoint():
    """Constructed near-ties: 1.5 + 2**-53 (a float64 midpoint) +- tiny offsets, scaled by c = 1."""
    mid = 2.0 ** -53
    EL = [mid, mid - 2.0 ** -100, mid + 2.0 ** -100, mid - 2.0 ** -70, mid + 2.0 ** -70, -2.0 ** -54, 0.0]
    rw = _fake_rows([1.5] * len(EL), EL, 2.0 ** -90)
    rounded, ok, _ = apriori_dd.scale_certify(rw, B(np.ones(1), np.zeros(1), np.zeros(1)))
    assert list(ok[0]) == [False, False, False, True, True, True, True]
    assert list(rounded[0, 3:]) == [1.5, 1.5 + 2.0 ** -52, 1.5, 1.5]
    # at a power of two the gap below is half the gap above; the rule takes the smaller on both sides
    EL = [-2.0 ** -55, -2.0 ** -54 + 2.0 ** -70, 2.0 ** -55, 2.0 ** -53 - 2.0 ** -70]
    rw = _fake_rows([1.0] * 4, EL, 2.0 ** -90)
    rounded, ok, _ = apriori_dd.scale_certify(rw, B(np.ones(1), np.zeros(1), np.zeros(1)))
    assert list(ok[0]) == [True, True, True, False] and list(rounded[0, :3]) == [1.0, 1.0, 1.0]


def test_undecided_rows_fall_back_to_the_running_bound_and_arb(monkeypatch):
    """A kernel bound of 2**-40 decides nothing in float64: every row goes to the running bound, and the
    answer (through fastpath.fast_path) is still the arb path's, element for element."""
    monkeypatch.setattr(apriori_dd, "kernel_bound", lambda L: np.full(np.shape(L), 2.0 ** -40))
    rng = np.random.default_rng(8)
    x = rng.normal(0, 3, (3, 40))
    case = prepare("cross_entropy", "float64", {"logits": x, "target": rng.integers(0, 40, 3)}, None)
    rw = apriori_dd.RowsDD(AR, x.copy())
    _, ok, _ = apriori_dd.scale_certify(rw, AR.div(rw.one, rw.S))
    assert not ok.any()
    assert _check_against_arb("cross_entropy", {"logits": x, "target": case.labels["target"]}) >= 110
    fast = fastpath.fast_path(case)
    slow = arb_path(case)
    assert np.array_equal(np.asarray(fast.grads["logits"].rounded), np.asarray(slow.grads["logits"].rounded))
    assert np.array_equal(fast.grads["logits"].certified, slow.grads["logits"].certified)


@pytest.mark.parametrize("mutant", ["no table low word", "bound too small", "no TwoSum of x - m"])
def test_mutants_are_caught(monkeypatch, mutant):
    rows = _rows()["opposite signs"] if mutant.startswith("no TwoSum") else _rows()["normal"]
    if mutant == "no table low word":
        C = list(dd_kernel.constants())
        C[7] = np.zeros_like(C[7])
        monkeypatch.setattr(dd_kernel, "_CONST", tuple(C))
    elif mutant == "bound too small":
        real = apriori_dd.kernel_bound
        monkeypatch.setattr(apriori_dd, "kernel_bound", lambda L: real(L) * 2.0 ** -12)
    else:
        real_exp = apriori_dd.exp_block

        def no_low(x, m, EH, EL, work):
            return real_exp(x - m, np.zeros_like(m), EH, EL, work)  # d rounded once, its error dropped

        monkeypatch.setattr(apriori_dd, "exp_block", no_low)
    bad, _ = _violations(rows)
    assert bad > 0


@pytest.mark.parametrize("C", [4096, 32768])
def test_thousands_of_classes_are_certified_without_arb_or_the_running_bound(C, monkeypatch):
    rng = np.random.default_rng(C + 1)
    x = rng.normal(0, 3, (2, C))
    y = rng.integers(0, C, 2)

    def refuse(*a, **k):
        raise AssertionError("the running bound was used")

    monkeypatch.setattr(apriori_dd, "OP_FUNCS", {"softmax": refuse, "cross_entropy": refuse})
    result = reference.evaluate("cross_entropy", "float64", {"logits": x, "target": y})
    assert result.precision_bits == fastpath.DD.bits and result.certified
    result = reference.evaluate("softmax", "float64", {"x": x})
    assert result.precision_bits == fastpath.DD.bits and result.certified


def test_log_softmax_value_bound_encloses_and_equal_logits_fall_back():
    """Module docstring (5): |s + lo - (d_j - L)| <= E_L + 5.01 U^2 |s| against arb; a row of equal logits (a
    gradient of exactly 0, which the bound cannot certify) is settled by the fallback, as arb settles it."""
    rng = np.random.default_rng(9)
    rows = np.concatenate([rng.normal(0, 30, (1, 200)), rng.uniform(-800, 0, (1, 200))])
    rw = apriori_dd.RowsDD(AR, rows.copy())
    L = AR.log1p(rw.T)
    U = 2.0 ** -53
    for i, row in enumerate(rows):
        e, k, T = _exact_e(row)
        exact_L = (T + 1).log()
        for j in range(len(row)):
            dh = row[j] - rw.m[i]
            dl = float(arb(float(row[j])) - arb(float(rw.m[i])) - arb(dh))
            s = dh - L.v[i]
            bb = s - dh
            e1 = (dh - (s - bb)) + (-L.v[i] - bb)
            lo = (e1 + dl) - L.lo[i]
            d = arb(float(row[j])) - arb(float(rw.m[i]))
            err = abs(arb(s) + arb(lo) - (d - exact_L))
            assert err <= arb(float(L.e[i])) + arb(5.01 * U * U) * abs(arb(s))
    x = np.full((2, 6), 0.75)
    _check_against_arb("log_softmax", {"x": x})
    case = prepare("log_softmax", "float64", {"x": x}, None)
    fast, slow = fastpath.fast_path(case), arb_path(case)
    assert np.array_equal(np.asarray(fast.grads["x"].rounded), np.asarray(slow.grads["x"].rounded))
    assert np.all(np.asarray(fast.grads["x"].rounded) == 0) and fast.grads["x"].certified.all()
