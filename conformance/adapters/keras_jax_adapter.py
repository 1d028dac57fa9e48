"""Keras 3 on the jax backend (framework "keras_jax", ids ID@jax): conformance/adapters/keras_backend_adapter.py."""
from __future__ import annotations

from conformance.adapters.keras_backend_adapter import adapter_interface
from conformance.adapters.keras_runtime import BACKEND_MODES

FRAMEWORK = "keras_jax"
BACKEND = "jax"
MODES = BACKEND_MODES[FRAMEWORK]  # conformance/adapters/execution.py
available, version, devices, implementations = adapter_interface(BACKEND)
