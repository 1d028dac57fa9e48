"""A record's parts: the one way to read a record section keyed by part.

Records keep each per-part figure (observed tensors, reference tensors, ULP errors, bound ratios) in one
shape: {"value": X, "grad": {input: X}, "derivs": {"vjp:input" | "jvp:input" | "hvp:input": X}}. Every
later stage reads them as one flat mapping keyed by the part names the record's "part" field and the
report use: "value", "grad:INPUT", and the derivative-mode parts as stored.
"""
from __future__ import annotations


def flat_parts(section: dict | None, skip_none: bool = True) -> dict:
    """{"value": ..., "grad:IN": ..., "vjp:IN": ...} from a record section such as record["observed"],
    record["reference"], record["ulp"] or record["bound_ratio"]; parts whose entry is None are left out
    unless skip_none is False."""
    section = section or {}
    out = {"value": section.get("value")}
    out.update({f"grad:{name}": v for name, v in (section.get("grad") or {}).items()})
    out.update(section.get("derivs") or {})
    return {k: v for k, v in out.items() if v is not None} if skip_none else out
