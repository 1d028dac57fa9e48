"""`python -m conformance replay CASE_ID --results FILE`: re-run one recorded case and print the comparison."""
from __future__ import annotations

from conformance.cases.case import Case
from conformance.report import ReportInputError, load_results
from conformance.results import tensor_from_json


class ReplayError(Exception):
    pass


def _implementation(record: dict):
    from conformance.adapters import FRAMEWORKS, availability, implementations_for

    framework = record["framework"]
    if framework.startswith("custom:"):
        from conformance.custom import CustomSpecError, parse_spec

        target = record["implementation"][len("custom:"):]
        try:
            spec = parse_spec(target, record["op"], framework.split(":", 1)[1].replace("tensorflow", "tf"))
        except CustomSpecError as exc:
            raise ReplayError(str(exc))
        return spec.worker, [spec], next(i for i in implementations_for(spec.worker, [spec]))
    if framework not in FRAMEWORKS:
        raise ReplayError(f"record's framework {framework!r} is unknown here")
    ok, info = availability(framework)
    if not ok:
        raise ReplayError(info)
    for impl in implementations_for(framework):
        if impl.id == record["implementation"]:
            return framework, [], impl
    raise ReplayError(f"{record['implementation']} is not an implementation of the installed {info}")


def replay(case_id: str, results_path, implementation: str | None = None, dtype: str | None = None,
           log=print) -> int:
    """Re-run every matching record; exit 1 when a replayed verdict is an unexpected failure."""
    from conformance import known
    from conformance.refcache import ReferenceCache
    from conformance.runner import CellContext, evaluate_case
    from conformance.verdicts import FAILING
    from conformance.worker import Worker

    try:
        doc = load_results(results_path)
    except ReportInputError as exc:
        raise ReplayError(str(exc))
    matches = [r for r in doc["records"] if r["case_id"] == case_id
               and (implementation is None or r["implementation"] == implementation)
               and (dtype is None or r["dtype"] == dtype) and r.get("inputs")]
    if not matches:
        raise ReplayError(f"no record with case id {case_id!r} in {results_path}")
    refs = ReferenceCache()
    entries = known.load()
    code = 0
    for record in matches:
        worker_name, specs, impl = _implementation(record)
        worker = Worker(worker_name, specs)
        try:
            case = Case(case_id, record["op"], record["dtype"],
                        {k: tensor_from_json(v) for k, v in record["inputs"].items()}, record["params"], "replay")
            ctx = CellContext(impl, impl.framework, record.get("framework_version"), record["dtype"],
                              record["device"], worker, refs)
            new = evaluate_case(ctx, case)
        finally:
            worker.stop()
        known.classify(new, entries, FAILING)
        same = "same as recorded" if new["verdict"] == record["verdict"] else f"recorded: {record['verdict']}"
        log(f"{new['cell']} {case_id}: {new['verdict']} ({same})")
        log(f"  ulp {new['ulp']}  bound ratio {new['bound_ratio']}")
        if new["detail"]:
            log(f"  {new['detail']}")
        if new["exception"]:
            log(f"  raised {new['exception']['type']}: {new['exception']['message']}")
        code = max(code, 1 if new["unexpected"] else 0)
    return code
