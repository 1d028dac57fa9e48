"""kl_div in torch's vocabulary: input = log q, target = p (or log p with log_target); `generalized` adds
exp(input) - target (optax.losses.generalized_kl_divergence, the Bregman divergence of x log x - x)."""
from __future__ import annotations

import numpy as np

from reference.ext import FIN, NEG, POS, X, full
from reference.ops.common import cond_abs, is_limit, same_shape
from reference.ops.params import check_bool
from reference.ops.reduce import check_reduction, count_x, poison, reduce_grad, reduce_value
from reference.ops.spec import Input, OpOutput, Part, scalar_safe, spec
from reference.ops.xlog import as_obj, finite_or_zero, fl, xlogy

REDUCTIONS = ("none", "sum", "mean", "batchmean")


@scalar_safe
def kl_div(input, target, *, log_target=False, generalized=False, reduction="mean", want_cond=True) -> OpOutput:
    """Pointwise l = target (log target - input) = xlogy(t, t) - t input  (0 where t = 0);
    with log_target: l = exp(t) (t - input).
    generalized: l + exp(input) - P with P = t (log_target: exp(t)), the generalized (unnormalised) KL
    p log(p/q) - p + q at q = exp(input); +inf where input = +inf and t is finite (exp(input) dominates).
    Reductions: "mean" averages over all elements; "batchmean" divides the sum by input.shape[0] (1 for a
    0-d input), the true KL per sample.

    grads: d/d input = -t  (log_target: -exp(t));  d/d t = log t + 1 - input  (log_target: exp(t)(t - input + 1)).
        generalized: d/d input + exp(input), d/d t - 1 (log_target: - exp(t)).
    Hessian: d2/d input2 = 0 (generalized: exp(input));  d2/d input dt = -1 (log_target: -exp(t));
             d2/dt2 = 1/t (log_target: exp(t)(t - input + 2), generalized exp(t)(t - input + 1)).
    cond(grad input) = |d2/d input2||input| + |d2/d input dt| |t|;
    cond(grad t) = |d2/d input dt| |input| + |d2/dt2| |t|.
    """
    same_shape(input, target, ("input", "target"))
    check_reduction(reduction, REDUCTIONS)
    log_t = check_bool("log_target", log_target)
    gen = check_bool("generalized", generalized)
    if not input.size:
        z = full(input.shape, 0)
        loss = gi = gt = z
        lit = ltt = np.zeros(input.shape)
    elif log_t:
        et = np.exp(target)
        loss = et * (target - input)
        gi = -et
        gt = et * (target - input + 1)
        etf = fl(et)
        lit, ltt = -etf, etf * (fl(target) - fl(input) + 2)
    else:
        loss = as_obj(xlogy(target, target)) - target * input
        gi = -target
        gt = np.log(target) + 1 - input
        tf = fl(target)
        lit = -np.ones(input.shape)
        with np.errstate(divide="ignore"):
            ltt = np.where(tf != 0, 1.0 / np.where(tf != 0, tf, 1.0), 0.0)
    lii = np.zeros(input.shape)
    if gen and input.size:
        loss, gi, gt, lii, ltt = _generalize(input, target, loss, gi, gt, ltt, log_t)
    poison(loss, gi, gt)
    cv, ci, ct = (np.zeros(input.shape),) * 3
    if want_cond and input.size:
        ai, at = cond_abs(input), cond_abs(target)
        bad = ~np.isfinite(fl(input)) | ~np.isfinite(fl(target))
        cv = finite_or_zero(np.abs(fl(gi)) * ai + np.abs(fl(gt)) * at)
        ci = finite_or_zero(np.abs(lii) * ai + np.abs(lit) * at)
        ct = finite_or_zero(np.abs(lit) * ai + np.abs(ltt) * at)
        cv = np.where(bad | ~np.isfinite(fl(loss)), 0.0, cv)
        ci = np.where(bad | ~np.isfinite(fl(gi)), 0.0, ci)
        ct = np.where(bad | ~np.isfinite(fl(gt)), 0.0, ct)
    if reduction == "batchmean":
        denom, how = count_x(input.shape[0] if input.ndim else 1), "mean"
    else:
        denom, how = count_x(input.size), reduction
    value, cvr = reduce_value(loss, cv, how, denom)
    g1, c1 = reduce_grad(gi, ci, how, denom)
    g2, c2 = reduce_grad(gt, ct, how, denom)
    return OpOutput(Part(value, cvr), {"input": Part(g1, c1), "target": Part(g2, c2)})


def _generalize(input, target, loss, gi, gt, ltt, log_t):
    """The generalized terms: + exp(input) - P (P = t, or exp(t) with log_target) on the value, + exp(input)
    on d/d input, - dP/dt on d/dt, and the Hessian entries they add (see kl_div)."""
    q = np.exp(input)
    P = np.exp(target) if log_t else target
    loss = np.frompyfunc(_gen_value, 3, 1)(loss, q, P).reshape(input.shape)
    gi = gi + q
    gt = gt - (P if log_t else 1)
    lii = fl(q)
    if log_t:
        ltt = ltt - fl(P)
    return loss, gi, gt, lii, ltt


def _gen_value(loss: X, q: X, P: X) -> X:
    """loss + q - P; under limit semantics +inf where q = +inf and P is finite (t (log t - input) -> -inf is
    dominated by exp(input)); IEEE arithmetic gives -inf + inf = NaN there."""
    if is_limit() and q.k == POS and P.k == FIN and loss.k in (FIN, NEG):
        return X(POS)
    return loss + q - P


SPECS = [spec("kl_div", [Input("input", domain="logp"), Input("target", domain="prob")],
              {"log_target": False, "generalized": False, "reduction": "mean"}, kl_div, "kl_div")]
