"""Keras 3 on the torch backend (framework "keras_torch", ids ID@torch): conformance/adapters/keras_backend_adapter.py."""
from __future__ import annotations

from conformance.adapters.keras_backend_adapter import adapter_interface
from conformance.adapters.keras_runtime import BACKEND_MODES

FRAMEWORK = "keras_torch"
BACKEND = "torch"
MODES = BACKEND_MODES[FRAMEWORK]  # conformance/adapters/execution.py
available, version, devices, implementations = adapter_interface(BACKEND)
