"""`pytest conformance -n 2` gives the same records as a serial run (cells, case ids, verdicts, observed
values, reference answers), with both sharing one reference cache directory (written concurrently)."""
from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SELECTION = ["--ce-frameworks", "numpy", "--ce-ops", "softmax,log_softmax", "--ce-profile", "quick"]
COMPARED = ("cell", "implementation", "dtype", "device", "case_id", "source", "params", "inputs", "verdict",
            "part", "ulp", "bound_ratio", "observed", "exception", "reference", "unexpected", "minimal")


def _run(out: Path, cache: Path, *extra: str) -> int:
    cmd = [sys.executable, "-m", "pytest", "conformance", "-k", "test_cell", "-q", "-p", "no:cacheprovider", *SELECTION,
           "--ce-out", str(out), "--ce-cache", str(cache), *extra]
    return subprocess.run(cmd, cwd=ROOT, capture_output=True, text=True, timeout=300).returncode


def _records(out: Path) -> dict:
    """cell -> its records in order (a cell runs whole on one worker; Hypothesis may repeat an example)."""
    cells: dict = {}
    for path in sorted(out.glob("results-*.jsonl")):
        for line in path.read_text().splitlines():
            r = json.loads(line)
            if r.get("kind") != "record":
                continue
            cells.setdefault(r["cell"], []).append({k: r.get(k) for k in COMPARED})
    return cells


def test_parallel_run_gives_the_serial_records(tmp_path):
    cache = tmp_path / "cache"
    code_parallel = _run(tmp_path / "parallel", cache, "-n", "2")  # two workers fill an empty cache at once
    code_serial = _run(tmp_path / "serial", cache)
    parallel, serial = _records(tmp_path / "parallel"), _records(tmp_path / "serial")
    assert len(list((tmp_path / "parallel").glob("results-gw*.jsonl"))) == 2  # really two workers
    assert serial and set(parallel) == set(serial)
    for cell in serial:
        assert parallel[cell] == serial[cell], cell
    assert code_parallel == code_serial
    assert any(cache.rglob("*.json")) and not list(cache.rglob("*.tmp"))  # conformance/execute/reference_store.py entries
