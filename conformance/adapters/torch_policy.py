"""torch.autocast as a precision policy (conformance/judge/policy.py): the torch rows users typically call
inside an autocast region, each again as ID[policy=autocast_bfloat16], whose forward call runs under
torch.autocast(device_type, dtype=torch.bfloat16) (the backward is taken outside it, as in a training step).

On CPU the loss and softmax ops are on autocast's float32 list (they run in float32 and return float32, also for
bfloat16 inputs); matmul-like ops would run in bfloat16. Autocast only recasts float32 and half tensors: on
float64 inputs it does nothing, so float64 cells are `unsupported` with that reason
(https://docs.pytorch.org/docs/stable/amp.html#cpu-ops-that-can-autocast-to-float32).
"""
from __future__ import annotations

import contextlib
import dataclasses

POLICY = "autocast_bfloat16"
AMP_DOCS = "https://docs.pytorch.org/docs/stable/amp.html#cpu-ops-that-can-autocast-to-float32"
ROW_IDS = ("torch.nn.functional.cross_entropy[class]", "torch.nn.functional.cross_entropy[probs]",
           "torch.nn.functional.nll_loss", "torch.nn.functional.binary_cross_entropy_with_logits",
           "torch.nn.functional.log_softmax", "torch.nn.functional.softmax")
_active: list = [None]


def autocast_rows(rows: list) -> list:
    """The rows of ROW_IDS under the autocast policy (no derivative modes, no memory layouts: one dimension
    at a time)."""
    out = []
    for row in rows:
        if row.id in ROW_IDS:
            out.append(dataclasses.replace(
                row, id=f"{row.id}[policy={POLICY}]", call=_under_autocast(row.call), policy=POLICY,
                memory_layouts=("contiguous",), modes=(),
                unsupported_dtypes={"float64": "torch.autocast recasts only float32 and half tensors: a float64 "
                                               "call is the plain row's (" + AMP_DOCS + ")"}))
    return out


def _under_autocast(call):
    def wrapped(*args, **kwargs):
        _active[0] = POLICY
        try:
            return call(*args, **kwargs)
        finally:
            _active[0] = None

    return wrapped


def forward_context(device: str):
    """torch.autocast for the forward call of a policy row, else nothing."""
    if _active[0] != POLICY:
        return contextlib.nullcontext()
    import torch

    return torch.autocast(device_type="cuda" if device == "cuda" else "cpu", dtype=torch.bfloat16)
