"""Differentiation modes beyond the gradient with cotangent ones, declared as data per implementation.

A mode case (conformance.cases.modes) carries a request
    {"cotangent": array shaped like the output or None, "tangents": {input: array}, "hvp": bool}
and asks the implementation for the parts (docs/ops.md, "Derivative modes")
    vjp:IN = v^T J_IN       jvp:IN = J_IN t_IN       hvp:IN = d/dIN [d/dh (v . f)(x + h t)]
computed the way each framework really does it (conformance/adapters/{torch,jax,tf}_modes.py):
    torch:      torch.autograd.grad(out, xs, grad_outputs=v); torch.autograd.forward_ad dual tensors;
                double backward (create_graph=True, then grad of the gradients with grad_outputs=t)
    jax:        jax.vjp(f, *xs)[1](v); jax.jvp(f, xs, ts); jax.jvp of the VJP (forward-over-reverse)
    tensorflow: GradientTape.gradient(out, xs, output_gradients=v); tf.autodiff.ForwardAccumulator;
                nested GradientTapes
The worker sets the request (requested()) around impl.call; an adapter's run function reads it (current())
and fills Observed.derivs. An exception in a mode is the call's exception: data, as for values.

MODES is the data: which modes each framework's rows (those that differentiate: grads declared) support,
and UNSUPPORTED the (implementation id prefix, mode) pairs a framework cannot do, with the reason.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses

ALL_MODES = ("vjp", "jvp", "hvp")
MODES = {"torch": ALL_MODES, "jax": ALL_MODES, "tensorflow": ALL_MODES}

# (implementation id prefix, mode) -> why the framework cannot do it (the cell records `unsupported`)
UNSUPPORTED: dict[tuple[str, str], str] = {}

_CURRENT: contextvars.ContextVar = contextvars.ContextVar("ce_conformance_mode_request", default=None)


def current() -> dict | None:
    """The mode request of the call in progress, or None for a plain call."""
    return _CURRENT.get()


@contextlib.contextmanager
def requested(request: dict | None):
    token = _CURRENT.set(request)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def unsupported_reason(impl_id: str, mode: str) -> str | None:
    for (prefix, m), reason in UNSUPPORTED.items():
        if m == mode and impl_id.startswith(prefix):
            return reason
    return None


def declare(impls: list, framework: str) -> list:
    """The rows with their `modes` filled in from MODES and UNSUPPORTED (rows that already declare modes,
    e.g. a custom kernel's, and rows without gradients keep theirs)."""
    out = []
    for impl in impls:
        if impl.grads and not impl.modes and framework in MODES:
            modes = tuple(m for m in MODES[framework] if unsupported_reason(impl.id, m) is None)
            impl = dataclasses.replace(impl, modes=modes)
        out.append(impl)
    return out


def parts_wanted(request: dict, names: tuple) -> list[str]:
    """The part names a request asks of an implementation differentiating `names`."""
    out = [f"vjp:{n}" for n in names] if request.get("cotangent") is not None else []
    out += [f"jvp:{n}" for n in names if n in request.get("tangents", {})]
    out += [f"hvp:{n}" for n in names] if request.get("hvp") else []
    return out
