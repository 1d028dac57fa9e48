"""Shared fixtures for the report tests: results built by report_fixtures.py, written once per session. The
tests import report_fixtures by bare name: this folder goes on sys.path (the repository root is there already,
by pyproject's pythonpath)."""
from __future__ import annotations

import json
import sys
from pathlib import Path

import pytest

HERE = str(Path(__file__).resolve().parent)
if HERE not in sys.path:
    sys.path.insert(0, HERE)

from report_fixtures import build_results, to_jsonl  # noqa: E402


@pytest.fixture(scope="session")
def results_files(tmp_path_factory) -> dict[str, Path]:
    """base.json, new.json (one injected regression), gpu.json (cuda only) and base.jsonl."""
    d = tmp_path_factory.mktemp("results")
    files = {}
    for variant in ("base", "new", "gpu"):
        files[variant] = d / f"{variant}.json"
        files[variant].write_text(json.dumps(build_results(variant)), encoding="utf-8")
    files["jsonl"] = d / "base.jsonl"
    files["jsonl"].write_text(to_jsonl(build_results()), encoding="utf-8")
    return files


@pytest.fixture(scope="session")
def report_html(results_files, tmp_path_factory) -> tuple[Path, str]:
    """The report of the base run, rendered once: (path of index.html, its text)."""
    from conformance.report import write_report

    out = tmp_path_factory.mktemp("report")
    path = write_report(results_files["base"], out)
    return path, path.read_text(encoding="utf-8")
