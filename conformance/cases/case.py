"""A case: one op, one dtype, concrete inputs and params, in the reference's vocabulary."""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Case:
    id: str
    op: str
    dtype: str
    inputs: dict[str, np.ndarray]
    params: dict = field(default_factory=dict)
    source: str = "catalog"
    modes: dict | None = None  # a mode case: {"cotangent": array or None, "tangents": {input: array}, "hvp": bool,
    #                           optionally "param_grads": (weight parameters differentiated, vjp:weight)}
    memory: str = "contiguous"  # the inputs' memory layout (conformance/adapters/execution.py MEMORY_LAYOUTS)

    def key(self) -> str:
        """A digest of the exact input bits, op, dtype and params (cache key, reproducible ids)."""
        h = hashlib.sha256()
        h.update(json.dumps([self.op, self.dtype, self.params], sort_keys=True, default=str).encode())
        if self.memory != "contiguous":
            h.update(self.memory.encode())
        for name in sorted(self.inputs):
            a = np.ascontiguousarray(self.inputs[name])
            h.update(name.encode())
            h.update(str(a.dtype).encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        if self.modes:  # a mode case's cotangent, tangents and hvp are part of its identity
            h.update(json.dumps(mode_request_json(self.modes), sort_keys=True).encode())
        return h.hexdigest()


def mode_request_json(request: dict) -> dict:
    """A mode request as JSON data (the record's `derivative_request`): arrays as nested lists of float64."""
    def arr(a):
        return None if a is None else [str(v) for v in np.asarray(a, dtype=np.float64).ravel().tolist()] + \
            [f"shape={list(np.shape(a))}"]
    out = {"cotangent": arr(request.get("cotangent")),
           "tangents": {k: arr(v) for k, v in sorted(request.get("tangents", {}).items())},
           "hvp": bool(request.get("hvp"))}
    if request.get("param_grads"):  # only when asked: the keys of requests without it stay as they were
        out["param_grads"] = list(request["param_grads"])
    return out


def mode_request_record(request: dict) -> dict:
    """A mode request as the record's `derivative_request`: tensors like the record's inputs."""
    from conformance.results.stream import tensor_json

    out = {"cotangent": None if request.get("cotangent") is None else tensor_json(request["cotangent"]),
           "tangents": {k: tensor_json(v) for k, v in sorted((request.get("tangents") or {}).items())},
           "hvp": bool(request.get("hvp"))}
    if request.get("param_grads"):
        out["param_grads"] = list(request["param_grads"])
    return out
