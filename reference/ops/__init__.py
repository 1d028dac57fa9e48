"""The op catalog of docs/ops.md: name -> OpSpec (inputs, parameter defaults, function)."""
from __future__ import annotations

from reference.ops import binary, cross_entropy, focal, information, kl_div, sigmoid, softmax

_MODULES = [softmax, sigmoid, information, cross_entropy, binary, kl_div, focal]

OPS = {s.name: s for m in _MODULES for s in m.SPECS}
