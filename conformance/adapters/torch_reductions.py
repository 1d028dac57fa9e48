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


def _logsumexp_call(lib: Callable):
    def call(inputs, params, dtype, device, grads, fn=None):
        from conformance.adapters.torch_adapter import run

        f = fn or lib
        return run(lambda x: f(x, dim=params["axis"]), inputs, device, grads)

    return call


def _xlog1py_call(inputs, params, dtype, device, grads, fn=None):
    from conformance.adapters.torch_adapter import run

    f = fn or _lib("special", "xlog1py")
    return run(lambda x, y: f(x, y), inputs, device, grads)


def rows(impl: Callable) -> list[Implementation]:
    return [
        impl("torch.logsumexp", "logsumexp", _logsumexp_call(_lib("torch", "logsumexp")), DOCS + "torch.logsumexp.html",
             params={"axis": None}, grads=("x",)),
        impl("torch.special.logsumexp", "logsumexp", _logsumexp_call(_lib("special", "logsumexp")),
             SPECIAL_DOCS + "logsumexp", params={"axis": None}, grads=("x",)),
        impl("torch.special.xlog1py", "xlog1py", _xlog1py_call, SPECIAL_DOCS + "xlog1py", grads=("x", "y")),
    ]
