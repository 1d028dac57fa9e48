"""The reference, as the conformance run uses it: memoised by the exact input bits, op, dtype and params.

A case the reference rejects as malformed (reference.errors.CaseError that is not UndefinedError) is a
generator bug, not a verdict: `rejects` lets the runner skip it. UndefinedError (e.g. an out-of-range
label) is kept: the expected behaviour is an error.
"""
from __future__ import annotations

import reference
from reference.errors import CaseError, UndefinedError

from conformance.cases.case import Case


class ReferenceFailure(Exception):
    """The reference could not evaluate a case (a defect of the reference, reported as uncertified)."""


def op_defaults(op: str) -> dict:
    return dict(reference.OPS[op].defaults)


class ReferenceCache:
    def __init__(self):
        self._memo: dict[str, object] = {}
        self.hits = 0
        self.misses = 0
        self.seconds = 0.0

    def get(self, op: str, dtype: str, inputs: dict, params: dict):
        """A RefResult, or the UndefinedError / CaseError the reference raised."""
        import time

        key = Case("", op, dtype, inputs, params).key()
        if key in self._memo:
            self.hits += 1
            return self._memo[key]
        self.misses += 1
        started = time.perf_counter()
        try:
            result = reference.evaluate(op, dtype, inputs, params)
        except UndefinedError as exc:
            result = exc
        except CaseError as exc:
            result = exc
        except Exception as exc:  # a defect of the reference itself: recorded, never fatal to the run
            result = ReferenceFailure(f"{type(exc).__name__}: {exc}")
        self.seconds += time.perf_counter() - started
        self._memo[key] = result
        return result

    def rejects(self, case: Case) -> bool:
        result = self.get(case.op, case.dtype, case.inputs, case.params)
        return isinstance(result, CaseError) and not isinstance(result, UndefinedError)
