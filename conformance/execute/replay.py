"""`python -m conformance replay CASE_ID --results FILE [--impl package.module:function]`: re-run one recorded
case and print the comparison.

A results file is data, possibly from someone else: nothing named in it is imported or called. The
implementation comes from the installed rows (the built-in frameworks' declared implementations) or, for a
`custom:...` record, from an `--impl package.module:function` given on replay's own command line; a record
naming anything else is refused with one line (exit 2). Op, dtype, device and the input tensors' dtypes are
checked against allow-lists before anything runs.
"""
from __future__ import annotations

from conformance.cases.case import Case
from conformance.plan.cells import find_implementation
from conformance.results.load import load_results
from conformance.results.errors import ResultsError
from conformance.results.stream import tensor_from_json
from reference.dtypes import DTYPE_NAMES

DTYPES = DTYPE_NAMES
DEVICES = ("cpu", "cuda")


class ReplayError(Exception):
    pass


def _custom(record: dict, impls: tuple, signature: str | None):
    from conformance.adapters.custom import SIGNATURES, CustomSpecError, parse_spec

    target = record["implementation"][len("custom:"):]
    if target not in impls:
        given = f" (given: {', '.join(impls)})" if impls else ""
        raise ReplayError(f"the record was made by the custom implementation {target!r}; replay never imports "
                          f"code named in a results file: pass --impl {target} to run it{given}")
    if signature is None:
        recorded = record["framework"].split(":", 1)[1]
        if recorded not in SIGNATURES.values():
            raise ReplayError(f"record's framework {record['framework']!r} is not a custom calling convention; "
                              f"pass --signature")
        signature = "tf" if recorded == "tensorflow" else recorded
    try:
        spec = parse_spec(target, record["op"], signature)
    except CustomSpecError as exc:
        raise ReplayError(str(exc))
    return spec.worker, [spec], find_implementation(spec.worker, spec.id, [spec])


def _implementation(record: dict, impls: tuple = (), signature: str | None = None):
    from conformance.adapters import FRAMEWORKS, availability

    framework = record["framework"]
    if framework.startswith("custom:") or record["implementation"].startswith("custom:"):
        if not (framework.startswith("custom:") and record["implementation"].startswith("custom:")):
            raise ReplayError(f"record's framework {framework!r} and implementation "
                              f"{record['implementation']!r} do not go together")
        return _custom(record, impls, signature)
    if framework not in FRAMEWORKS:
        raise ReplayError(f"record's framework {framework!r} is not an installed framework "
                          f"({', '.join(FRAMEWORKS)})")
    ok, info = availability(framework)
    if not ok:
        raise ReplayError(info)
    impl = find_implementation(framework, record["implementation"])
    if impl is not None:
        return framework, [], impl
    raise ReplayError(f"{record['implementation']!r} is not an implementation of the installed {info}")


def _checked_case(record: dict, case_id: str) -> Case:
    import reference

    if record["op"] not in reference.OPS:
        raise ReplayError(f"record's op {record['op']!r} is not a reference op")
    if record["dtype"] not in DTYPES or record["device"] not in DEVICES:
        raise ReplayError(f"record's dtype {record['dtype']!r} / device {record['device']!r} is not one of "
                          f"{', '.join(DTYPES)} / {', '.join(DEVICES)}")
    if not isinstance(record.get("params"), dict):
        raise ReplayError("record's params are not an object")
    try:
        inputs = {k: tensor_from_json(v) for k, v in record["inputs"].items()}
    except (ResultsError, ValueError, TypeError, OverflowError) as exc:
        raise ReplayError(f"record's inputs cannot be rebuilt: {exc}")
    from conformance.adapters.execution import MEMORY_LAYOUTS

    memory = record.get("memory") or "contiguous"
    if memory not in MEMORY_LAYOUTS:
        raise ReplayError(f"record's memory layout {memory!r} is not one of {', '.join(MEMORY_LAYOUTS)}")
    return Case(case_id, record["op"], record["dtype"], inputs, dict(record["params"]), "replay",
                modes=_mode_request(record, inputs), memory=memory)


def _mode(record: dict, framework: str) -> str | None:
    """The record's execution mode (None: none recorded, the framework's default), one its framework offers."""
    from conformance.adapters import execution

    mode = record.get("mode")
    if mode is not None and mode not in execution.modes_of(framework):
        raise ReplayError(f"record's execution mode {mode!r} is not one of {framework}'s "
                          f"({', '.join(execution.modes_of(framework))})")
    return mode


def _mode_request(record: dict, inputs: dict) -> dict | None:
    """A mode record's cotangent, tangents and hvp (its `derivative_request`) as the request its case was
    asked with, checked like the inputs (dtypes from the allow-list, a tangent only for a recorded input, of
    its shape); None for a plain record."""
    req = record.get("derivative_request")
    if req is None:
        return None
    if not isinstance(req, dict) or not isinstance(req.get("tangents", {}), dict) \
            or not isinstance(req.get("hvp", False), bool):
        raise ReplayError("record's derivative_request is not an object with cotangent, tangents and hvp")
    try:
        cot = None if req.get("cotangent") is None else tensor_from_json(req["cotangent"])
        tangents = {k: tensor_from_json(v) for k, v in (req.get("tangents") or {}).items()}
    except (ResultsError, ValueError, TypeError, OverflowError, KeyError, AttributeError) as exc:
        raise ReplayError(f"record's derivative_request cannot be rebuilt: {exc}")
    for name, t in tangents.items():
        if name not in inputs or t.shape != inputs[name].shape:
            raise ReplayError(f"record's tangent {name!r} does not match an input of its shape")
    out = {"cotangent": cot, "tangents": tangents, "hvp": bool(req.get("hvp"))}
    params = req.get("param_grads")
    if params is not None:
        if not isinstance(params, list) or not all(p in ("weight", "pos_weight") for p in params):
            raise ReplayError("record's derivative_request param_grads is not a list of weight parameters")
        out["param_grads"] = tuple(params)
    return out


def replay(case_id: str, results_path, implementation: str | None = None, dtype: str | None = None,
           log=print, impls=(), signature: str | None = None, exact=()) -> int:
    """Re-run every matching record; exit 1 when a replayed verdict is an unexpected failure.
    impls: the `package.module:function` targets given with --impl (the only code replay may import).
    exact: flat element indices whose exact decimals are printed for the value and each gradient,
    recomputed from the stored inputs (a record keeps only the ones a reader looks at)."""
    from conformance.judge import known
    from conformance.execute.reference_cache import ReferenceCache
    from conformance.execute.cell_runner import CellContext, evaluate_case
    from conformance.judge.severity import FAILING
    from conformance.execute.worker import Worker

    try:
        doc = load_results(results_path)
    except ResultsError as exc:
        raise ReplayError(str(exc))
    matches = [r for r in doc["records"] if r["case_id"] == case_id
               and (implementation is None or r["implementation"] == implementation)
               and (dtype is None or r["dtype"] == dtype) and r.get("inputs")]
    if not matches:
        raise ReplayError(f"no record with case id {case_id!r} in {results_path}")
    plans = [(record, _checked_case(record, case_id), _implementation(record, tuple(impls), signature))
             for record in matches]  # every record checked before anything runs
    modes = [_mode(record, worker_name) for record, _, (worker_name, _, _) in plans]
    refs = ReferenceCache()
    entries = known.load()
    code = 0
    for (record, case, (worker_name, specs, impl)), mode in zip(plans, modes):
        worker = Worker(worker_name, specs)
        try:  # in the record's execution mode and memory layout (the case's), as the run called it
            ctx = CellContext(impl, impl.framework, record.get("framework_version"), record["dtype"],
                              record["device"], worker, refs, mode=mode)
            new = evaluate_case(ctx, case)
        finally:
            worker.stop()
        known.classify(new, entries, FAILING)
        same = "same as recorded" if new["verdict"] == record["verdict"] else f"recorded: {record['verdict']}"
        log(f"{new['cell']} {case_id}: {new['verdict']} ({same})")
        if case.modes:
            log(f"  derivative parts (cotangent {'given' if case.modes['cotangent'] is not None else 'ones'}, "
                f"tangents {', '.join(case.modes['tangents']) or 'none'}, hvp {case.modes['hvp']}"
                f"{''.join(', d/d' + p for p in case.modes.get('param_grads') or ())}): "
                f"{', '.join(sorted((new['ulp'] or {}).get('derivs') or {}))}")
        log(f"  ulp {new['ulp']}  bound ratio {new['bound_ratio']}")
        if new["detail"]:
            log(f"  {new['detail']}")
        if new["exception"]:
            log(f"  raised {new['exception']['type']}: {new['exception']['message']}")
        code = max(code, 1 if new["unexpected"] else 0)
        if exact:
            _print_exact(refs.get(case.op, case.dtype, case.inputs, case.params), exact, log)
    return code


def _print_exact(ref, indices, log) -> None:
    """The exact decimal and the correctly rounded value of each requested element of every part."""
    import numpy as np

    if ref is None or isinstance(ref, Exception):
        log(f"  no reference for this case: {ref}")
        return
    for name, part in [("value", ref.value), *((f"grad:{k}", g) for k, g in ref.grads.items())]:
        digits = np.asarray(part.exact, dtype=object).ravel()
        rounded = np.asarray(part.rounded).astype(np.float64).ravel()
        for i in indices:
            if 0 <= i < digits.size:
                log(f"  {name}[{i}]: exact {digits[i]}, correctly rounded {rounded[i]!r}")
            else:
                log(f"  {name}[{i}]: no such element ({digits.size} elements)")
