"""The certified arbitrary-precision reference for the cross-entropy family (values and gradients).

    reference.evaluate(op, dtype, inputs, params) -> reference.result.RefResult
    reference.OPS: op name -> reference.ops.spec.OpSpec (input names, differentiable inputs, param defaults)
    reference.errors: CaseError (malformed case), UndefinedError (undefined input: an error is expected)
"""
from reference.errors import CaseError, UndefinedError
from reference.evaluate import evaluate
from reference.ops import OPS

__all__ = ["evaluate", "OPS", "CaseError", "UndefinedError"]
