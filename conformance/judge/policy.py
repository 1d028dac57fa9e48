"""Precision policies: rows that compute in another dtype than the case's, and the reference each part of
theirs is judged against (docs/verdicts.md, Precision policies).

A policy row (Implementation.policy) takes the case's inputs in the case dtype, as users hand them over, and
returns each part (the value, each gradient) in whatever dtype the policy makes it: Keras' floatx path
returns float32 for float16 inputs (and their gradients in float16), torch.autocast's float32 ops return
float32 for bfloat16 inputs. Each part is judged

  * against the reference **in the dtype it is returned in** -- or in the policy's compute dtype (COMPUTE)
    when that is less precise: a float64 gradient cast back from a float32 computation is judged in float32
    -- (the op evaluated with the case's inputs
    converted to that dtype, as the policy's cast converts them: exactly when it is wider, rounded when it is
    narrower; correctly rounded to it), its ULP distance and ULP budget in that dtype;
  * with the conditioning-aware **error budget of the less precise of the case dtype and the returned dtype**
    (verdict.error_bound): the dtype the inputs carry when the result is wider (a float32 result of
    bfloat16 inputs is allowed the bfloat16 budget), the returned dtype when it is narrower (a float16 result
    cannot be within a float32 budget; its own budget covers the rounding of the inputs to it).

A part returned in the case dtype is judged as in every other row. A convention's reference is recomputed
the same way (its params in the returned dtype).
"""
from __future__ import annotations

import dataclasses

import numpy as np

POLICIES = {
    "floatx": "Keras Loss built without dtype=: computes in keras.config.floatx() (float32) whatever the "
              "inputs' dtype (what users run)",
    "mixed_float16": "Keras Loss built with dtype=DTypePolicy('mixed_float16'): computes in float16",
    "mixed_bfloat16": "Keras Loss built with dtype=DTypePolicy('mixed_bfloat16'): computes in bfloat16",
    "autocast_bfloat16": "torch.autocast(device_type, dtype=torch.bfloat16) around the forward call (CPU: the "
                         "loss ops are on autocast's float32 list, matmul-like ops run in bfloat16)",
}
MANTISSA_BITS = {"float64": 53, "float32": 24, "float16": 11, "bfloat16": 8}
# the dtype each policy computes in (None: the dtype each op returns, as autocast's float32 list does)
COMPUTE = {"floatx": "float32", "mixed_float16": "float16", "mixed_bfloat16": "bfloat16", "autocast_bfloat16": None}


def dtype_name(array) -> str:
    return str(np.asarray(array).dtype)


def budget_dtype(case_dtype: str, returned: str) -> str:
    """The less precise of the two (module docstring)."""
    return min((case_dtype, returned), key=lambda d: MANTISSA_BITS.get(d, 53))


def judged_dtype(returned: str, policy: str | None) -> str:
    """The dtype a part is judged in: the dtype it is returned in, or the policy's compute dtype when that is
    less precise (a float64 gradient cast back from a float32 computation carries float32's precision)."""
    compute = COMPUTE.get(policy or "")
    if compute is None or MANTISSA_BITS.get(returned, 53) <= MANTISSA_BITS[compute]:
        return returned
    return compute


def part_dtypes(case_dtype: str, observed, policy: str | None = None) -> dict:
    """{part: (judged dtype, budget dtype)} for the value and gradients judged in another dtype than the
    case's (empty when every part is judged in the case dtype)."""
    arrays = {"value": observed.value, **{f"grad:{n}": g for n, g in observed.grads.items()}}
    out = {}
    for part, array in arrays.items():
        returned = dtype_name(array)
        if returned not in MANTISSA_BITS:
            continue
        judged_in = judged_dtype(returned, policy)
        if judged_in != case_dtype:
            out[part] = (judged_in, budget_dtype(case_dtype, judged_in))
    return out


def _composite(base, by_dtype: dict, dtypes: dict):
    """`base` (a RefResult in the case dtype) with each part in `dtypes` taken from the reference in its
    judged dtype; an exception of one of those references is returned as is."""
    for ref in by_dtype.values():
        if isinstance(ref, Exception):
            return ref
    value = by_dtype[dtypes["value"][0]].value if "value" in dtypes else base.value
    grads = {name: (by_dtype[dtypes[f"grad:{name}"][0]].grads[name] if f"grad:{name}" in dtypes else g)
             for name, g in base.grads.items()}
    return dataclasses.replace(base, value=value, grads=grads)


def judged(impl, refs, case, ref, observed, conv_refs: list, convention_refs) -> tuple:
    """(reference, convention references, {part: (judged, budget)}) for an observation of `impl`: for a policy
    row whose parts came back in other dtypes, the references in those dtypes (module docstring); otherwise
    `ref` and `conv_refs` as given and {}. convention_refs(impl, refs, case) gives a row's convention
    references for a case (conformance/execute/cell_runner.py)."""
    if observed is None or getattr(impl, "policy", None) is None or isinstance(ref, Exception):
        return ref, conv_refs, {}
    dtypes = part_dtypes(case.dtype, observed, impl.policy)
    if not dtypes:
        return ref, conv_refs, {}
    wanted = sorted({d for d, _ in dtypes.values()})
    by_dtype = {d: refs.get(case.op, d, case.inputs, case.params) for d in wanted}
    conv_by_dtype = {d: convention_refs(impl, refs, dataclasses.replace(case, dtype=d)) for d in wanted}
    out = []
    for i, (conv, conv_ref) in enumerate(conv_refs):
        if isinstance(conv_ref, Exception):
            out.append((conv, conv_ref))
            continue
        out.append((conv, _composite(conv_ref, {d: conv_by_dtype[d][i][1] for d in wanted}, dtypes)))
    return _composite(ref, by_dtype, dtypes), out, dtypes


def note(comparison, ref, dtypes: dict) -> None:
    """Keep the reference a policy row was judged against, and the dtypes, on its Comparison (for the record)."""
    if dtypes:
        comparison.judged_ref, comparison.judged_dtypes = ref, {p: d for p, (d, _) in dtypes.items()}


def variant_fields(impl, comparison) -> dict:
    """A record's backend, policy and judged_dtypes fields, where it has them (results schema)."""
    out = {name: getattr(impl, name) for name in ("backend", "policy") if getattr(impl, name, None)}
    if comparison.judged_dtypes:
        out["judged_dtypes"] = comparison.judged_dtypes
    return out


def unsupported_dtype(impl, dtype: str) -> tuple | None:
    """("declared", reason) for a dtype the row does not declare, ("supported", reason) for one it declares
    unsupported (Implementation.unsupported_dtypes, e.g. float64 under torch.autocast); None otherwise."""
    if dtype not in impl.dtypes:
        return "declared", f"{impl.id} does not declare {dtype}"
    if dtype in impl.unsupported_dtypes:
        return "supported", f"{impl.id}: {impl.unsupported_dtypes[dtype]}"
    return None
