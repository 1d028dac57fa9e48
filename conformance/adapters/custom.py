"""Your own implementation under test: `--impl package.module:function --op OP --signature torch|jax|tf|numpy`.

The function is called with the framework's tensors in that framework's calling convention, the same way
the built-in row of that framework calls its own function for OP:
  torch  like torch.nn.functional.cross_entropy(logits, target, weight=..., ignore_index=..., reduction=...,
         label_smoothing=...);
  jax    like the jax.nn / optax.losses function of the row (optax.losses.softmax_cross_entropy(logits,
         labels), sigmoid_focal_loss(logits, labels, alpha=, gamma=), ...), under the same jit and vjp;
  tf     like the tf.nn function of the row (tf.nn.softmax_cross_entropy_with_logits(labels=, logits=,
         axis=)); for ops only Keras covers: fn(y_true, y_pred, reduction=..., <the loss's constructor
         arguments>), as keras.losses.X(**kwargs)(y_true, y_pred);
  (an op the framework has no row for, e.g. torch softmax_focal_loss: fn(**inputs, **params) with the
  framework's tensors and the reference's names and params, docs/ops.md.)
Gradients come from the framework's autodiff through your function. It is held to the same documented
conventions as that built-in row unless you declare your own (Python API: conformance.api).

Signature "numpy" calls fn(**inputs, **params) with numpy arrays in the reference's vocabulary (docs/ops.md)
and expects the value, or (value, {input name: gradient}). Its gradients come from a VJP function you give
(--vjp package.module:function, called as vjp(**inputs, **params) -> {input name: d sum(value) / d input}),
or it is value-only: the record's implementation lists no grads and says "value only".

Known divergences never reach a custom kernel (not even wildcard entries); with --baseline ID the built-in
row ID runs on the same cases and the kernel is judged relative to it (conformance/judge/baseline.py).
"""
from __future__ import annotations

import importlib
import importlib.metadata
from dataclasses import dataclass, field, replace

import numpy as np

from conformance.adapters import ENTRY_POINT_GROUP  # noqa: F401  (re-exported: the documented name)
from conformance.adapters.implementation import Implementation, Observed
from reference.dtypes import DTYPE_NAMES

SIGNATURES = {"torch": "torch", "jax": "jax", "tf": "tensorflow", "tensorflow": "tensorflow", "numpy": "numpy"}
ALL_DTYPES = DTYPE_NAMES
# rows that are another form of a function (modules, Keras function forms, keras.ops) or a reparametrisation
# (soft_margin_loss as BCE-with-logits): not calling conventions a custom function follows
NOT_CALLING_CONVENTIONS = ("torch.nn.[A-Z]*", "*soft_margin*", "keras.losses.[a-z]*", "keras.ops.*")


class CustomSpecError(Exception):
    pass


@dataclass(frozen=True)
class CustomSpec:
    target: str  # "package.module:function"
    op: str
    signature: str = "torch"
    dtypes: tuple = ALL_DTYPES
    extra: dict = field(default_factory=dict)
    vjp: str | None = None  # numpy signature: "package.module:function" giving the gradients
    baseline: str | None = None  # a built-in implementation id the kernel is judged relative to

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


def parse_spec(target: str, op: str, signature: str = "torch", dtypes=(), vjp: str | None = None,
               baseline: str | None = None) -> CustomSpec:
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
    if vjp and signature != "numpy":
        raise CustomSpecError(f"--vjp is for --signature numpy (signature {signature} differentiates with its "
                              "own autodiff)")
    spec = CustomSpec(target, op, signature, tuple(dtypes) or ALL_DTYPES, vjp=vjp, baseline=baseline)
    load_function(spec.target)  # fail early, with one line, if it cannot be imported
    if vjp:
        if ":" not in vjp or not all(vjp.split(":", 1)):
            raise CustomSpecError(f"--vjp {vjp!r}: expected package.module:function")
        load_function(vjp)
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


def _numpy_call(fn, vjp=None):
    def call(inputs, params, dtype, device, grads):
        out = fn(**inputs, **params)
        grad_map = {}
        if isinstance(out, tuple):
            out, grad_map = out
        if vjp is not None and grads:
            grad_map = vjp(**inputs, **params)
        return Observed(np.asarray(out), {k: np.asarray(v) for k, v in dict(grad_map).items() if k in grads})

    return call


def _generic_call(framework: str, fn):
    """fn(**inputs, **params) with the framework's tensors, differentiated by its autodiff: for an op the
    framework has no built-in row for."""

    def call(inputs, params, dtype, device, grads):
        if framework == "torch":
            from conformance.adapters.torch_adapter import run

            return run(lambda **t: fn(**t, **params), inputs, device, grads)
        if framework == "tensorflow":
            from conformance.adapters.tensorflow_adapter import _run

            return _run(lambda t: fn(**t, **params), inputs, tuple(grads), device)
        from conformance.adapters.jax_adapter import _device, _jax

        jax = _jax()
        where = _device(device)
        arrays = {k: jax.device_put(v, where) for k, v in inputs.items()}

        def f(*wanted):
            return fn(**{**arrays, **dict(zip(grads, wanted))}, **params)

        if not grads:
            return Observed(np.asarray(f()))
        out, pullback = jax.vjp(f, *(arrays[g] for g in grads))
        got = pullback(jax.numpy.ones_like(out))
        return Observed(np.asarray(out), {g: np.asarray(v) for g, v in zip(grads, got)})

    return call


def _rows(framework: str, op: str) -> list[Implementation]:
    """The built-in rows whose calling convention a custom function of this framework and op follows
    (empty: the framework has none for the op; the generic convention applies)."""
    from conformance.adapters import implementations_for

    import fnmatch

    rows = [i for i in implementations_for(framework) if i.op == op and _takes_fn(i)
            and not any(fnmatch.fnmatchcase(i.id, p) for p in NOT_CALLING_CONVENTIONS)]
    if framework == "tensorflow":  # the tf signature is tf.nn's; Keras's only for ops tf.nn does not cover
        rows = [r for r in rows if not r.id.startswith("keras.")] or rows
    return rows


def _takes_fn(row: Implementation) -> bool:
    """The row's call can run a custom function in place of its own (fn=); module forms, aliases and
    reparametrised rows (e.g. soft_margin_loss as BCE-with-logits) cannot, and are not calling conventions."""
    import inspect

    try:
        return "fn" in inspect.signature(row.call).parameters
    except (TypeError, ValueError):
        return False


def _takes(row: Implementation, params: dict, defaults: dict) -> bool:
    """The row can express these params (a non-default param must be one the row declares or fixes)."""
    for name, value in params.items():
        if name in row.fixed_params:
            if row.fixed_params[name] != value:
                return False
        elif name in row.params:
            allowed = row.params[name]
            if allowed is not None and value not in allowed and value != defaults.get(name):
                return False
        elif value != defaults.get(name) and value is not None:
            return False
    return True


def _dispatching_call(rows: list[Implementation], fn):
    """Call fn the way the first row that accepts the case (inputs and params) calls its own function."""
    import reference

    defaults = dict(reference.OPS[rows[0].op].defaults)

    def call(inputs, params, dtype, device, grads):
        accepting = [row for row in rows if row.accepts is None or row.accepts(inputs, params)]
        # the row that also expresses the params (e.g. optax's smooth_labels row for label smoothing); else
        # the first that takes the inputs (a param it lacks may not matter here, e.g. ignore_index for
        # probability targets)
        for row in [r for r in accepting if _takes(r, params, defaults)] + accepting:
            return row.call(inputs, params, dtype, device, tuple(g for g in grads if g in row.grads), fn=fn)
        raise ValueError("no calling convention of this framework accepts these inputs")

    return call


def _scoped(convention, row: Implementation):
    """A row's convention, applying only to the cases that row accepts."""
    if row.accepts is None:
        return convention

    def applies(inputs, params):
        return row.accepts(inputs, params) and (convention.applies is None or convention.applies(inputs, params))

    return replace(convention, applies=applies)


def _takes_keyword(fn, name: str) -> bool:
    """Does fn accept the keyword `name` (a parameter of that name, or **kwargs)? Unknown signatures: yes."""
    import inspect

    try:
        parameters = inspect.signature(fn).parameters.values()
    except (TypeError, ValueError):
        return True
    return any(p.name == name or p.kind is p.VAR_KEYWORD for p in parameters)


def build_custom(spec: CustomSpec) -> Implementation:
    fn = load_function(spec.target)
    framework = SIGNATURES[spec.signature]
    import reference

    op_spec = reference.OPS[spec.op]
    every_param = {k: None for k in op_spec.defaults}
    if framework == "numpy":
        vjp = load_function(spec.vjp) if spec.vjp else None
        grads = op_spec.differentiable if vjp else tuple(spec.extra.get("grads", ()))
        return Implementation(id=spec.id, framework=spec.worker, op=spec.op, call=_numpy_call(fn, vjp),
                              dtypes=spec.dtypes, params=every_param, grads=tuple(grads), link=spec.target,
                              memory_layouts=_memory(framework))
    rows = _rows(framework, spec.op)
    if not rows:
        return Implementation(id=spec.id, framework=spec.worker, op=spec.op, call=_generic_call(framework, fn),
                              dtypes=spec.dtypes, params=every_param, grads=op_spec.differentiable,
                              link=spec.target, modes=_modes(framework),
                              memory_layouts=_memory(framework))
    params: dict = {}
    for row in rows:
        for name, allowed in row.params.items():
            merged = None if allowed is None or params.get(name, ()) is None else \
                tuple(dict.fromkeys((*params.get(name, ()), *allowed)))
            params[name] = merged
    conventions = tuple(_scoped(c, row) for row in rows for c in row.conventions)
    grads = tuple(dict.fromkeys(g for row in rows for g in row.grads))
    fixed = dict(rows[0].fixed_params)
    if framework == "jax" and "axis" in params and not _takes_keyword(fn, "axis"):
        params.pop("axis")  # an optax-style kernel without axis=: the last axis, where the rows pass no axis=
        fixed["axis"] = -1  # (torch kernels take dim=, TF ones axis=, always passed: they keep every axis)
    return Implementation(id=spec.id, framework=spec.worker, op=spec.op, call=_dispatching_call(rows, fn),
                          dtypes=spec.dtypes, params=params, fixed_params=fixed, grads=grads,
                          conventions=conventions, devices=rows[0].devices,
                          bad_labels=next((r.bad_labels for r in rows if r.bad_labels), None),
                          accepts=_any_row_accepts(rows), link=spec.target, modes=_modes(framework),
                          memory_layouts=_memory(framework))


def _modes(framework: str) -> tuple:
    """A custom kernel is checked in every differentiation mode its signature's framework supports
    (conformance/adapters/modes.py): vjp with random cotangents, jvp, hvp / double backward."""
    from conformance.adapters.modes import MODES

    return tuple(MODES.get(framework, ()))


def _memory(framework: str) -> tuple:
    """The memory layouts a custom kernel's inputs are drawn in: its framework's (conformance/adapters/execution.py)."""
    from conformance.adapters.execution import FRAMEWORK_MEMORY

    return FRAMEWORK_MEMORY.get(framework, ("contiguous",))


def _any_row_accepts(rows: list[Implementation]):
    """A case no calling convention of the framework takes (e.g. Keras focal without alpha) is not applicable."""
    if any(r.accepts is None for r in rows):
        return None
    return lambda inputs, params: any(r.accepts(inputs, params) for r in rows)
