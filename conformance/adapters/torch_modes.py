"""vjp, jvp and hvp the way PyTorch users compute them (conformance/adapters/modes.py):

    vjp: torch.autograd.grad(out, xs, grad_outputs=v); with the request's param_grads also the weight /
         pos_weight tensors the adapter marked as requiring grad (modes.param_leaves; v = ones when no
         cotangent is given)
    jvp: torch.autograd.forward_ad (dual tensors; works for custom autograd.Functions with a jvp rule too)
    hvp: g = torch.autograd.grad(out, xs, grad_outputs=v or ones, create_graph=True), then
         torch.autograd.grad(g, xs, grad_outputs=t) (double backward). A gradient without a graph (the loss
         is linear in the inputs, e.g. nll_loss) has a zero second derivative: it contributes nothing.
"""
from __future__ import annotations


def derivs(fn, inputs: dict, device: str, names: tuple, request: dict, to_tensor, to_numpy) -> dict:
    """{part: numpy array} for the request; fn(**tensors) -> output tensor."""
    import torch
    import torch.autograd.forward_ad as fwAD

    def fresh(watch=True):
        tensors = {name: to_tensor(array, device) for name, array in inputs.items()}
        if watch:
            for name in names:
                tensors[name].requires_grad_(True)
        return tensors

    from conformance.adapters import modes

    out = {}
    cot = request.get("cotangent")
    tangents = request.get("tangents", {})
    leaves = modes.param_leaves()
    params = [p for p in request.get("param_grads") or () if p in leaves]
    if cot is not None or params:
        t = fresh()
        y = fn(**t)
        v = to_tensor(cot, device).reshape(y.shape) if cot is not None else torch.ones_like(y)
        wrt = ([t[n] for n in names] if cot is not None else []) + [leaves[p] for p in params]
        got = torch.autograd.grad(y, wrt, grad_outputs=v, allow_unused=True, materialize_grads=True)
        keys = ([f"vjp:{n}" for n in names] if cot is not None else []) + [f"vjp:{p}" for p in params]
        out.update({k: to_numpy(g) for k, g in zip(keys, got)})
    for name in names:
        if name not in tangents:
            continue
        t = fresh(watch=False)
        with fwAD.dual_level():
            t[name] = fwAD.make_dual(t[name], to_tensor(tangents[name], device))
            y = fn(**t)
            jv = fwAD.unpack_dual(y).tangent
            out[f"jvp:{name}"] = to_numpy(jv if jv is not None else torch.zeros_like(y))
    if request.get("hvp"):
        t = fresh()
        y = fn(**t)
        v = to_tensor(cot, device).reshape(y.shape) if cot is not None else torch.ones_like(y)
        xs = [t[n] for n in names]
        g = torch.autograd.grad(y, xs, grad_outputs=v, create_graph=True, allow_unused=True, materialize_grads=True)
        pairs = [(gi, to_tensor(tangents[n], device)) for gi, n in zip(g, names) if gi.requires_grad]
        if pairs:
            h = torch.autograd.grad([p[0] for p in pairs], xs, grad_outputs=[p[1] for p in pairs],
                                    allow_unused=True, materialize_grads=True)
        else:
            h = [torch.zeros_like(x) for x in xs]
        out.update({f"hvp:{n}": to_numpy(hi) for n, hi in zip(names, h)})
    return out
