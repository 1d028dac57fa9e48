"""Run implementations against the reference, cell by cell (implementation x dtype x device).

For each cell: the catalog's cases for the op, then Hypothesis examples (shrunk to a minimal input when
something fails). Each call goes to the framework's isolated worker; the reference is computed here (with a
cache keyed by the exact input bits). Records stream to DIR/results.jsonl as each cell finishes.

Reproducible on any machine: the same seed and versions give the same records however fast the machine is.
Hypothesis stops looking for further bugs 10 s after the first one and stops shrinking after 5 minutes of
wall-clock time; both would make the records depend on the machine's speed. So generation stops at the first
failure (report_multiple_bugs=False), and shrinking is bounded by steps: at most the profile's
`shrink_steps` new candidates, holding at most `shrink_elements` input elements together, are tried per
cell (counted in the property); after that every new candidate is
rejected unevaluated (a failing input already seen still fails, from memory) and the shrinker is stopped
(Hypothesis's shrink deadline is read from a clock that counts these steps, not seconds: StepClock), so it
ends with the smallest failure it has. A built-in row's cell in a non-default execution mode runs the
profile's smaller sample (conformance/execute/cell_budget.py: mode_cell_sample).
"""
from __future__ import annotations

import hashlib
import time
import warnings
from dataclasses import dataclass, field

from hypothesis import HealthCheck, Phase, assume, given, seed, settings
from hypothesis import strategies as st

from conformance.cases.build import catalog_cases
from conformance.cases.case import Case, mode_request_record
from conformance.cases.layout import applicable, move_class_axis
from conformance.cases.strategies import draw_case
from conformance.execute.cell_budget import (shrinking_by_steps, StepClock, mode_cell_sample, sampled_catalog,
                                             shrink_budget, shrink_element_budget)
from conformance.execute.mode_cases import run_modes
from conformance.plan.choices import PROFILES
from conformance.judge import policy
from conformance.judge.verdict import Comparison, compare, n_terms_for
from conformance.execute.reference_cache import ReferenceCache, op_defaults, warning_text
from conformance.results.stream import reference_json, tensor_json
from conformance.judge.severity import FAILING



COST_FIELDS = ("calls", "call_s", "reference_s", "compiles", "shrink_s", "io_s", "compile_s", "shrinks_skipped",
               "twin_stops")


def cell_costs(ctx) -> dict:
    """What a cell cost (CellContext's COST_FIELDS), as plain data: the run's cell timings and what a Ray actor
    sends back to the driver are this one dict."""
    return {name: (dict(getattr(ctx, name)) if name == "compiles" else getattr(ctx, name)) for name in COST_FIELDS}


@dataclass
class CellContext:
    impl: object
    framework: str
    version: str
    dtype: str
    device: str
    worker: object
    refs: ReferenceCache
    profile: str = "ci"
    seed: int = 0
    examples: int | None = None
    corpus: list = field(default_factory=list)  # conformance.cases.corpus.load(): cases replayed before Hypothesis
    records: list = field(default_factory=list)
    # what the cell's cases cost, every evaluated case counted (Hypothesis' shrinking steps too)
    calls: int = 0
    call_s: float = 0.0
    reference_s: float = 0.0
    compiles: dict = field(default_factory=dict)
    mark: float = field(default_factory=time.perf_counter)  # end of the previous case (or the cell's start)
    on_shrink: object = None  # called once with (ctx, record) when Hypothesis starts shrinking a failure
    shrink_s: float = 0.0     # wall time of the cell's shrinking (everything after the first failure)
    io_s: float = 0.0         # writing the cell's records (set by the run)
    compile_s: float = 0.0    # JAX backend compile seconds inside the cell's calls
    shrink_steps: int = 0     # shrink candidates evaluated in this cell
    shrink_elements: int = 0  # ... and their input elements
    pending_warnings: list = field(default_factory=list)  # main-process warnings for the next record
    baseline: tuple | None = None  # (built-in Implementation, its Worker, version): conformance/judge/baseline.py
    explains: object = None  # record -> the known divergence that explains it, or None (the run's entries)
    shrinks_skipped: int = 0  # failures not shrunk: explained like a catalog case of the cell (run_hypothesis)
    twin_stops: int = 0  # shrinks stopped at a shrunk failure explained like a catalog case of the cell
    mode: str | None = None  # execution mode (conformance/adapters/execution.py); None: the framework's default

    def __post_init__(self):
        from conformance.adapters import execution

        if self.mode is None:
            self.mode = execution.default_mode(self.framework)

    @property
    def cell(self) -> str:
        """IMPL|DTYPE|DEVICE, with |MODE appended for a mode other than the framework's default."""
        from conformance.adapters import execution

        return execution.cell_id(self.impl.id, self.dtype, self.device, self.mode, self.framework)

    @property
    def seed_cell(self) -> str:
        """The cell without its mode: every mode of a cell draws the same examples (eager vs compiled parity)."""
        return f"{self.impl.id}|{self.dtype}|{self.device}"


def cell_seed(run_seed: int, cell: str) -> int:
    return int.from_bytes(hashlib.sha256(f"{run_seed}:{cell}".encode()).digest()[:4], "little")


def make_record(ctx: CellContext, case: Case, ref, outcome: str, payload, comparison: Comparison,
                elapsed: float, seed_value=None) -> dict:
    observed = None
    exception = None
    if outcome == "ok":
        observed = {"value": tensor_json(payload.value),
                    "grad": {k: tensor_json(v) for k, v in payload.grads.items()},
                    "warnings": list(payload.warnings)}
        if payload.derivs:  # a mode case's parts (conformance/execute/mode_cases.py)
            observed["derivs"] = {k: tensor_json(v) for k, v in payload.derivs.items()}
    elif outcome == "raised":
        exception = {"type": payload[0], "message": payload[1]}
    elif outcome in ("crashed", "timeout"):
        exception = {"type": outcome, "message": str(payload)}
    record = {
        "cell": ctx.cell,
        "implementation": ctx.impl.id,
        "framework": ctx.framework,
        "framework_version": ctx.version,
        "op": ctx.impl.op,
        "dtype": ctx.dtype,
        "device": ctx.device,
        "mode": ctx.mode,
        "memory": case.memory,
        "case_id": case.id,
        "source": case.source,
        "params": case.params,
        "inputs": {k: tensor_json(v) for k, v in case.inputs.items()},
        "reference": reference_json(comparison.judged_ref or ref, observed, comparison.failing),
        "observed": observed,
        "exception": exception,
        "ulp": comparison.ulp,
        "bound_ratio": comparison.bound_ratio,
        "verdict": comparison.verdict,
        "part": comparison.part,
        "detail": comparison.detail,
        "convention": comparison.convention,
        "failing_elements": comparison.failing,
        "known_divergence": None,
        "unexpected": False,
        "minimal": False,
        "seed": seed_value,
        "elapsed_s": round(elapsed, 6),
    }
    record.update(policy.variant_fields(ctx.impl, comparison))  # backend, policy, judged_dtypes
    if case.modes:
        record["derivative_request"] = mode_request_record(case.modes)
    return record


def _applies(conv, case: Case) -> bool:
    return conv.applies is None or bool(conv.applies(case.inputs, case.params))


def raising_conventions(impl, case: Case) -> list:
    return [c for c in impl.conventions if c.raises and _applies(c, case)]


def convention_refs(impl, refs: ReferenceCache, case: Case):
    out = []
    for conv in impl.conventions:
        if not conv.ref_params or conv.raises or not _applies(conv, case):
            continue
        params = {**case.params, **conv.ref_params}
        out.append((conv, reference_for(refs, case, params)))
    return out


def reference_for(refs: ReferenceCache, case: Case, params: dict):
    """The reference's answer for the case with `params`: with the derivative parts for a mode case."""
    if case.modes:
        return refs.get_modes(case.op, case.dtype, case.inputs, params, case.modes)
    return refs.get(case.op, case.dtype, case.inputs, params)


def call_and_compare(impl, worker, refs: ReferenceCache, case: Case, ref, device: str, mode: str | None = None):
    """Call `impl` on the case in its worker (in execution mode `mode`, None: the framework's default) and
    judge what it did against the reference: (outcome, payload, Comparison, the convention references it was
    compared with)."""
    grads = tuple(g for g in impl.grads if g in case.inputs and case.inputs[g].dtype.kind != "i")
    if mode is None and case.memory == "contiguous":
        outcome, payload = worker.call(impl.id, case.inputs, case.params, case.dtype, device, grads,
                                       mode_request=case.modes)
    else:
        outcome, payload = worker.call(impl.id, case.inputs, case.params, case.dtype, device, grads,
                                       mode_request=case.modes, mode=mode, memory=case.memory)
    if outcome in ("crashed", "timeout"):
        return outcome, payload, Comparison(outcome, part="value", detail=str(payload)), ()
    observed = payload if outcome == "ok" else None
    exception = payload if outcome == "raised" else None
    value_shape = ref.value.shape if not isinstance(ref, Exception) else ()
    conv_refs = convention_refs(impl, refs, case) if observed is not None else ()
    ref, conv_refs, dtypes = policy.judged(impl, refs, case, ref, observed, conv_refs, convention_refs)
    comparison = compare(ref, observed, exception, impl, case.dtype, n_terms_for(case.inputs, value_shape),
                         conv_refs, raising_conventions(impl, case) if exception is not None else (), dtypes)
    policy.note(comparison, ref, dtypes)  # a policy row: the reference and dtypes its parts were judged in
    return outcome, payload, comparison, conv_refs


def evaluate_case(ctx: CellContext, case: Case, seed_value=None) -> dict:
    """Reference, call, compare: one record. Warnings raised here in the main process (numpy's overflow or
    invalid-value RuntimeWarnings while comparing) go into the record's `suite_warnings`, not the terminal."""
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        record = _evaluate_case(ctx, case, seed_value)
    seen = ctx.pending_warnings  # from _usable's reference answer for this case
    ctx.pending_warnings = []
    for text in [*map(_warning_text, caught), *ctx.refs.take_warnings()]:  # and the answers used since
        if text not in seen:
            seen.append(text)
    if seen:
        record["suite_warnings"] = seen
    return record


_warning_text = warning_text


def _evaluate_case(ctx: CellContext, case: Case, seed_value=None) -> dict:
    started = time.perf_counter()
    case.params = {**op_defaults(case.op), **case.params}  # every param spelled out, defaults included
    ref = reference_for(ctx.refs, case, case.params)
    outcome, payload, comparison, conv_refs = call_and_compare(ctx.impl, ctx.worker, ctx.refs, case, ref,
                                                               ctx.device, ctx.mode)
    record = make_record(ctx, case, ref, outcome, payload, comparison, time.perf_counter() - started, seed_value)
    _keep_convention_values(record, comparison, conv_refs)
    if ctx.baseline is not None:
        from conformance.judge import baseline

        baseline.evaluate(ctx, case, ref, record, call_and_compare)
    record["timing"] = _timing(ctx)
    output = getattr(ctx.worker, "last_output", None)
    if output:  # what the implementation printed (captured in its worker, truncated)
        record["output"] = output
    return record


def _keep_convention_values(record: dict, comparison: Comparison, conv_refs) -> None:
    """reference.conventions[KEY] = the reference recomputed with convention KEY's params (value and
    gradients), for each convention that explained a part: the report shows it beside exact and observed."""
    if not comparison.convention or not record.get("reference"):
        return
    keys = {k.strip() for k in comparison.convention.split(",")}
    kept = {}
    for conv, conv_ref in conv_refs:
        if conv.key in keys and conv.key not in kept and not isinstance(conv_ref, Exception):
            as_json = reference_json(conv_ref, record.get("observed"), comparison.failing)
            kept[conv.key] = {"value": as_json["value"], "grad": as_json["grad"]}
    if kept:
        record["reference"]["conventions"] = kept


def _timing(ctx: CellContext) -> dict:
    """call_s: inside the implementation (measured in its worker); reference_s: the reference's answers for
    this case (its usability check, conventions); total_s: wall time since the previous case of the cell
    ended (drawing the example included); compiles: JAX/TF compilations during the call."""
    now = time.perf_counter()
    call_s = getattr(ctx.worker, "last_call_s", None)
    compiles = dict(getattr(ctx.worker, "last_compiles", None) or {})
    compile_s = float(compiles.pop("jax_compile_s", 0.0))  # seconds, not a count: its own field
    ref_s = ctx.refs.take_seconds()
    total_s, ctx.mark = now - ctx.mark, now
    ctx.calls += 1
    ctx.call_s += call_s or 0.0
    ctx.reference_s += ref_s
    ctx.compile_s += compile_s
    for k, v in compiles.items():
        ctx.compiles[k] = ctx.compiles.get(k, 0) + v
    out = {"call_s": None if call_s is None else round(call_s, 6), "reference_s": round(ref_s, 6),
           "total_s": round(total_s, 6), "compiles": compiles}
    if compile_s:
        out["compile_s"] = round(compile_s, 6)
    return out


def _usable(ctx: CellContext, case: Case) -> bool:
    """Whether the case applies to the implementation and the reference accepts it. Warnings while the
    reference answers (the answer's own, replayed by the cache however it was found) are kept for the case's
    record (evaluate_case), not printed."""
    ctx.refs.take_warnings()  # answers handed out before this case are not its own
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        usable = _usable_quietly(ctx, case)
    ctx.pending_warnings = list(dict.fromkeys([*map(_warning_text, caught), *ctx.refs.take_warnings()]))
    return usable


def _usable_quietly(ctx: CellContext, case: Case) -> bool:
    impl = ctx.impl
    if not applicable(case, impl.params, impl.fixed_params, op_defaults(case.op)):
        return False
    if impl.accepts is not None and not impl.accepts(case.inputs, case.params):
        return False
    return not ctx.refs.rejects(case)


class _Failed(Exception):
    def __init__(self, record):
        super().__init__(record["detail"])
        self.record = record


def _no_source_constants() -> None:
    """Hypothesis (>= 6.131) also draws literals found in the source of every local module imported so far, so
    a cell's examples would depend on what ran before it in the process (a serial run and a pytest-xdist run
    would differ). The strategies here aim at the edges themselves: keep that pool empty, for every process."""
    try:
        from hypothesis.internal.conjecture import providers
    except ImportError:
        return
    if not hasattr(providers, "_get_local_constants") or getattr(providers, "_ce_no_source_constants", False):
        return
    empty = providers.Constants()
    providers._get_local_constants = lambda: empty
    providers._ce_no_source_constants = True
    providers.CONSTANTS_CACHE.cache.clear()


def run_hypothesis(ctx: CellContext, twins: frozenset = frozenset()) -> list[dict]:
    """Hypothesis examples for the cell; the first failure is shrunk (within a step budget) and its minimal
    input kept. A first failure that a known divergence explains which also explains a failing catalog case
    of the cell (`twins`: their ids; the catalog case is its readable minimal witness) is kept as found,
    unshrunk: shrinking it would only find that mechanism again. Shrinking also stops at the first shrunk
    failure such an entry explains (ctx.twin_stops counts those cells)."""
    kept, failures = [], []
    failed_by_key: dict[str, dict] = {}  # every failing input met, by Case.key(): replayed from memory
    passed_keys: set[str] = set()  # every input that passed: a replay of one stays valid (Hypothesis: not flaky)
    value = cell_seed(ctx.seed, ctx.seed_cell)
    sample = mode_cell_sample(ctx)
    n = ctx.examples if ctx.examples is not None else (
        sample["examples"] if sample is not None and "examples" in sample else PROFILES[ctx.profile]["examples"])
    if n <= 0:
        return []
    budget, element_budget = shrink_budget(ctx), shrink_element_budget(ctx)
    clock = StepClock(time)
    found_at = [0.0]  # when the first failure was met: shrinking starts there
    no_shrink = [False]

    _no_source_constants()

    @seed(value)
    @settings(max_examples=n, database=None, deadline=None, derandomize=False, print_blob=False,
              report_multiple_bugs=False, suppress_health_check=list(HealthCheck),
              phases=[Phase.generate, Phase.shrink])
    @given(st.data())
    def prop(data):
        case = draw_case(data, ctx.impl.op, ctx.dtype, ctx.impl.params, ctx.impl.fixed_params, ctx.profile,
                         getattr(ctx.impl, "memory_layouts", ("contiguous",)))
        key = case.key()
        record = failed_by_key.get(key) if failures else None  # a failure met before: from memory
        if record is None:
            if failures:  # shrinking: count the step; once the budget is spent, reject and stop the shrinker
                if no_shrink[0] or ctx.shrink_steps >= budget or ctx.shrink_elements >= element_budget:
                    clock.spent = True
                    if key in passed_keys:
                        return  # it passed before: rejecting it now is what Hypothesis calls a flaky test
                    assume(False)
                ctx.shrink_steps += 1
                ctx.shrink_elements += sum(int(a.size) for a in case.inputs.values())
            assume(_usable(ctx, case))
            record = evaluate_case(ctx, case, value)
        if record["verdict"] in FAILING:
            if not failures and ctx.on_shrink is not None:
                ctx.on_shrink(ctx, record)
            if not failures:
                found_at[0] = time.perf_counter()
            if not no_shrink[0] and twins and ctx.explains is not None and ctx.explains(record) in twins:
                no_shrink[0] = True  # the first failure, or a shrunk one, is a catalog twin's mechanism: stop here
                if failures:
                    ctx.twin_stops += 1
                else:
                    ctx.shrinks_skipped += 1
            failed_by_key[key] = record
            failures.append(record)
            raise _Failed(record)  # one raise site: Hypothesis tells failures apart by where they were raised
        passed_keys.add(key)
        if not failures:
            kept.append(record)

    finished = time.perf_counter
    try:
        with shrinking_by_steps(clock):
            prop()
    except _Failed as final:
        ctx.shrink_s += finished() - found_at[0]
        kept += _with_minimal(failures[0], [final])
    except BaseExceptionGroup as group:  # Hypothesis found several distinct failures: keep each minimal one
        ctx.shrink_s += finished() - found_at[0]
        found, rest = group.split(_Failed)
        if rest is not None:
            raise rest
        kept += _with_minimal(failures[0], _leaves(found))
    return kept


def _leaves(group):
    for exc in group.exceptions:
        yield from (_leaves(exc) if isinstance(exc, BaseExceptionGroup) else [exc])


def _with_minimal(first: dict, finals) -> list[dict]:
    """The first failure Hypothesis met, and the shrunk minimal input of every distinct failure."""
    minimal = list({f.record["case_id"]: dict(f.record, minimal=True) for f in finals}.values())
    return ([first] if first["case_id"] not in {m["case_id"] for m in minimal} else []) + minimal


def run_cell(ctx: CellContext) -> list[dict]:
    impl = ctx.impl
    reason = policy.unsupported_dtype(impl, ctx.dtype)  # not declared, or declared unsupported with a reason
    if reason:
        case = Case(id=f"({ctx.dtype} not {reason[0]})", op=impl.op, dtype=ctx.dtype, inputs={}, params={})
        return [make_record(ctx, case, None, "skipped", None, Comparison("unsupported", detail=reason[1]), 0.0)]
    if ctx.mode in impl.unsupported_execution:
        case = Case(id=f"({ctx.mode} mode not supported)", op=impl.op, dtype=ctx.dtype, inputs={}, params={})
        comparison = Comparison("unsupported", detail=f"{impl.id} does not run in mode {ctx.mode}: "
                                                      f"{impl.unsupported_execution[ctx.mode]}")
        return [make_record(ctx, case, None, "skipped", None, comparison, 0.0)]
    axis = impl.fixed_params.get("axis")
    records = []
    sample = mode_cell_sample(ctx)
    for case in sampled_catalog(catalog_cases(impl.op, ctx.dtype, ctx.profile, axis),
                                None if sample is None else sample.get("catalog")):
        case.params = {**impl.fixed_params, **case.params}
        if _usable(ctx, case):
            records.append(evaluate_case(ctx, case))
    records += replay_corpus(ctx, records)
    records += run_hypothesis(ctx, catalog_twins(ctx, records))
    from conformance.adapters.execution import default_mode

    if ctx.mode == default_mode(ctx.framework):  # derivative modes in the default execution mode only
        records += run_modes(ctx, evaluate_case, _usable, cell_seed)  # vjp / jvp / hvp cases of rows with modes
    return records


def known_explainer(entries: list, fails: frozenset):
    """record -> the id of the known divergence that explains it, or None (CellContext.explains): the run's
    entries classify a copy, their tallies untouched. The local run and each Ray actor build it alike, so a
    cell stops shrinking at a catalog twin wherever it runs."""
    from conformance.judge import known

    def explains(record: dict):
        probe = dict(record)
        known.classify_quietly(probe, entries, fails)
        return probe["known_divergence"]

    return explains


def catalog_twins(ctx: CellContext, records: list[dict]) -> frozenset:
    """The known divergences that explain a failing catalog record of the cell (none without ctx.explains)."""
    if ctx.explains is None:
        return frozenset()
    found = {ctx.explains(r) for r in records if r.get("source") == "catalog" and r["verdict"] in FAILING}
    return frozenset(found - {None})


def replay_corpus(ctx: CellContext, done: list[dict]) -> list[dict]:
    """The corpus cases of the cell's op and dtype that the implementation accepts, each once (a case the
    catalog already ran, by content, is not repeated)."""
    from conformance.cases.corpus import cases_for, content_key, record_key

    seen = {record_key(r) for r in done}
    ids = {r["case_id"] for r in done}
    out = []
    axis = ctx.impl.fixed_params.get("axis")
    for case in cases_for(ctx.corpus, ctx.impl.op, ctx.dtype):
        case.params = {**op_defaults(case.op), **case.params}
        if axis is not None:  # as the catalog's cases: at the axis the row computes along
            case = move_class_axis(case, axis)
        key = content_key(case.op, case.dtype, case.params, {k: tensor_json(v) for k, v in case.inputs.items()})
        if key in seen or not _usable(ctx, case):
            continue  # already run in this cell (the same bits, op, dtype and params), or not for this impl
        record = evaluate_case(ctx, case)
        if record["case_id"] in ids:  # same name, other content (e.g. another implementation's layout)
            record["case_id"] = f"{record['case_id']} [corpus {key[:8]}]"
        seen.add(key)
        ids.add(record["case_id"])
        out.append(record)
    return out
