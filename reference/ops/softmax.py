"""softmax, log_softmax and logsumexp over a class axis, and the row decomposition the other softmax-based ops
share."""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from flint import arb

from reference.errors import CaseError
from reference.ext import FIN, NAN, NEG, POS, X, full, xsum
from reference.ops.common import class_axis, from_rows, fvals, is_limit, to_rows
from reference.ops.spec import Input, OpOutput, Part, spec


@dataclass
class SoftmaxRows:
    """Softmax of each row of an (R, C) array, in forms that keep exact cases exact.

    With m the row max and k* an index attaining it:
        e_j  = exp(x_j - m)           (e_k* = 1 exactly, 0 for x_j = -inf)
        T    = sum_{j != k*} e_j,      S = 1 + T = sum_j e_j
        s_j  = e_j / S                 (softmax)
        sc_j = (S - e_j) / S = 1 - s_j (T/S at k*, (1 + (T - e_j))/S elsewhere: no cancellation)
        lp_j = (x_j - m) - log1p(T)    (log_softmax; -inf where x_j = -inf)
    Special rows (docs/special-values.md):
        exactly one +inf (no NaN):  limit: s = one-hot at the +inf, lp = 0 there and -inf elsewhere;
                                    ieee: NaN everywhere (x - max is inf - inf).
        any NaN, all -inf, or two or more +inf: NaN everywhere (both).
    `ok` marks rows without any non-finite entry (their cond quantities are meaningful).
    """

    e: np.ndarray
    T: np.ndarray
    S: np.ndarray
    s: np.ndarray
    sc: np.ndarray
    lp: np.ndarray
    absx: np.ndarray
    ok: np.ndarray


_split = np.frompyfunc(X.split, 2, 1)


def softmax_rows(rows: np.ndarray) -> SoftmaxRows:
    f = fvals(rows)
    R, C = f.shape
    nan_row = np.isnan(f).any(axis=1)
    n_pos = np.isposinf(f).sum(axis=1)
    all_neg = np.isneginf(f).all(axis=1) & (C > 0)
    bad = nan_row | all_neg | (n_pos >= 2) | ((n_pos == 1) & (not is_limit()))
    one_pos = (n_pos == 1) & ~bad
    regular = ~bad & ~one_pos
    one, zero = X(FIN, arb(1)), X(FIN, arb(0))
    e = full((R, C), 0)
    T = full((R,), 0)
    lp = full((R, C), 0)
    if C and regular.any():
        fr = np.where(np.isneginf(f), -np.inf, f)
        kmax = np.argmax(np.where(regular[:, None], fr, 0.0), axis=1)
        for r in np.nonzero(regular)[0]:
            m = rows[r, kmax[r]]  # the exact input (a dual number carries its tangent: d(x_j - m))
            d = rows[r] - m
            er = np.exp(d)
            er[kmax[r]] = one
            e[r] = er
            others = er.copy()
            others[kmax[r]] = zero
            T[r] = xsum(others)
            lp[r] = _split(d, -T[r].log1p())
    for r in np.nonzero(one_pos)[0]:
        k = int(np.argmax(np.isposinf(f[r])))
        e[r] = zero
        e[r, k] = one
        lp[r] = X(NEG)
        lp[r, k] = zero
    S = T + 1
    s = e / S[:, None] if C else full((R, C), 0)
    sc = full((R, C), 0)
    if C:
        sc = (1 + (T[:, None] - e)) / S[:, None]
        for r in np.nonzero(regular)[0]:
            sc[r, kmax[r]] = T[r] / S[r]
    for r in np.nonzero(bad)[0]:
        for arr in (e, s, sc, lp):
            arr[r] = X(NAN)
        T[r] = S[r] = X(NAN)
    absx = np.where(np.isfinite(f), np.abs(f), 0.0)
    ok = np.isfinite(f).all(axis=1)
    return SoftmaxRows(e, T, S, s, sc, lp, absx, ok)


def masked_softmax_rows(rows: np.ndarray, keep: np.ndarray | None) -> SoftmaxRows:
    """softmax_rows over the kept classes of each row only (keep: (R, C) bool, None: every class): a masked
    class takes no part in the row (its value, even NaN or +inf, is never read) and gets e = s = 0, sc = 1,
    lp = -inf (the log of its zero probability) and absx = 0. A row with no kept class has T = 0, S = 1.
    Rows are evaluated one at a time on their kept classes (the SoftmaxRows rules above apply to those)."""
    if keep is None or keep.all():
        return softmax_rows(rows)
    R, C = rows.shape
    e, s, lp = full((R, C), 0), full((R, C), 0), full((R, C), 0)
    sc = full((R, C), 1)
    lp[~keep] = X(NEG)
    T, S = full((R,), 0), full((R,), 1)
    absx = np.zeros((R, C))
    ok = np.ones(R, dtype=bool)
    for r in range(R):
        cols = np.nonzero(keep[r])[0]
        if not cols.size:
            continue
        sub = softmax_rows(rows[r:r + 1, cols])
        for full_arr, part in ((e, sub.e), (s, sub.s), (sc, sub.sc), (lp, sub.lp)):
            full_arr[r, cols] = part[0]
        T[r], S[r], ok[r] = sub.T[0], sub.S[0], sub.ok[0]
        absx[r, cols] = sub.absx[0]
    return SoftmaxRows(e, T, S, s, sc, lp, absx, ok)


def keep_rows(where, shape: tuple, ax: int) -> np.ndarray | None:
    """The where= mask (a boolean array of the input's shape, or None) as (R, C) rows like to_rows'."""
    if where is None:
        return None
    mask = np.asarray(where)
    if mask.dtype != bool:
        raise CaseError(f"where must be a boolean array, got dtype {mask.dtype}")
    if mask.shape != tuple(shape):
        raise CaseError(f"where must have the input's shape {tuple(shape)}, got {mask.shape}")
    return to_rows(mask, ax)[0]


def softmax_cond(sm: SoftmaxRows) -> np.ndarray:
    """cond(s_i) = sum_j |s_i (delta_ij - s_j)| |x_j| = s_i (sc_i |x_i| + sum_{j != i} s_j |x_j|)."""
    s, sc = fvals(sm.s), fvals(sm.sc)
    sx = s * sm.absx
    others = np.maximum(np.sum(sx, axis=1, keepdims=True) - sx, 0.0)
    out = s * (sc * sm.absx + others)
    return np.where(sm.ok[:, None] & np.isfinite(out), out, 0.0)


def _rows_of(x, axis):
    ax = class_axis(axis, x.ndim)
    rows, outer = to_rows(x, ax)
    return ax, rows, outer


def softmax(x, *, axis=-1, where=None, want_cond=True) -> OpOutput:
    """softmax(x)_i = exp(x_i) / sum_j exp(x_j) over `axis`, computed as e_i / S (see SoftmaxRows).

    where (a boolean mask of x's shape, jax.nn.softmax's where=): the sums run over the kept classes K only,
    softmax(x)_i = exp(x_i) / sum_{j in K} exp(x_j) for i in K, and a masked class has probability 0
    (value 0, gradient 0, whatever its input, NaN and inf included); a row with no kept class is all 0.

    grad (cotangent ones): sum_i d s_i / d x_j = s_j - s_j sum_i s_i = 0 exactly (sum s = 1 for every x),
        NaN in rows whose value is NaN; under IEEE semantics NaN also in rows with a +inf.
    cond(s_i) = s_i ((1 - s_i)|x_i| + sum_{j != i} s_j |x_j|).
    cond(grad_k) = 2 s_k (1 - s_k): the gradient is constant in x, but a backward-stable vector-Jacobian
        product may also perturb the cotangent v (= ones), which moves g_k by sum_j |d s_j/d x_k| |v_j|
        = s_k (1 - s_k) + s_k sum_{j != k} s_j.
    """
    ax, rows, outer = _rows_of(x, axis)
    keep = keep_rows(where, x.shape, ax)
    sm = masked_softmax_rows(rows, keep)
    grad = full(rows.shape, 0)
    grad[np.array([sm.S[r].k != FIN for r in range(rows.shape[0])], dtype=bool)] = X(NAN)
    if keep is not None:  # a masked class is never read: its gradient is 0 even in a NaN row
        grad[~keep] = X(FIN, arb(0))
    cond = softmax_cond(sm) if want_cond else np.zeros(rows.shape)
    cond_g = _cotangent_cond(sm, 2 * fvals(sm.s) * fvals(sm.sc)) if want_cond else np.zeros(rows.shape)
    return OpOutput(
        Part(from_rows(sm.s, outer, ax), from_rows(cond, outer, ax)),
        {"x": Part(from_rows(grad, outer, ax), from_rows(cond_g, outer, ax))},
    )


def _cotangent_cond(sm: SoftmaxRows, term: np.ndarray) -> np.ndarray:
    """The cotangent's share of a gradient element's cond (finite rows only)."""
    return np.where(sm.ok[:, None] & np.isfinite(term), term, 0.0)


def log_softmax(x, *, axis=-1, where=None, want_cond=True) -> OpOutput:
    """log_softmax(x)_i = x_i - log sum_j exp(x_j), computed as (x_i - m) - log1p(T) (see SoftmaxRows).

    where (jax.nn.log_softmax's where=): log_softmax(x)_i = x_i - log sum_{j in K} exp(x_j) over the kept
    classes K; a masked class is log 0 = -inf (gradient 0, whatever its input); C below is then |K| per row
    (g_j = 1 - |K| s_j for j in K, 0 for a masked j); a row with no kept class is all -inf, gradient 0.

    grad (cotangent ones): g_j = sum_i (delta_ij - s_j) = 1 - C s_j, computed as (S - C e_j) / S
        (exactly 0 for equal logits). One +inf at k: g = 1 - C at k and 1 elsewhere (limit).
    cond(lp_i) = (1 - s_i)|x_i| + sum_{j != i} s_j |x_j|.
    Hessian of sum(lp): d g_j / d x_k = -C s_j (delta_jk - s_k), so cond(g_j) = C * cond(softmax_j), plus
    the cotangent's share (a backward-stable VJP may perturb v = ones): sum_i |delta_ij - s_j| = (1 - s_j)
    + (C - 1) s_j.
    """
    ax, rows, outer = _rows_of(x, axis)
    keep = keep_rows(where, x.shape, ax)
    C = rows.shape[1] if keep is None else keep.sum(axis=1, keepdims=True)
    sm = masked_softmax_rows(rows, keep)
    grad = (sm.S[:, None] - C * sm.e) / sm.S[:, None] if rows.shape[1] else full(rows.shape, 0)
    if keep is not None:
        grad[~keep] = X(FIN, arb(0))
    if want_cond:
        s, sc = fvals(sm.s), fvals(sm.sc)
        sx = s * sm.absx
        others = np.maximum(np.sum(sx, axis=1, keepdims=True) - sx, 0.0)
        cond_v = np.where(sm.ok[:, None], sc * sm.absx + others, 0.0)
        cond_g = C * softmax_cond(sm) + _cotangent_cond(sm, sc + (C - 1) * s)
        cond_v = np.where(np.isfinite(fvals(sm.lp)), cond_v, 0.0)
    else:
        cond_v = cond_g = np.zeros(rows.shape)
    return OpOutput(
        Part(from_rows(sm.lp, outer, ax), from_rows(cond_v, outer, ax)),
        {"x": Part(from_rows(grad, outer, ax), from_rows(cond_g, outer, ax))},
    )


def logsumexp(x, *, axis=-1, where=None, want_cond=True) -> OpOutput:
    """logsumexp(x) = log sum_j exp(x_j) over `axis` (the axis removed), computed as m + log1p(T) (SoftmaxRows).

    where (jax.nn.logsumexp's where=): the sum runs over the kept classes only (a masked input is never read:
    gradient 0); a row with no kept class is log 0 = -inf with gradient 0 (the value does not depend on x).

    grad: d/dx_j = s_j (softmax).  Hessian: d g_j / d x_k = s_j (delta_jk - s_k).
    cond(value) = sum_j s_j |x_j|;  cond(grad_j) = cond(softmax_j) = s_j ((1 - s_j)|x_j| + sum_{k != j} s_k |x_k|).
    Special rows: C = 0 or every entry -inf: -inf (log 0), gradient NaN (0/0; none for C = 0); a +inf and no
    NaN: +inf under both semantics (frameworks mask the infinite max), gradient one-hot at a single +inf
    (limit; NaN under IEEE), NaN for two or more; a NaN entry: NaN.
    """
    ax, rows, outer = _rows_of(x, axis)
    R, C = rows.shape
    keep = keep_rows(where, x.shape, ax)
    sm = masked_softmax_rows(rows, keep)
    f = fvals(rows)
    value = full((R,), 0)
    for r in range(R):
        row = f[r] if keep is None else f[r][keep[r]]
        if keep is not None and not row.size:
            value[r] = X(NEG)
        elif np.isnan(row).any():
            value[r] = X(NAN)
        elif np.isposinf(row).any():
            value[r] = X(POS)
        elif C == 0 or np.isneginf(row).all():
            value[r] = X(NEG)
        else:
            value[r] = X.split(X.from_float(float(np.max(row))), sm.T[r].log1p())
    grad = sm.s.copy() if C else full((R, C), 0)
    if keep is not None:  # a row with no kept class: -inf whatever x, so gradient 0 (not the 0/0 of all -inf)
        grad[~keep.any(axis=1)] = X(FIN, arb(0))
    cond_v, cond_g = np.zeros(R), np.zeros((R, C))
    if want_cond and C:
        cond_v = np.where(sm.ok, np.sum(fvals(sm.s) * sm.absx, axis=1), 0.0)
        cond_g = softmax_cond(sm)
    return OpOutput(Part(value.reshape(outer), cond_v.reshape(outer)),
                    {"x": Part(from_rows(grad, outer, ax), from_rows(cond_g, outer, ax))})


SPECS = [
    spec("softmax", [Input("x", class_axis=True)], {"axis": -1}, softmax, "softmax",
         optional=("where",)),
    spec("log_softmax", [Input("x", class_axis=True)], {"axis": -1}, log_softmax, "softmax",
         optional=("where",)),
    spec("logsumexp", [Input("x", class_axis=True)], {"axis": -1}, logsumexp, "softmax",
         optional=("where",)),
]
