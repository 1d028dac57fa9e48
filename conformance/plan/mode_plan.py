"""Which execution modes (conformance/adapters/execution.py) each cell runs in.

`run --modes` names them: mode names (eager, compile, graph, xla, jit), "default" (each framework's default
mode: torch and TensorFlow eager, JAX jit, NumPy eager) or "all" (every mode of the framework). A named mode
a framework lacks gives that framework no cells in it. Without --modes the profile decides
(conformance/choices.py PROFILES[...]["modes"]):

    default  quick: every cell in its framework's default mode only
    sample   ci: every cell in the default mode; every implementation once in each mode of CI_ROTATED its
             framework offers, in its turn's dtype (conformance/plan/sample_turn.py: the rows take the
             dtypes in turn); and each other mode on the sample CI_SAMPLE names: the
             first implementation of each of the mode's ops in its framework's declaration order (the
             functional form; module forms, aliases and Keras function forms share its code path) in the
             mode's dtypes. Compiling costs seconds per input shape on 2 cores (torch.compile: about 3-6 s
             per shape cold, one cross_entropy cell of the ci profile 26 compiles and 150 s under load; README,
             Benchmarks), so the sample is what fits the ci profile's 10 minutes; custom kernels (--impl) run
             every mode of their framework.
    all      thorough: every cell in every mode of its framework
"""
from __future__ import annotations

from conformance.adapters.execution import ALL_MODES, modes_of
from conformance.plan.choices import PROFILES
from conformance.plan.sample_turn import dtype_turn

MODE_CHOICES = ALL_MODES + ("default", "all")
# ci: mode -> (ops, dtypes) whose first implementation runs in that mode; every other mode cell is thorough's
CI_SAMPLE = {
    "compile": (("cross_entropy",), ("float32",)),
    "graph": (("cross_entropy", "binary_cross_entropy_with_logits", "log_softmax"), ("float32",)),
    "xla": (("cross_entropy", "binary_cross_entropy_with_logits", "log_softmax"), ("float32", "bfloat16")),
    "eager": (("cross_entropy", "binary_cross_entropy_with_logits", "log_softmax", "sigmoid_focal_loss"),
              ("float32", "bfloat16")),
}
# ci: the non-default modes every implementation runs once in (its turn's dtype); torch.compile costs seconds
# per shape and stays on CI_SAMPLE
CI_ROTATED = ("graph", "xla", "eager")


def plan_of(profile: str) -> str:
    return PROFILES.get(profile, PROFILES["ci"]).get("modes", "default")


def is_primary(impl, impls) -> bool:
    """impl is the first of the group's implementations of its op (declaration order)."""
    return next((i for i in impls if i.op == impl.op), None) is impl


def cell_modes(worker_name: str, impl, impls, dtype: str, chosen: tuple | None, profile: str) -> list[str]:
    """The modes the cell (impl, dtype) runs in, its framework's default first."""
    offered = modes_of(worker_name)
    if chosen:
        if "all" in chosen:
            return list(offered)
        wanted = set(chosen) | ({offered[0]} if "default" in chosen else set())
        return [m for m in offered if m in wanted]
    plan = plan_of(profile)
    if plan == "all":
        return list(offered)
    if plan != "sample":
        return [offered[0]]
    if worker_name.startswith("custom:"):
        return list(offered)
    from conformance.plan.variant_plan import is_variant

    turned = CI_ROTATED if dtype == dtype_turn(impl, impls) else ()
    if is_variant(impl):  # Keras-backend and policy rows: their own sample (conformance/plan/variant_plan.py);
        # a policy row in its default mode only (a policy is a precision dimension: thorough crosses it with modes)
        return [offered[0]] + [m for m in offered[1:] if m in turned and getattr(impl, "policy", None) is None]
    primary = is_primary(impl, impls)
    return [offered[0]] + [m for m in offered[1:] if m in turned or (primary and m in CI_SAMPLE
                           and impl.op in CI_SAMPLE[m][0] and dtype in CI_SAMPLE[m][1])]
