"""Shrinking that stops early (a catalog twin's known divergence, or the step budget spent) rejects the new
candidates it meets, but an input that already passed must pass again when Hypothesis replays it: rejecting it
is an inconsistent result (FlakyFailure), which cost a whole cell its records (an internal error)."""
import json
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_stopped_shrink_replays_a_passing_input_as_passing(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("keras")
    # seed 0: the cell's first drawn failure (one class: the labels broadcast) is the mechanism of the catalog
    # case gce(C=1,three items,sum), so shrinking stops at once, and Hypothesis then replays an input that passed
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "ci", "--no-report",
                           "--seed", "0", "--out", str(out), "-q", "--jobs", "1", "--dtypes", "float64",
                           "--implementations", "keras.losses.CategoricalGeneralizedCrossEntropy@jax"],
                          cwd=ROOT, capture_output=True, text=True, timeout=600)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    assert doc["run"]["internal_errors"] == []
    cell = doc["run"]["timing"]["cells"]["keras.losses.CategoricalGeneralizedCrossEntropy@jax|float64|cpu"]
    assert cell["shrinks_skipped"] == 1
    assert any(r["source"] == "hypothesis" and r["minimal"] for r in doc["records"])
