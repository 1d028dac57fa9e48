"""Ops whose inputs declare named sizes (reference Input.dims: linear_cross_entropy's x (N, D), W (C, D),
b (C,), labels (N,)) are drawn with one N, C and D shared by every input (conformance/cases/strategies.py)."""
from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

import reference
from conformance.cases import strategies


@settings(max_examples=25, deadline=None, database=None)
@given(data=st.data(), profile=st.sampled_from(["quick", "ci", "thorough"]))
def test_named_sizes_agree_across_inputs(data, profile):
    case = strategies.draw_case(data, "linear_cross_entropy", "float32",
                                {"weight": None, "ignore_index": None, "reduction": None}, {}, profile)
    x, w, b, y = (case.inputs[n] for n in ("input", "linear_weight", "linear_bias", "target"))
    N, D = x.shape
    C = w.shape[0]
    assert w.shape == (C, D) and b.shape == (C,) and y.shape == (N,) and y.dtype.kind == "i"
    assert x.dtype == w.dtype == b.dtype == np.float32
    assert D in strategies.FEATURE_SETS[profile] and (C <= 1000 or D <= 8)
    if case.params.get("weight") is not None:
        assert len(case.params["weight"]) == C
    assert reference.OPS["linear_cross_entropy"].dims["linear_weight"] == ("C", "D")


def test_ops_without_named_sizes_declare_none():
    assert all(spec.dims is None for name, spec in reference.OPS.items() if name != "linear_cross_entropy")
