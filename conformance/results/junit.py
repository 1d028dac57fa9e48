"""`run --junit FILE`: the run as JUnit XML, the format Jenkins, GitLab, GitHub Actions reporters, Azure and
CircleCI read (the Surefire/Ant schema; tests/conformance/junit.xsd holds the subset written here).

<testsuites> holds one <testsuite> per cell (implementation | dtype | device) and one <testcase> per record,
i.e. per (case, part): classname "IMPLEMENTATION.DTYPE.DEVICE", name "CASE_ID [PART]".

  unexpected failure  <failure type=VERDICT message=DETAIL> with the replay command (the repro line), the
                      ULP errors and the exception, if any
  known divergence    <skipped message="known divergence ID: REASON (LINK)">
  unsupported         <skipped message="unsupported: DETAIL">
  anything else       passed
A stale known divergence under --strict-known is a failed testcase of the suite "known-divergences", and an
internal error of the suite a testcase with <error>. Text from results (exception messages, details) is
escaped by ElementTree; characters XML cannot carry are replaced.
"""
from __future__ import annotations

import os
import re
import xml.etree.ElementTree as ET
from collections import defaultdict
from pathlib import Path

from conformance.report.repro import replay_command

_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ud800-\udfff\ufffe\uffff]")
MAX_TEXT = 4000


def _text(value) -> str:
    return _NOT_XML.sub("?", str(value if value is not None else ""))[:MAX_TEXT]


def _case_name(record: dict) -> str:
    part = record.get("part")
    return f"{record['case_id']} [{part}]" if part else str(record["case_id"])


def _failure_text(record: dict, results_file: str) -> str:
    lines = [f"repro: {replay_command(record['case_id'], results_file, record['implementation'], record['dtype'])}",
             f"verdict: {record['verdict']}" + (f" ({record['part']})" if record.get("part") else "")]
    if record.get("detail"):
        lines.append(f"detail: {record['detail']}")
    if record.get("ulp"):
        lines.append(f"ulp: {record['ulp']}")
    exc = record.get("exception")
    if exc:
        lines.append(f"exception: {exc.get('type')}: {exc.get('message')}")
    lines.append(f"framework: {record.get('framework_version')}")
    return "\n".join(_text(line) for line in lines)


def build(records: list[dict], entries: dict, results_file: str, run: dict | None = None,
          strict_failures=(), internal_errors=()) -> ET.Element:
    """The <testsuites> element. `entries`: known-divergence id -> Divergence (reason, link)."""
    root = ET.Element("testsuites", name="ce-conformance")
    cells: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        cells[r.get("cell") or f"{r['implementation']}|{r['dtype']}|{r['device']}"].append(r)
    totals = defaultdict(int)
    timestamp = _text((run or {}).get("started") or "")[:19]
    for cell, recs in cells.items():
        suite = ET.SubElement(root, "testsuite", name=_text(cell))
        counts = defaultdict(int)
        for r in recs:
            case = ET.SubElement(suite, "testcase", classname=_text(f"{r['implementation']}.{r['dtype']}.{r['device']}"),
                                 name=_text(_case_name(r)), time=f"{float(r.get('elapsed_s') or 0):.6f}")
            counts["tests"] += 1
            if r.get("unexpected"):
                counts["failures"] += 1
                failure = ET.SubElement(case, "failure", type=_text(r["verdict"]),
                                        message=_text(r.get("detail") or r["verdict"]))
                failure.text = _failure_text(r, results_file)
            elif r.get("known_divergence"):
                counts["skipped"] += 1
                e = entries.get(r["known_divergence"])
                why = f"known divergence {r['known_divergence']}" + (f": {e.reason} ({e.link})" if e else "")
                ET.SubElement(case, "skipped", message=_text(why))
            elif r["verdict"] == "unsupported":
                counts["skipped"] += 1
                ET.SubElement(case, "skipped", message=_text(f"unsupported: {r.get('detail') or ''}"))
        _set_counts(suite, counts, timestamp)
        for k, v in counts.items():
            totals[k] += v
    if strict_failures or internal_errors:
        suite = ET.SubElement(root, "testsuite", name="known-divergences")
        counts = defaultdict(int)
        for entry_id in strict_failures:
            e = entries.get(entry_id)
            case = ET.SubElement(suite, "testcase", classname="known-divergences", name=_text(entry_id), time="0")
            failure = ET.SubElement(case, "failure", type="fixed_upstream",
                                    message=_text(f"known divergence {entry_id} no longer occurs (--strict-known)"))
            failure.text = _text(f"{e.reason}\n{e.link}" if e else entry_id)
            counts["tests"] += 1
            counts["failures"] += 1
        for text in internal_errors:
            case = ET.SubElement(suite, "testcase", classname="suite", name=_text(text.split(":", 1)[0]), time="0")
            ET.SubElement(case, "error", type="internal_error", message=_text(text))
            counts["tests"] += 1
            counts["errors"] += 1
        _set_counts(suite, counts, timestamp)
        for k, v in counts.items():
            totals[k] += v
    for key in ("tests", "failures", "errors", "skipped"):
        root.set(key, str(totals[key]))
    return root


def _set_counts(suite: ET.Element, counts: dict, timestamp: str) -> None:
    for key in ("tests", "failures", "errors", "skipped"):
        suite.set(key, str(counts[key]))
    suite.set("time", "0")
    if timestamp:
        suite.set("timestamp", timestamp)


def write(path, records: list[dict], entries: list, results_file, run: dict | None = None,
          strict_failures=(), internal_errors=()) -> Path:
    """Write the JUnit XML file (atomically: a temporary beside it, renamed)."""
    path = Path(path)
    root = build(records, {e.id: e for e in entries}, str(results_file), run, strict_failures, internal_errors)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    ET.ElementTree(root).write(tmp, encoding="utf-8", xml_declaration=True)
    os.replace(tmp, path)
    return path
