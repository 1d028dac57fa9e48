"""Keras 3 on the jax backend (framework "keras_jax", ids ID@jax): conformance/adapters/keras_backend_adapter.py."""
from __future__ import annotations

from conformance.adapters import keras_backend_adapter as _rows
from conformance.adapters.keras_runtime import BACKEND_MODES

FRAMEWORK = "keras_jax"
BACKEND = "jax"
MODES = BACKEND_MODES[FRAMEWORK]  # conformance/adapters/execution.py


def available() -> bool:
    return _rows.available(BACKEND)


def version() -> str:
    return _rows.version(BACKEND)


def devices() -> list[str]:
    return _rows.devices(BACKEND)


def implementations() -> list:
    return _rows.implementations(BACKEND)
