"""A failure explained by a known divergence that also explains a failing catalog case of the cell is not
shrunk (the catalog case is its readable minimal witness); every other failure still is. The run's time
split fields (shrink_s, io_s, shrinks_skipped, jax_compile_s) are filled."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def _run(tmp_path, *args, seed: int = 0):
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "ci", "--no-report",
                           "--no-cache", "--seed", str(seed), "--out", str(out), "-q", *args],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    return json.loads((out / "results.json").read_text())


def test_a_known_divergence_with_a_catalog_twin_is_not_shrunk(tmp_path):
    pytest.importorskip("torch")
    # seed 1: Hypothesis draws a dominant-class failure in this cell (log-softmax-dominant-class-is-zero, which
    # the catalog case log_softmax(x=[-40,0,40]) also shows); seed 0 stopped drawing one when layouts came in
    doc = _run(tmp_path, "--frameworks", "torch", "--implementations", "torch.log_softmax", "--dtypes", "float32",
               seed=1)
    cell = doc["run"]["timing"]["cells"]["torch.log_softmax|float32|cpu"]
    records = doc["records"]
    catalog = {r["known_divergence"] for r in records if r["source"] == "catalog" and r["known_divergence"]}
    found = [r for r in records if r["source"] == "hypothesis" and r["known_divergence"] in catalog]
    assert found and cell["shrinks_skipped"] == len(found)
    assert all(r["minimal"] for r in found)  # kept as found (no separate shrunk record), marked minimal
    assert {"shrink_s", "io_s"} <= set(cell)


def test_a_failure_without_a_catalog_twin_is_still_shrunk(tmp_path):
    doc = _run(tmp_path, "--impl", "tests.slow_impls:half_softmax", "--op", "softmax", "--signature", "numpy",
               "--dtypes", "float32")
    cell = next(iter(doc["run"]["timing"]["cells"].values()))
    assert cell["shrinks_skipped"] == 0
    assert cell["calls"] > cell["records"] and cell["shrink_s"] > 0


def test_a_jax_run_reports_compile_seconds_in_their_own_field_and_validates(tmp_path):
    pytest.importorskip("jax")
    out = tmp_path / "jaxrun"
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "quick", "--no-report",
                           "--no-cache", "--frameworks", "jax", "--implementations", "jax.nn.sigmoid", "--dtypes",
                           "float32", "--out", str(out), "-q"], cwd=ROOT, capture_output=True, text=True,
                          timeout=600, env={**__import__("os").environ, "CE_CONFORMANCE_JAX_CACHE": "0"})
    assert proc.returncode in (0, 1), proc.stderr[-2000:]  # a schema violation would exit otherwise
    doc = json.loads((out / "results.json").read_text())
    cell = next(iter(doc["run"]["timing"]["cells"].values()))
    assert cell["compile_s"] > 0 and all(isinstance(v, int) for v in cell["compiles"].values())
    timed = [r["timing"] for r in doc["records"] if r["timing"].get("compile_s")]
    assert timed and all(isinstance(v, int) for t in timed for v in t["compiles"].values())


def test_shrinking_stops_at_a_shrunk_failure_that_a_catalog_twin_explains(tmp_path):
    pytest.importorskip("torch")
    # seed 0: this cell's first drawn failure is not explained like a failing catalog case of the cell, but a
    # candidate met while shrinking it is; the shrink ends there (twin_stops) and that candidate is the minimal
    doc = _run(tmp_path, "--frameworks", "torch", "--implementations", "torch.nn.NLLLoss", "--dtypes", "float16",
               "--jobs", "1")
    cell = doc["run"]["timing"]["cells"]["torch.nn.NLLLoss|float16|cpu"]
    records = doc["records"]
    twins = {r["known_divergence"] for r in records if r["source"] == "catalog" and r["known_divergence"]}
    minimal = [r for r in records if r["minimal"]]
    assert cell["twin_stops"] == 1 and cell["shrinks_skipped"] == 0
    assert len(minimal) == 1 and minimal[0]["known_divergence"] in twins
    from conformance.judge.severity import FAILING

    first = [r for r in records if r["source"] == "hypothesis" and r["verdict"] in FAILING and not r["minimal"]]
    assert first and first[0]["known_divergence"] not in twins
