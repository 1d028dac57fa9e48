"""run --junit: JUnit XML that validates against the schema CI systems read (tests/conformance/junit.xsd)."""
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.results import junit

from conformance.judge import known

etree = pytest.importorskip("lxml.etree")  # the test extra installs it (pyproject.toml)
ROOT = Path(__file__).resolve().parents[2]
SCHEMA = etree.XMLSchema(etree.parse(str(Path(__file__).with_name("junit.xsd"))))


def rec(case_id, verdict="accurate", unexpected=False, known_divergence=None, part=None, **extra):
    return {"cell": "optax.losses.sigmoid_focal_loss|float32|cpu", "implementation": "optax.losses.sigmoid_focal_loss",
            "dtype": "float32", "device": "cpu", "case_id": case_id, "verdict": verdict, "unexpected": unexpected,
            "known_divergence": known_divergence, "part": part, "detail": extra.pop("detail", ""),
            "ulp": {"value": 3}, "exception": extra.pop("exception", None), "elapsed_s": 0.25,
            "framework_version": "jax 0.10.2, optax 0.2.8", **extra}


def validate(path) -> "etree._ElementTree":
    doc = etree.parse(str(path))
    SCHEMA.assertValid(doc)
    return doc


def test_every_outcome_maps_to_junit_and_validates(tmp_path):
    entries = known.load()
    focal = next(e for e in entries if e.id == "optax-focal-label-gradient-masked")
    hostile = "bad \x00\x07 <script>alert(1)</script> ]]> & \"quotes\""
    records = [
        rec("hyp-1"),
        rec("hyp-2", "inaccurate", True, part="grad:y", detail="off by 40 ulp"),
        rec("hyp-3", "inaccurate", False, focal.id, part="grad:y"),
        rec("(bfloat16 not declared)", "unsupported", detail="does not declare bfloat16"),
        rec("hyp-4", "error_behaviour_mismatch", True, exception={"type": "ValueError", "message": hostile},
            detail=hostile),
    ]
    path = junit.write(tmp_path / "j.xml", records, entries, "out/results.json", {"started": "2026-11-30T01:00:00+00:00"},
                       strict_failures=[focal.id], internal_errors=["x|float32|cpu: KeyError: 'y'"])
    doc = validate(path)
    root = doc.getroot()
    assert (root.get("tests"), root.get("failures"), root.get("errors"), root.get("skipped")) == ("7", "3", "1", "2")
    cases = {c.get("name"): c for c in root.iter("testcase")}
    assert set(cases) >= {"hyp-1", "hyp-2 [grad:y]", "hyp-3 [grad:y]", "(bfloat16 not declared)", "hyp-4"}
    assert len(cases["hyp-1"]) == 0  # passed
    failure = cases["hyp-2 [grad:y]"].find("failure")
    assert failure.get("type") == "inaccurate" and failure.get("message") == "off by 40 ulp"
    assert ("repro: python -m conformance replay hyp-2 --results out/results.json --implementation "
            "optax.losses.sigmoid_focal_loss --dtype float32") in failure.text
    skipped = cases["hyp-3 [grad:y]"].find("skipped").get("message")
    assert skipped.startswith(f"known divergence {focal.id}: ") and focal.link in skipped
    assert cases["(bfloat16 not declared)"].find("skipped").get("message").startswith("unsupported")
    assert "<script>" in cases["hyp-4"].find("failure").text  # kept as text, escaped in the file
    assert "<script>" not in path.read_text()
    stale = cases[focal.id].find("failure")
    assert stale.get("type") == "fixed_upstream" and focal.link in stale.text
    assert root.find("testsuite[@name='known-divergences']/testcase/error") is not None


def test_the_schema_can_reject(tmp_path):
    bad = tmp_path / "bad.xml"
    bad.write_text('<testsuites><testsuite name="s" tests="1" failures="0" errors="0">'
                   '<testcase classname="c"/></testsuite></testsuites>')  # a testcase without a name
    with pytest.raises(etree.DocumentInvalid):
        validate(bad)


def test_run_junit_on_a_real_run_validates(tmp_path):
    out, xml = tmp_path / "out", tmp_path / "ci" / "junit.xml"
    result = subprocess.run([sys.executable, "-m", "conformance", "run", "--frameworks", "numpy", "--implementations",
                             "scipy.special.log_softmax", "--dtypes", "float64,float16", "--profile", "quick",
                             "--no-report", "-q", "--out", str(out), "--junit", str(xml)],
                            capture_output=True, text=True, cwd=ROOT, env=dict(os.environ, PYTHONPATH=str(ROOT)),
                            timeout=600)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    root = validate(xml).getroot()
    import json

    records = json.loads((out / "results.json").read_text())["records"]
    assert int(root.get("tests")) == len(records) == len(list(root.iter("testcase")))
    assert int(root.get("failures")) == sum(r["unexpected"] for r in records)
    skipped = [s.get("message") for s in root.iter("skipped")]
    assert any(m.startswith("known divergence scipy-log-softmax-dominant-class-is-zero: ") for m in skipped)
    assert {s.get("name") for s in root.iter("testsuite")} == {
        "scipy.special.log_softmax|float64|cpu", "scipy.special.log_softmax|float16|cpu"}
