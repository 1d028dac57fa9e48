"""What a case asks of the derivative modes: a cotangent (vjp), tangents (jvp), and hvp.

    "cotangent": an array shaped like the op's output (a number for a reduced output): asks vjp:IN for every
                 differentiable floating input;
    "tangents":  {input name: array shaped like that input}: asks jvp:IN for each input given;
    "hvp":       true: asks hvp:IN for every differentiable floating input; needs a tangent for each of
                 them; uses the cotangent when given, ones otherwise.
    "param_grads": [names of weight parameters]: asks vjp:P for each (weight, pos_weight: the ops of
                 reference.derivs.weights.WEIGHT_PARAMS, the case giving that parameter), with the cotangent
                 when given, ones otherwise.
Arrays are read like inputs (numbers, "inf"/"-inf"/"nan", {"shape", "data"}) and rounded once into the case
dtype. Anything malformed is a CaseError (one line, exit 2 on the command line).
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from reference.case import Case, _as_array, _float_array
from reference.decimal_io import NumberToken
from reference.errors import CaseError


# derivative modes the reference does not compute for an op, with the reason (rows of these ops do not declare
# them: conformance/adapters/modes.py); none at present
WITHOUT_MODES: dict[str, dict[str, str]] = {}


@dataclass
class DerivRequest:
    cotangent: np.ndarray | None = None  # float64 holding values of the case dtype, the output's shape
    tangents: dict = field(default_factory=dict)  # input name -> float64 array, the input's shape
    hvp: bool = False
    params: tuple = ()  # weight parameters differentiated (vjp:weight, vjp:pos_weight)

    @property
    def empty(self) -> bool:
        return self.cotangent is None and not self.tangents and not self.hvp and not self.params


def parse_request(case: Case, value_shape: tuple, cotangent=None, tangents=None, hvp=False,
                  param_grads=None) -> DerivRequest:
    """Validate the derivative request of one case against its op, inputs and output shape."""
    from reference.derivs.parts import float_inputs
    from reference.derivs.weights import check_param_grads

    names = float_inputs(case)
    if hvp and "hvp" in WITHOUT_MODES.get(case.spec.name, {}):
        raise CaseError(f"{case.spec.name} has no hvp in the reference: {WITHOUT_MODES[case.spec.name]['hvp']}")
    if not isinstance(hvp, bool):
        raise CaseError(f"hvp must be true or false, got {hvp!r}")
    req = DerivRequest(hvp=hvp, params=check_param_grads(case, param_grads))
    if cotangent is not None:
        arr = _float_array(_as_array(_scalar_ok(cotangent), "cotangent"), case.dt, "cotangent")
        if arr.shape != tuple(value_shape):
            raise CaseError(f"cotangent must have the output's shape {tuple(value_shape)}, got {arr.shape}")
        req.cotangent = arr
    if tangents is not None:
        if not isinstance(tangents, dict):
            raise CaseError("tangents must be a mapping from input name to array")
        for name, value in tangents.items():
            if name not in names:
                raise CaseError(f"{case.spec.name}: no tangent for {name!r}: the differentiable floating inputs "
                                f"of this case are {', '.join(names) or 'none'}")
            arr = _float_array(_as_array(_scalar_ok(value), f"tangents.{name}"), case.dt, f"tangents.{name}")
            if arr.shape != case.floats[name].shape:
                raise CaseError(f"tangents.{name} must have {name}'s shape {case.floats[name].shape}, "
                                f"got {arr.shape}")
            req.tangents[name] = arr
    if hvp:
        missing = [n for n in names if n not in req.tangents]
        if missing:
            raise CaseError(f"hvp needs a tangent for every differentiable input; missing {missing[0]!r}")
    return req


def _scalar_ok(value):
    """A bare number (a JSON number's exact text, a float, "inf") as a 0-d array, like a 0-d input."""
    if isinstance(value, (NumberToken, str, int, float)) and not isinstance(value, bool):
        out = np.empty((), dtype=object)
        out[()] = value
        return out
    return value
