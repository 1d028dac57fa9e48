"""compare's outputs for people and machines: compare_runs (load, compare, write), markdown (a pull-request comment) and JSON.

Both hold the same facts as the text output: the versions, the counts, and each change grouped as
regressions, behaviour changes, improvements, only-in-old and only-in-new, with the reasons. Markdown
escapes table cells (| and newlines) and caps each group's rows; JSON lists everything.
"""
from __future__ import annotations

import math

from conformance.results.strict_json import dumps
from conformance.results.load import load_results

from .compare import DEFAULT_ULP_THRESHOLD, Change, CompareResult, compare_results
from .numbers import fmt_metric

MARKDOWN_ROWS = 50


def _cell(text) -> str:
    text = " ".join(str(text if text is not None else "—").split())
    return text.replace("\\", "\\\\").replace("|", "\\|").replace("<", "&lt;").replace(">", "&gt;")[:300]


def _counts(r: CompareResult) -> dict:
    return {"regressions": len(r.regressions), "behaviour_changes": len(r.behaviour),
            "improvements": len(r.improvements), "unchanged": len(r.unchanged), "only_in_old": len(r.removed),
            "only_in_new": len(r.added), "implementations_only_in_old": len(r.impls_only_old),
            "implementations_only_in_new": len(r.impls_only_new)}


def to_markdown(r: CompareResult, max_rows: int = MARKDOWN_ROWS) -> str:
    verdict = "**regressed**" if r.regressions else "no regressions"
    lines = [f"### Conformance compare: {verdict}", ""]
    changed = [f"{fw} {o or '—'} → {n or '—'}" for fw, o, n in r.framework_changes if o != n]
    if changed:
        lines += ["Versions: " + ", ".join(_cell(c) for c in changed), ""]
    c = _counts(r)
    lines += ["| regressions | behaviour changes | improvements | unchanged | only in old | only in new "
              "| implementations only in old | implementations only in new |",
              "|---:|---:|---:|---:|---:|---:|---:|---:|",
              "| " + " | ".join(str(v) for v in c.values()) + " |", "",
              f"ULP threshold {fmt_metric(r.ulp_threshold)}; cases matched by content (inputs, params, dtype); "
              "identical output is unchanged whatever its ULP figure.", ""]
    for title, changes in r.groups():
        if not changes:
            continue
        lines += [f"<details{' open' if title == 'Regressions' else ''}><summary><b>{title} ({len(changes)})"
                  "</b></summary>", "",
                  "| implementation | dtype | device | case | part | verdict | why |", "|---|---|---|---|---|---|---|"]
        for ch in changes[:max_rows]:
            lines.append("| " + " | ".join(_cell(v) for v in (
                ch.implementation, ch.dtype, ch.device, ch.case_id, ch.part or "",
                f"{ch.old_verdict or '—'} → {ch.new_verdict or '—'}", "; ".join(ch.reasons))) + " |")
        if len(changes) > max_rows:
            lines.append(f"\n… {len(changes) - max_rows} more (see compare.html or --format json)")
        lines += ["", "</details>", ""]
    for title, impls in r.implementation_groups():
        if impls:
            lines += [f"<details><summary><b>{title} ({len(impls)})</b></summary>", "",
                      "The other run has no record of these rows (the release lacks them, or they were not selected).",
                      "", "| implementation | records |", "|---|---:|"]
            lines += [f"| {_cell(impl)} | {n} |" for impl, n in impls.items()]
            lines += ["", "</details>", ""]
    return "\n".join(lines).rstrip() + "\n"


def _change_json(ch: Change) -> dict:
    return {"kind": ch.kind, "implementation": ch.implementation, "op": ch.op, "dtype": ch.dtype,
            "device": ch.device, "case_id": ch.case_id, "part": ch.part, "old_verdict": ch.old_verdict,
            "new_verdict": ch.new_verdict, "reasons": list(ch.reasons)}


def to_json(r: CompareResult) -> str:
    doc = {
        "old": r.old_name, "new": r.new_name,
        "frameworks": [{"framework": fw, "old": o, "new": n} for fw, o, n in r.framework_changes],
        "ulp_threshold": r.ulp_threshold if math.isfinite(r.ulp_threshold) else "inf", "ignore_device": r.ignore_device,
        "ignore_mode": r.ignore_mode,
        "counts": _counts(r), "exit_code": r.exit_code,
        "regressions": [_change_json(c) for c in r.regressions],
        "behaviour_changes": [_change_json(c) for c in r.behaviour],
        "improvements": [_change_json(c) for c in r.improvements],
        "only_in_old": [_change_json(c) for c in r.removed],
        "only_in_new": [_change_json(c) for c in r.added],
        "implementations_only_in_old": dict(r.impls_only_old),
        "implementations_only_in_new": dict(r.impls_only_new),
    }
    return dumps(doc, indent=1)


FORMATS = {"text": lambda r: r.text, "markdown": to_markdown, "json": to_json}


def compare_runs(old_path, new_path, out_dir=None, ulp_threshold: float = DEFAULT_ULP_THRESHOLD,
                 ignore_device: bool = False, ignore_mode: bool = False) -> CompareResult:
    """Load two runs (paths or dicts), compare them, and when out_dir is given write out_dir/compare.html
    (and compare.md, compare.json, compare.txt beside it). ignore_mode: the eager-vs-compiled parity view
    (compare.compare_modes).
    Raises ReportInputError for bad input or an unwritable out_dir."""
    from .compare import compare_modes

    old, new = load_results(old_path), load_results(new_path)
    how = compare_modes if ignore_mode else compare_results
    result = how(old, new, ulp_threshold, ignore_device, old.get("source_path") or "old",
                 new.get("source_path") or "new")
    if out_dir is not None:
        from .html import prepare_out_dir, write_text
        from .html_compare import render_compare

        out = prepare_out_dir(out_dir)
        result.html_path = write_text(out / "compare.html", render_compare(result))
        write_text(out / "compare.md", to_markdown(result))
        write_text(out / "compare.json", to_json(result) + "\n")
        write_text(out / "compare.txt", result.text + "\n")
    return result
