"""A cell's budget (conformance/execute/cell_budget.py): a built-in row's cell in a non-default execution mode
runs the profile's `mode_cells` sample (ci), every other cell runs in full."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters.implementation import Implementation
from conformance.execute.cell_budget import mode_cell_sample, sampled_catalog, shrink_budget
from conformance.execute.cell_runner import CellContext
from conformance.plan.choices import PROFILES

ROOT = Path(__file__).resolve().parents[2]


def test_sampled_catalog_spreads_k_cases_over_the_catalog_in_order():
    cases = list(range(10))
    assert sampled_catalog(cases, 4) == [0, 3, 6, 9]
    assert sampled_catalog(cases, None) == cases and sampled_catalog(cases, 10) == cases
    assert sampled_catalog(cases, 1) == [0] and sampled_catalog(cases, 0) == []
    assert sampled_catalog([], 4) == []


def _ctx(mode, profile="ci", impl_id="torch.nn.functional.cross_entropy", framework="torch"):
    impl = Implementation(id=impl_id, framework=framework, op="cross_entropy", call=None, dtypes=("float32",))
    return CellContext(impl, framework, "torch 0", "float32", "cpu", worker=None, refs=None, profile=profile,
                       mode=mode)


def test_only_built_in_rows_in_a_non_default_mode_are_sampled_and_only_where_the_profile_says():
    sample = PROFILES["ci"]["mode_cells"]["compile"]
    assert mode_cell_sample(_ctx("compile")) == sample
    assert shrink_budget(_ctx("compile")) == sample["shrink_steps"] < shrink_budget(_ctx("eager"))
    assert mode_cell_sample(_ctx("eager")) is None  # torch's default mode: the whole cell
    assert mode_cell_sample(_ctx("compile", impl_id="custom:tests.mode_kernels:k")) is None  # custom kernels
    assert mode_cell_sample(_ctx("compile", profile="thorough")) is None
    assert mode_cell_sample(_ctx("jit", framework="jax", impl_id="jax.nn.log_softmax")) is None
    assert mode_cell_sample(_ctx("eager", framework="jax", impl_id="jax.nn.log_softmax")) == sample
    assert mode_cell_sample(_ctx("graph", framework="tensorflow", impl_id="tf.nn.log_softmax")) is None  # cheap


def test_a_jax_eager_cell_runs_the_sample_and_the_jit_cell_everything(tmp_path):
    pytest.importorskip("jax")
    pytest.importorskip("optax")
    out = tmp_path / "run"
    proc = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "ci", "--no-report", "--no-cache",
                           "--frameworks", "jax", "--implementations", "jax.nn.log_softmax", "--dtypes", "float32",
                           "--modes", "jit,eager", "--out", str(out), "-q"],
                          cwd=ROOT, capture_output=True, text=True, timeout=900)
    assert proc.returncode in (0, 1), proc.stderr[-2000:]
    records = json.loads((out / "results.json").read_text())["records"]
    by_mode: dict = {}
    for r in records:
        if not r.get("derivative_request"):
            by_mode.setdefault(r["mode"], []).append(r)
    catalog = {m: [r["case_id"] for r in rs if r["source"] == "catalog"] for m, rs in by_mode.items()}
    sample = PROFILES["ci"]["mode_cells"]["eager"]
    assert len(catalog["eager"]) == sample["catalog"] < len(catalog["jit"])
    assert catalog["eager"] == sampled_catalog(catalog["jit"], sample["catalog"])  # the same cases, spread
    drawn = [r for r in by_mode["eager"] if r["source"] == "hypothesis" and not r.get("minimal")]
    assert len(drawn) <= sample["examples"]
