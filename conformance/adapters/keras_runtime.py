"""Keras 3 on every backend: which worker runs which backend, and running a Keras call with that backend's
autodiff (TensorFlow: GradientTape, conformance/adapters/tf_runtime.py; JAX: jax.vjp; torch: torch.autograd).

Keras fixes its backend when it is first imported (KERAS_BACKEND), so each backend is its own worker process
and framework name: "tensorflow" (the TensorFlow adapter's Keras rows), "keras_jax" and "keras_torch" (the
same rows, ids suffixed @jax / @torch, conformance/adapters/keras_jax_adapter.py and keras_torch_adapter.py).
The worker sets KERAS_BACKEND before anything imports Keras (conformance/execute/worker.py,
`prepare_process`). A row's *declaration* needs no backend (the losses, the version and epsilon are the same
in every backend), so the planning process declares the JAX and torch rows with whatever Keras it imported.

Gradients: grad[g] = d sum(value) / d g, the vector-Jacobian product with a cotangent of ones (docs/ops.md),
by the backend's own autodiff: jax.vjp (under jax.jit in mode "jit", op by op under jax.disable_jit() in mode
"eager"), torch.autograd.grad (eager), tf.GradientTape (tf_runtime).
"""
from __future__ import annotations

import functools
import os

from conformance.adapters.implementation import Observed

BACKEND_OF = {"tensorflow": "tensorflow", "keras_jax": "jax", "keras_torch": "torch"}  # framework -> backend
FRAMEWORK_OF = {backend: framework for framework, backend in BACKEND_OF.items()}
BACKEND_MODES = {"keras_jax": ("jit", "eager"), "keras_torch": ("eager",)}  # conformance/adapters/execution.py


def suffix(backend: str) -> str:
    """The id suffix of a Keras row on `backend`: none on TensorFlow (the ids as before), @jax, @torch."""
    return "" if backend == "tensorflow" else f"@{backend}"


def prepare_process(framework: str) -> None:
    """In a fresh worker process, before anything imports Keras: choose the framework's Keras backend."""
    backend = BACKEND_OF.get(framework)
    if backend is None or backend == "tensorflow":
        return
    os.environ["KERAS_BACKEND"] = backend
    if backend == "jax":
        from conformance.adapters import jax_adapter

        jax_adapter._jax()  # float64 (jax_enable_x64) before Keras touches JAX
    import keras

    if keras.backend.backend() != backend:
        raise RuntimeError(f"keras was imported with backend {keras.backend.backend()!r} before {backend!r} was set")


@functools.lru_cache(maxsize=None)
def keras_any():
    """Keras 3 with whatever backend this process imported it with (declarations), or None."""
    from conformance.adapters import tf_runtime  # noqa: F401  (KERAS_BACKEND=tensorflow unless a worker chose)

    try:
        import keras
    except ImportError:
        return None
    return keras if keras.__version__.startswith("3.") else None


def backend_available(backend: str) -> bool:
    import importlib.util

    need = {"jax": ("keras", "jax"), "torch": ("keras", "torch"), "tensorflow": ("keras", "tensorflow")}[backend]
    return all(importlib.util.find_spec(name) is not None for name in need)


def _active(backend: str):
    import keras

    active = keras.backend.backend()
    if active != backend:
        raise RuntimeError(f"this process runs Keras on {active!r}, not {backend!r}: Keras rows on {backend!r} "
                           f"run in the {FRAMEWORK_OF[backend]} worker")
    return keras


def run(backend: str, fn, inputs: dict, grads: tuple, device: str, key=None) -> Observed:
    """value = fn(tensors) and its gradients, by `backend`'s autodiff (module docstring)."""
    if backend == "tensorflow":
        from conformance.adapters import tf_runtime

        return tf_runtime._run(fn, inputs, grads, device, key=key)
    _active(backend)
    if backend == "jax":
        return _run_jax(fn, inputs, grads, device, key)
    import keras

    from conformance.adapters import torch_adapter

    # Keras on torch moves every tensor to its default device (CUDA where there is one): keep the cell's device
    with keras.device("cuda" if device == "cuda" else "cpu"):
        return torch_adapter.run(lambda **tensors: fn(tensors), inputs, device, grads)


_JAX_TRACED: dict = {}  # (key, names, grads, mode) -> the jitted value-and-gradients function


def _run_jax(fn, inputs: dict, grads: tuple, device: str, key) -> Observed:
    import numpy as np

    from conformance.adapters import execution, jax_adapter

    jax = jax_adapter._jax()
    mode = execution.current() or "jit"
    if mode not in BACKEND_MODES["keras_jax"]:
        raise ValueError(f"keras on jax has no execution mode {mode!r}")
    names = tuple(sorted(inputs))

    def value_and_grads(*arrays):
        given = dict(zip(names, arrays))

        def f(*wanted):
            return fn({**given, **dict(zip(grads, wanted))})

        if not grads:
            return f(), ()
        out, pullback = jax.vjp(f, *(given[name] for name in grads))
        return out, pullback(jax.numpy.ones_like(out))

    run_fn = value_and_grads
    if mode == "jit":
        cache_key = (key, names, tuple(grads))
        try:
            hash(cache_key)
        except TypeError:
            cache_key = None
        if cache_key is None or key is None:
            run_fn = jax.jit(value_and_grads)
        else:
            run_fn = _JAX_TRACED.setdefault(cache_key, jax.jit(value_and_grads))
    where = jax_adapter._device(device)
    arrays = tuple(jax.device_put(inputs[name], where) for name in names)
    with jax.disable_jit(mode == "eager"):
        value, got = run_fn(*arrays)
    return Observed(np.asarray(value), {name: np.asarray(g) for name, g in zip(grads, got)})
