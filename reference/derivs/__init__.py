"""Derivatives beyond the gradient with cotangent ones: vjp with any cotangent, jvp, hvp (docs/ops.md,
"Derivative modes"). reference.derivs.parts has the formulas; evaluate_derivs certifies them."""
from reference.derivs.evaluate import evaluate_derivs
from reference.derivs.request import DerivRequest, parse_request

__all__ = ["DerivRequest", "evaluate_derivs", "parse_request"]
