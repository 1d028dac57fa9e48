"""Command-line mains: bad input gives exactly one line on stderr and exit status 2, never a traceback."""
from __future__ import annotations

import json
import subprocess
import sys

import pytest

from conformance.report.cli import compare_main, main, merge_main, report_main
from report_fixtures import build_results

ROOT = __import__("pathlib").Path(__file__).resolve().parents[2]


@pytest.fixture()
def bad(tmp_path, results_files):
    trunc = tmp_path / "trunc.json"
    trunc.write_text(json.dumps(build_results())[:1500])
    v2 = tmp_path / "v2.json"
    v2.write_text(json.dumps(dict(build_results(), schema_version=99)))
    blocker = tmp_path / "a-file"
    blocker.write_text("not a directory")
    return {"missing": str(tmp_path / "missing.json"), "truncated": str(trunc), "schema": str(v2),
            "good": str(results_files["base"]), "unwritable": str(blocker / "out")}


CASES = [
    ("report missing", lambda b: report_main([b["missing"], "--out", b["unwritable"]]), "no such file"),
    ("report truncated", lambda b: report_main([b["truncated"]]), "truncated JSON"),
    ("report schema", lambda b: report_main([b["schema"]]), "incompatible results schema_version 99"),
    ("report unwritable", lambda b: report_main([b["good"], "--out", b["unwritable"]]), "Not a directory"),
    ("report no args", lambda b: report_main([]), "required"),
    ("compare missing", lambda b: compare_main([b["good"], b["missing"]]), "no such file"),
    ("compare truncated", lambda b: compare_main([b["truncated"], b["good"]]), "truncated JSON"),
    ("compare schema", lambda b: compare_main([b["good"], b["schema"]]), "schema_version"),
    ("compare unwritable", lambda b: compare_main([b["good"], b["good"], "--out", b["unwritable"]]), "Not a directory"),
    ("compare threshold", lambda b: compare_main([b["good"], b["good"], "--ulp-threshold", "x"]), "not a number"),
    ("merge missing", lambda b: merge_main([b["good"], b["missing"], "--out", b["unwritable"]]), "no such file"),
    ("merge one input", lambda b: merge_main([b["good"], "--out", b["unwritable"]]), "at least two"),
    ("merge no out", lambda b: merge_main([b["good"], b["good"]]), "--out"),
    ("merge unwritable", lambda b: merge_main([b["good"], b["good"], "--out", b["unwritable"] + "/m.json"]),
     "does not exist"),
    ("unknown command", lambda b: main(["plot", b["good"]]), "expected one of report, compare, merge"),
]


@pytest.mark.parametrize("name, call, message", CASES, ids=[c[0] for c in CASES])
def test_bad_input_exits_2_with_one_line(bad, capsys, name, call, message):
    assert call(bad) == 2
    err = capsys.readouterr().err
    assert err.count("\n") == 1 and message in err and "Traceback" not in err


def test_report_main_prints_the_page_path(results_files, tmp_path, capsys):
    assert report_main([str(results_files["base"]), "--out", str(tmp_path)]) == 0
    assert capsys.readouterr().out.strip() == str(tmp_path / "index.html")


def test_as_a_process_bad_input_is_one_line_without_traceback(tmp_path):
    proc = subprocess.run([sys.executable, "-m", "conformance.report", "report", str(tmp_path / "nope.json")],
                          cwd=ROOT, capture_output=True, text=True, timeout=120)
    assert proc.returncode == 2
    assert proc.stderr.strip().count("\n") == 0 and "no such file" in proc.stderr and "Traceback" not in proc.stderr
