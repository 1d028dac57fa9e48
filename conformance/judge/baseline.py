"""Judge a custom kernel relative to a built-in row: `--baseline IMPLEMENTATION_ID`.

Known divergences never apply to a custom kernel directly (a wrapper around torch would otherwise inherit
whatever an entry hides). With a baseline, every case on which the kernel fails is also run through the
built-in row (same inputs, params, dtype, device) and compared with the same reference; the baseline's
record is classified against the known divergences like any built-in record. The kernel's record then
  * passes when its verdict is the same as the baseline's or better: it is marked known as
    "baseline:<id>" and its detail names the baseline's verdict and known divergence;
  * fails (unexpected) when it is worse, with both verdicts and details in the record ("baseline") — the
    per-case diff the report shows.
A case the baseline row cannot take (params, inputs or axis it does not support) is judged on its own.
"""
from __future__ import annotations

import time

from conformance.cases.case import Case
from conformance.cases.layout import applicable
from conformance.execute.reference_cache import op_defaults
from conformance.results.stream import tensor_json
from conformance.judge import known
from conformance.judge.severity import STRICT_SPECIAL, rank


class BaselineError(Exception):
    """An unknown baseline id, or one for another op: one line, exit 2."""


def find(baseline_id: str, op: str):
    """(framework, Implementation) of a built-in row."""
    from conformance.plan.cells import find_implementation, installed_frameworks

    for name in installed_frameworks():
        impl = find_implementation(name, baseline_id)
        if impl is not None:
            if impl.op != op:
                raise BaselineError(f"--baseline {baseline_id}: computes {impl.op}, not {op}")
            return name, impl
    raise BaselineError(f"--baseline {baseline_id!r}: no such built-in implementation (see python -m conformance list)")


def _takes(impl, case: Case) -> bool:
    defaults = op_defaults(case.op)
    axis = impl.fixed_params.get("axis")
    if axis is not None and case.params.get("axis", axis) != axis:
        return False
    if not applicable(case, impl.params, impl.fixed_params, defaults):
        return False
    return impl.accepts is None or bool(impl.accepts(case.inputs, case.params))


def evaluate(ctx, case: Case, ref, record: dict, call_and_compare) -> None:
    """Run the baseline row on the case a custom kernel failed; keep its record under record["baseline"]."""
    impl, worker, version = ctx.baseline
    if record["verdict"] not in STRICT_SPECIAL:
        return
    out = {"implementation": impl.id, "framework": impl.framework, "framework_version": version, "op": impl.op,
           "dtype": case.dtype, "device": ctx.device, "case_id": case.id, "params": case.params,
           "inputs": record["inputs"], "reference": record["reference"], "observed": None, "verdict": None,
           "part": None, "detail": "the baseline does not take this case", "failing_elements": {}}
    record["baseline"] = out
    if ctx.dtype not in impl.dtypes or not _takes(impl, case):
        return
    started = time.perf_counter()
    outcome, payload, comparison, _ = call_and_compare(impl, worker, ctx.refs, case, ref, ctx.device, ctx.mode)
    if outcome == "ok":
        out["observed"] = {"value": tensor_json(payload.value),
                           "grad": {k: tensor_json(v) for k, v in payload.grads.items()}}
        if payload.derivs:
            out["observed"]["derivs"] = {k: tensor_json(v) for k, v in payload.derivs.items()}
    out.update(verdict=comparison.verdict, part=comparison.part, detail=comparison.detail,
               convention=comparison.convention, failing_elements=comparison.failing,
               elapsed_s=round(time.perf_counter() - started, 6))


def classify_records(records: list, entries: list, failing: frozenset) -> None:
    """The judging of one cell's records, for every path that runs cells (run, the Ray executor, the pytest
    plugin): each record against the known divergences, then a --baseline kernel's record against its
    baseline's (whose own classification does not count towards the entries' status)."""
    for record in records:
        known.classify(record, entries, failing)
        judge(record, lambda base: known.classify_quietly(base, entries, failing))


def judge(record: dict, classify) -> None:
    """After `classify(record)`: a failing kernel record whose baseline did as badly passes; worse fails."""
    base = record.get("baseline")
    if not base or base.get("verdict") is None:
        return
    classify(base)
    if not record.get("unexpected"):
        return
    known = base.get("known_divergence")
    summary = f"baseline {base['implementation']}: {base['verdict']}" + (f" (known: {known})" if known else "") \
        + (f" [{base['part']}] {base['detail']}" if base.get("detail") else "")
    if rank(record["verdict"]) >= rank(base["verdict"]):
        record["unexpected"] = False
        record["known_divergence"] = f"baseline:{base['implementation']}"
        record["detail"] = f"{record['detail']}; as the {summary}"
    else:
        record["detail"] = f"{record['detail']}; worse than the {summary}"
