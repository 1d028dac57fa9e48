"""Errors the reference raises for a case it cannot answer.

CaseError:      the case is malformed (unknown op, param or dtype; mismatched shapes; a fractional label; a
                malformed number). A generator bug, not a verdict.
UndefinedError: the case is well formed but the mathematics is undefined there (an out-of-range or negative
                class label that is not ignore_index): the expected behaviour of an implementation is an error.
"""
from __future__ import annotations


class CaseError(ValueError):
    """The case is malformed; the message says what, in one line."""


class UndefinedError(CaseError):
    """The operation is undefined for this input (e.g. a class label outside [0, C))."""
