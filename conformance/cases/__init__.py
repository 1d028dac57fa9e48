"""Cases: the deterministic edge-case catalog and the Hypothesis strategies."""
from conformance.cases.case import Case

__all__ = ["Case"]
