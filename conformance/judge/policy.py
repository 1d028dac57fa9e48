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


def judged(impl, refs, case, ref, observed, conv_refs_of):
    """(reference, convention references, {part: (judged, budget)}) for a policy row's observation; the
    references unchanged and {} when every part came back in the case dtype. conv_refs_of(dtype) gives the
    row's convention references [(Convention, RefResult)] with the case evaluated in `dtype`."""
    dtypes = part_dtypes(case.dtype, observed, impl.policy)
    if not dtypes or isinstance(ref, Exception):
        return ref, conv_refs_of(case.dtype), {}
    wanted = sorted({d for d, _ in dtypes.values()})
    by_dtype = {d: refs.get(case.op, d, case.inputs, case.params) for d in wanted}
    conv_by_dtype = {d: conv_refs_of(d) for d in [case.dtype, *wanted]}
    conv_refs = []
    for i, (conv, conv_ref) in enumerate(conv_by_dtype[case.dtype]):
        if isinstance(conv_ref, Exception):
            conv_refs.append((conv, conv_ref))
            continue
        others = {d: conv_by_dtype[d][i][1] for d in wanted}
        conv_refs.append((conv, _composite(conv_ref, others, dtypes)))
    return _composite(ref, by_dtype, dtypes), conv_refs, dtypes
