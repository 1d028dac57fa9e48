"""The README's findings table from a run: `python -m benchmarks.findings_table RESULTS.json`.

One row per framework group (torch; tensorflow + keras; jax + optax; numpy / scipy / sklearn): records,
conformance = (accurate + stable + convention) / applicable (unsupported and uncertified left out), and the
count of each verdict, as a Markdown table."""
from __future__ import annotations

import argparse
import sys
from collections import Counter

GROUPS = {"torch": "torch", "tensorflow": "tensorflow + keras", "jax": "jax + optax",
          "numpy": "numpy / scipy / sklearn"}
COLUMNS = ("accurate", "stable", "convention", "ieee_special", "inaccurate", "special_value_mismatch",
           "error_behaviour_mismatch")


def table(records: list[dict]) -> str:
    by = {}
    for r in records:
        by.setdefault(GROUPS.get(r["framework"], r["framework"]), Counter())[r["verdict"]] += 1
    lines = ["| framework | records | conformance | accurate | stable | convention | ieee_special | inaccurate "
             "| special value | error behaviour |", "|---|---|---|---|---|---|---|---|---|---|"]
    for name in [*GROUPS.values(), *sorted(set(by) - set(GROUPS.values()))]:
        c = by.get(name)
        if not c:
            continue
        applicable = sum(n for v, n in c.items() if v not in ("unsupported", "uncertified"))
        conforming = c["accurate"] + c["stable"] + c["convention"]
        pct = f"{100 * conforming / applicable:.1f}%" if applicable else "n/a"
        lines.append(f"| {name} | {sum(c.values()):,} | {pct} | " + " | ".join(f"{c[v]:,}" for v in COLUMNS) + " |")
    return "\n".join(lines)


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.findings_table", description=__doc__.splitlines()[0])
    p.add_argument("results")
    args = p.parse_args(argv)
    from conformance.results.load import load_results

    results = load_results(args.results)
    print(table(results["records"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
