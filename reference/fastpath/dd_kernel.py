"""The double-double exp kernel and row-sum tree of the a-priori float64 path (apriori_dd.py): exp(x - m) for
whole blocks of rows in a fixed sequence of float64 array passes (error-free transformations, exact products
of short significands, plain float64 only where its rounding is far below 2**-53 of the result), and the
compensated pairwise row sums, each with an a-priori error bound (notation: apriori_dd.py's docstring).

(2) exp kernel, for DLOW <= dh <= 0. n = rint(fl(dh KINV)), KINV = fl(1/c), |n| <= 2,091,900 < 2**21;
    |dh/c - n| <= 1/2 + 5e-10. c = C1 + C2 + C3 + c4 (arb): C1 = c truncated to 31 bits (a multiple of
    2**-42), C2 = c - C1 rounded to a multiple of 2**-65 (< 2**-42, so at most 23 bits), C3 = fl(c - C1 - C2)
    (|C3| <= 2**-65), |c4| <= CTAIL. n C1 and n C2 are exact (at most 52 and 44 bits).
    a = fl(fl(dh - n C1) - n C2) is exact: for n = 0 it is dh; otherwise |dh| >= c (1/2 - 5e-10) > 2**-13,
    so dh, n C1 and n C2 are multiples of 2**-65, and so are both differences, whose magnitudes are below
    c/2 + 2**-20 < 2**-12 (fewer than 2**53 multiples). |a| <= c (1/2 + 5e-10) + 2**21 (2**-65 + CTAIL) < RHO.
    w = fl(dl - fl(n C3)); r := d_j - n c = a + w + dw with |w| <= W_i = L_i (U + NMAX |C3|)(1 + 2U),
    NMAX = 2955 (|n| <= 2955 L_i), and |dw| <= DW_i = U W_i + 2955 L_i (U |C3| + CTAIL).
    exp(d_j) = 2**k T_q exp(r), n = 2048 k + q (q = n & 2047, k = n >> 11), T_q = 2**(q/2048) = TH + TL + tT
    (arb: TH = the float64 nearest, TH1 its Dekker upper half (26 bits), TL = fl(T_q - TH), |tT| <= TTAIL).
    exp(a) = 1 + a + a^2/2 + P(a) + tau, P = a^3 (1/6 + a/24 + a^2/120 + a^3/720), |tau| <= RHO^7/5040 1.001.
      a1 = fl(fl(a + SIG) - SIG), SIG = 1.5 * 2**14: a rounded to a multiple of 2**-38 (so |a1| < 2**-12 has
      at most 26 bits and h = fl(a1 a1) is exact); a2 = fl(a - a1) exact, |a2| <= 2**-39; a^2 = a1^2 +
      a2 (a + a1) exactly, h2 = fl(a2 fl(a + a1)) errs by <= U 2**-50 + ETA. hh = h/2 (exact), b + be =
      a + hh exactly (Fast2Sum: |hh| <= 2 a^2 < |a|). P' = fl(fl(fl(a a) a) poly(a)) by Horner errs by
      <= 5.1 U RHO^3/6 (1.001) + 2 ETA. z2 = fl(fl(be + h2/2) + P'); t = fl(b + z2); Z = fl(z2 + fl(w + fl(w t))).
      Then exp(r) = exp(a) exp(w + dw) = 1 + b + Z + Delta_i with (every rounding U |result| at most)
      |Delta_i| <= DELTA0 + 1.01 U W_i + 1.0002 (DW_i + 0.51 (W_i + DW_i)^2) + 2 W_i 2**-90, where DELTA0 =
      tau + P error + roundings of z1, z2 (U 2**-39.9) and Z (U |Z|, |Z| <= ZMAX_i = RHO^3/6 1.001 + 2**-50 +
      1.001 W_i) + 2**-100 (h2, underflow).
    y = T_q exp(r) = TH + TH b + TH Z + TL (1 + b + Z) + (TH + TL) Delta + tT exp(r):
      p + e = TH b exactly (Dekker: TH = TH1 + TH2, b = b1 + b2 split by 2**27 + 1; exact but for underflow:
      + 4 ETA); yh + e0 = TH + p exactly (Fast2Sum: TH >= 1 > |p|); low = fl(e0 + fl(e + fl(fl(TH Z) +
      fl(TL + fl(TL t))))) (t in place of 1 + b + Z - 1: |TL| |Z - z2| <= 2**-53 2 ZMAX); then EH + EL = yh +
      low exactly (Fast2Sum) and both are scaled by 2**k (exact but for underflow: + ETA each).
    |low| <= LOWMAX_i = 2**-51 + 2**-64 + 2.0004 ZMAX_i + 2**-52, four roundings: 4 U LOWMAX_i.
    So |EH + EL - e_j| <= KE_i e_j + 2 ETA, KE_i = (2.0004 |Delta_i| + 4 U LOWMAX_i + 2**-52 2 ZMAX_i
    + TTAIL 1.0002 + 2**-1000) / exp(-RHO), with 2**-1000 covering the underflow terms before scaling.
    At the maximum (and every d_j = 0) the kernel gives exactly 1 (a = w = 0, T_0 = 1).
(3) Th + Tl: (EH, EL) with the maximum's element set to 0, summed over the row by a pairwise tree of TwoSum
    on the EH (the errors exact) with the EL and the errors added in float64 (|EL| <= U EH). With h levels
    (h = ceil(log2 C)), every low part holds at most (level + 1) U (1 + U) of its node's exact sum, and each
    node rounds twice: |Th + Tl - sum EH + EL| <= (h + 2)^2 U^2 1.01 (Th + Tl) + ETA.
"""
from __future__ import annotations

import math

import numpy as np

U = 2.0 ** -53
ETA = 2.0 ** -1074
SAFE = 1 + 2.0 ** -40
STEP = 2048
DLOW = -708.0
SIG = 1.5 * 2.0 ** 14
SHIFT = 1.5 * 2.0 ** 52  # fl(v + SHIFT) - SHIFT: v rounded to an integer (|v| < 2**51); its bits hold it
SHIFT_BITS = np.array(SHIFT).view(np.int64)
SPLIT = 134217729.0
NMAX = 2955.0
D3, D4, D5, D6 = 1 / 6, 1 / 24, 1 / 120, 1 / 720
EXPMASK = np.uint64(0x7FF0000000000000)
HALF53 = 2.0 ** -53 - 2.0 ** -103  # 2**-53 (1 - 2**-50), exact in float64
C_LN2 = math.log(2) / STEP
RHO = C_LN2 * (0.5 + 5e-10) + 2.0 ** -43


def _make_constants():
    """(C1, C2, C3, CTAIL, KINV, TH, TH1, TL, TTAIL) from arb balls at 300 bits (module docstring (2))."""
    from flint import arb, ctx

    saved = ctx.prec
    ctx.prec = 300
    try:
        c = arb(2).log() / STEP
        mant, ex = math.frexp(float(c.mid()))
        C1 = math.ldexp(math.floor(math.ldexp(mant, 31)), ex - 31)
        if not (c - C1 > 0):
            raise AssertionError("C1 truncation")
        C2 = math.ldexp(round(float(((c - C1) * arb(2) ** 65).mid())), -65)
        C3 = float((c - C1 - C2).mid())
        ctail = float(abs(c - C1 - C2 - C3).upper()) * SAFE
        th, tl, tails = [], [], []
        for q in range(STEP):
            t = arb(2) ** (arb(q) / STEP)
            h = float(t.mid())
            low = float((t - h).mid())
            th.append(h)
            tl.append(low)
            tails.append(float(abs(t - h - low).upper()))
        TH = np.array(th)
        s = SPLIT * TH
        TH1 = s - (s - TH)
        return C1, C2, C3, ctail, float(1 / c.mid()), TH, TH1, np.array(tl), max(tails) * SAFE
    finally:
        ctx.prec = saved


_CONST = None


def constants():
    global _CONST
    if _CONST is None:
        _CONST = _make_constants()
    return _CONST


def _finish(e):
    return np.asarray(e, dtype=np.float64) * SAFE + 16 * ETA


def kernel_bound(L: np.ndarray) -> np.ndarray:
    """KE_i of module docstring (2) for rows whose kernel elements have |dh| <= L_i."""
    C3, CTAIL, TTAIL = abs(constants()[2]), constants()[3], constants()[8]
    L = np.asarray(L, dtype=np.float64)
    W = L * (U + NMAX * C3) * (1 + 2 * U)
    DW = U * W + NMAX * L * (U * C3 + CTAIL)
    ZMAX = RHO ** 3 / 6 * 1.001 + 2.0 ** -50 + 1.001 * W
    tau = RHO ** 7 / 5040 * 1.001
    poly = 5.1 * U * RHO ** 3 / 6 * 1.001
    delta0 = tau + poly + U * 2.0 ** -51.3 + U * 2.0 ** -39.9 + U * ZMAX + 2.0 ** -100
    delta = delta0 + 1.01 * U * W + 1.0002 * (DW + 0.51 * (W + DW) ** 2) + 2 * W * 2.0 ** -90
    lowmax = 2.0 ** -51 + 2.0 ** -64 + 2.0004 * ZMAX + 2.0 ** -52
    ey = 2.0004 * delta + 4 * U * lowmax + 2.0 ** -52 * 2 * ZMAX + TTAIL * 1.0002 + 2.0 ** -1000
    return _finish(ey / math.exp(-RHO))


class Work:
    """Scratch arrays for one block shape (reused block after block: no allocation in the passes)."""

    def __init__(self, shape):
        self.shape = shape
        self.f = [np.empty(shape) for _ in range(9)]
        self.i = np.empty(shape, dtype=np.int64)

    def view(self, nr: int):
        if nr == self.shape[0]:
            return self.f, self.i
        return [a[:nr] for a in self.f], self.i[:nr]


def exp_block(x: np.ndarray, m: np.ndarray, EH: np.ndarray, EL: np.ndarray, work: Work) -> np.ndarray:
    """EH + EL ~ exp(x - m) for a block of rows x (nr, n) with maxima m (nr, 1), by the kernel of module
    docstring (2), normalised, written into EH and EL; exactly 0 where dh < DLOW. Returns min_j dh per row."""
    C1, C2, C3, _, KINV, TAB_H, TAB_H1, TAB_L, _ = constants()
    (dh, dl, f2, f3, f4, f5, f6, f7, f8), qi = work.view(x.shape[0])
    nm = -m
    np.add(x, nm, out=dh)
    np.subtract(dh, x, out=f2)  # bb
    np.subtract(dh, f2, out=dl)
    np.subtract(x, dl, out=dl)
    np.subtract(nm, f2, out=f2)
    dl += f2  # d = dh + dl exactly (TwoSum)
    dmin = dh.min(axis=1)
    under = None
    if dmin.min() < DLOW:
        under = dh < DLOW
        np.maximum(dh, DLOW, out=dh)
        dl[under] = 0.0
    s = f2
    np.multiply(dh, KINV, out=s)
    s += SHIFT  # SHIFT + n, n = the integer nearest fl(dh KINV)
    n = f3
    np.subtract(s, SHIFT, out=n)
    ni = s.view(np.int64)
    ni -= SHIFT_BITS  # n as an integer
    np.bitwise_and(ni, STEP - 1, out=qi)  # q
    ni >>= 11  # k
    a = f4
    np.multiply(n, C1, out=a)
    np.subtract(dh, a, out=a)
    np.multiply(n, C2, out=f5)
    a -= f5  # exact
    n *= C3
    np.subtract(dl, n, out=dl)  # w
    w = dl
    a1 = f5
    np.add(a, SIG, out=a1)
    a1 -= SIG
    h2 = dh
    np.add(a, a1, out=h2)
    np.subtract(a, a1, out=f3)  # a2
    h2 *= f3
    np.multiply(a1, a1, out=a1)
    a1 *= 0.5  # hh
    b = f6
    np.add(a, a1, out=b)
    be = f7
    np.subtract(b, a, out=be)
    np.subtract(a1, be, out=be)
    poly = f3
    np.multiply(a, D6, out=poly)
    poly += D5
    poly *= a
    poly += D4
    poly *= a
    poly += D3
    np.multiply(a, a, out=a1)
    a1 *= a
    poly *= a1  # P'
    h2 *= 0.5
    h2 += be
    h2 += poly  # z2
    t = f8
    np.add(b, h2, out=t)
    Z = f7
    np.multiply(w, t, out=Z)
    Z += w
    Z += h2
    TH, TH1, TL = f3, f4, f5
    np.take(TAB_H, qi, out=TH, mode="wrap")  # q is in [0, 2048): no bounds check
    np.take(TAB_H1, qi, out=TH1, mode="wrap")
    np.take(TAB_L, qi, out=TL, mode="wrap")
    TH2 = dh
    np.subtract(TH, TH1, out=TH2)
    sp = w
    np.multiply(b, SPLIT, out=sp)
    b1 = EH
    np.subtract(sp, b, out=b1)
    np.subtract(sp, b1, out=b1)
    b2 = EL
    np.subtract(b, b1, out=b2)
    p = sp
    np.multiply(TH, b, out=p)
    e = b
    np.multiply(TH1, b1, out=e)
    e -= p
    np.multiply(TH1, b2, out=TH1)
    e += TH1
    np.multiply(TH2, b1, out=b1)
    e += b1
    np.multiply(TH2, b2, out=b2)
    e += b2  # p + e = TH b exactly
    yh = TH2
    np.add(TH, p, out=yh)
    Z *= TH  # TH Z
    t *= TL
    t += TL  # TL + TL t
    Z += t
    Z += e
    np.subtract(yh, TH, out=TH)
    np.subtract(p, TH, out=TH)  # e0: TH + p = yh + e0 exactly
    Z += TH  # low
    np.add(yh, Z, out=EH)
    np.subtract(EH, yh, out=yh)
    np.subtract(Z, yh, out=EL)  # EH + EL = yh + low exactly
    ni += 1023
    ni <<= 52
    scale = ni.view(np.float64)  # 2**k
    EH *= scale
    EL *= scale
    if under is not None:
        EH[under] = 0.0
        EL[under] = 0.0
    return dmin


def tree_sum2(H: np.ndarray, Lo: np.ndarray, work: Work | None = None, stop: int = 1):
    """(hi, lo, h): row sums of H + Lo (nr, n) by a pairwise tree of TwoSum on H, the low parts and the
    errors added in float64 (module docstring (3)); h levels. H and Lo are left as they were. With stop > 1
    the levels end at a width <= stop: hi and lo are then (nr, width) partial sums (views of `work`), which
    a later call reduces further (the levels of both calls make one tree)."""
    nr, w = H.shape
    if work is None:
        work = Work((nr, w))
    f, _ = work.view(nr)
    h = 0
    bufs = [(f[0], f[1]), (f[2], f[3])]  # the levels' sums, alternately (first columns)
    e_buf, r_buf = f[4], f[5]
    src_h, src_l = H, Lo
    while w > stop:
        half = w // 2
        a, b = src_h[:, :half], src_h[:, half:2 * half]
        hs, ls = bufs[h % 2]
        s, lo, e, r = hs[:, :half], ls[:, :half], e_buf[:, :half], r_buf[:, :half]
        np.add(a, b, out=s)
        np.subtract(s, a, out=e)  # bb
        np.subtract(b, e, out=r)  # b - bb
        np.subtract(s, e, out=e)
        np.subtract(a, e, out=e)
        e += r  # TwoSum error: a + b = s + e exactly
        np.add(src_l[:, :half], src_l[:, half:2 * half], out=lo)
        lo += e
        if w % 2:
            hs[:, half] = src_h[:, w - 1]
            ls[:, half] = src_l[:, w - 1]
            half += 1
        src_h, src_l = hs, ls
        w = half
        h += 1
    if stop > 1:
        return src_h[:, :w], src_l[:, :w], h
    return src_h[:, 0].copy(), src_l[:, 0].copy(), h


def tree_bound(th, tl, h: int):
    return ((h + 2) ** 2 * U * U * 1.01) * np.abs(th + tl) + ETA
