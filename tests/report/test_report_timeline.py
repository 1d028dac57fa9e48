"""timeline: per finding, the first release that shows it and the first that no longer does."""
from __future__ import annotations

import copy
import json

from conformance.report.cli import timeline_main
from conformance.report.timeline import timeline_rows
from report_fixtures import build_results

IMPL = "torch.nn.functional.cross_entropy"


def _runs():
    base = build_results("base")
    runs = []
    for i, version in enumerate(["2.10.0", "2.11.0", "2.12.0", "2.13.0"]):
        doc = copy.deepcopy(base)
        doc["run"]["frameworks"]["torch"] = f"torch {version}"
        for r in doc["records"]:
            r["case_id"] = f"hyp-{i}-{r['case_id']}"  # each run names its cases differently: matched by content
            if r["implementation"] == IMPL and r["dtype"] == "float32" and r["case_id"].endswith("ce-basic") \
                    and i == 2:  # a regression introduced in 2.12.0 and fixed in 2.13.0
                r.update(verdict="inaccurate", part="grad:logits", detail="off")
        runs.append(doc)
    return runs


def test_a_finding_introduced_and_fixed_gets_both_releases():
    rows = timeline_rows(_runs())
    row = next(r for r in rows if r["implementation"] == IMPL and r["part"] == "grad:logits")
    assert (row["first"], row["gone"], "".join(row["pattern"])) == (2, 3, "..x.")
    assert row["dtypes"] == {"float32"} and row["cases"] == 1 and not row["reappears"]
    steady = [r for r in rows if r["first"] == 0 and r["gone"] is None]
    assert steady and all("".join(r["pattern"]) == "xxxx" for r in steady)


def _written(tmp_path, runs) -> list:
    """Each run's results document as tmp_path/r<i>.json, in order."""
    paths = [tmp_path / f"r{i}.json" for i in range(len(runs))]
    for path, doc in zip(paths, runs):
        path.write_text(json.dumps(doc))
    return paths


def test_timeline_cli_writes_markdown(tmp_path, capsys):
    paths = _written(tmp_path, _runs())
    out = tmp_path / "timeline.md"
    assert timeline_main([*map(str, paths), "--framework", "torch", "--out", str(out)]) == 0
    text = out.read_text()
    line = next(line for line in text.splitlines() if "| grad:logits |" in line)
    assert "| torch 2.12.0 | torch 2.13.0 |" in line and "`..x.`" in line
    assert timeline_main([str(paths[0]), "--out", str(out)]) == 2  # one run is not a timeline
    assert "at least two runs" in capsys.readouterr().err


def test_timeline_cli_writes_an_html_page_with_the_same_rows_escaped(tmp_path):
    runs = _runs()
    hostile = "<script>alert(1)</script>"
    for doc in runs:  # an implementation id from a results file is data: it must come out escaped
        for r in doc["records"]:
            if r["implementation"] == IMPL:
                r["implementation"] = IMPL + hostile
    paths = _written(tmp_path, runs)
    out = tmp_path / "timeline.html"
    assert timeline_main([*map(str, paths), "--framework", "torch", "--out", str(out)]) == 0
    page = out.read_text()
    assert page.startswith("<!DOCTYPE html>") and hostile not in page and "&lt;script&gt;" in page
    row = next(chunk for chunk in page.split("<tr>") if "grad:logits" in chunk)
    assert "torch 2.12.0" in row and "torch 2.13.0" in row and "..x." in row
    rows = timeline_rows(runs)
    assert page.count('<td class="presence">') == len(rows)  # every row of the markdown table, once
