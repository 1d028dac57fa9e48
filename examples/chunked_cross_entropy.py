"""A chunked large-vocabulary cross-entropy in PyTorch (correct): the log-sum-exp is accumulated over
vocabulary chunks with a running maximum, the way fused large-vocabulary kernels do, so no (N, V)
probability tensor is ever materialised at once.

    loss_i = logsumexp_j(x_ij) - x_i,y_i          (mean over the rows that are not ignore_index)

Called exactly like torch.nn.functional.cross_entropy (class targets, class axis 1). Check it with

    python -m conformance run --impl examples.chunked_cross_entropy:cross_entropy --op cross_entropy \
        --signature torch --out reports/examples/chunked
"""
import torch

CHUNK = 4096


def _chunked_logsumexp(logits: torch.Tensor, chunk: int = CHUNK) -> torch.Tensor:
    """Row-wise log(sum(exp(logits))) over the last axis, one vocabulary chunk at a time, in float32 or
    wider (like torch's own kernels, half precision is accumulated in float32)."""
    acc_dtype = torch.promote_types(logits.dtype, torch.float32)
    running_max = torch.full(logits.shape[:-1], float("-inf"), dtype=acc_dtype, device=logits.device)
    running_sum = torch.zeros(logits.shape[:-1], dtype=acc_dtype, device=logits.device)
    for start in range(0, logits.shape[-1], chunk):
        block = logits[..., start:start + chunk].to(acc_dtype)
        new_max = torch.maximum(running_max, block.amax(dim=-1))
        safe_max = torch.where(torch.isfinite(new_max), new_max, torch.zeros_like(new_max))
        running_sum = running_sum * torch.exp(running_max - safe_max) + torch.exp(block - safe_max[..., None]).sum(-1)
        running_max = new_max
    safe = torch.where(torch.isfinite(running_max), running_max, torch.zeros_like(running_max))
    return torch.log(running_sum) + safe


def cross_entropy(input, target, weight=None, ignore_index=-100, reduction="mean", label_smoothing=0.0):
    if target.dtype.is_floating_point or weight is not None or label_smoothing:
        raise NotImplementedError("this example supports class targets without weight or label smoothing")
    logits = input.movedim(1, -1)  # (N, d1.., C)
    lse = _chunked_logsumexp(logits)
    keep = target != ignore_index
    safe_target = torch.where(keep, target, torch.zeros_like(target))
    picked = logits.gather(-1, safe_target.unsqueeze(-1)).squeeze(-1).to(lse.dtype)
    loss = torch.where(keep, lse - picked, torch.zeros_like(lse))
    if reduction == "none":
        return loss.to(input.dtype)
    total = loss.sum()
    if reduction == "sum":
        return total.to(input.dtype)
    return (total / keep.sum()).to(input.dtype)
