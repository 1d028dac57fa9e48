"""The ci profile's rotation: which one dtype (and which one extra execution mode) each implementation's
sampled cells use, so that every implementation runs once in every sampled backend and mode while each cell
dimension stays a fraction of the full product (docs/profiles.md, "What ci samples").

The implementations of a worker group that share a policy are taken in declaration order; the k-th of them
runs its sampled cells in dtype D[k % len(D)], D its supported dtypes in ALL_DTYPES order (an implementation
that supports none of them: ALL_DTYPES), and in mode M[(k // 4) % len(M)] of the modes M being rotated, so
four consecutive rows cover the four dtypes in one mode before the next mode starts (a rotation of mode by
parity alone would tie each mode to two dtypes).
"""
from __future__ import annotations

from conformance.plan.choices import ALL_DTYPES


def turn(impl, impls) -> int:
    """impl's position among the group's implementations with its policy (declaration order)."""
    policy = getattr(impl, "policy", None)
    peers = [i for i in impls if getattr(i, "policy", None) == policy]
    return next((k for k, i in enumerate(peers) if i is impl), 0)


def dtype_turn(impl, impls) -> str:
    """The dtype of impl's sampled cells (module docstring)."""
    supported = [d for d in ALL_DTYPES if d in (impl.dtypes or ())] or list(ALL_DTYPES)
    return supported[turn(impl, impls) % len(supported)]


def mode_turn(impl, impls, modes) -> str | None:
    """The one mode of `modes` (the rotated ones its framework offers) impl's sampled cell runs in."""
    modes = list(modes)
    return modes[(turn(impl, impls) // len(ALL_DTYPES)) % len(modes)] if modes else None
