"""Which variant rows a profile runs: Keras on the JAX and torch backends (frameworks keras_jax, keras_torch)
and the precision-policy rows (Implementation.policy; conformance/judge/policy.py).

Each profile says it in conformance/plan/choices.py PROFILES[...]["variants"]:

    none    quick: no variant rows (the TensorFlow backend's Keras rows and every plain row only; CI stays
            as fast as before)
    sample  ci: every variant row in one dtype, the rows of a backend or policy taking the four dtypes in
            turn (conformance/plan/sample_turn.py); besides, for each Keras backend, the first row
            (declaration order) of each op of BACKEND_SAMPLE in its dtypes; for each policy, its first
            cross_entropy row in the dtypes of POLICY_SAMPLE (the default dtype path on half inputs, the
            mixed policies on float32, autocast on bfloat16 and its float64 `unsupported` record)
    all     thorough: every variant row in every dtype

A run that names implementations (--implementations / --ce-implementations patterns) runs every selected
variant row whatever the profile. Variant rows run in their framework's default execution mode only, except
under `all` (conformance/plan/mode_plan.py).
"""
from __future__ import annotations

from conformance.plan.choices import PROFILES
from conformance.plan.sample_turn import dtype_turn

BACKEND_FRAMEWORKS = ("keras_jax", "keras_torch")
# ci: op -> dtypes of each backend's first row of that op; policy -> dtypes of its first cross_entropy row
BACKEND_SAMPLE = {"cross_entropy": ("float32",), "binary_cross_entropy_with_logits": ("float32",),
                  "log_softmax": ("bfloat16",)}
POLICY_OPS = ("cross_entropy",)
POLICY_SAMPLE = {"floatx": ("float16", "bfloat16"), "mixed_float16": ("float32",), "mixed_bfloat16": ("float32",),
                 "autocast_bfloat16": ("bfloat16", "float64")}


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
    if plan != "sample":
        return False
    if dtype == dtype_turn(impl, impls):
        return True
    if not _first_of_kind(impl, impls):
        return False
    if getattr(impl, "policy", None) is not None:
        return impl.op in POLICY_OPS and dtype in POLICY_SAMPLE.get(impl.policy, ())
    return dtype in BACKEND_SAMPLE.get(impl.op, ())
