"""The op catalog of docs/ops.md: name -> OpSpec (inputs, parameter defaults, function), in docs/ops.md's order.

The one home of op facts: every table of the conformance and report stages (inputs and their generation
domains, class-axis inputs, default axes, the report's op order) is derived from OPS."""
from __future__ import annotations

from reference.ops.sample_weight import SAMPLE_WEIGHT_OPS, weighted
from reference.ops import binary, cross_entropy, focal, information, kl_div, linear, poly, sigmoid, softmax

_MODULES = [softmax, sigmoid, information, cross_entropy, poly, binary, kl_div, focal, linear]

OPS = {s.name: weighted(s) if s.name in SAMPLE_WEIGHT_OPS else s for m in _MODULES for s in m.SPECS}
