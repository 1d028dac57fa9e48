"""run --shard K/N: a deterministic partition of the cells, balanced by an earlier run's timings; merging the
N shards gives the records of one unsharded run."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.plan.shard import ShardError, assign, load_timing, parse_shard, shard_cells

ROOT = Path(__file__).resolve().parents[2]
TIMING_FIELDS = ("elapsed_s", "timing")
SELECTION = ["--frameworks", "numpy", "--ops", "softmax,xlogy", "--dtypes", "float32,float64", "--profile", "quick",
             "--no-report"]


def test_parts_are_disjoint_cover_every_cell_and_do_not_depend_on_order():
    ids = [f"impl{i}|float32|cpu" for i in range(11)]
    parts = [shard_cells(ids, k, 3) for k in (1, 2, 3)]
    assert sorted(sum(parts, [])) == sorted(ids)
    assert [len(p) for p in parts] == [4, 4, 3]
    assert shard_cells(list(reversed(ids)), 2, 3) == list(reversed(parts[1]))  # the same cells, given order kept
    assert assign(ids, 3) == assign(list(reversed(ids)), 3)


def test_timings_balance_the_parts():
    weights = {"a": 10.0, "b": 4.0, "c": 3.0, "d": 2.0, "e": 1.0}
    parts = assign(weights, 2, weights)
    load = [sum(w for i, w in weights.items() if parts[i] == k) for k in (1, 2)]
    assert sorted(load) == [10.0, 10.0]  # unit weights would put a, c, e together: 14 vs 6
    unit = assign(weights, 2)
    assert sorted(sum(weights[i] for i in unit if unit[i] == k) for k in (1, 2)) == [6.0, 14.0]
    assert assign(["x", "new"], 2, {"x": 5.0})["new"] != assign(["x", "new"], 2, {"x": 5.0})["x"]


@pytest.mark.parametrize("text", ["0/2", "3/2", "1/0", "a/b", "2"])
def test_bad_shard_specs(text):
    with pytest.raises(ShardError):
        parse_shard(text)


def test_timing_file_errors_are_one_line(tmp_path):
    (tmp_path / "r.json").write_text(json.dumps({"run": {}}))
    with pytest.raises(ShardError, match="no per-cell timing"):
        load_timing(tmp_path / "r.json")


def _run(out: Path, cache: Path, *extra: str) -> subprocess.CompletedProcess:
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "conformance", "run", *SELECTION, "--cache", str(cache), "--out",
                             str(out), *extra], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode in (0, 1), result.stderr[-2000:]
    return result


def _records(path: Path) -> list:
    records = json.loads(path.read_text())["records"]
    out = [json.dumps({k: v for k, v in r.items() if k not in TIMING_FIELDS}, sort_keys=True) for r in records]
    return sorted(out)


def test_merged_shards_equal_an_unsharded_run(tmp_path):
    cache = tmp_path / "cache"
    whole = _run(tmp_path / "whole", cache)
    timing = tmp_path / "whole" / "results.json"
    for k in (1, 2):
        _run(tmp_path / f"shard{k}", cache, "--shard", f"{k}/2", "--shard-timing", str(timing))
    cells = [set(json.loads((tmp_path / f"shard{k}" / "results.json").read_text())["run"]["timing"]["cells"])
             for k in (1, 2)]
    assert cells[0] and cells[1] and not cells[0] & cells[1]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    merged = subprocess.run([sys.executable, "-m", "conformance", "merge", str(tmp_path / "shard1"),
                             str(tmp_path / "shard2"), "--out", str(tmp_path / "merged.json")], cwd=ROOT, env=env,
                            capture_output=True, text=True, timeout=300)
    assert merged.returncode == 0, merged.stderr
    assert _records(tmp_path / "merged.json") == _records(timing), whole.stdout[-2000:]
    assert json.loads((tmp_path / "shard1" / "results.json").read_text())["run"]["shard"] == "1/2"
    assert set(load_timing(tmp_path / "merged.json")) == cells[0] | cells[1]  # balances the next sharded run


def test_the_nightly_workflow_runs_every_shard_then_merges():
    yaml = pytest.importorskip("yaml", reason="PyYAML is not installed")
    flow = yaml.safe_load((ROOT / ".github" / "workflows" / "nightly.yml").read_text())
    jobs = flow["jobs"]
    shards = int(flow["env"]["SHARDS"])
    assert jobs["cpu"]["strategy"]["matrix"]["shard"] == list(range(1, shards + 1))
    run_step = next(s["run"] for s in jobs["cpu"]["steps"] if "--shard" in s.get("run", ""))
    assert '--shard "${{ matrix.shard }}/$SHARDS"' in run_step and "--shard-timing" in run_step
    assert "gpu" in jobs["gpu"]["runs-on"] and "--devices cuda" in str(jobs["gpu"]["steps"])
    assert set(jobs["merge"]["needs"]) == {"cpu", "gpu"} and "ce-conformance merge" in str(jobs["merge"]["steps"])
    caches = [s for s in jobs["cpu"]["steps"] if s.get("uses", "").startswith("actions/cache@")]
    assert "steps.fingerprint.outputs.value" in caches[0]["with"]["key"]
