"""merge: union of records and implementations, run metadata kept per source."""
from __future__ import annotations

import json

import pytest

from conformance.report import ReportInputError, load_results, merge_runs, write_report
from conformance.report.cli import merge_main
from report_fixtures import build_results


def test_merge_unions_a_cpu_run_and_a_gpu_run(results_files, tmp_path):
    out = merge_runs([results_files["base"], results_files["gpu"]], tmp_path / "merged.json")
    merged = load_results(out)  # schema-valid
    base, gpu = build_results(), build_results("gpu")
    assert len(merged["records"]) == len(base["records"]) + len(gpu["records"])
    assert {r["device"] for r in merged["records"]} == {"cpu", "cuda"}
    impls = {i["id"]: i for i in merged["implementations"]}
    assert set(impls) == {i["id"] for i in base["implementations"]}
    assert impls["torch.nn.functional.cross_entropy"]["devices"] == ["cpu", "cuda"]
    run = merged["run"]
    assert [s["gpu"] for s in run["sources"]] == [None, "NVIDIA H100 80GB HBM3"]
    assert run["gpu"] == "NVIDIA H100 80GB HBM3" and run["started"] == "2026-11-24T06:00:00Z"
    assert run["frameworks"]["torch"] == "2.13.0 | 2.13.0+cu128"
    assert "tensorflow" not in run["skipped_frameworks"]  # skipped on the GPU box, run on the CPU box
    assert merged["summary"]["total"] == len(merged["records"])
    page = write_report(out, tmp_path / "report").read_text()
    assert "Merged from 2 runs" in page and ">cuda</th>" in page


def test_merging_the_same_run_twice_keeps_each_record_once(results_files, tmp_path):
    out = merge_runs([results_files["base"], results_files["jsonl"]], tmp_path)
    assert out.name == "results.json"
    assert len(json.loads(out.read_text())["records"]) == len(build_results()["records"])


def test_conflicting_records_are_an_error(results_files, tmp_path):
    assert merge_main([str(results_files["base"]), str(results_files["new"]), "--out", str(tmp_path / "m.json")]) == 2
    with pytest.raises(ReportInputError, match="disagree"):
        merge_runs([results_files["base"], results_files["new"]], tmp_path / "m.json")
    assert not (tmp_path / "m.json").exists()
