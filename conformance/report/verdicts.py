"""Verdict order and colours as the report shows them (results.json alone decides; nothing is re-judged).

Severity, worst first: crashed, timeout, error_behaviour_mismatch, special_value_mismatch, inaccurate,
uncertified, ieee_special, stable, convention, accurate. `unsupported` is outside that order: a cell's colour ignores its
unsupported records unless all of them are unsupported (then it is grey).

Conformance of an implementation = (accurate + stable + convention) / applicable records, where applicable
excludes `unsupported` (not run) and `uncertified` (the reference could not judge it). `ieee_special` (the
IEEE value where the limit exists) is applicable but not conforming, and fails a run only when strict.

For comparing two runs, unsupported ranks between uncertified and stable: a case that became unsupported
after passing is a regression, one that became unsupported after failing is an improvement.
"""
from __future__ import annotations

from typing import Iterable

import reference
from reference.dtypes import DTYPE_NAMES
from conformance.judge import severity as _verdicts

SEVERITY = tuple(v for v in _verdicts.SEVERITY if v != "unsupported")
COMPARE_ORDER = ("crashed", "timeout", "error_behaviour_mismatch", "special_value_mismatch", "inaccurate",
                 "uncertified", "ieee_special", "unsupported", "stable", "convention", "accurate")
ALL_VERDICTS = SEVERITY + ("unsupported",)
FAILING = _verdicts.FAILING
CONFORMING = _verdicts.PASSING
NOT_APPLICABLE = frozenset({"unsupported", "uncertified"})

# background, text colour, short label, one-line meaning (the legend)
STYLE = {
    "crashed": ("#b71c1c", "#ffffff", "crashed", "the implementation killed its process"),
    "timeout": ("#e53935", "#ffffff", "timeout", "did not return within the per-case timeout"),
    "error_behaviour_mismatch": ("#f4511e", "#ffffff", "error behaviour",
                                 "raised where a value is defined, or returned a value for undefined input"),
    "special_value_mismatch": ("#fb8c00", "#1a1a1a", "special value",
                               "NaN, inf or finite where the special-values table says otherwise"),
    "inaccurate": ("#ffb74d", "#1a1a1a", "inaccurate", "error beyond the conditioning-aware bound"),
    "uncertified": ("#d1c4e9", "#1a1a1a", "uncertified", "the reference could not certify this case"),
    "ieee_special": ("#4db6ac", "#1a1a1a", "IEEE special",
                     "the IEEE special value (e.g. NaN for inf - inf) where the limit exists; undocumented"),
    "stable": ("#dce775", "#1a1a1a", "stable", "beyond the ULP budget, within the conditioning-aware bound"),
    "convention": ("#90caf9", "#1a1a1a", "convention", "differs exactly as its documented convention says"),
    "accurate": ("#81c784", "#1a1a1a", "accurate", "within the dtype's ULP budget of the correctly rounded value"),
    "unsupported": ("#e0e0e0", "#555555", "unsupported", "dtype or parameter not supported (not run)"),
}

DTYPE_ORDER = DTYPE_NAMES
OP_ORDER = tuple(reference.OPS)  # docs/ops.md's order, from the reference's op catalog
DEVICE_ORDER = ("cpu", "cuda")


def severity(verdict: str) -> int:
    """0 = worst. Unknown verdicts sort after everything known."""
    return SEVERITY.index(verdict) if verdict in SEVERITY else len(SEVERITY) + 1


def compare_rank(verdict: str) -> int:
    """0 = worst, for comparing one case across runs (unsupported included)."""
    return COMPARE_ORDER.index(verdict) if verdict in COMPARE_ORDER else len(COMPARE_ORDER)


def worst(verdicts: Iterable[str]) -> str:
    """The worst verdict, ignoring unsupported unless every verdict is unsupported."""
    verdicts = list(verdicts)
    judged = [v for v in verdicts if v != "unsupported"]
    if not judged:
        return "unsupported"
    return min(judged, key=severity)


def order_key(order: tuple[str, ...], name: str) -> tuple[int, str]:
    return (order.index(name), "") if name in order else (len(order), name)
