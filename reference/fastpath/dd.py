"""Double-double bounded arithmetic: the fast path's working format for float64 cases.

A value is an unevaluated pair v + lo of float64 arrays (about 106 significand bits) with a bound
E >= |v + lo - y|, y the exact real (package docstring, "Running error bound"). Every rule below takes its
rounding errors exactly where an error-free transformation gives them (TwoSum: a + b = s + r exactly, for
every finite pair under round to nearest; Dekker's TwoProduct where neither its split overflows nor a
partial product underflows) and otherwise as |fl(x) - x| <= U |fl(x)| + ETA (U = 2**-53, ETA = 2**-1074):
    a + b:  s, r1 = TwoSum(a.v, b.v); t, te = TwoSum(a.lo, b.lo); u, ue = TwoSum(r1, t); v, lo = TwoSum(s, u).
            a + b = v + lo + ue + te exactly, so E = Ea + Eb + |ue| + |te|.
    a * b:  p, r = TwoProduct(a.v, b.v); c1 = fl(a.v b.lo), c2 = fl(a.lo b.v); c3, c3e = TwoSum(c1, c2);
            q, qe = TwoSum(r, c3); v, lo = TwoSum(p, q). Dropped: a.lo b.lo. E = |c1 err| + |c2 err| + |c3e|
            + |qe| + |a.lo||b.lo| (+ U|p| + ETA where TwoProduct is not exact) + |a| Eb + |b| Ea + Ea Eb.
    a / b:  q1 = fl(a.v / b.v); rho = a - q1 b in the rules above (bound Erho); q2 = fl(rho.v / b.v).
            a/b - (q1 + q2) = (rho_exact - q2 b) / b and |rho.v - q2 b.v| <= U|rho.v| + ETA|b.v|, so the
            rounding error is (Erho + U|rho.v| + ETA|b.v| + |rho.lo| + |q2||b.lo|) / (|b.v| - |b.lo|);
            inputs' errors as in bound.Arith.div. 0 / b is exactly 0.
    exp(a): x = a.v + a.lo. n = rint(x 2048 / ln2), r = x - n c with c = ln2 / 2048 = C1 + C2 + rest (n C1
            exact: C1 has 31 bits, |n| < 2**22; n C2 by TwoProduct; |n rest| <= |n| C3err), |r| <= RHO =
            ln2 / 4096 (1 + 2**-10). expm1(r) = r + r^2/2 + sum_{n>=3} r^n/n!: r^2 by TwoProduct of r.v plus
            2 r.v r.lo (rounding U|.| + ETA each, r.lo^2 and r's own error added); the tail evaluated in
            float64 from r.v, error <= TAIL_ERR (truncation after n = 6: 2 RHO^7/7!; rounding: 16 U RHO^3/6;
            underflow: 16 ETA) + (|r.lo| + Er) RHO^2/2 (1.01) (the tail's slope times r - r.v). exp(x) =
            2**k T_m (1 + expm1(r)) with n = 2048 k + m, T_m = 2**(m/2048) a double-double table made with arb
            (its error from the arb ball); the scaling by 2**k is np.ldexp (exact unless subnormal: + 2 ETA).
            Evaluated in blocks of CHUNK elements. The input's own error: exp(x') - exp(x) <= 1.65 Ea exp(x)
            for Ea <= 1/2 (as bound.Arith.exp). x + Ea < -748: exp < ETA / 2, value 0, E = ETA. x = 0
            exactly: 1 exactly. Relative error about 2**-89: an element is left undecided with probability
            about 2**-35.
    a / b with one divisor per many elements (b at most a quarter of a's size): a * (1 / b).
    log1p:  on the few row sums the ops need (one per row), by arb on the exact double-double value:
            the ball's midpoint as a double-double, E = radius + |midpoint - v - lo| + the input's
            error / (1 + max(a - Ea, 0)).
Each bound is itself computed in float64 rounding to nearest from a handful of non-negative terms; like
bound.Arith it is multiplied by (1 + 64 U) and increased by 64 ETA where inexact.

Certification into float64 (certify_dd): r = fl(v + lo) is the correctly rounded value of v + lo and
t = v + lo - r exactly (TwoSum). Every real within E of v + lo rounds to r when t + E < gap_up(r) / 2 and
t - E > -gap_down(r) / 2 (the gaps to the neighbouring floats are exact; t + E rounded up, t - E down,
strict inequalities so a tie is never claimed). Where r is 0 the sign is the interval's (or the one the
mathematics gives, as rounding.certify clips); r = +-max and non-finite values are left to arb.
"""
from __future__ import annotations

import math

import numpy as np

from reference.fastpath.bound import DD, B

U = 2.0 ** -53
ETA = 2.0 ** -1074
SPLIT = 134217729.0  # 2**27 + 1
SAFE = 2.0 ** 511
LOWP = 2.0 ** (-1022 + 2 * 53 + 4)
LOG_UNDER = -748.0  # exp(x) < ETA / 2 below
LOG_OVER = 709.0
TABLE_STEP = 2048
CHUNK = 16384  # elements per block of exp (its temporaries fit in cache)
RHO = math.log(2) / (2 * TABLE_STEP) * (1 + 2.0 ** -10)
TAIL_ERR = 2 * RHO ** 7 / 5040 + 16 * U * RHO ** 3 / 6 + 16 * ETA
TAIL_SLOPE = RHO ** 2 / 2 * 1.01
D3, D4, D5, D6 = 1 / 6, 1 / 24, 1 / 120, 1 / 720


def two_sum(a, b):
    s = a + b
    bb = s - a
    return s, (a - (s - bb)) + (b - bb)


def two_prod(a, b):
    """(p, r, extra): p = fl(a b); r = a b - p exactly where Dekker's TwoProduct is exact (else 0, and
    extra = U|p| + ETA bounds the error); a zero factor gives exactly 0."""
    p = a * b
    c = SPLIT * a
    ah = c - (c - a)
    al = a - ah
    c = SPLIT * b
    bh = c - (c - b)
    bl = b - bh
    r = ((ah * bh - p) + ah * bl + al * bh) + al * bl
    zero = (a == 0) | (b == 0)
    exact = ((np.abs(a) <= SAFE) & (np.abs(b) <= SAFE) & (np.abs(p) >= LOWP)) | zero
    return p, np.where(exact, r, 0.0), np.where(exact, 0.0, U * np.abs(p) + ETA)


def _arb_constants():
    """ln2/2048 split (C1 with 31 bits, so n C1 is exact for |n| < 2**22; C2; a bound on the rest) and
    2**(m/2048), m = 0..2047, as double-doubles with error bounds: each from an arb ball at 200 bits."""
    from flint import arb, ctx

    saved = ctx.prec
    ctx.prec = 200
    try:
        def split(x) -> tuple[float, float, float]:
            h = float(x.mid())
            lo = float((x - h).mid())
            rest = abs(x - h - lo)
            return h, lo, float(rest.upper()) * (1 + 2.0 ** -40) + 2.0 ** -1074

        c = arb(2).log() / TABLE_STEP
        m, e = math.frexp(float(c.mid()))
        C1 = math.ldexp(math.floor(math.ldexp(m, 31)), e - 31)
        C2, C2lo, C2err = split(c - C1)
        rows = [split(arb(2) ** (arb(j) / TABLE_STEP)) for j in range(TABLE_STEP)]
        table = tuple(np.array(col, dtype=np.float64) for col in zip(*rows))
    finally:
        ctx.prec = saved
    return C1, C2, abs(C2lo) + C2err, table


_CONST = None


def constants():
    global _CONST
    if _CONST is None:
        _CONST = _arb_constants()
    return _CONST


class DDArith:
    """The bounded rules of the module docstring, with bound.Arith's interface (exact, add, sub, mul, div,
    exp, log1p, tree_sum)."""

    w = DD
    dt = np.float64
    U, ETA, TINY = U, ETA, 2.0 ** -1022
    SLACK = 1 + 64 * U

    def exact(self, x) -> B:
        v = np.asarray(x, dtype=np.float64)
        return B(v, np.zeros(v.shape))  # lo None: a single word, exactly

    @staticmethod
    def _lo(b: B):
        return np.zeros(np.shape(b.v)) if b.lo is None else b.lo

    def _finish(self, e, exact=None) -> np.ndarray:
        e = np.asarray(e, dtype=np.float64)
        out = e * self.SLACK + 64 * ETA
        return np.where((e == 0) if exact is None else exact, 0.0, out)

    def add(self, a: B, b: B) -> B:
        s, r1 = two_sum(a.v, b.v)
        if a.lo is None and b.lo is None:  # two words: s + r1 is the sum exactly
            return B(s, self._finish(a.e + b.e), r1)
        if a.lo is None or b.lo is None:
            u, ue = two_sum(r1, b.lo if a.lo is None else a.lo)
            e = np.abs(ue)
        else:
            t, te = two_sum(a.lo, b.lo)
            u, ue = two_sum(r1, t)
            e = np.abs(ue) + np.abs(te)
        v, lo = two_sum(s, u)
        return B(v, self._finish(e + a.e + b.e), lo)

    def sub(self, a: B, b: B) -> B:
        return self.add(a, -b)

    def mul(self, a: B, b: B) -> B:
        if b.lo is None and np.size(b.v) < np.size(a.v) and np.all(b.v == 1) and np.all(b.e == 0):
            return a  # times an exact 1
        with np.errstate(all="ignore"):
            p, r, extra = two_prod(a.v, b.v)
            prop = (np.abs(a.v) + (0 if a.lo is None else np.abs(a.lo))) * b.e \
                + (np.abs(b.v) + (0 if b.lo is None else np.abs(b.lo))) * a.e + a.e * b.e
            if a.lo is None and b.lo is None:  # p + r is the product (where TwoProduct is exact)
                return B(p, self._finish(extra + prop), r)
            al, bl = self._lo(a), self._lo(b)
            c1 = a.v * bl
            c2 = al * b.v
            c3, c3e = two_sum(c1, c2)
            q, qe = two_sum(r, c3)
            v, lo = two_sum(p, q)
            e1 = np.where((a.v == 0) | (bl == 0), 0.0, U * np.abs(c1) + ETA)
            e2 = np.where((al == 0) | (b.v == 0), 0.0, U * np.abs(c2) + ETA)
            e = extra + e1 + e2 + np.abs(c3e) + np.abs(qe) + np.abs(al) * np.abs(bl) + prop
        return B(v, self._finish(e), lo)

    def div(self, a: B, b: B) -> B:
        if 4 * np.size(b.v) <= np.size(a.v):  # one divisor for many: a * (1 / b), both bounded
            return self.mul(a, self.div(self.exact(np.ones(np.shape(b.v))), b))
        al, bl = self._lo(a), self._lo(b)
        with np.errstate(all="ignore"):
            q1 = a.v / b.v
            prod = self.mul(B(q1, np.zeros(np.shape(q1))), B(b.v, np.zeros(np.shape(b.v)), b.lo))
            rho = self.add(B(a.v, np.zeros(np.shape(a.v)), a.lo), -prod)
            q2 = rho.v / b.v
            v, lo = two_sum(q1, q2)
            den = (np.abs(b.v) - np.abs(bl)) * (1 - 4 * U)
            rho_lo = 0 if rho.lo is None else np.abs(rho.lo)
            rnd = (rho.e + U * np.abs(rho.v) + ETA * np.abs(b.v) + rho_lo + np.abs(q2) * np.abs(bl)) / den
            room = den - b.e
            prop = (a.e + (np.abs(v) + np.abs(lo) + rnd) * b.e) / room
            e = rnd + prop
        valid = (b.e * 2 < den) & (den > 0)
        zero = (a.v == 0) & (al == 0) & (a.e == 0) & valid
        e = np.where(valid, e, np.inf)
        return B(np.where(zero, 0.0, v), self._finish(e, zero), np.where(zero, 0.0, lo))

    def exp(self, a: B) -> B:
        """exp elementwise, in chunks of CHUNK elements (the temporaries stay in cache)."""
        shape = np.shape(a.v)
        n = int(np.prod(shape, dtype=np.int64))
        if n <= CHUNK:
            return self._exp(a)
        flat = a.map(lambda x: np.ascontiguousarray(np.broadcast_to(x, shape)).reshape(-1))
        parts = [self._exp(flat[i:i + CHUNK]) for i in range(0, n, CHUNK)]
        return B(*(np.concatenate(c).reshape(shape) for c in zip(*((b.v, b.e, self._lo(b)) for b in parts))))

    def _exp(self, a: B) -> B:
        C1, C2, C3err, (TH, TL, TE) = constants()
        al = self._lo(a)
        ok = np.isfinite(a.v) & np.isfinite(al) & (a.e <= 0.5)
        x = np.where(ok, a.v, 0.0)
        under = ok & (x + a.e < LOG_UNDER)
        over = ok & (x > LOG_OVER)
        x = np.clip(x, LOG_UNDER, LOG_OVER)
        xl = np.where(ok & ~under & ~over, al, 0.0)
        with np.errstate(all="ignore"):
            n = np.rint(x * (TABLE_STEP / math.log(2)))
            s0, s0e = two_sum(x, -n * C1)
            p2, p2e, _ = two_prod(n, np.float64(C2))
            z = np.zeros(np.shape(x))
            r = self.add(B(s0, z, s0e), B(xl, z))
            r = self.add(r, B(-p2, np.abs(n) * C3err, -p2e))
            h, low = r.v, self._lo(r)
            sq, sqe, extra = two_prod(h, h)
            c = 2 * h * low
            ql = sqe + c
            sq_err = (extra + U * np.abs(c) + ETA + U * np.abs(ql) + ETA + low * low
                      + (2 * (np.abs(h) + np.abs(low)) + r.e) * r.e)
            half_sq = B(0.5 * sq, 0.5 * sq_err + ETA, 0.5 * ql)
            t = h
            t3 = (t * t * t) * (D3 + t * (D4 + t * (D5 + t * D6)))
            t3_err = TAIL_ERR + (np.abs(low) + r.e) * TAIL_SLOPE
            q = self.add(self.add(r, half_sq), B(t3, t3_err))  # expm1(r)
            m = np.mod(n, TABLE_STEP)
            k = ((n - m) / TABLE_STEP).astype(np.int64)
            idx = m.astype(np.int64)
            T = B(TH[idx], TE[idx], TL[idx])
            y = self.add(T, self.mul(T, q))
            v, lo = np.ldexp(y.v, k), np.ldexp(y.lo, k)
            e = np.ldexp(y.e, k) + 2 * ETA
            e = e + 1.65 * a.e * (np.abs(v) + np.abs(lo) + e)
        bad = ~ok | over | ~(np.abs(h) <= RHO)
        one = (a.v == 0) & (al == 0) & (a.e == 0)
        v = np.where(one, 1.0, np.where(under, 0.0, v))
        lo = np.where(one | under, 0.0, lo)
        e = np.where(under, ETA, np.where(bad, np.inf, e))
        return B(v, self._finish(e, one), lo)

    def log1p(self, a: B) -> B:
        """log1p of a value whose exact counterpart is >= 0, element by element in arb (module docstring)."""
        from flint import arb, ctx

        al = self._lo(a)
        v = np.zeros(np.shape(a.v))
        lo = np.zeros(np.shape(a.v))
        e = np.full(np.shape(a.v), np.inf)
        saved = ctx.prec
        ctx.prec = 160
        try:
            for i in np.ndindex(np.shape(a.v)):
                h, low, err = float(a.v[i]), float(al[i]), float(a.e[i])
                if not (math.isfinite(h) and math.isfinite(low) and math.isfinite(err)) or h < 0:
                    continue
                if h == 0 and low == 0 and err == 0:
                    e[i] = 0.0
                    continue
                y = (arb(h) + arb(low)).log1p()
                vh = float(y.mid())
                vl = float((y - vh).mid())
                rest = abs(y - vh - vl)
                prop = err / (1 + max(h + low - err, 0.0)) if err else 0.0
                v[i], lo[i] = vh, vl
                e[i] = (float(rest.upper()) * (1 + 2.0 ** -40) + prop * (1 + 2.0 ** -40) + 2 * ETA)
        finally:
            ctx.prec = saved
        return B(v, self._finish(e), lo)

    def tree_sum(self, a: B) -> B:
        """Sum over the last axis by a fixed pairwise tree (an empty sum is exactly 0)."""
        n = a.v.shape[-1]
        width = 1 << max(n - 1, 0).bit_length()
        pad = [(0, 0)] * (a.v.ndim - 1) + [(0, width - n)]
        cur = a if width == n else a.map(lambda x: np.pad(x, pad))  # the adds make new arrays
        while cur.v.shape[-1] > 1:
            half = cur.v.shape[-1] // 2
            cur = self.add(cur[..., :half], cur[..., half:])
        return cur[..., 0]


def certify_dd(b: B, sign=None) -> tuple[np.ndarray, np.ndarray]:
    """(rounded to float64, certified) for double-double bounded values (module docstring)."""
    v, lo, E = b.v, (np.zeros(np.shape(b.v)) if b.lo is None else b.lo), b.e
    with np.errstate(all="ignore"):
        r, t = two_sum(v, lo)
        up = np.nextafter(r, np.inf) - r
        down = r - np.nextafter(r, -np.inf)
        hi_dev = np.nextafter(t + E, np.inf)
        lo_dev = np.nextafter(t - E, -np.inf)
        finite = np.isfinite(r) & np.isfinite(t) & np.isfinite(E) & (np.abs(r) < np.finfo(np.float64).max)
        ok = finite & (2 * hi_dev < up) & (2 * lo_dev > -down)
    exact = finite & (E == 0)
    zero = r == 0
    if sign is None:
        sign = 0
    sign = np.broadcast_to(np.asarray(sign), np.shape(r))
    # at r == 0: every value of the interval rounds to a zero; its sign is the interval's, or the known one
    pos = (lo_dev > 0) | (sign > 0)
    neg = (hi_dev < 0) | (sign < 0)
    ok = np.where(zero & ~exact, ok & (pos | neg), ok) | exact
    rounded = np.where(zero, np.where(neg & ~pos & ~exact, -0.0, 0.0), r)
    return np.asarray(rounded, dtype=np.float64), np.asarray(ok, dtype=bool)
