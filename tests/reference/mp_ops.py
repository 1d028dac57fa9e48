"""Independent mpmath implementations of the ops of docs/ops.md: plain formulas, no stability tricks,
evaluated at high precision. Used to check the reference's values and (by mpmath.diff) its gradients.

Each function takes numpy object arrays of mpf (floating inputs) or int arrays (labels) and the op's params,
and returns the op's output as an object array of mpf (a 0-d array for reduced outputs).
"""
from __future__ import annotations

import mpmath as mp
import numpy as np


def _ln_base(base):
    return mp.mpf(1) if base in (None, "e") else mp.log(mp.mpf(base))


def _rows(a, axis):
    moved = np.moveaxis(a, axis, -1)
    return moved.reshape(-1, moved.shape[-1]), moved.shape[:-1]


def _xlogy(x, y):
    return mp.mpf(0) if x == 0 else x * mp.log(y)


def _reduce(items, reduction, denom=None):
    items = np.asarray(items, dtype=object)
    if reduction == "none":
        return items
    total = mp.fsum(items.ravel().tolist())
    if reduction == "sum":
        return np.array(total, dtype=object)
    return np.array(total / denom, dtype=object)


def softmax(x, axis=-1):
    rows, outer = _rows(x, axis)
    out = np.empty(rows.shape, dtype=object)
    for r, row in enumerate(rows):
        z = mp.fsum(mp.exp(v) for v in row)
        out[r] = [mp.exp(v) / z for v in row]
    return np.moveaxis(out.reshape(outer + (rows.shape[1],)), -1, axis)


def log_softmax(x, axis=-1):
    s = softmax(x, axis)
    return np.vectorize(mp.log, otypes=[object])(s)


def sigmoid(x):
    return np.vectorize(lambda v: 1 / (1 + mp.exp(-v)), otypes=[object])(x)


def log_sigmoid(x):
    return np.vectorize(lambda v: -mp.log(1 + mp.exp(-v)), otypes=[object])(x)


def entropy(p, axis=-1, base="e", normalize=False):
    rows, outer = _rows(p, axis)
    out = []
    for row in rows:
        if normalize:
            t = mp.fsum(row)
            row = [v / t for v in row]
        out.append(-mp.fsum(_xlogy(v, v) for v in row) / _ln_base(base))
    return np.array(out, dtype=object).reshape(outer)


def _dist_rows(p, q, axis, normalize, clip, kind, label_smoothing=0.0):
    qr, outer = _rows(q, axis)
    if p.dtype != object:
        pr = np.array([[mp.mpf(1) if c == y else mp.mpf(0) for c in range(qr.shape[1])] for y in p.reshape(-1)],
                      dtype=object)
    else:
        pr, _ = _rows(p, axis)
    out = []
    for prow, qrow in zip(pr, qr):
        if label_smoothing:
            e = mp.mpf(label_smoothing)
            prow = [(1 - e) * v + e / len(prow) for v in prow]
        if normalize in ("q", "both"):
            t = mp.fsum(qrow)
            qrow = [v / t for v in qrow]
        if normalize == "both":
            t = mp.fsum(prow)
            prow = [v / t for v in prow]
        if clip is not None:
            lo, hi = (mp.mpf(c) for c in clip)
            qrow = [min(max(v, lo), hi) for v in qrow]
            if kind == "kl":
                prow = [min(max(v, lo), hi) for v in prow]
        if kind == "ce":
            out.append(-mp.fsum(_xlogy(a, b) for a, b in zip(prow, qrow)))
        else:
            out.append(mp.fsum(mp.mpf(0) if a == 0 else a * mp.log(a / b) for a, b in zip(prow, qrow)))
    return np.array(out, dtype=object).reshape(outer)


def cross_entropy_dist(p, q, axis=-1, base="e", normalize="none", clip=None, label_smoothing=0.0,
                       reduction="none"):
    items = _dist_rows(p, q, axis, normalize, clip, "ce", label_smoothing) / _ln_base(base)
    return _reduce(items, reduction, items.size)


def kl_divergence(p, q, axis=-1, base="e", normalize="none", clip=None, reduction="none"):
    items = _dist_rows(p, q, axis, normalize, clip, "kl") / _ln_base(base)
    return _reduce(items, reduction, items.size)


def logsumexp(x, axis=-1):
    rows, outer = _rows(x, axis)
    return np.array([mp.log(mp.fsum(mp.exp(v) for v in row)) for row in rows], dtype=object).reshape(outer)


def xlog1py(x, y):
    return np.vectorize(lambda a, b: mp.mpf(0) if a == 0 else a * mp.log1p(b), otypes=[object])(x, y)


def generalized_cross_entropy(p, target, axis=-1, q=0.5, reduction="none"):
    rows, outer = _rows(p, axis)
    items = [(1 - row[int(y)] ** mp.mpf(q)) / mp.mpf(q) for row, y in zip(rows, np.asarray(target).reshape(-1))]
    return _reduce(np.array(items, dtype=object).reshape(outer), reduction, len(items))


def entr(x):
    return np.vectorize(lambda v: mp.mpf(0) if v == 0 else -v * mp.log(v), otypes=[object])(x)


def poly_loss(logits, target, axis=-1, epsilon=2.0, reduction="none"):
    p = softmax(logits, axis)
    prow, outer = _rows(p, axis)
    trow, _ = _rows(target, axis)
    e = mp.mpf(epsilon)
    items = [mp.fsum(-t * mp.log(pv) + e * t * (1 - pv) for pv, t in zip(pr, tr)) for pr, tr in zip(prow, trow)]
    return _reduce(np.array(items, dtype=object).reshape(outer), reduction, len(items))


def multilabel_soft_margin_loss(x, y, axis=-1, weight=None, reduction="mean"):
    el = binary_cross_entropy_with_logits(x, y, weight=weight, reduction="none")
    rows, outer = _rows(el, axis)
    items = np.array([mp.fsum(r) / len(r) for r in rows], dtype=object).reshape(outer)
    return _reduce(items, reduction, items.size)


def xlogy(x, y):
    return np.vectorize(_xlogy, otypes=[object])(x, y)


def rel_entr(x, y):
    return np.vectorize(lambda a, b: a * mp.log(a / b), otypes=[object])(x, y)


def generalized_kl(x, y):
    return np.vectorize(lambda a, b: a * mp.log(a / b) - a + b, otypes=[object])(x, y)


def cross_entropy(logits, target, axis=1, weight=None, ignore_index=None, label_smoothing=0.0,
                  reduction="mean", mean_denominator="weight_sum"):
    lp = log_softmax(logits, axis)
    rows, outer = _rows(lp, axis)
    C = rows.shape[1]
    w = [mp.mpf(1)] * C if weight is None else [mp.mpf(v) for v in weight]
    e = mp.mpf(label_smoothing)
    items, denom = [], mp.mpf(0)
    if target.dtype != object:
        for row, y in zip(rows, target.reshape(-1)):
            if ignore_index is not None and y == ignore_index:
                items.append(mp.mpf(0))
                continue
            loss = (1 - e) * w[y] * -row[y]
            if label_smoothing:
                loss += e / C * mp.fsum(w[c] * -row[c] for c in range(C))
            items.append(loss)
            denom += w[y] if mean_denominator == "weight_sum" else 1
    else:
        trows, _ = _rows(target, axis)
        for row, t in zip(rows, trows):
            tp = [(1 - e) * v + e / C for v in t]
            items.append(-mp.fsum(w[c] * tp[c] * row[c] for c in range(C)))
            denom += mp.fsum(w[c] * tp[c] for c in range(C)) if mean_denominator == "weight_sum" else 1
    return _reduce(np.array(items, dtype=object).reshape(outer), reduction, denom)


def nll_loss(logp, target, axis=1, weight=None, ignore_index=None, reduction="mean",
             mean_denominator="weight_sum"):
    rows, outer = _rows(logp, axis)
    w = [mp.mpf(1)] * rows.shape[1] if weight is None else [mp.mpf(v) for v in weight]
    items, denom = [], mp.mpf(0)
    for row, y in zip(rows, target.reshape(-1)):
        if ignore_index is not None and y == ignore_index:
            items.append(mp.mpf(0))
            continue
        items.append(-w[y] * row[y])
        denom += w[y] if mean_denominator == "weight_sum" else 1
    return _reduce(np.array(items, dtype=object).reshape(outer), reduction, denom)


def binary_cross_entropy(p, y, weight=None, reduction="mean", clip=None, log_clamp=None, label_smoothing=0.0):
    e = mp.mpf(label_smoothing)
    w = np.broadcast_to(np.array(weight if weight is not None else 1.0, dtype=object), p.shape)

    def one(pv, yv, wv):
        if clip is not None:
            pv = min(max(pv, mp.mpf(clip[0])), mp.mpf(clip[1]))
        ys = (1 - e) * yv + e / 2
        a, b = mp.log(pv), mp.log(1 - pv)
        if log_clamp is not None:
            a, b = max(a, mp.mpf(log_clamp)), max(b, mp.mpf(log_clamp))
        return -mp.mpf(wv) * (ys * a + (1 - ys) * b)

    items = np.vectorize(one, otypes=[object])(p, y, w)
    return _reduce(items, reduction, items.size)


def binary_cross_entropy_with_logits(x, y, weight=None, pos_weight=None, reduction="mean", label_smoothing=0.0):
    e = mp.mpf(label_smoothing)
    w = np.broadcast_to(np.array(weight if weight is not None else 1.0, dtype=object), x.shape)
    pw = np.broadcast_to(np.array(pos_weight if pos_weight is not None else 1.0, dtype=object), x.shape)

    def one(xv, yv, wv, pwv):
        ys = (1 - e) * yv + e / 2
        s = 1 / (1 + mp.exp(-xv))
        return -mp.mpf(wv) * (mp.mpf(pwv) * ys * mp.log(s) + (1 - ys) * mp.log(1 - s))

    items = np.vectorize(one, otypes=[object])(x, y, w, pw)
    return _reduce(items, reduction, items.size)


def kl_div(input, target, log_target=False, generalized=False, reduction="mean"):
    if log_target:
        items = np.vectorize(lambda i, t: mp.exp(t) * (t - i), otypes=[object])(input, target)
    else:
        items = np.vectorize(lambda i, t: _xlogy(t, t) - t * i, otypes=[object])(input, target)
    if generalized:
        P = np.vectorize(mp.exp, otypes=[object])(target) if log_target else target
        items = items + np.vectorize(mp.exp, otypes=[object])(input) - P
    if reduction == "batchmean":
        return _reduce(items, "mean", input.shape[0] if input.ndim else 1)
    return _reduce(items, reduction, items.size)


def _focal(ce, p, y, gamma, alpha):
    """A binary cross-entropy `ce` modulated: ce (1 - p_t)^gamma with p_t = p y + (1 - p)(1 - y), times
    alpha_t = alpha y + (1 - alpha)(1 - y) when alpha is given."""
    loss = ce * (1 - (p * y + (1 - p) * (1 - y))) ** mp.mpf(gamma)
    return loss if alpha is None else loss * (mp.mpf(alpha) * y + (1 - mp.mpf(alpha)) * (1 - y))


def sigmoid_focal_loss(x, y, gamma=2.0, alpha=0.25, reduction="mean"):
    def one(xv, yv):
        p = 1 / (1 + mp.exp(-xv))
        return _focal(-(yv * mp.log(p) + (1 - yv) * mp.log(1 - p)), p, yv, gamma, alpha)

    items = np.vectorize(one, otypes=[object])(x, y)
    return _reduce(items, reduction, items.size)


def binary_focal_loss(p, y, gamma=2.0, alpha=None, clip=None, label_smoothing=0.0, reduction="mean"):
    e = mp.mpf(label_smoothing)

    def one(pv, yv):
        ys = (1 - e) * yv + e / 2
        pc = min(max(pv, mp.mpf(clip[0])), mp.mpf(clip[1])) if clip is not None else pv
        return _focal(-(ys * mp.log(pc) + (1 - ys) * mp.log(1 - pc)), pv, ys, gamma, alpha)  # p_t: the unclipped p

    items = np.vectorize(one, otypes=[object])(p, y)
    return _reduce(items, reduction, items.size)


def softmax_focal_loss(logits, target, axis=-1, gamma=2.0, alpha=0.25, reduction="mean"):
    p = softmax(logits, axis)
    prow, outer = _rows(p, axis)
    trow, _ = _rows(target, axis)
    a = mp.mpf(1 if alpha is None else alpha)
    items = [-mp.fsum(a * t * (1 - pv) ** mp.mpf(gamma) * mp.log(pv) for pv, t in zip(pr, tr))
             for pr, tr in zip(prow, trow)]
    return _reduce(np.array(items, dtype=object).reshape(outer), reduction, len(items))


def linear_cross_entropy(input, linear_weight, linear_bias, target, weight=None, ignore_index=None,
                         label_smoothing=0.0, reduction="mean", mean_denominator="weight_sum"):
    N, D = input.shape
    C = linear_weight.shape[0]
    z = np.empty((N, C), dtype=object)
    for n in range(N):
        for c in range(C):
            z[n, c] = mp.fsum(input[n, d] * linear_weight[c, d] for d in range(D)) + linear_bias[c]
    return cross_entropy(z, np.asarray(target), axis=1, weight=weight, ignore_index=ignore_index,
                         label_smoothing=label_smoothing, reduction=reduction, mean_denominator=mean_denominator)


OPS = {name: fn for name, fn in globals().items()
       if callable(fn) and not name.startswith("_") and name not in ("OPS",) and fn.__module__ == __name__}
