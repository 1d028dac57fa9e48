"""Keras 3 on the JAX and torch backends, as implementations under test: every keras.losses Loss class,
keras.losses function and keras.ops row of the TensorFlow adapter, run by a worker whose Keras was imported with
KERAS_BACKEND=jax (framework "keras_jax", ids ID@jax) or KERAS_BACKEND=torch ("keras_torch", ids ID@torch),
gradients by that backend's autodiff (conformance/adapters/keras_runtime.py). The rows, params and
conventions are the TensorFlow backend's (keras_losses.py, keras_functions.py) with the source links of the
backend's code and its own out-of-range label behaviour (keras_losses.on_backend).

The adapters conformance/adapters/keras_jax_adapter.py and keras_torch_adapter.py are this module for one
backend each. Profiles: quick runs none of these rows, ci a sample, thorough all (conformance/plan/variant_plan.py).
"""
from __future__ import annotations

from conformance.adapters import keras_functions, keras_losses, keras_runtime
from conformance.adapters.implementation import Implementation


def available(backend: str) -> bool:
    return keras_runtime.backend_available(backend)


def version(backend: str) -> str:
    from conformance.adapters import installed

    base = installed.version_of(backend, backend)
    return f"keras {installed.version_of('keras', 'keras')} ({backend} backend), {backend} {base}"


def devices(backend: str) -> list[str]:
    if backend == "jax":
        from conformance.adapters import jax_adapter

        return jax_adapter.devices()
    from conformance.adapters import torch_adapter

    return torch_adapter.devices()


def implementations(backend: str) -> list[Implementation]:
    if keras_runtime.keras_any() is None:
        return []
    devs = tuple(devices(backend))
    return keras_losses.keras_rows(devs, backend) + keras_functions.keras_function_rows(devs, backend)


def adapter_interface(backend: str) -> tuple:
    """(available, version, devices, implementations) of the adapter module for one backend: the module-level
    functions every adapter exposes (conformance/adapters/__init__.py), bound to `backend`."""
    return (lambda: available(backend), lambda: version(backend), lambda: devices(backend),
            lambda: implementations(backend))
