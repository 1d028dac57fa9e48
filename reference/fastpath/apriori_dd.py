"""A-priori double-double bounds for float64 cases: softmax, log_softmax and cross_entropy (integer labels,
no label smoothing) in a fixed number of float64 array passes, with no error arrays.

The structure of apriori.py one format up: the (R, C) arrays are computed by error-free transformations
(TwoSum, Fast2Sum, Dekker's product, exact products of short significands) and plain float64 where the
rounding is provably far below 2**-53 of the result; every element's error is bounded a priori as
K_i |v| + A_i with scalars per row i. Row quantities (the row sum, its log, the label's element, the item
loss, the reduction) go through dd.DDArith (R values). An element is certified against float64 midpoints
(dd.certify_dd's rule, in a cheaper form below); rows holding an undecided element are evaluated again by
the running-bound DDArith on those rows alone, and what is left goes on as before (package docstring).

Notation: U = 2**-53, ETA = 2**-1074; c = ln2 / 4096; a row x_1..x_C (float64, exact), k the first index of
its maximum m, d_j = x_j - m <= 0, e_j = exp(d_j), T = sum_{j != k} e_j, S = 1 + T. Round to nearest with
gradual underflow (package docstring): fl(a op b) = (a op b)(1 + delta) + eta, |delta| <= U, |eta| <= ETA/2
(eta = 0 for + and -); a sum or difference that is representable is exact.

(1) d_j = dh + dl exactly: dh = fl(x_j - m), dl by TwoSum (or Fast2Sum: dd_kernel (2)). |dl| <= U |dh|. Elements with dh < DLOW = -708
    (e_j <= exp(-708 + 708 U) < 2**-1021) are set to exactly 0 ("under"); the row's L_i = min(-min dh, 708).
(2) exp kernel (dd_kernel.py, derived in its docstring): for DLOW <= dh <= 0, |EH + EL - e_j| <= KE_i e_j + 2 ETA
    with KE_i from the row's L_i (kernel_bound); exactly 1 at d_j = 0 (the maximum).
(3) Th + Tl: the row sums of (EH, EL), the maximum's element set to 0, by dd_kernel.split_sum:
    |Th + Tl - sum EH + EL| <= SUM_i (dd_kernel's docstring (3)). With (2):
    E_T = SUM_i + KE_i Tup + 2 C ETA (+ C 2**-1021 in a row with "under" elements), Tup = (Th + Tl + SUM_i +
    2 C ETA + under) / (1 - KE_i). T enters DDArith as B(Th, E_T, Tl); the row quantities follow apriori.py
    (3) in its rules (log1p(T) by arb on the double-double), the label's e_y from (2) as
    B(EH_y, KE_i (EH_y + EL_y + 2 ETA) / (1 - KE_i) + 2 ETA, EL_y) (2**-1021 for an "under" label).
(4) Every other element is g_j = c_i e_j with c_i = ch + cl (DDArith, bound E_c, normalised: |cl| <= U
    |ch|) and |EL| <= 4.01 U EH (dd_kernel (2)): p + err = EH ch exactly (Dekker with ch's halves per row;
    underflow: + 8 ETA), lo = fl(err + fl(fl(EH cl) + fl(EL ch))) (cl EL dropped; |lo| <= 7U |p|):
    |p + lo - (ch + cl)(EH + EL)| <= 20 U^2 |p| + 10 ETA, and with (2), for q = (KE_i + E_c / (|ch| (1 -
    U))) / (1 - KE_i):
        |p + lo - g_j| <= K_i |p| + A_i,  K_i = q (1 + 8U) + 21 U^2 (1 + q),  A_i = (11 + 3 |ch|) ETA (1 + q).
    An "under" element has EH = EL = 0: p = 0, never certified. A row with c exactly 0 is exactly 0.
(5) log_softmax: value d_j - log S with L = log1p(T) = Lh + Ll from DDArith (bound E_L, |Ll| <= U Lh):
    s + e1 = dh - Lh exactly (TwoSum), lo = fl(fl(e1 + dl) - Ll). dh <= 0 <= Lh, so |dh|, Lh <= |s| and
    |s + lo - (d_j - L)| <= E_L + 5.01 U^2 |s|. Gradient 1 - C e_j / S = 1 - v_j: v_j = (C/S) e_j as p + lo
    by (4) (its bound, plus (C/S) 2**-1021 in a row with "under" elements, whose e_j are taken as 0), u + eu =
    1 - p exactly (TwoSum), w = fl(eu - lo): |u + w - (1 - v_j)| <= K_i |p| + A_i + U (U |u| + 7U |p|)(1 + U).
    Both are certified by the rule below with t by TwoSum.
Every bound above is computed in float64 from a handful of non-negative terms and then multiplied by
1 + 2**-40 and increased by 16 ETA, which covers its own rounding.

Certification of p + lo with bound E = K_i |p| + A_i: r = fl(p + lo), t = fl(lo - fl(r - p)) (Fast2Sum,
|lo| <= 7U |p|): p + lo = r + t exactly. The half-gap of r toward zero is 2**(e - 53) with 2**e the leading
power of two of fl(r (1 - U)) (one binade lower exactly when |r| is a power of two); the gap away from zero is
never smaller. hg = 2**(e - 53) (1 - 2**-53), the float below it, is made on the bit pattern (the exponent
field less 53, less one unit); for |r| < 2**-969 that pattern is a negative number or a NaN, which nothing
is below. Certified when fl(|t| + E) < hg: then |t| + E <= fl(|t| + E)(1 + U) < 2**(e - 53), the exact value
lies strictly inside (r - half gap, r + half gap) and rounds to r.
"""
from __future__ import annotations

import numpy as np

from reference.case import Case
from reference.fastpath.apriori import (_back, _bad_rows, _ce_fallback, _ce_rows, _ce_setup, _merge_rows, _rows,
                                       _softmax_finish, _sub_case)
from reference.fastpath.bound import B
from reference.fastpath.dd import DDArith, certify_dd
from reference.fastpath.dd_kernel import (DLOW, ETA, EXPMASK, HG_BITS, SPLIT, U, Work, _finish, exp_block,
                                          kernel_bound, split_sum)
from reference.fastpath.formulas import OP_FUNCS, Unsupported

CHUNK = 131072  # elements per block (measured best here: fewer numpy calls; the temporaries stay in L3)


def _blocks(R: int, C: int):
    """(r0, r1, work) for each block of rows r0:r1, `work` the scratch arrays (dd_kernel.Work) made once, for
    the first block (the largest): Work.view(r1 - r0) fits it to each."""
    per = max(1, CHUNK // max(C, 1))
    work = None
    for r0 in range(0, R, per):
        r1 = min(R, r0 + per)
        if work is None:
            work = Work((r1 - r0, C))
        yield r0, r1, work


class RowsDD:
    """Pass 1 over blocks of rows: EH, EL (R, C) (the maximum's element set to exactly 1, 0), dh, dl at the
    label columns, T = B(Th, E_T, Tl) and KE per row."""

    def __init__(self, ar: DDArith, rows: np.ndarray):
        R, C = rows.shape
        self.R, self.C = R, C
        self.idx = np.arange(R)
        self.k = np.argmax(rows, axis=1)
        self.m = rows[self.idx, self.k]
        if not np.isfinite(self.m).all():
            raise Unsupported("non-finite input")
        self.EH = np.empty((R, C))
        self.EL = np.empty((R, C))
        th, tl, tb = np.zeros(R), np.zeros(R), np.zeros(R)
        dmin = np.zeros(R)
        for r0, r1, work in _blocks(R, C):
            EH, EL = self.EH[r0:r1], self.EL[r0:r1]
            dmin[r0:r1] = exp_block(rows[r0:r1], self.m[r0:r1, None], EH, EL, work)
            ii = np.arange(r1 - r0)
            kk = self.k[r0:r1]
            EH[ii, kk] = 0.0
            EL[ii, kk] = 0.0
            if C > 1:
                th[r0:r1], tl[r0:r1], tb[r0:r1] = split_sum(EH, EL, work)
            EH[ii, kk] = 1.0
        inf = dmin == -np.inf  # x - m overflowed (a finite input: an "under" element) or an input is -inf
        if np.isnan(dmin).any() or (inf.any() and not np.isfinite(rows[inf]).all()):
            raise Unsupported("non-finite input")
        self.dmin = dmin
        self.under = dmin < DLOW
        self.KE = kernel_bound(np.minimum(-dmin, -DLOW))
        KE = self.KE
        extra = 2 * C * ETA + np.where(self.under, C * 2.0 ** -1021, 0.0)
        Tup = (np.abs(th + tl) + tb + extra) / (1 - KE)
        ET = np.where(C > 1, _finish(tb + KE * Tup + extra), 0.0)
        self.T = B(th, ET, tl)
        self.one = ar.exact(np.ones(R))
        self.S = ar.add(self.one, self.T)

    def e_at(self, cols: np.ndarray) -> B:
        """e_j at one column per row, bounded by (2) (exactly 1 at the maximum)."""
        v, lo = self.EH[self.idx, cols], self.EL[self.idx, cols]
        KE = self.KE
        e = _finish(KE * (np.abs(v + lo) + 2 * ETA) / (1 - KE) + 2 * ETA)
        e = np.where(self.under, np.maximum(e, 2.0 ** -1021), e)  # an "under" element is 0 within 2**-1021
        return B(v, np.where(cols == self.k, 0.0, e), lo)


def _split(x):
    s = SPLIT * x
    hi = s - (s - x)
    return hi, x - hi


def product_block(EH, EL, chb, clb, c1b, c2b, f) -> tuple[np.ndarray, np.ndarray]:
    """(p, lo) with p + lo ~ (ch + cl)(EH + EL) for a block (module docstring (4)); c1b + c2b = chb split
    in halves; f: scratch arrays of the block's shape (p and lo are f[3], f[4])."""
    s, E1, E2, p, err = f[0], f[1], f[2], f[3], f[4]
    np.multiply(EH, SPLIT, out=s)
    np.subtract(s, EH, out=E1)
    np.subtract(s, E1, out=E1)
    np.subtract(EH, E1, out=E2)  # EH = E1 + E2, 26 bits each
    np.multiply(EH, chb, out=p)
    np.multiply(E1, c1b, out=err)
    err -= p
    np.multiply(E1, c2b, out=s)
    err += s
    np.multiply(E2, c1b, out=s)
    err += s
    np.multiply(E2, c2b, out=s)
    err += s  # p + err = EH ch exactly
    np.multiply(EH, clb, out=s)
    np.multiply(EL, chb, out=E1)
    s += E1
    err += s  # lo
    return p, err


def scale_certify(rw: RowsDD, c: B):
    """(rounded float64 (R, C), certified, (K, A)) of g_j = c_i e_j for every element (module docstring (4)
    and the certification rule)."""
    ch = np.asarray(c.v, dtype=np.float64)
    cl = np.zeros(rw.R) if c.lo is None else np.asarray(c.lo, dtype=np.float64)
    Ec = np.asarray(c.e, dtype=np.float64)
    KE = rw.KE
    with np.errstate(all="ignore"):
        ach = np.abs(ch)
        q = (KE + Ec / (ach * (1 - U))) / (1 - KE)
        K = _finish(q * (1 + 8 * U) + 21 * U * U * (1 + q))
        A = _finish((11 + 3 * ach) * ETA * (1 + q))
    zero_row = (ch == 0) & (cl == 0) & (Ec == 0)
    ok_rows = np.isfinite(K) & np.isfinite(A) & ~zero_row
    K = np.where(ok_rows, K, np.inf)
    A = np.where(ok_rows, A, np.inf)
    c1, c2 = _split(ch)
    Ks = np.where(ch < 0, -K, K)
    R, C = rw.R, rw.C
    rounded = rw.EH  # each block's EH is read by product_block before its rounded values are written over it
    ok = np.empty((R, C), dtype=bool)
    for r0, r1, work in _blocks(R, C):
        f, _ = work.view(r1 - r0)
        sl = slice(r0, r1)
        p, err = product_block(rw.EH[sl], rw.EL[sl], ch[sl, None], cl[sl, None], c1[sl, None], c2[sl, None], f)
        s, E1 = f[0], f[1]
        out = rounded[sl]
        np.add(p, err, out=out)  # r
        np.subtract(out, p, out=s)
        np.subtract(err, s, out=s)  # t: p + lo = r + t exactly
        np.abs(s, out=s)
        p *= Ks[sl, None]  # K |p|: p has the sign of ch in the whole row
        p += A[sl, None]
        s += p  # |t| + E
        _below_half_gap(s, out, E1, ok[sl])
    rw.EH = None  # consumed
    if zero_row.any():
        rounded[zero_row] = 0.0
        ok[zero_row] = True
    return rounded, ok, (K, A)


def softmax(ar: DDArith, case: Case) -> dict:
    if set(case.params) - {"axis"}:
        raise Unsupported("params")
    x = case.floats["x"]
    rows, outer, ax = _rows(x, case.params["axis"])
    rw = RowsDD(ar, rows)
    c = ar.div(rw.one, rw.S)
    rounded, ok, _ = scale_certify(rw, c)
    return _softmax_finish(ar, case, rows, outer, ax, rounded, ok, certify_dd)


def ce_labels(ar: DDArith, case: Case) -> dict:
    """cross_entropy with integer labels and no label smoothing (module docstring (3)-(4))."""
    rows, outer, ax, counted, yc, wv, alpha, D = _ce_setup(ar, case)
    R, C = rows.shape
    idx = np.arange(R)
    reduction = case.params["reduction"]
    rw = RowsDD(ar, rows)
    value, gy, c, flip = _ce_rows(ar, rw, rows, yc, alpha, D, outer, reduction, exact_scaling=False)
    nonneg = bool(np.all(wv >= 0))
    v_r, v_ok = certify_dd(value, flip if nonneg else None)
    sign = np.sign(alpha.v) * flip
    sign_y = -sign if C > 1 else np.zeros(R)
    rounded, ok, _ = scale_certify(rw, c)
    lab = (idx[counted], yc[counted])
    gy_r, gy_ok = certify_dd(gy, sign_y)
    rounded[lab], ok[lab] = gy_r[counted], gy_ok[counted]
    bad = _bad_rows(ok, ~v_ok.reshape(-1) if reduction == "none" else None)
    if bad.size:
        v_r, v_ok = _ce_fallback(ar, case, rows, outer, bad, D, flip, rounded, ok, v_r, v_ok, certify_dd)
    return {"value": (np.asarray(v_r, dtype=np.float64), np.asarray(v_ok, dtype=bool)),
            "grad:logits": (_back(rounded, outer, ax), _back(ok, outer, ax))}


def _certify_block(hi, lo, E, out, ok, s, g) -> None:
    """out = fl(hi + lo), ok = whether every value within E of hi + lo rounds to it (module docstring,
    "Certification", with t by TwoSum: no condition on |lo|); s and g are scratch arrays of the block's
    shape."""
    np.add(hi, lo, out=out)  # r
    np.subtract(out, hi, out=g)  # bb
    np.subtract(out, g, out=s)
    np.subtract(hi, s, out=s)
    np.subtract(lo, g, out=g)
    s += g  # t: hi + lo = r + t exactly
    np.abs(s, out=s)
    s += E  # |t| + E
    _below_half_gap(s, out, g, ok)


def _below_half_gap(s, r, g, ok) -> None:
    """ok = s < hg(r), the half gap around each float64 r read off its bit pattern: hg = 2**(e - 53)
    (1 - 2**-53), for |r| < 2**-969 a negative number or a NaN (never certified); g is a scratch array."""
    np.multiply(r, 1 - U, out=g)
    bits = g.view(np.uint64)
    np.bitwise_and(bits, EXPMASK, out=bits)
    bits -= HG_BITS
    np.less(s, g, out=ok)


def log_softmax(ar: DDArith, case: Case) -> dict:
    """log_softmax (module docstring (5))."""
    if set(case.params) - {"axis"}:
        raise Unsupported("params")
    x = case.floats["x"]
    rows, outer, ax = _rows(x, case.params["axis"])
    R, C = rows.shape
    rw = RowsDD(ar, rows)
    L = ar.log1p(rw.T)
    Lh = np.asarray(L.v, dtype=np.float64)
    Ll = np.zeros(R) if L.lo is None else np.asarray(L.lo, dtype=np.float64)
    c = ar.div(ar.exact(np.full(R, float(C))), rw.S)  # C / S
    ch = np.asarray(c.v, dtype=np.float64)
    cl = np.zeros(R) if c.lo is None else np.asarray(c.lo, dtype=np.float64)
    KE = rw.KE
    with np.errstate(all="ignore"):
        Kv = _finish(5.1 * U * U)
        Av = _finish(np.asarray(L.e, dtype=np.float64) + 4 * ETA)
        q = (KE + np.asarray(c.e) / (ch * (1 - U))) / (1 - KE)
        Kg = _finish(q * (1 + 8 * U) + 21 * U * U * (1 + q) + 7.01 * U * U)
        Ag = _finish((11 + 3 * ch) * ETA * (1 + q) + np.where(rw.under, ch * 2.0 ** -1021 * 1.01, 0.0))
    Ku = 1.01 * U * U
    good = np.isfinite(Av) & np.isfinite(Kg) & np.isfinite(Ag) & (ch > 0)
    Av, Kg, Ag = np.where(good, Av, np.inf), np.where(good, Kg, np.inf), np.where(good, Ag, np.inf)
    c1, c2 = _split(ch)
    value, grad = np.empty((R, C)), rw.EH  # the gradient is written over EH block by block
    vok, gok = np.empty((R, C), dtype=bool), np.empty((R, C), dtype=bool)
    for r0, r1, work in _blocks(R, C):
        f, _ = work.view(r1 - r0)
        sl = slice(r0, r1)
        xb, nm = rows[sl], -rw.m[sl, None]
        dh, dl, sv, e1 = f[5], f[6], f[7], f[8]
        np.add(xb, nm, out=dh)  # d = dh + dl exactly (TwoSum)
        np.subtract(dh, xb, out=e1)
        np.subtract(dh, e1, out=dl)
        np.subtract(xb, dl, out=dl)
        np.subtract(nm, e1, out=e1)
        dl += e1
        np.subtract(dh, Lh[sl, None], out=sv)  # s + e1 = dh - Lh exactly (TwoSum)
        np.subtract(sv, dh, out=f[0])
        np.subtract(sv, f[0], out=e1)
        np.subtract(dh, e1, out=e1)
        np.add(Lh[sl, None], f[0], out=f[0])
        np.subtract(e1, f[0], out=e1)
        e1 += dl
        e1 -= Ll[sl, None]  # lo
        np.multiply(sv, -Kv, out=dh)  # K |s| (s <= 0)
        dh += Av[sl, None]
        _certify_block(sv, e1, dh, value[sl], vok[sl], f[0], f[1])
        p, err = product_block(rw.EH[sl], rw.EL[sl], ch[sl, None], cl[sl, None], c1[sl, None], c2[sl, None], f)
        u, eu = f[5], f[6]
        np.subtract(1.0, p, out=u)  # u + eu = 1 - p exactly (TwoSum)
        np.subtract(u, 1.0, out=f[7])
        np.subtract(u, f[7], out=eu)
        np.subtract(1.0, eu, out=eu)
        np.add(p, f[7], out=f[7])
        np.subtract(eu, f[7], out=eu)
        eu -= err  # w
        p *= Kg[sl, None]  # p >= 0
        p += Ag[sl, None]
        np.abs(u, out=f[7])
        f[7] *= Ku
        p += f[7]  # E
        _certify_block(u, eu, p, grad[sl], gok[sl], f[0], f[1])
    rw.EH = None
    bad = _bad_rows(vok, ~gok.all(axis=1))
    if bad.size:  # the running bound on those rows alone (log_softmax rows are independent)
        out, grads = OP_FUNCS["log_softmax"](ar, _sub_case(case, "x", rows, bad, None))
        for (dst_r, dst_ok), b in (((value, vok), out), ((grad, gok), grads["x"])):
            _merge_rows(dst_r, dst_ok, bad, *certify_dd(b.val, b.sign))
    return {"value": (_back(value, outer, ax), _back(vok, outer, ax)),
            "grad:x": (_back(grad, outer, ax), _back(gok, outer, ax))}


def compute(case: Case) -> dict | None:
    """{part key: (rounded float64, certified)} for a float64 case by the a-priori double-double bounds, or
    None where they do not apply (another op or dtype, probabilities, label smoothing, a non-finite input,
    a parameter they do not check)."""
    op = {"softmax": softmax, "log_softmax": log_softmax, "cross_entropy": ce_labels}.get(case.spec.name)
    if case.dt.name != "float64" or op is None:
        return None
    ar = DDArith()
    try:
        with np.errstate(all="ignore"):
            return op(ar, case)
    except Unsupported:
        return None
