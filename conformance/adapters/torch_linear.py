"""torch rows for linear_cross_entropy (torch.nn.functional.linear_cross_entropy, torch.nn.LinearCrossEntropyLoss):
rows of the torch adapter (conformance/adapters/torch_adapter.py adds them), called and differentiated as its own.

Each entry point is a row twice: with options=None (torch's reference path, F.linear then F.cross_entropy) and
with options=LinearCrossEntropyOptions() (the chunked kernel: the batch in chunks, gradients computed in the
forward, acc_policy and chunking "auto" resolved per device and dtype). The chunked path takes integer labels,
no label smoothing and reduction none/sum/mean; anything else falls back to the reference path with a
warning, so the [chunked] rows declare no label_smoothing. The module rows are called with
torch.func.functional_call, so the module's linear.weight and linear.bias are the case's tensors and get
their gradients (tests/adapters/test_module_parity.py checks them against the functional rows).
"""
from __future__ import annotations

from typing import Callable

import numpy as np

from conformance.adapters.implementation import Implementation

DOCS = "https://docs.pytorch.org/docs/stable/generated/"
FUNCTIONAL_DOCS = DOCS + "torch.nn.functional.linear_cross_entropy.html"
MODULE_DOCS = DOCS + "torch.nn.LinearCrossEntropyLoss.html"
SOURCE = "https://github.com/pytorch/pytorch/blob/v2.13.0/torch/nn/modules/linear_cross_entropy.py"
GRADS = ("input", "linear_weight", "linear_bias")


def _options(chunked: bool):
    if not chunked:
        return None
    import torch.nn as nn

    return nn.LinearCrossEntropyOptions()


def _kwargs(params: dict, dtype: str, device: str, param_tensor: Callable) -> dict:
    kwargs = {"weight": param_tensor(params.get("weight"), dtype, device),
              "reduction": params.get("reduction", "mean"),
              "label_smoothing": float(params.get("label_smoothing") or 0.0)}
    if params.get("ignore_index") is not None:  # otherwise torch's default (-100) stays in force
        kwargs["ignore_index"] = int(params["ignore_index"])
    return kwargs


def functional_call(run: Callable, param_tensor: Callable, chunked: bool):
    def call(inputs, params, dtype, device, grads, fn=None):
        import torch.nn.functional as F

        f = fn or F.linear_cross_entropy
        kwargs = _kwargs(params, dtype, device, param_tensor)
        options = _options(chunked)
        return run(lambda input, linear_weight, linear_bias, target: f(
            input, linear_weight, target, linear_bias=linear_bias, options=options, **kwargs), inputs, device, grads)

    return call


def module_call(run: Callable, param_tensor: Callable, chunked: bool, torch_dtype: Callable):
    """torch.nn.LinearCrossEntropyLoss(D, C, bias=True, weight=, reduction=, ignore_index=, label_smoothing=,
    options=) with the case's linear_weight and linear_bias as its linear.weight and linear.bias."""
    def call(inputs, params, dtype, device, grads, fn=None):
        import torch
        import torch.nn as nn

        kwargs = _kwargs(params, dtype, device, param_tensor)
        C, D = np.shape(inputs["linear_weight"])
        module = nn.LinearCrossEntropyLoss(D, C, bias=True, device=device, dtype=torch_dtype(dtype),
                                           options=_options(chunked), **kwargs)

        def f(input, linear_weight, linear_bias, target):
            state = {"linear.weight": linear_weight, "linear.bias": linear_bias}
            return torch.func.functional_call(module, state, (input, target))

        return run(fn or f, inputs, device, grads)

    return call


def rows(impl: Callable, run: Callable, param_tensor: Callable, torch_dtype: Callable,
         conventions: tuple) -> list[Implementation]:
    """The four rows, declared with the torch adapter's `impl` and called through its `run` (passed in: this
    module is part of the adapter and does not import it back)."""
    params = {"weight": None, "ignore_index": None, "reduction": ("none", "sum", "mean"),
              "mean_denominator": ("weight_sum",)}
    out = []
    for chunked in (False, True):
        suffix = "[chunked]" if chunked else ""
        row_params = params if chunked else {**params, "label_smoothing": None}
        row_conventions = tuple(c for c in conventions if not (chunked and "smoothing" in c.key))
        out += [
            impl("torch.nn.functional.linear_cross_entropy" + suffix, "linear_cross_entropy",
                 functional_call(run, param_tensor, chunked), FUNCTIONAL_DOCS if not chunked else SOURCE,
                 params=row_params, grads=GRADS, bad_labels="raises", conventions=row_conventions),
            impl("torch.nn.LinearCrossEntropyLoss" + suffix, "linear_cross_entropy",
                 module_call(run, param_tensor, chunked, torch_dtype), MODULE_DOCS if not chunked else SOURCE,
                 params=row_params, grads=GRADS, bad_labels="raises", conventions=row_conventions),
        ]
    return out
