"""How an implementation under test is declared: as data.

Each adapter module (conformance/adapters/<framework>.py) exposes

    FRAMEWORK: str                    # "torch", "tensorflow", "jax", "numpy"
    def available() -> bool           # False when the framework is not installed (reported as skipped)
    def version() -> str              # e.g. "torch 2.13.0"
    def implementations() -> list[Implementation]
    def devices() -> list[str]        # devices this framework can use here: ["cpu"] or ["cpu", "cuda"]

and nothing else is needed to add it to the suite.

The runner calls `impl.call(inputs, params, dtype, device, grads)`:

    inputs  dict name -> numpy array, in the reference op's vocabulary (docs/ops.md): floating inputs in the
            case dtype (bfloat16 is ml_dtypes.bfloat16), class labels as int64.
    params  dict of the reference op's params, already merged with the implementation's fixed_params
            (defaults from docs/ops.md are filled in).
    dtype   "float64" | "float32" | "float16" | "bfloat16"
    device  "cpu" | "cuda"
    grads   tuple of input names whose gradient is wanted (a subset of impl.grads)

and gets back `Observed(value, grads)`: numpy arrays, value shaped like the reference op's output (the
adapter moves axes back where the framework's layout differs), each gradient shaped like its input, in
the dtype the framework returned (the comparison notes a dtype that differs from the case's).

An exception raised by the framework propagates unchanged: the runner records its type and message.
Adapters never catch, clean or nan_to_num what the framework returns.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Callable

import numpy as np
from reference.dtypes import DTYPE_NAMES

DTYPES = DTYPE_NAMES


@dataclass(frozen=True)
class Convention:
    """A documented choice of an implementation that differs from the plain mathematics.

    key:          short id, e.g. "clip_eps_1e-7".
    description:  one sentence a report reader understands.
    link:         URL of the framework's documentation or source that states it.
    ref_params:   the reference params that express it exactly (merged over the case's params to build
                  the "as documented" reference), e.g. {"clip": [1e-7, 1 - 1e-7]}. Empty when the
                  convention only describes behaviour (e.g. error on bad labels) rather than values.
    applies:      optional predicate (inputs, params) -> bool: the convention only applies to such cases
                  (e.g. only when a weight is given).
    raises:       True when the documented behaviour on the cases it applies to is an error (e.g. torch's
                  binary_cross_entropy checks that p lies in [0, 1]): raising there is this convention.
    """

    key: str
    description: str
    link: str
    ref_params: dict[str, Any] = field(default_factory=dict)
    applies: Callable[[dict, dict], bool] | None = None
    raises: bool = False


@dataclass
class Observed:
    value: np.ndarray
    grads: dict[str, np.ndarray] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)  # what the framework warned about (kept as data)
    derivs: dict[str, np.ndarray] = field(default_factory=dict)  # mode cases: "vjp:IN", "jvp:IN", "hvp:IN"


@dataclass(frozen=True)
class Implementation:
    """One implementation under test; one row of the results.

    id:            unique readable id, e.g. "torch.nn.functional.cross_entropy" or
                   "keras.losses.BinaryCrossentropy(from_logits=False)".
    framework:     the adapter's FRAMEWORK.
    op:            the reference op it computes (docs/ops.md).
    call:          see module docstring.
    dtypes:        dtypes it supports; a case of another dtype is recorded as "unsupported".
    params:        reference params it can express: name -> None (any value) or a tuple of allowed values.
                   A case using a param (with a non-default value) not allowed here is not applicable to
                   this implementation and is skipped.
    fixed_params:  params the implementation always has (e.g. {"axis": -1}); cases are generated with them.
    grads:         inputs it differentiates through its own autodiff; empty for value-only implementations.
    conventions:   its documented conventions.
    bad_labels:    what it documents for an out-of-range or negative class label: "raises", "nan",
                   "zero" (one_hot of a bad label is a zero row), "garbage", or None if not applicable.
    accepts:       optional predicate (inputs, params) -> bool for input restrictions not expressible as
                   params (e.g. sklearn log_loss needs one-hot p).
    devices:       devices it can run on.
    link:          URL of its documentation.
    modes:         the differentiation modes it supports beyond the gradient ("vjp", "jvp", "hvp"; see
                   conformance/adapters/modes.py, which fills them in per framework).
    unsupported_execution: {mode: reason} for the framework's execution modes it cannot run in
                   (conformance/adapters/execution.py); such a cell is one "unsupported" record with the reason.
    memory_layouts: the memory layouts its inputs are drawn in (execution.MEMORY_LAYOUTS: contiguous, transposed
                   and strided views, torch channels_last); frameworks whose tensors are values (TF, JAX)
                   have no strides to vary and keep ("contiguous",).
    backend:       the Keras backend the row runs on ("tensorflow", "jax", "torch"; None: not a Keras row). Keras
                   rows on the JAX and torch backends are their own workers and ids (ID@jax, ID@torch).
    policy:        a precision policy the row runs under (conformance/judge/policy.py: "floatx", "mixed_float16",
                   "mixed_bfloat16", "autocast_bfloat16"; None: the case dtype throughout). A policy row's parts
                   are judged in the dtype they come back in (docs/verdicts.md, Precision policies).
    unsupported_dtypes: {dtype: reason} for case dtypes the row cannot run meaningfully; such a cell is one
                   "unsupported" record with the reason.
    """

    id: str
    framework: str
    op: str
    call: Callable[..., Observed]
    dtypes: tuple[str, ...]
    params: dict[str, tuple | None] = field(default_factory=dict)
    fixed_params: dict[str, Any] = field(default_factory=dict)
    grads: tuple[str, ...] = ()
    conventions: tuple[Convention, ...] = ()
    bad_labels: str | None = None
    accepts: Callable[[dict, dict], bool] | None = None
    devices: tuple[str, ...] = ("cpu",)
    link: str = ""
    modes: tuple[str, ...] = ()
    unsupported_execution: dict[str, str] = field(default_factory=dict)
    memory_layouts: tuple[str, ...] = ("contiguous",)
    backend: str | None = None
    policy: str | None = None
    unsupported_dtypes: dict[str, str] = field(default_factory=dict)


def input_is_int(name: str):
    """An `accepts` predicate: the case's input `name` holds integer class labels."""
    return lambda inputs, params: inputs[name].dtype.kind in "iu"


def input_is_float(name: str):
    """An `accepts` predicate: the case's input `name` is floating (probabilities, not labels)."""
    return lambda inputs, params: inputs[name].dtype.kind not in "iu"
