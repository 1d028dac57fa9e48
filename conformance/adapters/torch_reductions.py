"""torch rows for logsumexp (torch.logsumexp, torch.special.logsumexp) and torch.special.xlog1py: rows of
the torch adapter (conformance/adapters/torch_adapter.py adds them), called and differentiated as its own."""
from __future__ import annotations

from typing import Callable

from conformance.adapters.implementation import Implementation

SPECIAL_DOCS = "https://docs.pytorch.org/docs/stable/special.html#torch.special."
DOCS = "https://docs.pytorch.org/docs/stable/generated/"


def _lib(module: str, name: str) -> Callable:
    def fn(*args, **kwargs):
        import torch

        return getattr(torch.special if module == "special" else torch, name)(*args, **kwargs)

    return fn


def _logsumexp_call(lib: Callable, run: Callable):
    def call(inputs, params, dtype, device, grads, fn=None):
        f = fn or lib
        return run(lambda x: f(x, dim=params["axis"]), inputs, device, grads)

    return call


def _xlog1py_call(run: Callable):
    def call(inputs, params, dtype, device, grads, fn=None):
        f = fn or _lib("special", "xlog1py")
        return run(lambda x, y: f(x, y), inputs, device, grads)

    return call


def rows(impl: Callable, run: Callable) -> list[Implementation]:
    """The rows, declared with the torch adapter's `impl` and called through its `run` (passed in: this module
    is part of the adapter and does not import it back)."""
    return [
        impl("torch.logsumexp", "logsumexp", _logsumexp_call(_lib("torch", "logsumexp"), run),
             DOCS + "torch.logsumexp.html", params={"axis": None}, grads=("x",)),
        impl("torch.special.logsumexp", "logsumexp", _logsumexp_call(_lib("special", "logsumexp"), run),
             SPECIAL_DOCS + "logsumexp", params={"axis": None}, grads=("x",)),
        impl("torch.special.xlog1py", "xlog1py", _xlog1py_call(run), SPECIAL_DOCS + "xlog1py", grads=("x", "y")),
    ]
