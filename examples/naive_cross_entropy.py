"""A naive cross-entropy: softmax, then log, then pick — in the input dtype, without the max shift.

    loss_i = -log( exp(x_i,y_i) / sum_j exp(x_ij) )

Mathematically the same as cross-entropy, numerically not: exp overflows for large logits (inf / inf =
NaN) and log(0) = -inf once a probability underflows. The suite must catch it on large logits:

    python -m conformance run --impl examples.naive_cross_entropy:cross_entropy --op cross_entropy \
        --signature torch --out reports/examples/naive
"""
import torch


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    if target.dtype.is_floating_point or weight is not None or label_smoothing:
        raise NotImplementedError("this example supports class targets without weight or label smoothing")
    e = torch.exp(input)
    probs = e / e.sum(dim=1, keepdim=True)
    keep = target != ignore_index
    safe_target = torch.where(keep, target, torch.zeros_like(target))
    picked = probs.gather(1, safe_target.unsqueeze(1)).squeeze(1)
    loss = torch.where(keep, -torch.log(picked), torch.zeros_like(picked))
    if reduction == "none":
        return loss
    if reduction == "sum":
        return loss.sum()
    return loss.sum() / keep.sum()
