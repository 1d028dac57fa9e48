"""Copy-paste reproduction of one record: the replay command, and a Python snippet that rebuilds the exact
inputs (every float printed with repr, which round-trips; values of narrower dtypes are exact in float64,
so `np.array([...], float64).astype(dtype)` is exact) and calls the implementation through its adapter
(conformance/adapters/implementation.py: impl.call(inputs, params, dtype, device, grads)) the way the worker
does: Keras on JAX / torch (frameworks keras_jax, keras_torch) with KERAS_BACKEND chosen before Keras is imported
(keras_runtime.prepare_process), in the record's execution mode and memory layout (execution.using: torch.compile,
tf.function, XLA, jax.jit or op by op) and with its derivative request (modes.requested: cotangent, tangents,
hvp), then the lines that turn the same inputs into the framework's own tensors.

A results file may come from someone else, so nothing in it is pasted into code as it stands: the snippet is
built from validated values only (dtypes and frameworks from allow-lists, shapes as integers, numbers parsed
and re-serialised, every string through repr, params only as plain JSON data); a record that does not pass
gets a comment instead of a snippet. The replay command quotes every field for the shell."""
from __future__ import annotations

import keyword
import math
import shlex

from reference.dtypes import DTYPE_NAMES

from .numbers import to_float

MAX_INLINE_ELEMENTS = 512
FLOAT_DTYPES = DTYPE_NAMES
INTEGER_DTYPES = ("int64", "int32", "int16", "int8", "uint8", "bool")
FRAMEWORKS = ("torch", "tensorflow", "jax", "numpy", "cupy", "keras_jax", "keras_torch")
KERAS_BACKENDS = ("keras_jax", "keras_torch")  # the worker sets KERAS_BACKEND first (keras_runtime.prepare_process)
DEVICES = ("cpu", "cuda")
MODES = ("eager", "compile", "graph", "xla", "jit")  # conformance/adapters/execution.py (tests tie them)
MEMORY = ("contiguous", "transposed", "strided", "channels_last")
PARAM_GRADS = ("weight", "pos_weight")

# framework -> (import line, float input line, integer input line, requires-grad suffix)
FRAMEWORK_TENSORS = {
    "torch": ("import torch",
              "{name}_t = torch.tensor({name}.astype(np.float64)).to(torch.{dtype}){grad}",
              "{name}_t = torch.tensor({name})",
              ".requires_grad_()"),
    "tensorflow": ("import tensorflow as tf",
                   "{name}_t = tf.cast(tf.constant({name}.astype(np.float64)), tf.{dtype})",
                   "{name}_t = tf.constant({name})",
                   ""),
    "jax": ("import jax, jax.numpy as jnp\njax.config.update('jax_enable_x64', True)",
            "{name}_t = jnp.asarray({name}.astype(np.float64)).astype(jnp.{dtype})",
            "{name}_t = jnp.asarray({name})",
            ""),
}
FRAMEWORK_TENSORS["keras_jax"], FRAMEWORK_TENSORS["keras_torch"] = FRAMEWORK_TENSORS["jax"], FRAMEWORK_TENSORS["torch"]


def replay_command(case_id: str, results_file: str, implementation: str | None = None,
                   dtype: str | None = None) -> str:
    """`python -m conformance replay CASE_ID --results FILE [--implementation ID] [--dtype D]` (a case id is
    shared by every implementation and dtype it ran on; the options pick this record). A custom:...
    implementation also needs `--impl package.module:function`: replay never imports what a file names."""
    cmd = f"python -m conformance replay {shlex.quote(str(case_id))} --results {shlex.quote(str(results_file))}"
    if implementation:
        cmd += f" --implementation {shlex.quote(str(implementation))}"
        if str(implementation).startswith("custom:"):
            cmd += f" --impl {shlex.quote(str(implementation)[len('custom:'):])}"
    if dtype:
        cmd += f" --dtype {shlex.quote(str(dtype))}"
    return cmd


class _Invalid(Exception):
    pass


def _literal(x) -> str:
    """A number of a results file (JSON number or "inf"/"-inf"/"nan") re-serialised as a Python literal."""
    if isinstance(x, bool) or not isinstance(x, (int, float, str)):
        raise _Invalid(f"not a number: {type(x).__name__}")
    if isinstance(x, int):
        return repr(int(x))
    v = to_float(x)
    if v is None:
        raise _Invalid("not a number")
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(float(v))


def _data(value, depth: int = 0) -> str:
    """Plain JSON data (params) as a Python literal: None, bools, numbers, strings via repr, lists, dicts."""
    if depth > 8:
        raise _Invalid("params nested too deeply")
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, (int, float)):
        v = float(value)
        if isinstance(value, int):
            return repr(int(value))
        return repr(v) if math.isfinite(v) else f"float({'nan' if math.isnan(v) else ('inf' if v > 0 else '-inf')!r})"
    if isinstance(value, str):
        return repr(str(value))
    if isinstance(value, list):
        return "[" + ", ".join(_data(v, depth + 1) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{_data(str(k), depth + 1)}: {_data(v, depth + 1)}" for k, v in value.items()) + "}"
    raise _Invalid(f"params hold a {type(value).__name__}")


def _tensor(tensor) -> tuple[str, tuple, list[str]]:
    """(dtype from the allow-list, shape as ints, literals) of one input tensor."""
    if not isinstance(tensor, dict):
        raise _Invalid("an input is not a tensor object")
    dtype = tensor.get("dtype", "float64")
    if dtype not in FLOAT_DTYPES and dtype not in INTEGER_DTYPES:
        raise _Invalid(f"input dtype {str(dtype)[:40]!r} is not one of the suite's dtypes")
    shape, data = tensor.get("shape", ()), tensor.get("data", [])
    if not isinstance(shape, list) or not all(isinstance(d, int) and not isinstance(d, bool) and d >= 0
                                              for d in shape) or not isinstance(data, list):
        raise _Invalid("an input's shape or data is malformed")
    size = math.prod(shape)
    if size != len(data):
        raise _Invalid(f"an input's shape {tuple(shape)} does not hold its {len(data)} values")
    return dtype, tuple(int(d) for d in shape), [_literal(x) for x in data]


def _array(tensor: dict) -> str:
    dtype, shape, values = _tensor(tensor)
    body = ", ".join(values)
    if dtype in FLOAT_DTYPES:
        base = f"np.array([{body}], dtype=np.float64).reshape({shape!r})"
        cast = {"float64": "", "bfloat16": ".astype(ml_dtypes.bfloat16)"}.get(dtype, f".astype(np.{dtype})")
        return f"{base}{cast}"
    return f"np.array([{body}], dtype=np.{'bool_' if dtype == 'bool' else dtype}).reshape({shape!r})"


def _array_line(name: str, tensor: dict) -> str:
    return f"    {name!r}: {_array(tensor)},"


def _request_lines(record: dict, inputs: dict) -> list[str]:
    """`request = ...`: the record's derivative request (cotangent, tangents, hvp, param_grads) rebuilt from
    validated values, or None for a plain record."""
    req = record.get("derivative_request")
    if req is None:
        return ["request = None"]
    if not isinstance(req, dict) or not isinstance(req.get("tangents") or {}, dict) \
            or not isinstance(req.get("hvp", False), bool):
        raise _Invalid("the derivative request is not an object with cotangent, tangents and hvp")
    tangents = req.get("tangents") or {}
    if any(name not in inputs for name in tangents):
        raise _Invalid("a tangent names no input")
    params = req.get("param_grads")
    if params is not None and (not isinstance(params, list) or any(p not in PARAM_GRADS for p in params)):
        raise _Invalid("param_grads is not a list of weight parameters")
    cot = "None" if req.get("cotangent") is None else _array(req["cotangent"])
    lines = [f"request = {{'cotangent': {cot}, 'hvp': {bool(req.get('hvp'))!r}, 'tangents': {{",
             *(f"    {k!r}: {_array(t)}," for k, t in tangents.items()), "}}"]
    if params is not None:
        lines.append(f"request['param_grads'] = {tuple(str(p) for p in params)!r}")
    return lines


def python_snippet(record: dict) -> str:
    """Rebuild the inputs exactly and call the implementation through the suite's adapter."""
    try:
        return _snippet(record)
    except _Invalid as exc:
        return (f"# no Python snippet: this record does not pass validation ({exc});\n"
                f"# the replay command above re-runs it from the results file.")


def _snippet(record: dict) -> str:
    inputs = record.get("inputs") or {}
    if not isinstance(inputs, dict) or not all(isinstance(k, str) for k in inputs):
        raise _Invalid("inputs are not an object of tensors")
    n = sum(len(t.get("data", ())) if isinstance(t, dict) and isinstance(t.get("data"), list) else 0
            for t in inputs.values())
    if n > MAX_INLINE_ELEMENTS:
        return (f"# the inputs have {n} elements, too many to inline here;\n"
                f"# the replay command above re-runs this case from the results file.")
    observed_grads = (record.get("observed") or {}).get("grad") if isinstance(record.get("observed"), dict) else None
    reference_grads = (record.get("reference") or {}).get("grad") if isinstance(record.get("reference"), dict) else None
    grads = tuple(sorted(str(g) for g in (observed_grads or reference_grads or {})))
    framework = record.get("framework", "")
    lines = []
    if framework in KERAS_BACKENDS:  # Keras fixes its backend when first imported: choose it before anything else
        lines += ["from conformance.adapters import keras_runtime",
                  f"keras_runtime.prepare_process({framework!r})  # KERAS_BACKEND for this Keras backend"]
    lines += ["import numpy as np, ml_dtypes",
              "inputs = {", *(_array_line(k, t) for k, t in inputs.items()), "}"]
    dtype, device = record.get("dtype"), record.get("device")
    mode, memory = record.get("mode"), record.get("memory") or "contiguous"
    if mode is not None and mode not in MODES or memory not in MEMORY:
        raise _Invalid("the execution mode or memory layout is not one of the suite's")
    if framework in FRAMEWORKS and dtype in FLOAT_DTYPES and device in DEVICES:
        # built-in adapters only; custom:... implementations and plugins use the replay command
        lines += [
            "from conformance.adapters import execution, implementations_for, modes",
            "from conformance.execute.reference_cache import op_defaults",
            f"params = {{**op_defaults({str(record.get('op'))!r}), **{_data(record.get('params') or {})}}}",
            f"impl = next(i for i in implementations_for({framework!r}) "
            f"if i.id == {str(record.get('implementation'))!r})",
            *_request_lines(record, inputs),
            f"with execution.using({mode!r}, {memory!r}), modes.requested(request):  # as the worker calls it",
            f"    obs = impl.call(inputs, params, {dtype!r}, {device!r}, {grads!r})",
            "print(obs.value, obs.grads, obs.derivs)"]
    tensors = FRAMEWORK_TENSORS.get(framework)
    if tensors and inputs and all(k.isidentifier() and not keyword.iskeyword(k) for k in inputs):
        imp, float_line, int_line, grad_suffix = tensors
        lines += ["", f"# the same inputs as {framework} tensors, for your own experiments:", imp]
        for k, t in inputs.items():
            t_dtype = _tensor(t)[0]
            lines.append(f"{k} = inputs[{k!r}]")
            template = float_line if t_dtype in FLOAT_DTYPES else int_line
            lines.append(template.format(name=k, dtype=t_dtype, grad=grad_suffix if k in grads else ""))
    return "\n".join(lines)
