"""The TensorFlow adapter's runtime: lazy imports of TensorFlow and Keras 3 (TensorFlow backend), the devices,
the execution modes (eager, tf.function graph, XLA), and running a call under a GradientTape
(conformance/adapters/tensorflow_adapter.py documents the conventions). The row modules (tensorflow_adapter,
keras_losses, keras_functions) import this one; it imports none of them.
"""
from __future__ import annotations

import functools
import os

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
os.environ["KERAS_BACKEND"] = "tensorflow"

import numpy as np  # noqa: E402

from conformance.adapters import modes, tf_modes  # noqa: E402
from conformance.adapters.implementation import Observed  # noqa: E402

FRAMEWORK = "tensorflow"

TF_DOCS = "https://www.tensorflow.org/api_docs/python/"
KERAS_DOCS = "https://keras.io/api/losses/probabilistic_losses/"
KERAS_REDUCTION = {"none": None, "sum": "sum", "mean": "sum_over_batch_size"}


# ----------------------------------------------------------------------------------------------- imports

@functools.lru_cache(maxsize=None)
def _tf():
    import tensorflow as tf

    return tf


@functools.lru_cache(maxsize=None)
def _keras():
    """Keras 3 on the TensorFlow backend, or None (Keras missing, or imported earlier with another backend)."""
    try:
        import keras
    except ImportError:
        return None
    if keras.backend.backend() != "tensorflow" or not keras.__version__.startswith("3."):
        return None
    return keras


def available() -> bool:
    try:
        _tf()
    except ImportError:
        return False
    return True


def version() -> str:
    text = f"tensorflow {_tf().__version__}"
    keras = _keras()
    return text + (f", keras {keras.__version__}" if keras is not None else "")


def devices() -> list[str]:
    return ["cpu", "cuda"] if _tf().config.list_physical_devices("GPU") else ["cpu"]


def _np_dtype(dtype: str) -> np.dtype:
    import ml_dtypes

    return np.dtype(ml_dtypes.bfloat16) if dtype == "bfloat16" else np.dtype(dtype)


# ----------------------------------------------------------------------------------------------- running

MODES = ("eager", "graph", "xla")  # conformance/adapters/execution.py


def _mode() -> str:
    from conformance.adapters import execution

    mode = execution.current() or MODES[0]
    if mode not in MODES:
        raise ValueError(f"tensorflow has no execution mode {mode!r}; modes: {', '.join(MODES)}")
    return mode


_TRACED: dict = {}  # (key, input names, grads, mode) -> tf.function


@functools.lru_cache(maxsize=None)
def _quiet_retracing_warning() -> None:
    """tf.function warns when it retraces often; here it retraces once per input shape by design (the worker
    would keep that warning as the implementation's output)."""
    import logging

    class _NoRetracing(logging.Filter):
        def filter(self, record):
            return "triggered tf.function retracing" not in record.getMessage()

    _tf().get_logger().addFilter(_NoRetracing())


def _traced(key, fn, names: tuple, grads: tuple, mode: str):
    """tf.function (jit_compile=True for "xla") of the whole call, forward and GradientTape, for one row and
    its params (`key`, which stands for fn); tf.function traces it once per input shape and dtype."""
    try:
        cache_key = None if key is None else (key, names, grads, mode)
        hash(cache_key)
    except TypeError:  # params that cannot be a key: a function of its own (traced on every call)
        cache_key = None
    if cache_key in _TRACED:
        return _TRACED[cache_key]
    tf = _tf()

    def graph(*arrays):
        tensors = dict(zip(names, arrays))
        with tf.GradientTape() as tape:
            for name in grads:
                tape.watch(tensors[name])
            out = fn(tensors)
        got = tape.gradient(out, [tensors[name] for name in grads], output_gradients=tf.ones_like(out),
                            unconnected_gradients=tf.UnconnectedGradients.ZERO) if grads else []
        return out, got

    _quiet_retracing_warning()
    traced = tf.function(graph, jit_compile=mode == "xla")
    if cache_key is not None:
        _TRACED[cache_key] = traced
    return traced


def _run(fn, inputs: dict, grads: tuple, device: str, key=None) -> Observed:
    """value = fn(tensors); grad[g] = d sum(value) / d g via GradientTape with a cotangent of ones.

    Mode "graph" / "xla" (conformance/adapters/execution.py): the same inside one tf.function, cached by `key`
    (what fn computes: the row, its params and dtype; None: traced afresh on every call)."""
    tf = _tf()
    mode = _mode()
    with tf.device("/GPU:0" if device == "cuda" else "/CPU:0"):
        tensors = {name: tf.constant(array) for name, array in inputs.items()}
        if mode != "eager":
            names = tuple(sorted(tensors))
            traced = _traced(key, fn, names, tuple(grads), mode)
            out, got = traced(*(tensors[name] for name in names))
            return Observed(np.asarray(out.numpy()), {name: np.asarray(g.numpy()) for name, g in zip(grads, got)})
        with tf.GradientTape() as tape:
            for name in grads:
                tape.watch(tensors[name])
            out = fn(tensors)
        observed = Observed(np.asarray(out.numpy()))
        if grads:
            got = tape.gradient(
                out,
                [tensors[name] for name in grads],
                output_gradients=tf.ones_like(out),
                unconnected_gradients=tf.UnconnectedGradients.ZERO,
            )
            observed.grads = {name: np.asarray(g.numpy()) for name, g in zip(grads, got)}
        request = modes.current()
        if request is not None and grads:  # a mode case (conformance/adapters/tf_modes.py)
            observed.derivs = tf_modes.derivs(tf, fn, inputs, grads, request)
    return observed


def _tf_call(lib, row):
    """An Implementation.call for row(tensors, params, dtype, f) -> tensor, which calls the library function
    `lib` as f; a custom kernel (conformance/adapters/custom.py, --signature tf) is called in its place (fn=)."""

    def call(inputs, params, dtype, device, grads, fn=None):
        f = lib if fn is None else fn
        return _run(lambda t: row(t, params, dtype, f), inputs, tuple(grads), device,
                    key=(row, f, _freeze(params), dtype))

    return call


def _freeze(value):
    if isinstance(value, (list, tuple)):
        return tuple(_freeze(v) for v in value)
    if isinstance(value, dict):
        return tuple(sorted((k, _freeze(v)) for k, v in value.items()))
    return value
