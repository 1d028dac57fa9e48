"""The verdicts, worst first, and which of them fail a run.

accurate                 within the dtype's ULP budget of the correctly rounded reference
stable                   beyond the budget, within the conditioning-aware bound (docs/verdicts.md)
ieee_special             returned the IEEE special value docs/special-values.md lists beside the limit (what a
                         naive IEEE evaluation gives, e.g. NaN for inf - inf where the limit is +inf); no
                         framework documents it: not a convention. Fails a run only with --strict-special-values
convention               differs from the mathematics exactly as the implementation's declared convention says
uncertified              the reference could not certify the elements that decide the verdict
unsupported              the implementation does not support this dtype/parameter (declared, or it said so)
inaccurate               beyond the bound
special_value_mismatch   NaN, inf or finite where the special-values table says otherwise
error_behaviour_mismatch raised where a value is defined, or returned a value where the input is undefined
timeout                  the call did not return within the per-case timeout
crashed                  the implementation killed its process (segfault, abort, device-side assert)
"""
from __future__ import annotations

SEVERITY = (
    "crashed",
    "timeout",
    "error_behaviour_mismatch",
    "special_value_mismatch",
    "inaccurate",
    "uncertified",
    "ieee_special",
    "stable",
    "convention",
    "unsupported",
    "accurate",
)
FAILING = frozenset({"crashed", "timeout", "error_behaviour_mismatch", "special_value_mismatch", "inaccurate"})
PASSING = frozenset({"accurate", "stable", "convention"})
STRICT_SPECIAL = FAILING | {"ieee_special"}  # the failing verdicts under --strict-special-values


def failing(strict_special_values: bool = False) -> frozenset:
    """The verdicts that fail a run: ieee_special too under --strict-special-values."""
    return STRICT_SPECIAL if strict_special_values else FAILING


def rank(verdict: str) -> int:
    """0 for the worst verdict; larger is better."""
    return SEVERITY.index(verdict)


def worst(verdicts) -> str:
    verdicts = list(verdicts)
    return min(verdicts, key=rank) if verdicts else "accurate"
