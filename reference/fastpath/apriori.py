"""A-priori bounds for the float64 working format: softmax and cross_entropy (integer labels, no label
smoothing) of float32 / float16 / bfloat16 cases in about three array passes above plain NumPy.

The running bound of bound.Arith carries an error array beside every intermediate array (about ten passes
per operation). Here the (R, C) arrays are computed by the plain formula, with no error arrays at all, and
the error of every element is bounded a priori by the standard forward error analysis, as K_i |v| + A_i
with two scalars per row i; the few per-row quantities (the row sum, its log, the label's element, the
item losses, the reduction) go through bound.Arith as before (R values, not R x C). An element is
certified when no midpoint of the case dtype lies within its bound (tier 1: integer arithmetic on the
float64 bit pattern; tier 2: rounding.certify on the few others); rows still undecided are evaluated again
by bound.Arith alone (row by row: the rows are independent), and what is left goes on as before (the
whole case in bound.Arith, then arb). Every certified element is the correctly rounded exact value, so the
answers are those of the other paths, element for element.

Notation: U = 2**-53, ETA = 2**-1074 (float64's smallest subnormal), N = 4 (assumption (A) of the package
docstring: np.exp errs by at most N ulp, so |np.exp(a) - exp(a)| <= N (2U exp(a) + ETA)), gamma_h =
hU / (1 - hU). A row is x_1..x_C (values of the case dtype, exact in float64), k the first index of its
maximum m, d_j = x_j - m <= 0, e_j = exp(d_j), T = sum_{j != k} e_j, S = 1 + T.
Model: fl(a + b) = (a + b)(1 + delta) (addition never errs below the normal range), fl(a * b) =
(a b)(1 + delta) + eta, |delta| <= U, |eta| <= ETA / 2.

(1) dh_j = fl(x_j - m) = d_j (1 + delta): |dh_j - d_j| <= U |d_j|. Let L_i = min(-min_j dh_j, 746) / (1 - U)
    (so |d_j| <= L_i wherever dh_j >= -746) and rho_i = U (2N (1 + 2**-40) + 1.001 L_i).
(2) eh_j = np.exp(dh_j) (j != k; eh_k = 1 = e_k exactly). Claim: |eh_j - e_j| <= rho_i e_j + 5 ETA.
    Where dh_j >= -746: |dh_j - d_j| <= U |d_j| <= 747 U, so |exp(dh_j) - e_j| <= e_j (e^{U|d_j|} - 1) <=
    1.001 U L_i e_j and exp(dh_j) <= e_j (1 + 2**-42); with (A), |eh_j - exp(dh_j)| <= 2N U (1 + 2**-42) e_j
    + N ETA. Where dh_j < -746: d_j <= dh_j / (1 + U) < -745.9, so e_j and exp(dh_j) are below ETA / 4 and
    eh_j < ETA / 4 + N (2U + 1) ETA < 4.3 ETA: |eh_j - e_j| < 5 ETA.
(3) Th = a fixed pairwise tree sum of the eh_j (j != k) in which every term takes part in at most h
    additions (tree_sum below: h = floor(log2 C) + 2 at most, log2 C for a power of two): the sum of
    non-negative terms in any such tree errs by at most gamma_h times their exact sum (Higham, Accuracy and
    Stability, 4.2), and that sum is at most Th / (1 - gamma_h). With (2) summed over j,
    |sum eh - T| <= rho T + 5 C ETA and T <= (Th / (1 - gamma_h) + 5 C ETA) / (1 - rho), so
        E_T = gamma_h Th / (1 - gamma_h) + rho (Th / (1 - gamma_h) + 5 C ETA) / (1 - rho) + 5 C ETA.
    T then enters bound.Arith as B(Th, E_T) and the row quantities follow its rules: S = 1 + T, log S =
    log1p(T), the label's log-probability d_y - log1p(T) (d_y by TwoSum, exactly bounded), the item loss
    alpha (log1p(T) - d_y) with alpha = w_y (0 for an ignored item), 1 - s_y = T / S (y = k) or
    (1 + (T - e_y)) / S (e_y = B(eh_y, rho (eh_y + 5 ETA) / (1 - rho) + 5 ETA) from (2)), the label's gradient
    -alpha (1 - s_y) / D, the reduction and its denominator D, and c_i = alpha / S (/ D for a mean; 1 / S for
    softmax) with its bound E_c. Where D is a power of two (a count of 2**j items), alpha / D is an exact
    scaling (bound.Arith's power-of-two rule) and takes alpha's place in c_i and the label's gradient.
(4) Every other element of the gradient (of softmax: every element) is v_j = fl(eh_j * ch_i), exact
    g_j = c_i e_j. |v_j - g_j| <= U |v_j| + ETA + |eh_j - e_j| |ch| + e_j |ch - c| <= U |v_j| + ETA +
    (rho |ch| + E_c) e_j + 5 |ch| ETA; with e_j <= (eh_j + 5 ETA) / (1 - rho) and eh_j |ch| <= (|v_j| + ETA) /
    (1 - U): |v_j - g_j| <= K_i |v_j| + A_i, q = (rho + E_c / |ch|) / ((1 - U)(1 - rho)), K_i = U + q,
    A_i = ETA (1 + q + 5 |ch| (1 + q)). A row with ch = 0 exactly and E_c = 0 (alpha = 0) is exactly 0.
Every bound above is computed in float64 from a handful of non-negative terms and then multiplied by
1 + 2**-40 and increased by 16 ETA, which covers its own rounding (at most ~30 roundings of relative U).

Tier 1 (most elements). The case dtype has p significand bits and normal range [2**emin, 2**(emax + 1));
s = 53 - p. For v with 2**emin <= |v| < 2**emax, v lies in a float64 binade [2**e, 2**(e + 1)) where the
dtype's quantum is 2**s ulp64(v), so its midpoints there are the float64 values whose low s bits are
2**(s-1); the midpoints just outside the binade are at least 2**(s-2) ulp64(v) from any v inside it. With
t = the low s bits of v's bit pattern, the nearest midpoint is at least min(|t - 2**(s-1)|, 2**(s-2))
ulp64(v) away. ulp64(v) > |v| 2**-53 and ulp64(v) >= 2**(emin - 52), so the bound K |v| + A is below
M ulp64(v) for M = K 2**53 + A 2**(52 - emin) + 1. An element is certified when M < 2**(s-3) and
|t - 2**(s-1)| > M: no midpoint lies within its bound, so the exact value rounds as v does; that rounding is
(bits + 2**(s-1)) with the low s bits cleared (t is never 2**(s-1), so there is no tie; a carry moves to the
next binade, still below 2**(emax + 1)); for float32 the IEEE conversion v.astype(float32), which rounds to
nearest the same way. The range holds for a whole row when dh_min = min_j dh_j >= -700,
|ch| exp(dh_min) / 2 >= 2**emin and 2 |ch| < 2**emax (by (A) every eh_j then lies in [exp(dh_min)(1 - 8U),
1 + 8U], all normal); rows outside it go to tier 2 entirely.
Tier 2: rounding.certify on B(v, K |v| + A) (the enclosure rounded outward, the sign known from the
mathematics: g_j has the sign of c_i for j != y).
"""
from __future__ import annotations

import numpy as np

from reference.case import Case
from reference.fastpath.bound import F64, N_ULP, Arith, B
from reference.fastpath.formulas import OP_FUNCS, Unsupported, _ce_params, _counted_labels, _mean_denominator
from reference.fastpath.rounding import certify
from reference.ops.common import from_rows, to_rows

U = 2.0 ** -53
ETA = 2.0 ** -1074
SAFE = 1 + 2.0 ** -40
UNDER = -746.0


def tree_sum(a: np.ndarray) -> tuple[np.ndarray, int]:
    """(row sums of a (R, C), h): a fixed pairwise tree; every term takes part in at most h additions."""
    C = a.shape[1]
    if C == 1:
        return a[:, 0].copy(), 0
    P = 1 << (C.bit_length() - 1)  # the largest power of two <= C
    half = P // 2 if P > 1 else 1
    if P == C:
        cur, first = a[:, :half] + a[:, half:], 1
    else:
        cur = a[:, :half] + a[:, half:P] if P > 1 else a[:, :1].copy()
        tail = a[:, P:]
        first = 1 if P > 1 else 0
        for start in range(0, tail.shape[1], half):  # each column of cur takes at most two more terms
            part = tail[:, start:start + half]
            cur[:, :part.shape[1]] += part
            first += 1
    h = first
    while cur.shape[1] > 1:  # in place: no new array per level
        w = cur.shape[1] // 2
        np.add(cur[:, :w], cur[:, w:2 * w], out=cur[:, :w])
        cur = cur[:, :w]
        h += 1
    return cur[:, 0].copy(), h


def _gamma(h: int) -> float:
    return h * U / (1 - h * U)


def _finish(e):
    return np.asarray(e, dtype=np.float64) * SAFE + 16 * ETA


class Rows:
    """The (R, C) pass of the plain formula: dh (then eh in place), the row maximum and the T bound."""

    def __init__(self, ar: Arith, rows: np.ndarray):
        R, C = rows.shape
        self.R, self.C = R, C
        self.idx = np.arange(R)
        self.k = np.argmax(rows, axis=1)
        self.m = rows[self.idx, self.k]
        d = rows - self.m[:, None]
        self.dmin = d.min(axis=1)
        if not (np.isfinite(self.m).all() and np.isfinite(self.dmin).all()):  # a NaN or an infinity in the row
            raise Unsupported("non-finite input")
        L = np.minimum(-self.dmin, -UNDER) / (1 - U)
        self.rho = _finish(U * (2 * N_ULP * (1 + 2.0 ** -40) + 1.001 * L))
        with np.errstate(all="ignore"):
            np.exp(d, out=d)
        d[self.idx, self.k] = 0.0
        Th, h = tree_sum(d) if C > 1 else (np.zeros(R), 0)
        d[self.idx, self.k] = 1.0
        self.eh = d
        g = _gamma(h)
        s = Th / (1 - g)
        rho = self.rho
        ET = np.where(Th == 0, 0.0, g * s) + rho * (s + 5 * C * ETA) / (1 - rho) + 5 * C * ETA
        ET = np.where(C > 1, _finish(ET), 0.0)
        self.T = B(Th, ET)
        self.one = ar.exact(np.ones(R))
        self.S = ar.add(self.one, self.T)

    def e_at(self, cols: np.ndarray) -> B:
        """e_j at one column per row, bounded by (2)."""
        v = self.eh[self.idx, cols]
        at_max = cols == self.k
        rho = self.rho
        e = _finish(rho * (v + 5 * ETA) / (1 - rho) + 5 * ETA)
        return B(v, np.where(at_max, 0.0, e))


def _scale(rw: Rows, c: B, dt) -> tuple:
    """(v, rounded, tier-1 certified, (K, A)): v = eh * ch row by row (in place over eh), K and A per row;
    rounded as float32 for float32 cases (exact values of the dtype either way)."""
    ch, Ec = c.v, c.e
    v = rw.eh
    np.multiply(v, ch[:, None], out=v)
    rho = rw.rho
    with np.errstate(all="ignore"):
        ach = np.abs(ch)
        q = (rho + Ec / ach) / ((1 - U) * (1 - rho))
        K = _finish(U + q)
        A = _finish(ETA * (1 + q + 5 * ach * (1 + q)))
    zero_row = (ch == 0) & (Ec == 0)
    K = np.where(zero_row, 0.0, np.where(ch == 0, np.inf, K))
    A = np.where(zero_row, 0.0, np.where(ch == 0, np.inf, A))
    shift = 53 - dt.precision
    mid = 1 << (shift - 1)
    with np.errstate(all="ignore"):
        M = np.ceil(K * 2.0 ** 53 + A * 2.0 ** (52 - dt.emin) + 1)
        lowest = ach * np.exp(rw.dmin) / 2
    tier1 = ((M < 2.0 ** (shift - 3)) & (lowest >= 2.0 ** dt.emin) & (2 * ach < 2.0 ** dt.emax) & np.isfinite(M)
             & (rw.dmin >= -700))
    Mi = np.where(tier1, M, 0).astype(np.uint64)
    bits = v.view(np.uint64)
    mask = np.uint64((1 << shift) - 1)
    t = bits - (np.uint64(mid) - Mi)[:, None]
    np.bitwise_and(t, mask, out=t)
    ok = t > (2 * Mi)[:, None]
    if not tier1.all():
        ok &= tier1[:, None]
    if dt.name == "float32":  # the IEEE conversion rounds to nearest; no certified v is a tie
        rounded = v.astype(np.float32)
    else:
        np.add(bits, np.uint64(mid), out=t)
        np.bitwise_and(t, ~mask, out=t)
        rounded = t.view(np.float64)
    return v, rounded, ok, (K, A)


def _tier2(v, rounded, ok, KA, dt, sign, skip=None) -> None:
    """Certify the elements tier 1 left (in place); `skip` (rows, cols) are set separately (labels)."""
    if skip is not None:
        ok[skip] = True
    if int(np.count_nonzero(ok)) == ok.size:
        return
    ii, jj = np.nonzero(~ok)
    K, A = KA
    vv = v[ii, jj]
    with np.errstate(all="ignore"):
        b = (K[ii] * np.abs(vv) + A[ii]) * (1 + 4 * U) + ETA
    b = np.where((K[ii] == 0) & (A[ii] == 0), 0.0, b)
    r2, ok2 = certify(B(vv, b), dt, None if sign is None else sign[ii])
    rounded[ii, jj] = r2
    ok[ii, jj] = ok2


def _rows(arr: np.ndarray, axis) -> tuple[np.ndarray, tuple, int]:
    """formulas._rows_of without its copy (Rows makes a new array at once; the inputs are float64)."""
    if isinstance(axis, bool) or not isinstance(axis, (int, np.integer)) or arr.ndim == 0 \
            or not -arr.ndim <= axis < arr.ndim or arr.size == 0 or arr.dtype != np.float64:
        raise Unsupported("axis")
    ax = int(axis) % arr.ndim
    if ax == arr.ndim - 1:  # already rows: a reshape (to_rows' moveaxis costs more than the work on small rows)
        return arr.reshape(-1, arr.shape[-1]), arr.shape[:-1], ax
    rows, outer = to_rows(arr, ax)
    return rows, outer, ax


def _back(rows: np.ndarray, outer: tuple, ax: int) -> np.ndarray:
    """from_rows, a reshape where the class axis is the last one."""
    if ax == len(outer):
        return rows.reshape(tuple(outer) + (rows.shape[-1],))
    return from_rows(rows, outer, ax)


def _sub_case(case: Case, main: str, rows: np.ndarray, sel: np.ndarray, labels) -> Case:
    params = {**case.params, "axis": -1}
    if "reduction" in params:
        params["reduction"] = "none"
    lab = {} if labels is None else {"target": labels[sel]}
    return Case(case.spec, case.dt, {main: rows[sel]}, lab, params)


def _bad_rows(ok: np.ndarray, also=None) -> np.ndarray:
    """Indices of rows holding an undecided element (or marked in `also`)."""
    bad = np.zeros(ok.shape[0], dtype=bool) if also is None else also.copy()
    if int(np.count_nonzero(ok)) != ok.size:
        bad |= ~ok.all(axis=1)
    return np.nonzero(bad)[0]


def _merge_rows(dst_r, dst_ok, bad, r, ok) -> None:
    """Rows `bad` of (dst_r, dst_ok) take the values of (r, ok) (those rows alone) that ok certifies and dst_ok
    does not."""
    sub_r, sub_ok = dst_r[bad], dst_ok[bad]
    take = ok & ~sub_ok
    sub_r[take] = r[take]
    sub_ok[take] = True
    dst_r[bad], dst_ok[bad] = sub_r, sub_ok


def _ce_setup(ar, case: Case):
    """cross_entropy with integer labels and no label smoothing, what both a-priori paths (this module's Arith,
    apriori_dd's DDArith) start from: the rows, the counted labels, alpha = w_y where counted (else 0) and the
    mean's denominator D (None unless reduction is mean). Unsupported for probabilities, label smoothing or a
    denominator that may be 0."""
    logits = case.floats["logits"]
    if "target" not in case.labels:
        raise Unsupported("probabilities")
    rows, outer, ax = _rows(logits, case.params.get("axis"))
    R, C = rows.shape
    eps, w = _ce_params(case, C)
    if eps != 0:
        raise Unsupported("label smoothing")
    counted, yc = _counted_labels(case, R, C, outer)
    wv = np.ones(C) if w is None else w
    alpha = ar.exact(np.where(counted, wv[yc], 0.0))
    D = _mean_denominator(ar, case, counted, wv, yc)
    if D is not None and not np.all(D.lower_magnitude() > 2 * D.e):
        raise Unsupported("mean over a denominator that may be 0")
    return rows, outer, ax, counted, yc, wv, alpha, D


def _ce_fallback(ar, case: Case, rows, outer, bad, D, flip, rounded, ok, v_r, v_ok, cert):
    """The running bound (formulas.OP_FUNCS) on the rows `bad` alone (rows are independent; a mean divides by
    D), merged into the gradient (rounded, ok) and, for reduction none, the per-item values (v_r, v_ok);
    cert(value, sign) -> (rounded, certified) is the path's certification. Returns the values."""
    out, grads = OP_FUNCS["cross_entropy"](ar, _sub_case(case, "logits", rows, bad,
                                                          case.labels["target"].reshape(-1)))
    g = grads["logits"]
    gv, gsign = g.val, g.sign
    if D is not None:
        gv = ar.div(gv, D)
        gsign = None if gsign is None else np.asarray(gsign) * flip
    _merge_rows(rounded, ok, bad, *cert(gv, gsign))
    if case.params["reduction"] == "none":
        ir, iok = cert(out.val, out.sign)
        flat_r, flat_ok = v_r.reshape(-1), v_ok.reshape(-1)
        _merge_rows(flat_r, flat_ok, bad, ir.reshape(-1), iok.reshape(-1))
        v_r, v_ok = flat_r.reshape(outer), flat_ok.reshape(outer)
    return v_r, v_ok


def softmax(ar: Arith, case: Case) -> dict:
    if set(case.params) - {"axis"}:
        raise Unsupported("params")
    x = case.floats["x"]
    rows, outer, ax = _rows(x, case.params["axis"])
    dt = case.dt
    rw = Rows(ar, rows)
    c = ar.div(rw.one, rw.S)
    sign = np.ones(rows.shape[0])
    v, rounded, ok, KA = _scale(rw, c, dt)
    _tier2(v, rounded, ok, KA, dt, sign)
    return _softmax_finish(ar, case, rows, outer, ax, rounded, ok, lambda v, sign: certify(v, dt, sign))


def _softmax_finish(ar, case: Case, rows, outer, ax, rounded, ok, cert) -> dict:
    """softmax's answer from an a-priori path's rows: the rows it left undecided evaluated again by the running
    bound alone (softmax rows are independent), certified by the path's cert(value, sign), merged in."""
    bad = _bad_rows(ok)
    if bad.size:
        out, _ = OP_FUNCS["softmax"](ar, _sub_case(case, "x", rows, bad, None))
        _merge_rows(rounded, ok, bad, *cert(out.val, out.sign))
    x = case.floats["x"]
    return {"value": (_back(rounded, outer, ax), _back(ok, outer, ax)),
            "grad:x": (np.zeros(x.shape), np.ones(x.shape, dtype=bool))}


def _ce_rows(ar, rw, rows, yc, alpha, D, outer, reduction: str, exact_scaling: bool) -> tuple:
    """The row quantities of (3), in either a-priori path's arithmetic (`rw`: its pass over the rows):
    (value, gy, c, flip) -- the item losses alpha (log1p(T) - d_y) reduced (a mean divided by D), the label's
    gradient -alpha (1 - s_y) and c = alpha / S (both / D for a mean), and flip = -1 where D is negative.
    exact_scaling: alpha / D is taken exactly where D is a power of two (a count of 2**j items; bound.Arith's
    rule), one division fewer each."""
    idx = np.arange(rows.shape[0])
    d_y = ar.sub(ar.exact(rows[idx, yc]), ar.exact(rw.m))  # exactly x_y - m (TwoSum in double-double)
    item = ar.mul(alpha, ar.sub(ar.log1p(rw.T), d_y))
    num = B.where(yc == rw.k, rw.T, ar.add(rw.one, ar.sub(rw.T, rw.e_at(yc))))
    scaled = ar._by_power_of_two(alpha, D) if exact_scaling and D is not None else None
    a = alpha if scaled is None else scaled
    gy = -ar.mul(a, ar.div(num, rw.S))
    c = ar.div(a, rw.S)
    flip = 1.0
    if reduction == "none":
        value = item.map(lambda v: v.reshape(outer))
    else:
        value = ar.tree_sum(item)
        if D is not None:
            value = ar.div(value, D)
            if scaled is None:
                c, gy = ar.div(c, D), ar.div(gy, D)
            flip = -1.0 if np.all(D.v < 0) else 1.0
    return value, gy, c, flip


def ce_labels(ar: Arith, case: Case) -> dict:
    """cross_entropy with integer labels and no label smoothing (module docstring (3)-(4))."""
    rows, outer, ax, counted, yc, wv, alpha, D = _ce_setup(ar, case)
    R, C = rows.shape
    idx = np.arange(R)
    dt, reduction = case.dt, case.params["reduction"]
    rw = Rows(ar, rows)
    value, gy, c, flip = _ce_rows(ar, rw, rows, yc, alpha, D, outer, reduction, exact_scaling=True)
    nonneg = bool(np.all(wv >= 0))
    v_r, v_ok = certify(value, dt, flip if nonneg else None)
    sign = np.sign(alpha.v) * flip
    sign_y = -sign if C > 1 else np.zeros(R)
    v, rounded, ok, KA = _scale(rw, c, dt)
    lab = (idx[counted], yc[counted])
    _tier2(v, rounded, ok, KA, dt, sign, lab)
    gy_r, gy_ok = certify(gy, dt, sign_y)
    rounded[lab], ok[lab] = gy_r[counted], gy_ok[counted]
    bad = _bad_rows(ok, ~v_ok.reshape(-1) if reduction == "none" else None)
    if bad.size:
        v_r, v_ok = _ce_fallback(ar, case, rows, outer, bad, D, flip, rounded, ok, v_r, v_ok,
                                 lambda v, sign: certify(v, dt, sign))
    return {"value": (np.asarray(v_r, dtype=np.float64), np.asarray(v_ok, dtype=bool)),
            "grad:logits": (_back(rounded, outer, ax), _back(ok, outer, ax))}


def compute(case: Case) -> dict | None:
    """{part key: (rounded float64, certified)} by a-priori bounds, or None where they do not apply (another
    op, probabilities, label smoothing, a float64 case, a non-finite input, a parameter they do not check).
    A rounded array is float64, or float32 for a float32 case (its values are the dtype's either way)."""
    if case.dt.name == "float64" or case.spec.name not in ("softmax", "cross_entropy"):
        return None
    ar = Arith(F64)
    try:
        with np.errstate(all="ignore"):
            return (softmax if case.spec.name == "softmax" else ce_labels)(ar, case)
    except Unsupported:
        return None
