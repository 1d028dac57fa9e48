"""Records of a pytest session (`--ce-out DIR`): each process (pytest-xdist worker, or the only one) streams a
results stream DIR/results-<worker>.jsonl (header, implementation lines, records; `merge` and `report` read
it), and at the end of the session the controller writes DIR/results.json for all of them together, with
the known-divergence status recomputed over every record."""
from __future__ import annotations

import datetime as dt
import os
import time
from pathlib import Path
from types import SimpleNamespace

from conformance.results.strict_json import dumps
from conformance.results.packed import pack_record
from conformance.results.stream import record_line

STREAM_GLOB = "results-*.jsonl"


def prepare_out(out: Path) -> None:
    """Create DIR; remove the streams and results.json an earlier session left there (they would be merged)."""
    out.mkdir(parents=True, exist_ok=True)
    for stale in list(out.glob(STREAM_GLOB)) + [out / "results.json"]:
        if stale.is_file():
            stale.unlink()


def _worker_id() -> str:
    return os.environ.get("PYTEST_XDIST_WORKER", "main")


def _header(options, config) -> dict:
    from conformance.execute.run import environment

    meta = SimpleNamespace(profile=options.profile, seed=options.seed, tf32=False,
                           argv=["pytest", *map(str, config.invocation_params.args)])
    return {"kind": "header", **environment(meta, {}, {}), "pytest_worker": _worker_id()}


class WorkerStream:
    """DIR/results-<worker>.jsonl: flushed after every cell."""

    def __init__(self, options, config):
        self.path = Path(options.out) / f"results-{_worker_id()}.jsonl"
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self.file = open(self.path, "w", encoding="utf-8")
        self.file.write(dumps(_header(options, config)) + "\n")
        self.seen: set[str] = set()
        self._flush()

    def write(self, impl, version, records) -> None:
        from conformance.execute.run import implementation_json

        if impl.id not in self.seen:
            self.seen.add(impl.id)
            self.file.write(dumps({"kind": "implementation", **implementation_json(impl, version)}) + "\n")
        for r in records:
            self.file.write(record_line(r, sort_keys=True) + "\n")
        if records:  # the cell's end marker, as results.jsonl has it
            self.file.write(dumps({"kind": "cell_end", "cell": records[0]["cell"], "records": len(records)}) + "\n")
        self._flush()

    def _flush(self) -> None:
        self.file.flush()
        os.fsync(self.file.fileno())

    def close(self) -> None:
        self.file.close()


def _counters() -> tuple:
    """The tallies a known-divergence entry accumulates while records are classified."""
    from dataclasses import fields

    from conformance.judge import known

    return tuple(f.name for f in fields(known.Divergence) if f.name not in known.KEYS)


def known_counts(entries) -> dict:
    """entry id -> its tallies (what an xdist worker sends to the controller)."""
    names = _counters()
    return {e.id: {n: getattr(e, n) for n in names} for e in entries if e.relation is None}


def _known_status(entries: list, counts_list: list[dict], implementations_run: set, frameworks_run: set,
                  strict: bool) -> dict:
    from conformance.judge import known

    known.reset(entries)
    for counts in counts_list:
        for e in entries:
            for name, value in counts.get(e.id, {}).items():
                setattr(e, name, getattr(e, name) + value)
    return known.status(entries, implementations_run, strict=strict, frameworks_run=frameworks_run)


def finish_session(session, own_counts: dict, state, options, entries: list) -> None:
    """The controller's (or single process's) end of session: --ce-strict-known, and DIR/results.json.
    `options` are the plugin's CeOptions and `entries` the session's known divergences (passed in by the
    plugin, which owns them)."""
    counts = state.worker_known or ([own_counts] if own_counts else [])
    impls_run = state.worker_impls | state.implementations_run
    if not counts:
        return
    status = _known_status(entries, counts, impls_run, state.frameworks_run, options.strict_known)
    if status["strict_failures"]:
        state.strict_failures = [f"known divergence {i!r} no longer occurs where it applies (fixed upstream?)"
                                 for i in status["strict_failures"]]
        if session.exitstatus == 0:
            session.exitstatus = 1
    if options.out is not None:
        state.results_path = write_results(Path(options.out), status)


def write_results(out: Path, known_status: dict) -> Path | None:
    """DIR/results.json from every DIR/results-*.jsonl of the session."""
    from conformance.results.load import load_results, summarize, validate

    streams = sorted(out.glob(STREAM_GLOB))
    if not streams:
        return None
    runs = [load_results(p) for p in streams]
    records, implementations = [], {}
    for run in runs:
        records += [{k: v for k, v in r.items() if k != "kind"} for r in run["records"]]
        for impl in run["implementations"]:
            implementations.setdefault(impl["id"], impl)
    run_meta = {k: v for k, v in runs[0]["run"].items() if k not in ("kind", "pytest_worker")}
    frameworks = {}
    for impl in implementations.values():
        if not str(impl.get("framework", "")).startswith("custom:"):
            frameworks.setdefault(impl["framework"], impl.get("version"))
    started = min(r["run"]["started"] for r in runs)
    run_meta.update(started=started, frameworks=frameworks,
                    finished=dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
                    duration_s=round(time.time() - dt.datetime.fromisoformat(started).timestamp(), 3),
                    pytest_workers=[r["run"].get("pytest_worker") for r in runs])
    doc = {"schema_version": 1, "run": run_meta, "implementations": list(implementations.values()),
           "records": [pack_record(r) for r in records], "known_divergences": known_status, "summary": summarize(records)}
    validate(doc, "pytest session results")
    target = out / "results.json"
    tmp = target.with_suffix(".json.tmp")
    tmp.write_text(dumps(doc, indent=1), encoding="utf-8")
    tmp.replace(target)
    return target
