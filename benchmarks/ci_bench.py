"""The ci profile end to end: a cold run (empty reference cache) and a warm re-run (same cache), both as
`python -m conformance run --profile ci`, summarised from their results.json:

  * wall time of each run, and the reference time inside it (run.reference_cache.seconds);
  * per implementation (run.timing.cells): cases evaluated (every Hypothesis example and shrinking step:
    `calls`), records kept, wall time, cases per second, seconds inside the framework call (measured in the
    worker) and in the reference, and the overhead ratio wall / (call + reference);
  * compile counts (JAX backend compiles and jaxpr traces, TF tf.function traces) against cases evaluated.
"""
from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def run_ci(out: Path, cache: Path, extra: list[str]) -> dict:
    cmd = [sys.executable, "-m", "conformance", "run", "--profile", "ci", "--out", str(out), "--no-report",
           "--cache", str(cache), "-q", *extra]
    t = time.perf_counter()
    env = {**os.environ, "CE_CONFORMANCE_JAX_CACHE": str(cache / "jax")}  # cold run: empty caches, both
    proc = subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, env=env)
    wall = time.perf_counter() - t
    path = out / "results.json"
    if not path.exists():
        raise RuntimeError(f"ci run failed (exit {proc.returncode}):\n{proc.stderr[-2000:]}")
    doc = json.loads(path.read_text())
    return {"process_wall_s": wall, "exit_code": proc.returncode, "doc": doc}


def time_split(run: dict, cells: dict) -> dict:
    """Where a run's time went. The cells' parts add up to the cells' summed wall time (`cell_s`): framework
    calls (their compiles apart), reference (its exact strings and cond apart), judging + Hypothesis (drawing,
    its engine, shrinking's own overhead, records: the rest of the cells' time) and writing records. With N
    lanes (run --jobs, `run.jobs`) cells run N at once, so `cell_s` is up to N x the wall time; `outside
    cells` is the wall time not covered by cells (start-up, imports, planning, the final results.json),
    estimated as wall - cell_s / N. `shrinking (all its work)` overlaps the parts: the wall time of the
    cells' shrinking phases, calls and reference included."""
    wall = float(run.get("duration_s") or 0.0)
    jobs = int(run.get("jobs") or 1)
    sums = {k: sum(float(c.get(k) or 0.0) for c in cells.values())
            for k in ("wall_s", "call_s", "reference_s", "shrink_s", "io_s")}
    compile_s = sum(float(c.get("compile_s") or (c.get("compiles") or {}).get("jax_compile_s", 0.0))
                    for c in cells.values())
    exact = float((run.get("reference_cache") or {}).get("exact_seconds") or 0.0)
    return {
        "wall_s": wall,
        "jobs": jobs,
        "cell_s": sums["wall_s"],
        "framework calls": sums["call_s"] - compile_s,
        "jax compiles": compile_s,
        "reference": sums["reference_s"] - exact,
        "exact strings + cond": exact,
        "judging + Hypothesis": sums["wall_s"] - sums["call_s"] - sums["reference_s"] - sums["io_s"],
        "writing records": sums["io_s"],
        "outside cells": max(0.0, wall - sums["wall_s"] / jobs),
        "shrinking (all its work)": sums["shrink_s"],
    }


SPLIT_META = ("wall_s", "jobs", "cell_s")  # time_split's keys that are not parts


def targets(summary: dict) -> dict:
    """The issue's ci targets for one run (a summarise() dict): shrinking's share of the cells' time (< 25%),
    the largest cell's share of the run's wall time (<= 10%), the reference's share of the cells' time
    (exact strings included; < 10% warm), and the wall time (<= 600 s)."""
    split, largest = summary["split"], summary.get("largest_cell") or {}
    cell_s = split.get("cell_s") or 0.0
    reference = split["reference"] + split["exact strings + cond"]
    return {"wall_s": split["wall_s"], "jobs": split.get("jobs", 1),
            "shrinking_share": split["shrinking (all its work)"] / cell_s if cell_s else None,
            "largest_cell": largest.get("cell"), "largest_cell_share": largest.get("share"),
            "reference_share": reference / cell_s if cell_s else None}


def mode_split(cells: dict) -> dict:
    """Per execution mode (conformance/adapters/execution.py; a cell without one ran in its framework's
    default): cells, wall seconds, calls, seconds inside the implementation, and compiles."""
    out: dict[str, dict] = {}
    for cell in cells.values():
        m = out.setdefault(cell.get("mode") or "default", {"cells": 0, "wall_s": 0.0, "calls": 0, "call_s": 0.0,
                                                          "compiles": 0})
        m["cells"] += 1
        for k in ("wall_s", "calls", "call_s"):
            m[k] += cell.get(k) or 0
        m["compiles"] += sum((cell.get("compiles") or {}).values())
    return out


def summarise(doc: dict) -> dict:
    run = doc["run"]
    cells = (run.get("timing") or {}).get("cells") or {}
    impls: dict[str, dict] = {}
    for cell in cells.values():
        s = impls.setdefault(cell["implementation"], {"cells": 0, "wall_s": 0.0, "calls": 0, "records": 0,
                                                      "call_s": 0.0, "reference_s": 0.0, "compiles": {}})
        s["cells"] += 1
        for k in ("wall_s", "calls", "records", "call_s", "reference_s"):
            s[k] += cell[k]
        for k, v in cell.get("compiles", {}).items():
            s["compiles"][k] = s["compiles"].get(k, 0) + v
    framework = {i["id"]: i["framework"] for i in doc["implementations"]}
    for impl_id, s in impls.items():
        s["framework"] = framework.get(impl_id)
        s["cases_per_s"] = s["calls"] / s["wall_s"] if s["wall_s"] else None
        inside = s["call_s"] + s["reference_s"]
        s["overhead_ratio"] = s["wall_s"] / inside if inside else None
    totals = {k: sum(s[k] for s in impls.values()) for k in ("wall_s", "calls", "records", "call_s", "reference_s")}
    inside = totals["call_s"] + totals["reference_s"]
    out = {
        "split": time_split(run, cells),
        "modes": mode_split(cells),
        "largest_cell": max(({"cell": c, "wall_s": t["wall_s"], "share": t["wall_s"] / run["duration_s"]}
                             for c, t in cells.items()), key=lambda d: d["wall_s"], default=None),
        "duration_s": run.get("duration_s"),
        "records": doc["summary"]["total"],
        "unexpected": doc["summary"]["unexpected"],
        "reference_cache": run.get("reference_cache"),
        "totals": {**totals, "overhead_ratio": run.get("duration_s", 0) / inside if inside else None},
        "implementations": impls,
    }
    out["targets"] = targets(out)
    return out


def ci_args(frameworks: list[str] | None = None, dtypes: list[str] | None = None) -> list[str]:
    """The run options of a narrowed ci benchmark (all installed frameworks and every dtype by default)."""
    return (["--frameworks", *frameworks] if frameworks else []) + (["--dtypes", *dtypes] if dtypes else [])


def run(frameworks: list[str] | None = None, keep: Path | None = None, dtypes: list[str] | None = None,
        jobs: int | None = None) -> dict:
    extra = ci_args(frameworks, dtypes) + (["--jobs", str(jobs)] if jobs else [])
    with tempfile.TemporaryDirectory(prefix="ce-bench-") as tmp:
        base = keep or Path(tmp)
        cache = Path(tmp) / "cache"
        cold = run_ci(base / "ci-cold", cache, extra)
        warm = run_ci(base / "ci-warm", cache, extra)
        t = time.perf_counter()
        subprocess.run([sys.executable, "-m", "conformance", "report", str(base / "ci-cold" / "results.json"),
                        "--out", str(base / "ci-cold-report")], cwd=ROOT, capture_output=True, text=True)
        report_s = time.perf_counter() - t
    c, w = summarise(cold["doc"]), summarise(warm["doc"])
    c["split"]["report (separate command)"] = report_s
    ref_cold, ref_warm = c["reference_cache"]["seconds"], w["reference_cache"]["seconds"]
    return {
        "frameworks": frameworks or "all installed",
        "dtypes": dtypes or "all",
        "cold": c, "warm": w,
        "process_wall_s": {"cold": cold["process_wall_s"], "warm": warm["process_wall_s"]},
        "reference_seconds": {"cold": ref_cold, "warm": ref_warm,
                              "warm_over_cold": ref_warm / ref_cold if ref_cold else None},
    }


SCALING_IMPLEMENTATIONS = ("jax.nn.log_softmax", "optax.losses.softmax_cross_entropy_with_integer_labels")


def compile_scaling(examples=(12, 48, 150), implementations=SCALING_IMPLEMENTATIONS) -> list[dict]:
    """JAX compile counts of single cells (float32, CPU) as the number of Hypothesis examples grows: with
    shapes drawn from fixed sets (conformance/cases/strategies.py) compiles level off while cases grow."""
    rows = []
    with tempfile.TemporaryDirectory(prefix="ce-bench-compiles-") as tmp:
        for n in examples:
            out = Path(tmp) / f"n{n}"
            cmd = [sys.executable, "-m", "conformance", "run", "--frameworks", "jax", "--implementations",
                   *implementations, "--dtypes", "float32", "--devices", "cpu", "--examples", str(n), "--out",
                   str(out), "--no-report", "--cache", str(Path(tmp) / "cache"), "-q"]
            subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True)
            doc = json.loads((out / "results.json").read_text())
            for cell, t in doc["run"]["timing"]["cells"].items():
                sources = {}
                for r in doc["records"]:
                    if r["cell"] == cell:
                        sources[r["source"]] = sources.get(r["source"], 0) + 1
                rows.append({"examples": n, "cell": cell, "cases": t["calls"], "records": t["records"],
                             "catalog_records": sources.get("catalog", 0),
                             "jax_compiles": t["compiles"].get("jax_compiles", 0), "wall_s": t["wall_s"]})
    return rows
