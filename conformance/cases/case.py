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

    def key(self) -> str:
        """A digest of the exact input bits, op, dtype and params (cache key, reproducible ids)."""
        h = hashlib.sha256()
        h.update(json.dumps([self.op, self.dtype, self.params], sort_keys=True, default=str).encode())
        for name in sorted(self.inputs):
            a = np.ascontiguousarray(self.inputs[name])
            h.update(name.encode())
            h.update(str(a.dtype).encode())
            h.update(str(a.shape).encode())
            h.update(a.tobytes())
        return h.hexdigest()
