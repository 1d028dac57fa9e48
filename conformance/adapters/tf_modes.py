"""vjp, jvp and hvp the way TensorFlow users compute them (conformance/adapters/modes.py):

    vjp: tf.GradientTape().gradient(out, xs, output_gradients=v); with the request's param_grads also the
         pos_weight tensor the adapter hands over (modes.param_leaves; v = ones without a cotangent)
    jvp: tf.autodiff.ForwardAccumulator(primals=x, tangents=t).jvp(out)
    hvp: nested tapes: g = inner.gradient(out, xs, output_gradients=v or ones), then
         outer.gradient(g, xs, output_gradients=t)
Unconnected gradients are zeros (tf.UnconnectedGradients.ZERO), as for the plain gradient.
"""
from __future__ import annotations

import numpy as np


def _cotangent(tf, cot, y):
    """The cotangent in the output's shape; an empty output (Keras returns shape (0,) for the mean over an
    empty batch, where the reference's is a scalar: a value finding of the plain cases) has the empty
    cotangent, so the mode parts stay defined (the vjp of nothing is 0) instead of a reshape error that
    would read as the implementation raising."""
    if int(tf.size(y)) == 0:
        return tf.zeros_like(y)
    return tf.reshape(tf.constant(cot), tf.shape(y))


def derivs(tf, fn, inputs: dict, names: tuple, request: dict) -> dict:
    """{part: numpy array} for the request; fn(tensors) -> output tensor."""
    zero = tf.UnconnectedGradients.ZERO
    out = {}
    cot = request.get("cotangent")
    tangents = request.get("tangents", {})

    def fresh():
        return {name: tf.constant(array) for name, array in inputs.items()}

    from conformance.adapters import modes

    leaves = modes.param_leaves()  # weight parameters asked (request "param_grads"), made by the first call
    params = [p for p in request.get("param_grads") or () if p in leaves]
    if cot is not None or params:
        t = fresh()
        with tf.GradientTape() as tape:
            for x in [t[n] for n in names] + [leaves[p] for p in params]:
                tape.watch(x)
            y = fn(t)
        keys = ([f"vjp:{n}" for n in names] if cot is not None else []) + [f"vjp:{p}" for p in params]
        wrt = ([t[n] for n in names] if cot is not None else []) + [leaves[p] for p in params]
        v = _cotangent(tf, cot, y) if cot is not None else tf.ones_like(y)
        got = tape.gradient(y, wrt, output_gradients=v, unconnected_gradients=zero)
        out.update({k: np.asarray(g.numpy()) for k, g in zip(keys, got)})
    for name in names:
        if name not in tangents:
            continue
        t = fresh()
        with tf.autodiff.ForwardAccumulator(primals=t[name], tangents=tf.constant(tangents[name])) as acc:
            y = fn(t)
        out[f"jvp:{name}"] = np.asarray(acc.jvp(y, unconnected_gradients=zero).numpy())
    if request.get("hvp"):
        t = fresh()
        xs = [t[n] for n in names]
        with tf.GradientTape() as outer:
            for x in xs:
                outer.watch(x)
            with tf.GradientTape() as inner:
                for x in xs:
                    inner.watch(x)
                y = fn(t)
            v = _cotangent(tf, cot, y) if cot is not None else tf.ones_like(y)
            g = inner.gradient(y, xs, output_gradients=v, unconnected_gradients=zero)
        h = outer.gradient(g, xs, output_gradients=[tf.constant(tangents[n]) for n in names],
                           unconnected_gradients=zero)
        out.update({f"hvp:{n}": np.asarray(hi.numpy()) for n, hi in zip(names, h)})
    return out
