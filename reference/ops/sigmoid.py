"""sigmoid and log_sigmoid, elementwise, and the stable pieces the binary and focal losses share."""
from __future__ import annotations

import numpy as np

from reference.ext import X, full
from reference.ops.common import clean_cond, cond_abs, fvals
from reference.ops.spec import Input, OpOutput, Part, scalar_safe, spec

_split = np.frompyfunc(X.split, 2, 1)


def sigmoid_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sigma(x), sigma(-x)) with t = exp(-|x|) <= 1, never exp of a positive number:
        x >= 0:  sigma(x) = 1/(1+t) = 1 - t/(1+t),  sigma(-x) = t/(1+t)
        x <  0:  sigma(x) = t/(1+t),                sigma(-x) = 1 - t/(1+t)
    (the "1 - small" forms keep the exact 1 and the tail's sign: reference.ext.X.split).
    sigma(+inf) = 1, sigma(-inf) = 0, NaN stays NaN.
    """
    f = fvals(x)
    t = np.exp(-np.abs(x)) if x.size else x
    small = t / (1 + t) if x.size else x
    big = _split(full(x.shape, 1), -small) if x.size else x
    pos = ~(f < 0)
    return np.where(pos, big, small), np.where(pos, small, big)


def softplus_pair(x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(sp(x), sp(-x)) with sp(z) = log(1 + exp(z)) = max(z, 0) + log1p(exp(-|z|)) = -log sigma(-z).

    The max part is exact; log1p(exp(-|x|)) > 0 is kept as a tail (reference.ext.X.split).
    """
    if not x.size:
        return x, x
    f = fvals(x)
    tail = np.log1p(np.exp(-np.abs(x)))
    zero = full(x.shape, 0)
    pos = f >= 0  # x = 0 takes the x >= 0 side, as sigmoid_pair does (one-sided formulas: reference.derivs.dual)
    neg = f < 0
    return (_split(np.where(pos, x, zero), tail), _split(np.where(neg, -x, zero), tail))


@scalar_safe
def sigmoid(x, *, want_cond=True) -> OpOutput:
    """sigmoid(x) = 1 / (1 + exp(-x))  (see sigmoid_pair for the stable forms).

    grad: sigma'(x) = sigma(x) sigma(-x).
    cond(value) = sigma(x) sigma(-x) |x|;  cond(grad) = |sigma''(x)| |x| = sigma sigma(-x) |sigma(-x) - sigma(x)| |x|.
    +inf -> 1 (grad 0), -inf -> 0 (grad 0), NaN -> NaN.
    """
    s, sn = sigmoid_pair(x)
    grad = s * sn if x.size else x
    cv = cg = np.zeros(x.shape)
    if want_cond and x.size:
        fs, fsn, ax = fvals(s), fvals(sn), cond_abs(x)
        cv = clean_cond(fs * fsn * ax, x)
        cg = clean_cond(fs * fsn * np.abs(fsn - fs) * ax, x)
    return OpOutput(Part(s, cv), {"x": Part(grad, cg)})


@scalar_safe
def log_sigmoid(x, *, want_cond=True) -> OpOutput:
    """log_sigmoid(x) = -log(1 + exp(-x)) = -sp(-x): -log1p(exp(-x)) for x >= 0, x - log1p(exp(x)) for x < 0.

    grad: sigma(-x).  cond(value) = sigma(-x) |x|;  cond(grad) = sigma(x) sigma(-x) |x|.
    +inf -> 0 (grad 0), -inf -> -inf (grad 1), NaN -> NaN.
    """
    s, sn = sigmoid_pair(x)
    _, sp_neg = softplus_pair(x)
    value = -sp_neg if x.size else x
    cv = cg = np.zeros(x.shape)
    if want_cond and x.size:
        fs, fsn, ax = fvals(s), fvals(sn), cond_abs(x)
        cv = clean_cond(fsn * ax, x, value)
        cg = clean_cond(fs * fsn * ax, x)
    return OpOutput(Part(value, cv), {"x": Part(sn, cg)})


SPECS = [
    spec("sigmoid", [Input("x")], {}, sigmoid, "sigmoid"),
    spec("log_sigmoid", [Input("x")], {}, log_sigmoid, "sigmoid"),
]
