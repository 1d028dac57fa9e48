"""The double-double exp kernel and exact row sums of the a-priori float64 path (apriori_dd.py): exp(x - m) for
whole blocks of rows in a fixed sequence of float64 array passes (error-free transformations, exact products
of short significands, plain float64 only where its rounding is far below 2**-53 of the result), and the
row sums by exact splitting, each with an a-priori error bound (notation: apriori_dd.py's docstring).

(2) exp kernel, for DLOW <= dh <= 0 (c = ln2 / 4096). n = s - SHIFT with s = fl(fl(dh KINV) + SHIFT), SHIFT =
    1.5 * 2**52, KINV = fl(1/c): the integer nearest fl(dh KINV) (ties to even), exact, and s's low bits hold
    it; |n| <= 4,183,800 < 2**22 and |dh/c - n| <= 1/2 + 1e-9. c = C1 + C2 + C3 + c4 (arb): C1 = c truncated
    to 31 bits (a multiple of 2**-43), C2 = c - C1 rounded to a multiple of 2**-66 (< 2**-43, so at most 23
    bits), C3 = fl(c - C1 - C2) (|C3| <= 2**-67), |c4| <= CTAIL. n C1 and n C2 are exact (at most 53 and 45
    bits). a = fl(fl(dh - n C1) - n C2) is exact: for n = 0 it is dh; otherwise |dh| >= c (1/2 - 1e-9) >
    2**-14, so dh, n C1 and n C2 are multiples of 2**-66, and so are both differences, whose magnitudes are
    below c/2 + 2**-21 < 2**-13 (fewer than 2**53 multiples). |a| <= c (1/2 + 1e-9) + 2**22 (2**-67 + CTAIL)
    < RHO = c (1/2 + 1e-9) + 2**-44. w = fl(dl - fl(n C3)); r := d_j - n c = a + w + dw with |n| <= NMAX L_i
    + 1 (NMAX = 5910), |w| <= W_i = (U L_i + (NMAX L_i + 1) |C3|)(1 + 2U) and |dw| <= DW_i = U W_i +
    (NMAX L_i + 1)(U |C3| + CTAIL).
    exp(d_j) = 2**k T_q exp(r), n = 4096 k + q (q = n & 4095, k = n >> 12), T_q = 2**(q/4096) = TH + TL + tT
    (arb: TH = the float64 nearest, TL = fl(T_q - TH), |tT| <= TTAIL; TH1 = fl(fl(TH + SIGT) - SIGT), SIGT =
    1.5 * 2**27, is TH rounded to a multiple of 2**-25, at most 26 bits as 1 <= TH < 2, and TH2 = TH - TH1 is
    exact, |TH2| <= 2**-26, a multiple of 2**-52: at most 26 bits). exp(a) = 1 + a + a^2/2 + P(a) + tau, P = a^3 (1/6 + a/24 + a^2/120), |tau| <=
    RHO^6/720 1.001.
      a1 = fl(fl(a + SIG) - SIG), SIG = 1.5 * 2**13: a rounded to a multiple of 2**-39 (so |a1| < 2**-13 has
      at most 26 bits and h = fl(a1 a1) is exact); a2 = fl(a - a1) exact, |a2| <= 2**-40; a^2 = a1^2 +
      a2 (a + a1) exactly, h2 = fl(a2 fl(a + a1)) errs by <= 2**-104.5 + ETA. hh = h/2 (exact), b + be =
      a + hh exactly (Fast2Sum: |hh| <= 2 a^2 < |a|). P' = fl(fl(fl(a a) a) poly(a)), poly by Horner, errs
      by <= 5.1 U RHO^3/6 (1.001) + 2 ETA. z2 = fl(fl(be + h2/2) + P') (|z2| <= 2**-43.1);
      Z = fl(fl(fl(w b) + w) + z2), |Z| <= ZMAX_i = RHO^3/6 1.001 + 2**-53 + 1.001 W_i.
      Then exp(r) = exp(a) exp(w + dw) = 1 + b + Z + Delta_i with (every rounding U |result| at most; w b in
      place of w (exp(a) - 1): |exp(a) - 1 - b| <= 2**-43)
      |Delta_i| <= DELTA0 + 1.01 U W_i + 2**-43 W_i + 1.0002 (DW_i + 0.51 (W_i + DW_i)^2), DELTA0 = tau + the
      error of P' + the roundings of z1 (2**-106), z2 (U 2**-43.1) and Z (U ZMAX_i) + 2**-100 (h2, underflow).
    y = T_q exp(r) = TH + TH b + TH Z + TL (1 + b + Z) + (TH + TL) Delta + tT exp(r):
      TH b = P1 + P2 + TH b2: b1 = fl(fl(b + SIG) - SIG) (|b| <= RHO + 2**-27 < 2**-13: at most 26 bits),
      b2 = fl(b - b1) exact (|b2| <= 2**-40); P1 = TH1 b1 and P2 = TH2 b1 are exact (26 x 26 bits, |P2| <=
      2**-39). low = fl(fl(fl(TH fl(Z + b2)) + fl(TL + fl(TL b1))) + P2), with b1 in place of b + Z: |TL|
      |b + Z - b1| <= 2**-53 (2**-40 + ZMAX_i); four roundings of at most U LOWMAX_i, LOWMAX_i = 2.0004
      (ZMAX_i + 2**-40)(1 + 2U) + 2**-39 + 2**-51 (the one inside the product counted twice: TH < 2).
      EH = fl(fl(TH + P1) + low); TH - EH is exact (Sterbenz: |EH - TH| < 2**-12.9) and so is its sum with
      P1 (multiples of 2**-64 and |TH + P1 - EH| <= |low| + 2**-51 < 2**-37.8); EL = fl(fl(TH - EH + P1) +
      low): EH + EL = TH + P1 + low within U |EL| <= 2**-104, |EL| <= 2**-51 <= 4.01 U EH. Both are
      scaled by 2**k (exact but for underflow: + ETA each).
    So |EH + EL - e_j| <= KE_i e_j + 2 ETA, KE_i = (2.0004 |Delta_i| + 4 U LOWMAX_i + 2**-104 + 2**-53
    (2**-40 + ZMAX_i) + 1.0002 TTAIL + 2**-1000) / exp(-RHO), 2**-1000 covering the underflow terms
    before scaling (ETA-sized). At d_j = 0 (the maximum) the kernel gives exactly 1 (a = w = 0, T_0 = 1).
    d_j = dh + dl comes from TwoSum(x_j, -m), or from Fast2Sum where the block's rows allow it (every row
    with m >= |min x| or m <= 0: then |m| >= |x_j|, resp. |x_j| >= |m|, for the whole row).
(3) Th + Tl = the row sums of EH + EL (the maximum's element set to 0) by exact splitting (split_sum): with
    L = ceil(log2 C), M = a power of two above the row's largest EH, Q1 = 2**(L + 3 - 53) M, Q2 = 2**(L + 1 -
    53) Q1 and SIGi = 1.5 * 2**52 Qi: hi = fl(fl(EH + SIG1) - SIG1) is EH rounded to a multiple of Q1 (EH <=
    M <= 2**51 Q1), r1 = EH - hi is exact (|r1| <= Q1/2), mid = fl(fl(r1 + SIG2) - SIG2) is r1 rounded to a
    multiple of Q2 (|r1| <= 2**51 Q2), r2 = r1 - mid is exact (|r2| <= Q2/2). The sums of hi (partial sums:
    multiples of Q1 below C 2M <= 2**53 Q1) and of mid (multiples of Q2 below C Q1 <= 2**53 Q2) are exact in
    any order (np.sum); z = fl(r2 + EL) and its sum (any order: Higham 4.2) err by at most (U + g_C)(1 + U)
    sum |z|, g_C = C U / (1 - C U), with sum |z| <= C Q2/2 + 4.01 U sum EH (|EL| <= 4.01 U EH). Th + e1 =
    Hs + Ms exactly (TwoSum, |e1| <= U |Th|), so sum EH <= |Th| (1 + U) + C Q2/2; Tl = fl(e1 + Zs):
    |Th + Tl - sum (EH + EL)| <= SUM_i = (U + g_C)(1 + 2U)(C Q2/2 + 4.01 U (|Th| (1 + U) + C Q2)) + U |Tl|
    + ETA.
"""
from __future__ import annotations

import math

import numpy as np

U = 2.0 ** -53
ETA = 2.0 ** -1074
SAFE = 1 + 2.0 ** -40
STEP = 4096
DLOW = -708.0
SIG = 1.5 * 2.0 ** 13  # fl(v + SIG) - SIG: v rounded to a multiple of 2**-39
SIGT = 1.5 * 2.0 ** 27  # the same to a multiple of 2**-25
SHIFT = 1.5 * 2.0 ** 52  # fl(v + SHIFT) - SHIFT: v rounded to an integer (|v| < 2**51); its bits hold it
SHIFT_BITS = np.array(SHIFT).view(np.int64)
SPLIT = 134217729.0
NMAX = 5910.0
D3, D4, D5 = 1 / 6, 1 / 24, 1 / 120
EXPMASK = np.uint64(0x7FF0000000000000)
C_LN2 = math.log(2) / STEP
RHO = C_LN2 * (0.5 + 1e-9) + 2.0 ** -44
HG_BITS = np.uint64((53 << 52) + 1)  # bits of 2**e -> those of 2**(e - 53) (1 - 2**-53)


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
        C2 = math.ldexp(round(float(((c - C1) * arb(2) ** 66).mid())), -66)
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
    nmax = NMAX * L + 1
    W = (U * L + nmax * C3) * (1 + 2 * U)
    DW = U * W + nmax * (U * C3 + CTAIL)
    ZMAX = RHO ** 3 / 6 * 1.001 + 2.0 ** -53 + 1.001 * W
    tau = RHO ** 6 / 720 * 1.001
    poly = 5.1 * U * RHO ** 3 / 6 * 1.001
    delta0 = tau + poly + 2.0 ** -106 + U * 2.0 ** -43.1 + U * ZMAX + 2.0 ** -100
    delta = delta0 + 1.01 * U * W + 2.0 ** -43 * W + 1.0002 * (DW + 0.51 * (W + DW) ** 2)
    lowmax = 2.0004 * (ZMAX + 2.0 ** -40) * (1 + 2 * U) + 2.0 ** -39 + 2.0 ** -51
    ey = (2.0004 * delta + 4 * U * lowmax + 2.0 ** -104 + 2.0 ** -53 * (2.0 ** -40 + ZMAX)
          + TTAIL * 1.0002 + 2.0 ** -1000)
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
    xmin = x.min(axis=1, keepdims=True)
    dmin = (xmin + nm)[:, 0]  # = min_j dh (rounding is monotone)
    if (m <= 0).all():  # |x_j| >= |m|: Fast2Sum(x_j, -m)
        np.subtract(dh, x, out=dl)
        np.subtract(nm, dl, out=dl)
    elif (m >= -xmin).all():  # |m| >= |x_j|: Fast2Sum(-m, x_j)
        np.subtract(dh, nm, out=dl)
        np.subtract(x, dl, out=dl)
    else:  # TwoSum(x_j, -m)
        np.subtract(dh, x, out=f2)  # bb
        np.subtract(dh, f2, out=dl)
        np.subtract(x, dl, out=dl)
        np.subtract(nm, f2, out=f2)
        dl += f2  # d = dh + dl exactly
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
    ni -= SHIFT_BITS - 1023 * STEP  # n + 1023 * 4096 as an integer: its low 12 bits are q, the rest k + 1023
    np.bitwise_and(ni, STEP - 1, out=qi)  # q
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
    np.subtract(a1, be, out=be)  # b + be = a + hh exactly
    poly = f3
    np.multiply(a, D5, out=poly)
    poly += D4
    poly *= a
    poly += D3
    np.multiply(a, a, out=a1)
    a1 *= a
    poly *= a1  # P'
    h2 *= 0.5
    h2 += be
    h2 += poly  # z2
    Z = f7
    np.multiply(w, b, out=Z)
    Z += w
    Z += h2
    TH, TH1, TL = f3, f4, f5
    np.take(TAB_H, qi, out=TH, mode="wrap")  # q is in [0, 4096): no bounds check
    np.take(TAB_L, qi, out=TL, mode="wrap")
    np.add(TH, SIGT, out=TH1)
    TH1 -= SIGT  # TH rounded to a multiple of 2**-25
    TH2 = dh
    np.subtract(TH, TH1, out=TH2)
    b1 = w
    np.add(b, SIG, out=b1)
    b1 -= SIG
    b2 = b
    b2 -= b1
    P1 = EL
    np.multiply(TH1, b1, out=P1)  # exact
    np.multiply(TH2, b1, out=TH2)  # P2, exact
    yh = TH1
    np.add(TH, P1, out=yh)
    Z += b2
    Z *= TH  # TH (Z + b2)
    t = f8
    np.multiply(TL, b1, out=t)
    t += TL  # TL + TL b (b1 + b2 = b)
    Z += t
    Z += TH2  # low
    np.add(yh, Z, out=EH)
    np.subtract(TH, EH, out=TH)  # exact (Sterbenz)
    TH += P1  # exact: TH + P1 - EH, a multiple of 2**-64 below 2**-37.8
    np.add(TH, Z, out=EL)  # EH + EL = TH + P1 + low with one rounding
    ni >>= 12
    ni <<= 52
    scale = ni.view(np.float64)  # 2**k
    EH *= scale
    EL *= scale
    if under is not None:
        EH[under] = 0.0
        EL[under] = 0.0
    return dmin


def split_sum(EH: np.ndarray, EL: np.ndarray, work: Work) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """(Th, Tl, bound) per row: the row sums of EH + EL (nr, n), EH >= 0, by module docstring (3)."""
    nr, C = EH.shape
    f, _ = work.view(nr)
    hi, r, mid = f[0], f[1], f[2]
    L = max(C - 1, 1).bit_length()
    M = EH.max(axis=1, keepdims=True)
    Mp = np.ldexp(1.0, np.frexp(M)[1])  # a power of two above M (1 for M = 0)
    s1 = Mp * (1.5 * 2.0 ** (L + 2))  # 1.5 * 2**52 Q1
    s2 = s1 * 2.0 ** (L + 1 - 53)
    np.add(EH, s1, out=hi)
    hi -= s1
    np.subtract(EH, hi, out=r)
    np.add(r, s2, out=mid)
    mid -= s2
    r -= mid
    r += EL  # z
    Hs, Ms, Zs = hi.sum(axis=1), mid.sum(axis=1), r.sum(axis=1)
    th = Hs + Ms
    bb = th - Hs
    e1 = (Hs - (th - bb)) + (Ms - bb)
    tl = e1 + Zs
    g = C * U / (1 - C * U)
    CQ2 = C * (s2[:, 0] / (1.5 * 2.0 ** 52))
    bound = (U + g) * (1 + 2 * U) * (CQ2 / 2 + 4.01 * U * (np.abs(th) * (1 + U) + CQ2)) + U * np.abs(tl) + ETA
    return th, tl, bound
