"""The ci profile's rotation: the one dtype in which each implementation's sampled cells (its Keras backend
or policy row, its execution modes other than the default) run, so that every implementation runs once in
every sampled backend and mode while the product with the four dtypes stays a quarter of the full one
(docs/execution.md).

The implementations of a worker group that share a policy are taken in declaration order; the k-th of them
runs its sampled cells in dtype D[k % len(D)], D its supported dtypes in ALL_DTYPES order (an implementation
that supports none of them: ALL_DTYPES). Consecutive rows are often forms of one function (a Loss class and
its function), so they meet different dtypes.
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

