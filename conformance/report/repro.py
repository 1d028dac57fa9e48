"""Copy-paste reproduction of one record: the replay command, and a Python snippet that rebuilds the exact
inputs (every float printed with repr, which round-trips; values of narrower dtypes are exact in float64,
so `np.array([...], float64).astype(dtype)` is exact) and calls the implementation through its adapter
(conformance/implementation.py: impl.call(inputs, params, dtype, device, grads)), followed by the lines
that turn the same inputs into the framework's own tensors."""
from __future__ import annotations

import json
import math
import shlex

from .numbers import is_float_dtype, to_float

MAX_INLINE_ELEMENTS = 512

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


def replay_command(case_id: str, results_file: str, implementation: str | None = None,
                   dtype: str | None = None) -> str:
    """`python -m conformance replay CASE_ID --results FILE [--implementation ID] [--dtype D]` (a case id is
    shared by every implementation and dtype it ran on; the options pick this record)."""
    cmd = f"python -m conformance replay {shlex.quote(case_id)} --results {shlex.quote(results_file)}"
    if implementation:
        cmd += f" --implementation {shlex.quote(implementation)}"
    if dtype:
        cmd += f" --dtype {dtype}"
    return cmd


def _literal(x) -> str:
    v = to_float(x)
    if v is None:
        return repr(x)
    if math.isnan(v):
        return "np.nan"
    if math.isinf(v):
        return "np.inf" if v > 0 else "-np.inf"
    return repr(int(v)) if isinstance(x, int) and not isinstance(x, bool) else repr(v)


def _array_line(name: str, tensor: dict) -> str:
    dtype = tensor.get("dtype", "float64")
    shape = tuple(tensor.get("shape", ()))
    data = tensor.get("data", [])
    values = ", ".join(_literal(x) for x in data)
    if is_float_dtype(dtype):
        base = f"np.array([{values}], dtype=np.float64).reshape({shape!r})"
        cast = ".astype(ml_dtypes.bfloat16)" if dtype == "bfloat16" else f".astype(np.{dtype})"
        if dtype == "float64":
            cast = ""
        return f"    {json.dumps(name)}: {base}{cast},"
    return f"    {json.dumps(name)}: np.array([{values}], dtype=np.{dtype}).reshape({shape!r}),"


def python_snippet(record: dict) -> str:
    """Rebuild the inputs exactly and call the implementation through the suite's adapter."""
    inputs = record.get("inputs") or {}
    n = sum(len(t.get("data", ())) for t in inputs.values())
    if n > MAX_INLINE_ELEMENTS:
        return (f"# the inputs have {n} elements, too many to inline here;\n"
                f"# the replay command above re-runs this case from the results file.")
    grads = sorted((record.get("observed") or {}).get("grad", {}) or
                   ((record.get("reference") or {}).get("grad", {}) or {}))
    framework = record.get("framework", "")
    lines = ["import numpy as np, ml_dtypes",
             "inputs = {", *(_array_line(k, t) for k, t in inputs.items()), "}"]
    if ":" not in framework:  # built-in adapters and plugins; custom:... implementations use the replay command
        lines += [
            "from conformance.adapters import implementations_for",
            "from conformance.refcache import op_defaults",
            f"params = {{**op_defaults({json.dumps(record['op'])}), "
            f"**{json.dumps(record.get('params') or {}, sort_keys=True)}}}",
            f"impl = next(i for i in implementations_for({json.dumps(framework)}) "
            f"if i.id == {json.dumps(record['implementation'], ensure_ascii=False)})",
            f"obs = impl.call(inputs, params, {json.dumps(record['dtype'])}, {json.dumps(record['device'])}, "
            f"{tuple(grads)!r})",
            "print(obs.value, obs.grads)"]
    tensors = FRAMEWORK_TENSORS.get(framework)
    if tensors and inputs and all(k.isidentifier() for k in inputs):
        imp, float_line, int_line, grad_suffix = tensors
        lines += ["", f"# the same inputs as {framework} tensors, for your own experiments:", imp]
        for k, t in inputs.items():
            lines.append(f"{k} = inputs[{json.dumps(k)}]")
            template = float_line if is_float_dtype(t.get("dtype", "")) else int_line
            lines.append(template.format(name=k, dtype=t.get("dtype"), grad=grad_suffix if k in grads else ""))
    return "\n".join(lines)
