"""Which variant rows a profile runs: Keras on the JAX and torch backends (frameworks keras_jax, keras_torch)
and the precision-policy rows (Implementation.policy; conformance/judge/policy.py).

Each profile says it in conformance/plan/choices.py PROFILES[...]["variants"]:

    none    quick: no variant rows (the TensorFlow backend's Keras rows and every plain row only; CI stays
            as fast as before)
    sample  ci: CI_SAMPLE below: for each Keras backend, the first row (declaration order) of each of
            BACKEND_OPS in BACKEND_DTYPES (16 cells); for each policy, its first cross_entropy row in every
            dtype (16 cells, float64 autocast an `unsupported` record)
    all     thorough: every variant row in every dtype

A run that names implementations (--implementations / --ce-implementations patterns) runs every selected
variant row whatever the profile. Variant rows run in their framework's default execution mode only, except
under `all` (conformance/plan/mode_plan.py).
"""
from __future__ import annotations

from conformance.plan.choices import PROFILES

BACKEND_FRAMEWORKS = ("keras_jax", "keras_torch")
BACKEND_OPS = ("cross_entropy", "cross_entropy_dist", "binary_cross_entropy_with_logits", "log_softmax")
BACKEND_DTYPES = ("float32", "bfloat16")
POLICY_OPS = ("cross_entropy",)


def is_variant(impl) -> bool:
    return getattr(impl, "policy", None) is not None or impl.framework in BACKEND_FRAMEWORKS


def plan_of(profile: str) -> str:
    return PROFILES.get(profile, PROFILES["ci"]).get("variants", "none")


def _first_of_kind(impl, impls) -> bool:
    """impl is the first of the group's rows with its op and policy (declaration order)."""
    policy = getattr(impl, "policy", None)
    return next((i for i in impls if i.op == impl.op and getattr(i, "policy", None) == policy), None) is impl


def runs(impl, impls, dtype: str, profile: str, explicit: bool = False) -> bool:
    """Whether the cell (impl, dtype) runs in `profile` (module docstring); plain rows always do."""
    if not is_variant(impl) or explicit:
        return True
    plan = plan_of(profile)
    if plan == "all":
        return True
    if plan != "sample" or not _first_of_kind(impl, impls):
        return False
    if getattr(impl, "policy", None) is not None:
        return impl.op in POLICY_OPS
    return impl.op in BACKEND_OPS and dtype in BACKEND_DTYPES
