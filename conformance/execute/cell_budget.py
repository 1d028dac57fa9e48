"""A cell's budget (conformance/execute/cell_runner.py runs the cell): shrinking counted in steps, not seconds
(StepClock, shrink_budget, shrink_element_budget: the profile's `shrink_steps` / `shrink_elements`, see
cell_runner's docstring), and the sample a cell in a non-default execution mode runs.

A built-in row's cell in an execution mode other than its framework's default (conformance/plan/mode_plan.py
picks them) runs the profile's `mode_cells` sample for that mode where it has one (ci: torch.compile and JAX
eager, where every new shape compiles at length): that many catalog cases spread evenly over the op's
catalog, that many Hypothesis examples and shrink steps (mode_cell_sample). The default-mode cell of the
same row runs the whole catalog and every example.
"""
from __future__ import annotations

import contextlib

from conformance.plan.choices import PROFILES


class StepClock:
    """Stands in for the `time` module inside Hypothesis's engine while a cell runs: its perf_counter reads 0
    until the cell's shrink budget is spent, then 10**18. The engine ends shrinking when perf_counter passes
    its shrink deadline (set at perf_counter() + MAX_SHRINKING_SECONDS when shrinking starts), so shrinking
    stops exactly when the budget is spent — counted in steps, the same on every machine — instead of after
    five minutes of wall-clock time or after the shrinker has tried (and we rejected) every remaining
    candidate, which for a long input takes the shrinker itself many minutes."""

    def __init__(self, real):
        self._real = real
        self.spent = False

    def perf_counter(self) -> float:
        return 1e18 if self.spent else 0.0

    def monotonic(self) -> float:
        return 0.0

    def __getattr__(self, name):
        return getattr(self._real, name)


@contextlib.contextmanager
def shrinking_by_steps(clock: StepClock):
    """Install the step clock in Hypothesis's engine and silence its reporter (its 'spent five minutes
    shrinking' warning would otherwise be printed when the budget ends shrinking)."""
    try:
        from hypothesis.internal.conjecture import engine
        from hypothesis.reporting import with_reporter
    except ImportError:  # pragma: no cover
        yield
        return
    saved = engine.time
    engine.time = clock
    try:
        with with_reporter(lambda *args, **kwargs: None):
            yield
    finally:
        engine.time = saved


def mode_cell_sample(ctx) -> dict | None:
    """The profile's `mode_cells` sample (conformance/plan/choices.py) when the cell is a built-in row's in an
    execution mode other than its framework's default, else None (the cell runs in full)."""
    from conformance.adapters.execution import default_mode

    sample = (PROFILES.get(ctx.profile, PROFILES["ci"]).get("mode_cells") or {}).get(ctx.mode)
    if not sample or ctx.mode == default_mode(ctx.framework) or str(ctx.impl.id).startswith("custom:"):
        return None
    return sample


def sampled_catalog(cases: list, k: int | None) -> list:
    """k cases spread evenly over `cases` (first and last included), in their order; all when k is None or
    at least their number."""
    if k is None or k >= len(cases):
        return cases
    if k <= 1:
        return cases[:max(k, 0)]
    return [cases[round(i * (len(cases) - 1) / (k - 1))] for i in range(k)]


def shrink_budget(ctx) -> int:
    sample = mode_cell_sample(ctx)
    if sample is not None and "shrink_steps" in sample:
        return int(sample["shrink_steps"])
    return int(PROFILES.get(ctx.profile, PROFILES["ci"]).get("shrink_steps", 40))


def shrink_element_budget(ctx) -> int:
    return int(PROFILES.get(ctx.profile, PROFILES["ci"]).get("shrink_elements", 100_000))
