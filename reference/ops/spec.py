"""What an op declares (OpSpec) and what it returns (OpOutput), element by element in extended reals."""
from __future__ import annotations

from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Any, Callable, Mapping

import numpy as np


@dataclass(frozen=True)
class Input:
    """One input array of an op.

    kind: "float" (a floating array in the case dtype), "labels" (int64 class labels), or
          "labels_or_float" (probabilities when shaped like the input named by `like`, else class labels).
    differentiable: whether the op reports a gradient for it (labels never get one).
    domain: where test cases draw its values (conformance/cases/strategies.py): "real" (any float),
          "logp" (log-probabilities, <= 0), "prob" (probabilities), "binary" (a target in [0, 1]),
          "label" (class labels), "target" (class labels or probabilities over the class axis).
    class_axis: whether the op's class axis (param `axis`) runs along this input (when it is floating).
    dims: the input's shape in named sizes ("N" items, "C" classes, "D" features), for ops whose inputs
          are not all shaped from one class-axis layout (linear_cross_entropy: x (N, D), W (C, D), b (C,),
          labels (N,)); None for the others (conformance/cases/strategies.py draws their shapes).
    """

    name: str
    kind: str = "float"
    differentiable: bool = True
    like: str | None = None  # labels_or_float: floating exactly when shaped like this input
    domain: str = "real"
    class_axis: bool = False
    dims: tuple[str, ...] | None = None


DOMAINS = ("real", "logp", "prob", "binary", "label", "target")


@dataclass(frozen=True)
class OpSpec:
    """An op of docs/ops.md: its inputs, its parameters with their defaults, and its function.

    fn(**inputs, **params, want_cond=bool) -> OpOutput, where floating inputs are object arrays of
    reference.ext.X (exact) and labels int64 arrays.
    """

    name: str
    inputs: tuple[Input, ...]
    defaults: Mapping[str, Any]
    fn: Callable
    family: str
    optional: tuple[str, ...] = ()  # params without a default value: absent unless a case gives them (where=)

    @property
    def params(self) -> tuple[str, ...]:
        """Every param a case may give: those with defaults, then the optional ones."""
        return (*self.defaults, *self.optional)

    @property
    def input_names(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs)

    @property
    def differentiable(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.differentiable)

    @property
    def class_axis_inputs(self) -> tuple[str, ...]:
        return tuple(i.name for i in self.inputs if i.class_axis)

    @property
    def dims(self) -> dict[str, tuple[str, ...]] | None:
        """input name -> its shape in named sizes, when the op declares them (else None)."""
        if not any(i.dims for i in self.inputs):
            return None
        return {i.name: i.dims for i in self.inputs}

    @property
    def default_axis(self) -> int | None:
        """The class axis when the op has one (its `axis` default: 1 for cross_entropy and nll_loss)."""
        return self.defaults["axis"] if self.class_axis_inputs else None

    @property
    def doc(self) -> str:
        return self.fn.__doc__ or ""


def spec(name: str, inputs, defaults: dict, fn: Callable, family: str, optional: tuple[str, ...] = ()) -> OpSpec:
    return OpSpec(name, tuple(inputs), MappingProxyType(dict(defaults)), fn, family, tuple(optional))


@dataclass
class Part:
    """One output array (the value, or one input's gradient).

    val:  object array of reference.ext.X: the exact (limit) value of each element.
    cond: float64 array: sum_i |d element / d x_i| |x_i| over every floating input (0 where not meaningful).
    """

    val: np.ndarray
    cond: np.ndarray

    def __post_init__(self):
        self.cond = np.asarray(self.cond, dtype=np.float64)
        if self.cond.shape != self.val.shape:
            self.cond = np.broadcast_to(self.cond, self.val.shape).copy()


@dataclass
class OpOutput:
    value: Part
    grads: dict[str, Part] = field(default_factory=dict)


def scalar_safe(fn: Callable) -> Callable:
    """Let an elementwise op take 0-d inputs: numpy turns 0-d object arrays into bare scalars, so the op
    runs on shape (1,) and its outputs are given back their 0-d shape."""
    import functools

    @functools.wraps(fn)
    def wrapper(*args, **kwargs):
        arrays = {k: v for k, v in kwargs.items() if isinstance(v, np.ndarray) and v.dtype == object}
        if not arrays or any(a.ndim for a in arrays.values()) or args:
            return fn(*args, **kwargs)
        out = fn(**{**kwargs, **{k: a.reshape(1) for k, a in arrays.items()}})

        def back(part: Part) -> Part:
            return Part(part.val.reshape(()), part.cond.reshape(()))

        value = out.value if out.value.val.ndim == 0 else back(out.value)
        return OpOutput(value, {k: back(g) for k, g in out.grads.items()})

    return wrapper
