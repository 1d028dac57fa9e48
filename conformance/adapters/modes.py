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
PARAM_GRADS: the weight parameters whose gradient a row gives when the parameter is a tensor the user may
mark as requiring grad (torch's weight=), PARAM_GRADS_UNSUPPORTED the rows that refuse it, with the reason:
a mode case of a row in PARAM_GRADS, with the parameter given, also asks vjp:PARAM (the request's "param_grads"; the cotangent when
given, ones otherwise). The adapter hands the parameter's tensor to param_leaf(), which the mode code reads.
"""
from __future__ import annotations

import contextlib
import contextvars
import dataclasses

ALL_MODES = ("vjp", "jvp", "hvp")
MODES = {"torch": ALL_MODES, "jax": ALL_MODES, "tensorflow": ALL_MODES}

# (implementation id prefix, mode) -> why the framework cannot do it (the cell records `unsupported`)
UNSUPPORTED: dict[tuple[str, str], str] = {
    **{(row, "jvp"): "the chunked path (options set) does not support forward-mode AD (documented: "
                     "https://docs.pytorch.org/docs/stable/generated/torch.nn.functional.linear_cross_entropy.html)"
       for row in ("torch.nn.functional.linear_cross_entropy[chunked]", "torch.nn.LinearCrossEntropyLoss[chunked]")},
    **{(row, "hvp"): "the chunked path (options set) computes its gradients in the forward and detaches them: "
                     "double backward is not supported (torch/nn/modules/linear_cross_entropy.py: 'retain_graph=True "
                     "/ double backward are not supported'; torch.autograd.grad(create_graph=True) gives gradients "
                     "without a graph)"
       for row in ("torch.nn.functional.linear_cross_entropy[chunked]", "torch.nn.LinearCrossEntropyLoss[chunked]")},
}

# implementation id -> the weight parameters its gradient is taken for (reference.derivs.weights has the ops).
# torch 2.13 differentiates weight= only where the loss is plain tensor arithmetic (cross_entropy with
# probability targets); its fused ATen kernels declare no derivative for the weights, and asking one raises
# (PARAM_GRADS_UNSUPPORTED, checked by tests/conformance/test_mode_params.py).
PARAM_GRADS: dict[str, tuple] = {
    "torch.nn.functional.cross_entropy[probs]": ("weight",),
    "torch.nn.CrossEntropyLoss[probs]": ("weight",),
    "tf.nn.weighted_cross_entropy_with_logits": ("pos_weight",),  # a tensor argument, plain ops
}
_NOT_DIFF = ("RuntimeError: The function '{}' is not differentiable with respect to argument '{}'. This input "
             "cannot have requires_grad True. (torch 2.13: no derivative for it in tools/autograd/derivatives.yaml)")
PARAM_GRADS_UNSUPPORTED: dict[tuple[str, str], str] = {
    **{(i, "weight"): _NOT_DIFF.format("nll_loss_forward", "weight") for i in (
        "torch.nn.functional.cross_entropy[class]", "torch.nn.CrossEntropyLoss[class]",
        "torch.nn.functional.nll_loss", "torch.nn.NLLLoss")},
    **{(i, "weight"): _NOT_DIFF.format("binary_cross_entropy", "weight") for i in (
        "torch.nn.functional.binary_cross_entropy", "torch.nn.BCELoss")},
    **{(i, p): _NOT_DIFF.format("binary_cross_entropy_with_logits", p) for p in ("weight", "pos_weight") for i in (
        "torch.nn.functional.binary_cross_entropy_with_logits", "torch.nn.BCEWithLogitsLoss")},
}

_CURRENT: contextvars.ContextVar = contextvars.ContextVar("ce_conformance_mode_request", default=None)
_LEAVES: contextvars.ContextVar = contextvars.ContextVar("ce_conformance_param_leaves", default=None)


def current() -> dict | None:
    """The mode request of the call in progress, or None for a plain call."""
    return _CURRENT.get()


@contextlib.contextmanager
def requested(request: dict | None):
    token = _CURRENT.set(request)
    leaves = _LEAVES.set({})
    try:
        yield
    finally:
        _LEAVES.reset(leaves)
        _CURRENT.reset(token)


def wants_param(name: str | None) -> bool:
    """Whether the call in progress asks the gradient of weight parameter `name`."""
    request = current()
    return bool(name and request and name in (request.get("param_grads") or ()))


def param_leaf(name: str, tensor):
    """Record the tensor of a weight parameter the request differentiates (the adapter marks it as requiring
    grad before handing it over); returns the tensor."""
    leaves = _LEAVES.get()
    if leaves is not None:
        leaves[name] = tensor
    return tensor


def param_leaves() -> dict:
    return dict(_LEAVES.get() or {})


def param_grads_for(impl, params: dict) -> tuple:
    """The weight parameters a mode case of `impl` with `params` asks the gradient of."""
    from reference.derivs.weights import WEIGHT_PARAMS

    allowed = PARAM_GRADS.get(impl.id, ())
    return tuple(p for p in WEIGHT_PARAMS.get(impl.op, ()) if p in allowed and p in impl.params
                 and params.get(p) is not None)


def unsupported_reason(impl_id: str, mode: str) -> str | None:
    for (prefix, m), reason in UNSUPPORTED.items():
        if m == mode and impl_id.startswith(prefix):
            return reason
    return None


def declare(impls: list, framework: str) -> list:
    """The rows with their `modes` filled in from MODES and UNSUPPORTED (rows that already declare modes,
    e.g. a custom kernel's, and rows without gradients keep theirs; a mode the reference does not compute for
    the row's op, reference.derivs.request.WITHOUT_MODES, is left out)."""
    from reference.derivs.request import WITHOUT_MODES

    out = []
    for impl in impls:
        if impl.grads and not impl.modes and framework in MODES and impl.policy is None:  # policy rows: none
            modes = tuple(m for m in MODES[framework] if unsupported_reason(impl.id, m) is None
                          and m not in WITHOUT_MODES.get(impl.op, {}))
            impl = dataclasses.replace(impl, modes=modes)
        out.append(impl)
    return out


def parts_wanted(request: dict, names: tuple) -> list[str]:
    """The part names a request asks of an implementation differentiating `names`."""
    out = [f"vjp:{n}" for n in names] if request.get("cotangent") is not None else []
    out += [f"jvp:{n}" for n in names if n in request.get("tangents", {})]
    out += [f"hvp:{n}" for n in names] if request.get("hvp") else []
    out += [f"vjp:{p}" for p in request.get("param_grads") or ()]
    return out
