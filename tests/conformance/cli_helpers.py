"""The command line in a fresh process, as the tests here run it: `python -m conformance` at the repository
root, this checkout first on PYTHONPATH (so the tests' own kernels import as tests.fault_impls, tests.mode_kernels)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]


def child_env() -> dict:
    """This process's environment with the checkout on PYTHONPATH."""
    return {**os.environ, "PYTHONPATH": str(ROOT)}


def conformance(*args: str, timeout: float = 600) -> subprocess.CompletedProcess:
    """`python -m conformance ARGS`, its output captured as text."""
    return subprocess.run([sys.executable, "-m", "conformance", *args], cwd=ROOT, env=child_env(),
                          capture_output=True, text=True, timeout=timeout)


def run_records(tmp_path: Path, name: str, *args: str) -> subprocess.CompletedProcess:
    """`conformance run --profile quick --no-report --no-cache --out tmp_path/name ARGS`; the result also has
    .out and .records (those of results.json, none when the run wrote none)."""
    out = tmp_path / name
    result = conformance("run", "--profile", "quick", "--no-report", "--no-cache", "--out", str(out), *args,
                         timeout=900)
    result.out = out
    from conformance.results.packed import unpack_record

    path = out / "results.json"  # large arrays unpacked, as the results reader hands them out
    result.records = [unpack_record(r) for r in json.loads(path.read_text())["records"]] if path.exists() else []
    return result
