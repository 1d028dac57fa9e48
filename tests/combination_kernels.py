"""Kernels for tests/conformance/test_combination_run.py: right alone, wrong only where options meet."""


def torch_cross_entropy_wrong_when_smoothing_meets_weight_and_ignored(input, target, weight=None, size_average=None,
                                                                      ignore_index=-100, reduce=None,
                                                                      reduction="mean", label_smoothing=0.0):
    """torch's cross_entropy, except that with label_smoothing, class weights and an ignored label in the batch
    at once the loss is 1% too big (each option alone, and any two of them, are right)."""
    import torch

    out = torch.nn.functional.cross_entropy(input, target, weight=weight, ignore_index=ignore_index,
                                            reduction=reduction, label_smoothing=label_smoothing)
    combined = (label_smoothing > 0 and weight is not None and target.dtype == torch.int64
                and bool((target == ignore_index).any()))
    return out * 1.01 if combined else out
