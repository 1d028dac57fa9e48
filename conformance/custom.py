"""Your own implementation under test: `--impl package.module:function --op OP --signature torch|jax|tf|numpy`.

The function is called with the framework's tensors in that framework's calling convention, the same way
the built-in row of that framework calls its own function for OP (for torch like
torch.nn.functional.cross_entropy(logits, target, weight=..., ignore_index=..., reduction=...,
label_smoothing=...)). Gradients come from the framework's autodiff through your function. It is held to
the same documented conventions as that built-in row unless you declare your own (Python API:
conformance.api). Signature "numpy" calls fn(**inputs, **params) with numpy arrays in the reference's
vocabulary (docs/ops.md) and expects the value, or (value, {input name: gradient}).
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass, field, replace

import numpy as np

from conformance.implementation import Implementation, Observed
from reference.dtypes import DTYPE_NAMES

SIGNATURES = {"torch": "torch", "jax": "jax", "tf": "tensorflow", "tensorflow": "tensorflow", "numpy": "numpy"}
ALL_DTYPES = DTYPE_NAMES
ENTRY_POINT_GROUP = "ce_conformance.implementations"


class CustomSpecError(Exception):
    pass


@dataclass(frozen=True)
class CustomSpec:
    target: str  # "package.module:function"
    op: str
    signature: str = "torch"
    dtypes: tuple = ALL_DTYPES
    extra: dict = field(default_factory=dict)

    @property
    def worker(self) -> str:
        return f"custom:{SIGNATURES[self.signature]}"

    @property
    def id(self) -> str:
        return f"custom:{self.target}"

    def version(self) -> str:
        module = self.target.split(":", 1)[0].split(".")[0]
        try:
            return f"{module} {importlib.metadata.version(module)}"
        except importlib.metadata.PackageNotFoundError:
            return f"{module} (not packaged)"


def parse_spec(target: str, op: str, signature: str = "torch", dtypes=()) -> CustomSpec:
    import reference

    if ":" not in target or not all(target.split(":", 1)):
        raise CustomSpecError(f"--impl {target!r}: expected package.module:function")
    if signature not in SIGNATURES:
        raise CustomSpecError(f"--signature {signature!r}: choose from {', '.join(SIGNATURES)}")
    if op not in reference.OPS:
        raise CustomSpecError(f"--op {op!r}: unknown op; choose from {', '.join(sorted(reference.OPS))}")
    bad = [d for d in dtypes if d not in ALL_DTYPES]
    if bad:
        raise CustomSpecError(f"--dtypes-supported: unknown dtype {bad[0]!r}")
    spec = CustomSpec(target, op, signature, tuple(dtypes) or ALL_DTYPES)
    load_function(spec.target)  # fail early, with one line, if it cannot be imported
    return spec


def load_function(target: str):
    module_name, _, attr = target.partition(":")
    try:
        obj = importlib.import_module(module_name)
    except Exception as exc:  # the user's module may raise anything on import
        raise CustomSpecError(f"--impl {target}: cannot import {module_name}: {type(exc).__name__}: {exc}")
    for part in attr.split("."):
        if not hasattr(obj, part):
            raise CustomSpecError(f"--impl {target}: {module_name} has no attribute {attr!r}")
        obj = getattr(obj, part)
    if not callable(obj):
        raise CustomSpecError(f"--impl {target}: {attr!r} is not callable")
    return obj


def _numpy_call(fn):
    def call(inputs, params, dtype, device, grads):
        out = fn(**inputs, **params)
        if isinstance(out, tuple):
            value, grad_map = out
            return Observed(np.asarray(value), {k: np.asarray(v) for k, v in grad_map.items() if k in grads})
        return Observed(np.asarray(out))

    return call


def _rows(framework: str, op: str) -> list[Implementation]:
    """The built-in rows whose calling convention a custom function of this framework and op follows."""
    from conformance.adapters import implementations_for

    rows = [i for i in implementations_for(framework) if i.op == op]
    if not rows:
        raise CustomSpecError(f"no {framework} calling convention for op {op!r} to call a custom function with")
    return rows


def _dispatching_call(rows: list[Implementation], fn):
    """Call fn the way the first row that accepts the case calls its own function."""

    def call(inputs, params, dtype, device, grads):
        for row in rows:
            if row.accepts is None or row.accepts(inputs, params):
                return row.call(inputs, params, dtype, device, grads, fn=fn)
        raise ValueError("no calling convention of this framework accepts these inputs")

    return call


def _scoped(convention, row: Implementation):
    """A row's convention, applying only to the cases that row accepts."""
    if row.accepts is None:
        return convention

    def applies(inputs, params):
        return row.accepts(inputs, params) and (convention.applies is None or convention.applies(inputs, params))

    return replace(convention, applies=applies)


def build_custom(spec: CustomSpec) -> Implementation:
    fn = load_function(spec.target)
    framework = SIGNATURES[spec.signature]
    if framework == "numpy":
        import reference

        return Implementation(id=spec.id, framework=spec.worker, op=spec.op, call=_numpy_call(fn),
                              dtypes=spec.dtypes, params={k: None for k in reference.OPS[spec.op].defaults},
                              grads=tuple(spec.extra.get("grads", ())), link=spec.target)
    rows = _rows(framework, spec.op)
    params: dict = {}
    for row in rows:
        for name, allowed in row.params.items():
            merged = None if allowed is None or params.get(name, ()) is None else \
                tuple(dict.fromkeys((*params.get(name, ()), *allowed)))
            params[name] = merged
    conventions = tuple(_scoped(c, row) for row in rows for c in row.conventions)
    grads = tuple(dict.fromkeys(g for row in rows for g in row.grads))
    return Implementation(id=spec.id, framework=spec.worker, op=spec.op, call=_dispatching_call(rows, fn),
                          dtypes=spec.dtypes, params=params, fixed_params=rows[0].fixed_params, grads=grads,
                          conventions=conventions, bad_labels=rows[0].bad_labels, devices=rows[0].devices,
                          link=spec.target)
