"""The op catalog of docs/ops.md: name -> OpSpec (inputs, parameter defaults, function)."""
from __future__ import annotations

from reference.ops import softmax as _softmax

_MODULES = [_softmax]

OPS = {s.name: s for m in _MODULES for s in m.SPECS}
