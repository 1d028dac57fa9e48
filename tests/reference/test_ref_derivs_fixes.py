"""Fixed bugs of the derivative parts, each with the case that found it."""
from __future__ import annotations

import mpmath as mp
import numpy as np
import pytest

import reference
from ref_helpers import mpf


@pytest.mark.parametrize("x,y", [(0.0, 0.0), (0.0, 0.5), (0.0, 3.0), (0.5, 0.0)])
def test_xlog1py_hvp_at_x_zero_keeps_the_mixed_second_derivative(x, y):
    """hvp:y = d2f/dydx t_x + d2f/dy2 t_y = t_x / (1 + y) - x t_y / (1 + y)^2. The gradient d/dy = x/(1 + y) is
    exactly 0 along x = 0, and the branch that said so returned a constant, dropping its tangent: hvp:y was 0
    at x = 0 (JAX's 1.0 at (0, 0) in the ci profile was right)."""
    tx, ty = 1.0, -0.5
    r = reference.evaluate("xlog1py", "float64", {"x": [x], "y": [y]}, {}, tangents={"x": [tx], "y": [ty]}, hvp=True)
    want = mp.mpf(tx) / (1 + mp.mpf(y)) - mp.mpf(x) * ty / (1 + mp.mpf(y)) ** 2
    assert abs(mpf(r.derivs["hvp:y"].exact[0]) - want) <= mp.mpf("1e-35") * max(1, abs(want))
    assert r.grads["y"].exact[0] == ("0" if x == 0 else r.grads["y"].exact[0])  # the gradient is unchanged
    assert np.ravel(r.value.exact)[0] == ("0" if x == 0 else np.ravel(r.value.exact)[0])


def test_jvp_of_a_mean_over_nothing_is_undefined():
    """A mean over an empty batch is 0/0 = NaN (rule 6), so is its directional derivative; the sum of g t
    over no elements said 0 (torch's NaN in the ci profile, bfloat16 cross_entropy with weights, was right).
    The ieee column keeps the formula's 0."""
    empty = {"shape": [0, 2], "data": []}
    r = reference.evaluate("cross_entropy", "float32", {"logits": empty, "target": {"shape": [0], "data": []}},
                           {"weight": [9.75, 0.0]}, tangents={"logits": empty})
    assert r.value.exact[()] == "nan" and r.derivs["jvp:logits"].exact[()] == "nan"
    assert r.derivs["jvp:logits"].ieee[()] == 0
    r = reference.evaluate("cross_entropy", "float32", {"logits": empty, "target": {"shape": [0], "data": []}},
                           {"reduction": "sum"}, tangents={"logits": empty})
    assert r.derivs["jvp:logits"].exact[()] == "0"  # a sum over nothing is 0, and so is its derivative


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_second_derivative_of_a_negative_power_at_zero(dtype):
    """generalized_cross_entropy's gradient -p^(q-1) was evaluated as -(1/p)^(1-q): at p = 0 the dual number's
    tangent was (1-q)(1/p)^(-q) * d(1/p) = 0 * (-inf), an exact 0 under limit semantics, so hvp:p was 0
    where (1 - q) p^(q-2) is +inf (Keras's inf in the ci profile was right). Away from 0 nothing changes."""
    r = reference.evaluate("generalized_cross_entropy", dtype, {"p": [[0.0, 1.0], [0.25, 0.75]], "target": [0, 0]},
                           {"q": 0.5, "reduction": "none", "axis": -1}, tangents={"p": [[1.0, 1.0], [1.0, 1.0]]},
                           hvp=True)
    assert [str(s) for s in r.derivs["hvp:p"].exact.ravel()] == ["inf", "0", "4", "0"]
    assert [str(s) for s in r.grads["p"].exact.ravel()] == ["-inf", "0", "-2", "0"]
