"""vjp, jvp and hvp the way JAX users compute them (conformance/adapters/modes.py), jitted like the plain
call (one compile per row, static config, shapes and request structure):

    vjp: jax.vjp(f, *xs)[1](v)
    jvp: jax.jvp(f, xs, ts) with the other inputs' tangents zero
    hvp: jax.jvp(lambda *xs: jax.vjp(f, *xs)[1](v), xs, ts)  (forward-over-reverse; v = ones when not given)
"""
from __future__ import annotations

import functools


@functools.lru_cache(maxsize=None)
def compiled(jax, fn, static_items: tuple, lib, names: tuple, grads: tuple, has_cot: bool, jvp_names: tuple,
             hvp: bool):
    """jit((arrays, cotangent, tangents) -> {part: array})."""
    jnp = jax.numpy
    static = dict(static_items)

    def parts(arrays, cot, tans):
        given = dict(zip(names, arrays))

        def f(*wanted):
            return fn({**given, **dict(zip(grads, wanted))}, static, lib)

        prim = tuple(given[n] for n in grads)
        out = {}
        if has_cot:
            y, pull = jax.vjp(f, *prim)
            out.update({f"vjp:{n}": g for n, g in zip(grads, pull(cot.reshape(y.shape)))})
        for n in jvp_names:
            ts = tuple(tans[g] if g == n else jnp.zeros_like(given[g]) for g in grads)
            out[f"jvp:{n}"] = jax.jvp(f, prim, ts)[1]
        if hvp:
            def pulled(*xs):
                y, pull = jax.vjp(f, *xs)
                return pull(cot.reshape(y.shape) if has_cot else jnp.ones_like(y))

            h = jax.jvp(pulled, prim, tuple(tans[g] for g in grads))[1]
            out.update({f"hvp:{n}": hi for n, hi in zip(grads, h)})
        return out

    return jax.jit(parts)


def derivs(jax, fn, static: tuple, lib, names: tuple, grads: tuple, arrays: tuple, request: dict, where) -> dict:
    import numpy as np

    tangents = request.get("tangents", {})
    cot = request.get("cotangent")
    jvp_names = tuple(n for n in grads if n in tangents)
    run = compiled(jax, fn, static, lib, names, tuple(grads), cot is not None, jvp_names, bool(request.get("hvp")))
    put = functools.partial(jax.device_put, device=where)
    tans = {n: put(np.asarray(tangents[n])) for n in grads if n in tangents}
    got = run(arrays, None if cot is None else put(np.asarray(cot)), tans)
    return {k: np.asarray(v) for k, v in got.items()}
