"""The adapters: one module per framework, each declaring its implementations as data.

A framework that is not installed is reported as skipped, never as an error.
"""
from __future__ import annotations

import importlib

FRAMEWORKS = {
    "torch": "conformance.adapters.torch_adapter",
    "tensorflow": "conformance.adapters.tensorflow_adapter",  # + tf_runtime, keras_losses, keras_functions
    "jax": "conformance.adapters.jax_adapter",
    "numpy": "conformance.adapters.numpy_adapter",
    "cupy": "conformance.adapters.cupy_adapter",
    "keras_jax": "conformance.adapters.keras_jax_adapter",  # Keras 3 on the JAX backend (its own worker)
    "keras_torch": "conformance.adapters.keras_torch_adapter",  # Keras 3 on the torch backend
}


def adapter(framework: str):
    """The adapter module for a framework name (KeyError for an unknown name)."""
    return importlib.import_module(FRAMEWORKS[framework])


def availability(framework: str) -> tuple[bool, str]:
    """(available, version or the reason it is skipped)."""
    try:
        module = adapter(framework)
        if not module.available():
            return False, f"{framework} is not installed"
        return True, module.version()
    except ImportError as exc:
        return False, f"{framework} is not installed ({exc})"


PLUGIN_PREFIX = "plugin:"
ENTRY_POINT_GROUP = "ce_conformance.implementations"  # installed packages' implementation rows (plugins)


def plugins() -> dict:
    """Installed packages' implementations, registered under the entry-point group
    `ce_conformance.implementations`: {"plugin:<entry point name>": entry point}."""
    from importlib.metadata import entry_points

    return {PLUGIN_PREFIX + ep.name: ep for ep in entry_points(group=ENTRY_POINT_GROUP)}


def implementations_for(framework: str) -> list:
    """Every built-in implementation of a framework, or a plugin's ("plugin:<name>"); custom kernels (--impl)
    are added by the planning path (conformance.plan.cells.implementations)."""
    if framework in FRAMEWORKS:  # with the derivative modes each row supports (conformance/adapters/modes.py)
        from conformance.adapters import modes

        return modes.declare(list(adapter(framework).implementations()), framework)
    if framework.startswith(PLUGIN_PREFIX):
        return list(plugins()[framework].load()())
    return []
