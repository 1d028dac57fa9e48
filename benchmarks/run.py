"""python -m benchmarks [--quick] [--skip-ci] [--skip-reference] [--frameworks F ...] [--dtypes D ...] [--out PATH]

Measures, prints a table, and writes JSON (default benchmarks/results/latest.json):
  1. reference throughput on the 64 x 32768 float32 cross_entropy batch: fast path, arb path, plain mpmath
     (benchmarks/reference_bench.py);
  2. the ci profile, cold and warm reference cache: wall time, reference time, cases per second and
     overhead per implementation, compile counts (benchmarks/ci_bench.py).
A benchmark measures; the tests never time anything.
"""
from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import platform
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DEFAULT_OUT = HERE / "results" / "latest.json"


def machine() -> dict:
    cpu = platform.processor() or None
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    import flint
    import mpmath
    import numpy

    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(), "python": sys.version.split()[0],
            "numpy": numpy.__version__, "python_flint": flint.__version__, "mpmath": mpmath.__version__}


def _fmt(x, digits=3) -> str:
    if x is None:
        return "-"
    if isinstance(x, float):
        return f"{x:,.{digits}g}" if abs(x) < 1e4 else f"{x:,.0f}"
    return str(x)


def table(rows: list[list], header: list[str]) -> str:
    cells = [header] + [[_fmt(c) for c in r] for r in rows]
    widths = [max(len(r[i]) for r in cells) for i in range(len(header))]
    lines = ["  ".join(c.ljust(w) if i == 0 else c.rjust(w) for i, (c, w) in enumerate(zip(r, widths))) for r in cells]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


def report(doc: dict) -> str:
    return "\n".join([report_machine(doc), report_reference(doc), report_floor(doc), report_ci(doc),
                      report_split(doc), report_modes(doc), report_scaling(doc)]).strip()


def report_floor(doc: dict) -> str:
    fl = doc.get("floor")
    if not fl:
        return ""
    rows = [[f"{t['rows']} x {t['classes']}", t["numpy_float64_floor_s"], t["certified_float32_s"],
             t["certified_float64_s"], t["float32_over_floor"], t["float64_over_float32"], t["load_average_1m"]]
            for t in fl["throughput"]]
    out = ["\ncertified cross_entropy value + logits gradient vs the uncertified float64 NumPy floor "
           "(same batch, same process; targets: float32 <= 10x floor, float64 <= 4x float32):",
           table(rows, ["batch", "numpy f64 s", "certified f32 s", "certified f64 s", "f32 / floor", "f64 / f32",
                        "load"])]
    e = fl["end_to_end"]
    sp = e["last_split"]
    cpu = ""
    if "end_to_end_cpu_s" in e:
        cpu = (f"; CPU time: certification {e['certification_cpu_s']:.4f} s, end to end {e['end_to_end_cpu_s']:.4f} s "
               f"({e['end_to_end_over_certification_cpu']:.2f}x)")
    out.append(f"\none float32 cross_entropy case, C = {e['classes']} (load {e['load_average_1m']:.2f}; target 2x): "
               f"wall time: certification {e['certification_s']:.4f} s, end to end {e['end_to_end_s']:.4f} s "
               f"({e['end_to_end_over_certification']:.2f}x){cpu}\n  split: reference {sp.get('reference_s', 0):.4f} s "
               f"(of it exact strings + cond {sp['exact_strings_and_cond_s']:.4f} s), judge {sp['judge_s']:.4f} s, "
               f"record {sp['record_json_s']:.4f} s ({sp['record_bytes']:,} bytes), write {sp['write_s']:.4f} s")
    if "numbers_json_s" in e:
        out.append(f"  its three number lists (inputs, observed, rounded) as plain JSON numbers, as records held "
                   f"them before packing: {e['numbers_json_s']:.3f} s = {e['numbers_json_over_certification']:.1f}x "
                   f"the certification")
    if "record_floor" in e:
        f = e["record_floor"]
        cert = e["certification_cpu_s"] if "certification_cpu_s" in e else e["certification_s"]
        ms = {k: f"{v * 1e3:.3f} ms" for k, v in f.items()}
        out.append(f"  the floor of any record of it, each step timed alone (CPU): cache key {ms['key_s']}, "
                   f"approximations {ms['approximations_s']}, judge {ms['judge_s']}, inputs and observation "
                   f"base64 + CRC-32 + write {ms['encode_and_write_s']}: {ms['total_s']}; with the certification "
                   f"{cert * 1e3:.3f} ms: {(cert + f['total_s']) / cert:.2f}x (target 2x)")
    if "lane_transfer_s" in e:
        out.append(f"  a run on lanes also sends the record to its driver (pickle + unpickle): "
                   f"{e['lane_transfer_s']:.4f} s; the run's heap settings (conformance/execute/heap.py) "
                   f"{'in effect' if e.get('heap_kept') else 'not in effect'}")
    return "\n".join(out)


def report_split(doc: dict) -> str:
    """The ci runs' time split (cold and warm side by side) and the issue's targets, as one text block."""
    ci = doc.get("ci") or {}
    cold, warm = (ci.get("cold") or {}).get("split"), (ci.get("warm") or {}).get("split")
    if not cold:
        return ""
    from benchmarks.ci_bench import SPLIT_META

    def pct(split, k):
        on_wall = k in ("outside cells", "report (separate command)")
        base = split.get("wall_s") if on_wall else split.get("cell_s") or split.get("wall_s")
        return 100 * split[k] / base if base else None

    rows = [[k, cold[k], pct(cold, k), (warm or {}).get(k), pct(warm, k) if warm and k in warm else None]
            for k in cold if k not in SPLIT_META]
    jobs = cold.get("jobs", 1)
    out = [f"\nwhere the ci runs' time goes (seconds summed over cells; % of the cells' summed time, "
           f"{cold.get('cell_s', 0):.0f} s cold / {(warm or {}).get('cell_s', 0):.0f} s warm on {jobs} lane(s); "
           f"outside cells: % of the wall time):",
           table(rows, ["part", "cold s", "cold %", "warm s", "warm %"])]
    out.append("targets (issues 13 and 21):")
    for name in ("cold", "warm"):
        run = ci.get(name) or {}
        t, largest = run.get("targets"), run.get("largest_cell")
        if t:
            out.append(f"  {name}: wall {t['wall_s']:.1f} s on {t['jobs']} lane(s) (target <= 600 s); shrinking "
                       f"{100 * (t['shrinking_share'] or 0):.1f}% of the cells' time (target < 25%); reference "
                       f"{100 * (t['reference_share'] or 0):.1f}% of the cells' time"
                       + (" (target < 10% warm)" if name == "warm" else ""))
        if largest:
            out.append(f"  {name} largest cell: {largest['cell']}, {largest['wall_s']:.1f} s "
                       f"({100 * largest['share']:.1f}% of the run; target <= 10%)")
    return "\n".join(out)


def report_modes(doc: dict) -> str:
    modes = ((doc.get("ci") or {}).get("cold") or {}).get("modes")
    if not modes:
        return ""
    rows = [[m, v["cells"], v["wall_s"], v["calls"], v["call_s"], v["compiles"]] for m, v in sorted(modes.items())]
    return "\nthe cold ci run per execution mode:\n" + table(rows, ["mode", "cells", "wall s", "calls", "call s",
                                                                   "compiles"])


def report_scaling(doc: dict) -> str:
    rows = doc.get("compile_scaling")
    if not rows:
        return ""
    body = [[r["cell"], r["examples"], r["cases"], r["records"], r["catalog_records"], r["jax_compiles"], r["wall_s"]]
            for r in rows]
    return "\njax compiles as Hypothesis examples grow (one cell each, float32):\n" + table(
        body, ["cell", "examples", "cases", "records", "of them catalog", "jax compiles", "wall s"])


def report_machine(doc: dict) -> str:
    m = doc["machine"]
    carried = "".join(f"; {k} rows carried over from {v}" for k, v in sorted((doc.get("carried") or {}).items()))
    load = f", load average {doc['load_average']}" if doc.get("load_average") else ""
    return f"machine: {m['cpu']} ({m['cores']} cores), {m['platform']}, measured {doc['measured']}{load}{carried}"


SECTIONS = {"reference": ("reference", "floor"), "ci": ("ci", "compile_scaling")}


def carry_over(doc: dict, path: Path) -> None:
    """Keep the sections this run skipped (--skip-reference, --skip-ci) from the results file it replaces, each
    with the date it was measured (doc["carried"]), so one file holds every row."""
    try:
        old = json.loads(path.read_text())
    except (OSError, ValueError):
        return
    for keys in SECTIONS.values():
        if any(k in doc for k in keys):
            continue
        for k in keys:
            if k in old:
                doc[k] = old[k]
                doc.setdefault("carried", {})[k] = (old.get("carried") or {}).get(k) or old.get("measured")


def load_average() -> str | None:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return None


def report_reference(doc: dict) -> str:
    out = []
    ref = doc.get("reference")
    if ref:
        b = ref["batch"]
        out.append(f"\nreference throughput: {b['op']} value+grad, {b['rows']} x {b['classes']} {b['dtype']} "
                   f"({1 + b['rows'] * b['classes']:,} elements)")
        rows = [
            ["fast path (rounded + certified)", ref["fast_float32"]["seconds"], ref["fast_float32"]["elements_per_s"],
             ref["speedup_vs_mpmath"]["fast"], "measured on the whole batch"],
            ["  + exact strings (arb, deferred)", ref["fast_float32_exact_strings"]["seconds_extrapolated"],
             ref["fast_float32_exact_strings"]["elements_per_s"], None,
             f"{ref['fast_float32_exact_strings']['slice_rows']} row(s), extrapolated"],
            ["arb path (Ziv loop)", ref["arb_float32"]["seconds_extrapolated"], ref["arb_float32"]["elements_per_s"],
             ref["speedup_vs_mpmath"]["arb"], f"{ref['arb_float32']['slice_rows']} row(s), extrapolated"],
            [f"plain mpmath, {ref['mpmath_192']['bits']} bits", ref["mpmath_192"]["seconds_extrapolated"],
             ref["mpmath_192"]["elements_per_s"], 1.0,
             f"{ref['mpmath_192']['slice_rows']} row(s), extrapolated, backend {ref['mpmath_192']['backend']}"],
        ]
        f64 = ref["fast_float64_8x4096"]
        rows.append(["fast path float64, 8 x 4096", f64["seconds"], f64["elements_per_s"], None,
                     f"precision_bits {f64['precision_bits']}"])
        out.append(table(rows, ["path", "seconds", "elements/s", "x mpmath", "how"]))
    return "\n".join(out)


def report_ci(doc: dict) -> str:
    out = []
    ci = doc.get("ci")
    if ci:
        c, w = ci["cold"], ci["warm"]
        out.append(f"\nci profile ({ci['frameworks']}): cold {c['duration_s']:.1f} s, warm {w['duration_s']:.1f} s; "
                   f"reference time cold {ci['reference_seconds']['cold']:.2f} s, warm "
                   f"{ci['reference_seconds']['warm']:.2f} s "
                   f"({100 * (ci['reference_seconds']['warm_over_cold'] or 0):.1f}% of cold); "
                   f"{c['records']} records, {c['totals']['calls']} cases evaluated")
        rows = []
        for impl_id, s in sorted(c["implementations"].items(), key=lambda kv: (kv[1]["framework"] or "", kv[0])):
            comp = s["compiles"]
            rows.append([impl_id[:60], s["calls"], s["records"], s["wall_s"], s["cases_per_s"], s["call_s"],
                         s["reference_s"], s["overhead_ratio"],
                         ", ".join(f"{k}={v:.1f}" if isinstance(v, float) else f"{k}={v}"
                                   for k, v in sorted(comp.items())) or "-"])
        t = c["totals"]
        rows.append(["TOTAL (run wall time)", t["calls"], t["records"], c["duration_s"],
                     t["calls"] / c["duration_s"] if c["duration_s"] else None, t["call_s"], t["reference_s"],
                     t["overhead_ratio"], ""])
        out.append(table(rows, ["implementation (cold run)", "cases", "records", "wall s", "cases/s", "call s",
                                "ref s", "overhead", "compiles"]))
    return "\n".join(out)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks", description=__doc__.splitlines()[0])
    p.add_argument("--quick", action="store_true", help="one repetition per measurement")
    p.add_argument("--skip-ci", action="store_true", help="reference throughput only")
    p.add_argument("--skip-reference", action="store_true", help="ci runs only")
    p.add_argument("--frameworks", nargs="*", help="restrict the ci runs (default: all installed)")
    p.add_argument("--dtypes", nargs="*", help="restrict the ci runs to these dtypes (default: all)")
    p.add_argument("--keep", type=Path, help="keep the ci runs' output directories here")
    p.add_argument("--jobs", type=int, default=None, help="the ci runs' lanes (run --jobs; default: run's)")
    p.add_argument("--out", type=Path, default=DEFAULT_OUT)
    args = p.parse_args(argv)
    root = str(HERE.parent)
    if root not in sys.path:
        sys.path.insert(0, root)
    doc = {"measured": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"), "machine": machine(),
           "load_average": load_average()}
    print(report_machine(doc), flush=True)
    if not args.skip_reference:
        from benchmarks import reference_bench

        doc["reference"] = reference_bench.run(quick=args.quick)
        print(report_reference(doc), flush=True)
        from benchmarks import floor_bench

        doc["floor"] = floor_bench.run(quick=args.quick)
        print(report_floor(doc), flush=True)
    if not args.skip_ci:
        from benchmarks import ci_bench

        doc["ci"] = ci_bench.run(args.frameworks, args.keep, args.dtypes, args.jobs)
        print(report_ci(doc), flush=True)
        print(report_split(doc), flush=True)
        print(report_modes(doc), flush=True)
        if not args.frameworks or "jax" in args.frameworks:
            doc["compile_scaling"] = ci_bench.compile_scaling()
            print(report_scaling(doc), flush=True)
    carry_over(doc, args.out)
    args.out.parent.mkdir(parents=True, exist_ok=True)
    args.out.write_text(json.dumps(doc, indent=1, default=str) + "\n")
    md = args.out.with_suffix(".md")
    md.write_text(f"Measured by `python -m benchmarks` ({doc['measured']}).\n\n```\n{report(doc)}\n```\n")
    print(f"wrote {args.out} and {md}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
