"""Merge runs from different machines (say a CPU box and a GPU box) into one results.json.

records            the union. A record is identified by (implementation, op, dtype, device, case_id, part, mode);
                   the same record in two runs is kept once when equal apart from timings (elapsed_s), and
                   is an error when the two runs disagree about it.
implementations    the union by id; dtypes, devices and grads lists are united, the first run's other fields
                   are kept, differing versions are joined with " | ".
run                started = earliest, finished = latest, duration_s = sum, profile/python/platform/cpu/gpu
                   the distinct values joined with " | ", seed = the first run's, tf32 = any, frameworks
                   united (differing versions joined), skipped_frameworks = skipped in some run and run in
                   none; timing.cells united (so a merge of shards balances the next `run --shard-timing`);
                   "sources" keeps every run's own metadata (with its path) for the report.
known_divergences  matched = union; fixed_upstream = union minus matched; unmatched = union minus both.
summary            recomputed from the merged records.
"""
from __future__ import annotations

import json
from pathlib import Path

from conformance.results.packed import pack_record
from conformance.results.strict_json import dumps, finite
from .errors import ReportInputError
from conformance.results.load import load_results, summarize, validate

TIMING_FIELDS = ("elapsed_s", "timing")


def _join(values) -> str | None:
    distinct = []
    for v in values:
        if v is not None and v not in distinct:
            distinct.append(v)
    return " | ".join(str(v) for v in distinct) if distinct else None


def _record_key(r: dict) -> tuple:
    from conformance.adapters.execution import default_mode

    mode = r.get("mode") or default_mode(str(r.get("framework", "")))
    return (r["implementation"], r["op"], r["dtype"], r["device"], r["case_id"], r.get("part"), mode)


def _comparable(r: dict) -> dict:
    """The record without its timings (and a stream's "kind"), non-finite numbers in the one encoding (a results.json written
    before it may hold bare Infinity where a results.jsonl holds "inf")."""
    return finite({k: v for k, v in r.items() if k not in TIMING_FIELDS and k != "kind"})


def _merge_runs_meta(runs: list[dict], names: list[str]) -> dict:
    started = [r["started"] for r in runs if r.get("started")]
    finished = [r.get("finished") for r in runs if r.get("finished")]
    durations = [r.get("duration_s") for r in runs]
    frameworks: dict[str, str | None] = {}
    for r in runs:
        for fw, ver in (r.get("frameworks") or {}).items():
            frameworks[fw] = _join([frameworks.get(fw), ver]) if fw in frameworks else ver
    ran = set(frameworks)
    skipped = {}
    for r in runs:
        for fw, why in (r.get("skipped_frameworks") or {}).items():
            if fw not in ran and fw not in skipped:
                skipped[fw] = why
    return {
        "schema_version": 1,
        "started": min(started) if started else "",
        "finished": max(finished) if finished else None,
        "duration_s": sum(d for d in durations if d is not None) if any(d is not None for d in durations) else None,
        "profile": _join(r.get("profile") for r in runs) or "",
        "seed": runs[0].get("seed", 0),
        "argv": ["merge", *names],
        "python": _join(r.get("python") for r in runs) or "",
        "platform": _join(r.get("platform") for r in runs) or "",
        "cpu": _join(r.get("cpu") for r in runs),
        "gpu": _join(r.get("gpu") for r in runs),
        "tf32": any(bool(r.get("tf32")) for r in runs),
        "frameworks": frameworks,
        "skipped_frameworks": skipped,
        "timing": {"cells": {c: t for r in runs for c, t in ((r.get("timing") or {}).get("cells") or {}).items()}},
        "sources": [dict(r, path=name) for r, name in zip(runs, names)],
    }


def _merge_implementations(lists: list[list[dict]]) -> list[dict]:
    merged: dict[str, dict] = {}
    for impls in lists:
        for impl in impls:
            cur = merged.get(impl["id"])
            if cur is None:
                merged[impl["id"]] = json.loads(json.dumps(impl))
                continue
            for field in ("dtypes", "devices", "grads"):
                if field in impl:
                    cur[field] = list(cur.get(field, [])) + [x for x in impl[field] if x not in cur.get(field, [])]
            if impl.get("version") != cur.get("version"):
                cur["version"] = _join([cur.get("version"), impl.get("version")])
    return list(merged.values())


def merge_results(runs: list[dict], names: list[str] | None = None) -> dict:
    """Merge already-loaded runs (see module docstring). Raises ReportInputError on conflicting records."""
    if not runs:
        raise ReportInputError("merge: no results given")
    names = names or [f"run {i + 1}" for i in range(len(runs))]
    records: dict[tuple, dict] = {}
    origin: dict[tuple, str] = {}
    for run, name in zip(runs, names):
        for r in run["records"]:
            key = _record_key(r)
            if key in records:
                if _comparable(records[key]) != _comparable(r):
                    raise ReportInputError(
                        f"merge: {origin[key]} and {name} disagree about {key[0]} {key[2]} {key[3]} {key[6]} case "
                        f"{key[4]!r}; merge runs of different cases or devices")
                continue
            records[key] = r
            origin[key] = name
    known = {"matched": set(), "fixed_upstream": set(), "unmatched": set()}
    for run in runs:
        for k in known:
            known[k].update((run.get("known_divergences") or {}).get(k, []))
    known["fixed_upstream"] -= known["matched"]
    known["unmatched"] -= known["matched"] | known["fixed_upstream"]
    merged_records = list(records.values())
    merged = {
        "schema_version": 1,
        "run": _merge_runs_meta([r["run"] for r in runs], names),
        "implementations": _merge_implementations([r.get("implementations", []) for r in runs]),
        "records": merged_records,
        "known_divergences": {**{k: sorted(v) for k, v in known.items()}, **_merged_entries(runs)},
        "summary": summarize(merged_records),
    }
    return validate(merged, "merged results")


def merge_runs(paths, out_path) -> Path:
    """Merge results files (results.json / results.jsonl / directories) into out_path (a results.json, or
    a directory to hold one). Returns the path written. Raises ReportInputError."""
    paths = list(paths)
    if len(paths) < 2:
        raise ReportInputError("merge: give at least two results files")
    runs = [load_results(p) for p in paths]
    merged = merge_results(runs, [r.get("source_path") or str(p) for r, p in zip(runs, paths)])
    out = Path(out_path)
    if out.is_dir():
        out = out / "results.json"
    if not out.parent.is_dir():
        raise ReportInputError(f"cannot write {out}: directory {out.parent} does not exist")
    try:
        text = dumps({**merged, "records": [pack_record(r) for r in merged["records"]]}, indent=1)
    except ValueError as e:
        raise ReportInputError(f"cannot write {out}: {e}") from None
    from .html import write_text

    return write_text(out, text)


def _merged_entries(runs) -> dict:
    """{"entries": [...]}: each known-divergence entry the runs recorded, once per id (the first run's)."""
    entries = {}
    for run in runs:
        for e in (run.get("known_divergences") or {}).get("entries", []) or []:
            if isinstance(e, dict) and e.get("id"):
                entries.setdefault(e["id"], e)
    return {"entries": list(entries.values())} if entries else {}
