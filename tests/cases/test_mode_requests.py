"""Mode requests (conformance/cases/modes.py): a row that differentiates only some of the op's inputs holds the
others constant, so the hvp's reference request gets zero tangents for them (soft_margin_loss's y = 2t - 1 is
data: the reference refused the request, and every such record was an error_behaviour_mismatch)."""
import numpy as np
import pytest

import reference
from conformance.cases.case import Case
from conformance.cases.modes import readable_request
from conformance.floats import np_dtype


@pytest.mark.parametrize("dtype", ["float32", "bfloat16"])  # bfloat16's numpy kind is "V", not "f"
def test_held_constant_inputs_get_zero_tangents_for_the_hvp(dtype):
    case = Case("c", "binary_cross_entropy_with_logits", dtype,
                {"x": np.array([0.0, 2.0]).astype(np_dtype(dtype)), "y": np.array([1.0, 0.0]).astype(np_dtype(dtype))},
                {"reduction": "mean"})
    req, _ = readable_request(case, (), ("x",), ("vjp", "jvp", "hvp"))
    assert set(req["tangents"]) == {"x", "y"} and not req["tangents"]["y"].any()
    r = reference.evaluate(case.op, case.dtype, case.inputs, case.params, cotangent=req["cotangent"],
                           tangents=req["tangents"], hvp=True)
    assert {"vjp:x", "jvp:x", "hvp:x"} <= set(r.derivs)
    req, _ = readable_request(case, (), ("x",), ("vjp", "jvp"))  # no hvp: only the row's own tangents
    assert set(req["tangents"]) == {"x"}
