"""Execution modes: the ways a framework runs the same implementation (eagerly, compiled, traced).

A mode is a dimension of the cell, like the device. Each adapter declares the modes its framework offers as
data, its default first (`MODES`); the names and what each means live here, once:

    eager    op by op, as written: torch eager, TensorFlow eager, JAX under jax.disable_jit(), NumPy
    compile  torch.compile(fn, dynamic=False) with the inductor backend (C++ codegen on CPU)
    graph    tf.function: the call (forward and GradientTape) traced into a graph
    xla      tf.function(jit_compile=True): the same graph compiled by XLA
    jit      jax.jit (XLA)

An implementation that cannot run in one of its framework's modes says so in `Implementation.unsupported_execution`
({mode: reason}); such a cell is one `unsupported` record carrying the reason, visible in the report.

The worker sets the mode of each call (`using(mode)`) and the adapters' runners read it (`current()`), so the
implementations' `call(inputs, params, dtype, device, grads)` signature does not change. Compiled code is
cached per (row, static params, input names, gradients) and the framework compiles it once per input shape
and dtype (torch: dynamic=False; jit and tf.function: their own trace caches); the worker counts compiles
per mode (conformance/execute/worker.py).
"""
from __future__ import annotations

import contextlib

MODE_DESCRIPTIONS = {
    "eager": "op by op, as written (torch eager, TensorFlow eager, JAX under jax.disable_jit(), NumPy)",
    "compile": "torch.compile(fn, dynamic=False), inductor backend",
    "graph": "tf.function (forward and GradientTape traced into one graph)",
    "xla": "tf.function(jit_compile=True): the graph compiled by XLA",
    "jit": "jax.jit (XLA)",
}
ALL_MODES = tuple(MODE_DESCRIPTIONS)

# each framework's modes, its default first (the adapters' MODES; tests/adapters/test_modes.py ties them)
FRAMEWORK_MODES = {
    "torch": ("eager", "compile"),
    "tensorflow": ("eager", "graph", "xla"),
    "jax": ("jit", "eager"),
    "numpy": ("eager",),
    "cupy": ("eager",),
    "keras_jax": ("jit", "eager"),  # Keras on the JAX backend: its ops under jax.jit, or op by op
    "keras_torch": ("eager",),
}

# Memory layouts of a case's inputs (Case.memory, drawn by the strategies for implementations that declare
# them in Implementation.memory_layouts): the same values, in memory as
MEMORY_LAYOUTS = {
    "contiguous": "C-contiguous (row-major), as numpy gives them",
    "transposed": "a transposed view: the data stored in reverse axis order (Fortran order), each input a "
                  "permuted view of it (torch .permute, numpy .transpose)",
    "strided": "a strided view: every other element of a buffer twice as long along the last axis",
    "channels_last": "torch.channels_last (4-D) / channels_last_3d (5-D) memory format",
}

# which memory layouts each framework's tensors can take (TF and JAX tensors are values: no strides to vary)
FRAMEWORK_MEMORY = {
    "torch": ("contiguous", "transposed", "strided", "channels_last"),
    "numpy": ("contiguous", "transposed", "strided"),
}

_current: list = [None, "contiguous"]


def current() -> str | None:
    """The mode of the call in progress (None outside a worker call: the framework's default)."""
    return _current[0]


def memory() -> str:
    """The memory layout of the call in progress' inputs ("contiguous" outside a worker call)."""
    return _current[1]


@contextlib.contextmanager
def using(mode: str | None, memory: str | None = None):
    saved = list(_current)
    _current[:] = [mode, memory or "contiguous"]
    try:
        yield
    finally:
        _current[:] = saved


def numpy_view(array, layout: str):
    """`array` (numpy) with the same values in memory layout `layout` (channels_last: as transposed, numpy
    has no memory formats)."""
    import numpy as np

    a = np.asarray(array)
    if layout in ("transposed", "channels_last") and a.ndim >= 2:
        return np.ascontiguousarray(a.transpose()).transpose()
    if layout == "strided" and a.ndim >= 1 and a.size:
        buffer = np.zeros(a.shape[:-1] + (2 * a.shape[-1],), dtype=a.dtype)
        buffer[..., ::2] = a
        return buffer[..., ::2]
    return a


def torch_view(tensor, layout: str):
    """`tensor` with the same values in memory layout `layout` (a view or a copy in that format)."""
    import torch

    if layout == "transposed" and tensor.dim() >= 2:
        order = tuple(reversed(range(tensor.dim())))
        return tensor.permute(order).contiguous().permute(order)
    if layout == "strided" and tensor.dim() >= 1 and tensor.numel():
        buffer = torch.zeros(tensor.shape[:-1] + (2 * tensor.shape[-1],), dtype=tensor.dtype, device=tensor.device)
        buffer[..., ::2] = tensor
        return buffer[..., ::2]
    if layout == "channels_last" and tensor.dim() in (4, 5) and tensor.is_floating_point():
        fmt = torch.channels_last if tensor.dim() == 4 else torch.channels_last_3d
        return tensor.contiguous(memory_format=fmt)
    return tensor


def framework_of(worker_name: str) -> str:
    """The framework whose modes a worker serves: "custom:torch" -> "torch", "plugin:x" -> "plugin:x"."""
    return worker_name.split(":", 1)[1] if worker_name.startswith("custom:") else worker_name


def modes_of(worker_name: str) -> tuple[str, ...]:
    """The modes a worker's framework offers, its default first (a plugin or an unknown framework: eager)."""
    return FRAMEWORK_MODES.get(framework_of(worker_name), ("eager",))


def default_mode(framework: str) -> str:
    return modes_of(framework)[0]


def cell_id(impl_id: str, dtype: str, device: str, mode: str, framework: str) -> str:
    """IMPL|DTYPE|DEVICE in the framework's default mode (as before modes existed), IMPL|DTYPE|DEVICE|MODE
    in any other."""
    base = f"{impl_id}|{dtype}|{device}"
    return base if mode == default_mode(framework) else f"{base}|{mode}"
