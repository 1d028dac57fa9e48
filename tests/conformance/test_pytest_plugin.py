"""The pytest plugin (conformance/pytest_plugin.py), run as a user would: from a directory outside the
checkout, `pytest -p conformance.pytest_plugin --pyargs conformance --ce-...` (the `pytest11` entry point
does the `-p` where the package is pip-installed)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance.results.strict_json import strict_loads

ROOT = Path(__file__).resolve().parents[2]


def _real_entries(*ids: str) -> str:
    """The bundled known_divergences.toml's entries with these ids, as TOML text (kept in step with it)."""
    text = (ROOT / "conformance" / "judge" / "known_divergences.toml").read_text()
    blocks = ["[[divergence]]" + b for b in text.split("[[divergence]]")[1:]]
    found = [b for b in blocks if any(f'id = "{i}"' in b for i in ids)]
    assert len(found) == len(ids), ids
    return "\n".join(found)


SCIPY_LOG_SOFTMAX = _real_entries("scipy-log-softmax-dominant-class-is-zero", "scipy-softmax-empty-rows-raise")
STALE = """
[[divergence]]
id = "fabricated-stale-entry"
implementation = "scipy.special.log_softmax"
verdicts = ["special_value_mismatch"]
reason = "a divergence that does not occur"
link = "https://example.invalid/stale"
"""
ONE_CELL = ["--ce-frameworks", "numpy", "--ce-implementations", "scipy.special.log_softmax", "--ce-dtypes", "float64",
            "--ce-devices", "cpu", "--ce-profile", "quick", "-k", "test_cell"]


def pytest_outside(cwd: Path, *args: str, target: str = "conformance.test_conformance") -> subprocess.CompletedProcess:
    """pytest from `cwd` on the installed package's cells (the metamorphic module, which imports every
    framework to collect, only where a test needs the whole package)."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    cmd = [sys.executable, "-m", "pytest", "-p", "conformance.pytest_plugin", "--pyargs", target, "-q",
           "-p", "no:cacheprovider", "-p", "no:randomly", *args]
    return subprocess.run(cmd, cwd=cwd, env=env, capture_output=True, text=True, timeout=600)


def test_runs_from_outside_the_checkout_with_xdist_and_merges_the_workers(tmp_path):
    out = tmp_path / "out"
    result = pytest_outside(tmp_path, "--ce-frameworks", "numpy", "--ce-ops", "xlogy,log_softmax",
                            "--ce-dtypes", "float64", "--ce-profile", "quick", "-k", "test_cell",
                            "-n", "2", "--ce-out", str(out), target="conformance")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "xfailed" in result.stdout and "passed" in result.stdout  # scipy log_softmax: a known divergence
    streams = sorted(out.glob("results-gw*.jsonl"))
    assert len(streams) == 2
    merged = strict_loads((out / "results.json").read_text())
    per_worker = [strict_loads(line) for p in streams for line in p.read_text().splitlines()]
    records = [r for r in per_worker if r["kind"] == "record"]
    assert merged["summary"]["total"] == len(records) > 0
    assert {r["cell"] for r in merged["records"]} == {r["cell"] for r in records}
    assert "scipy-log-softmax-dominant-class-is-zero" in merged["known_divergences"]["matched"]
    assert set(merged["run"]["pytest_workers"]) == {"gw0", "gw1"}
    # each worker's stream is a results stream the commands read
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    merge = subprocess.run([sys.executable, "-m", "conformance", "merge", *map(str, streams), "--out",
                            str(tmp_path / "merged.json")], cwd=ROOT, env=env, capture_output=True, text=True)
    assert merge.returncode == 0, merge.stderr
    assert len(json.loads((tmp_path / "merged.json").read_text())["records"]) == len(records)


def test_known_divergence_is_xfail_and_strict_known_fails_a_stale_entry(tmp_path):
    good = tmp_path / "known.toml"
    good.write_text(SCIPY_LOG_SOFTMAX)
    stale = tmp_path / "stale.toml"
    stale.write_text(SCIPY_LOG_SOFTMAX + STALE)
    strict_ok = pytest_outside(tmp_path, *ONE_CELL, "--ce-known", str(good), "--ce-strict-known")
    assert strict_ok.returncode == 0 and "1 xfailed" in strict_ok.stdout, strict_ok.stdout[-3000:]
    strict = pytest_outside(tmp_path, *ONE_CELL, "--ce-known", str(stale), "--ce-strict-known")
    assert strict.returncode == 1 and "1 xfailed" in strict.stdout, strict.stdout[-3000:]  # the cell itself is known
    assert "fabricated-stale-entry" in strict.stdout and "--ce-strict-known" in strict.stdout


def test_unexpected_finding_fails_with_the_repro_lines(tmp_path):
    empty = tmp_path / "none.toml"
    empty.write_text("")
    result = pytest_outside(tmp_path, *ONE_CELL, "--ce-known", str(empty), "--ce-out", str(tmp_path / "out"))
    assert result.returncode == 1 and "1 failed" in result.stdout, result.stdout[-3000:]
    assert "inaccurate [value]" in result.stdout
    assert "repro: python -m conformance replay" in result.stdout and str(tmp_path / "out" / "results.json") in result.stdout
    assert "re-run this cell: ce-conformance run --profile quick --seed 0 --dtypes float64" in result.stdout


def test_bad_options_are_usage_errors(tmp_path):
    for args, needle in [(["--ce-profile", "forever"], "invalid choice: 'forever'"),
                         (["--ce-dtypes", "float32,float8"], "unknown dtype 'float8'"),
                         (["--ce-frameworks", "nonesuch"], "unknown framework 'nonesuch'"),
                         (["--ce-ops", "softmaxx"], "unknown op 'softmaxx'"),
                         (["--ce-shard", "3/2"], "need 1 <= K <= N"),
                         (["--ce-impl", "tests.fault_impls:softmax"], "--ce-impl needs --ce-impl-op"),
                         (["--ce-frameworks", "numpy", "--ce-implementations", "nomatch*"],
                          "nothing to run: --ce-implementations 'nomatch*' matches no implementation of numpy"),
                         (["--ce-frameworks", "numpy", "--ce-ops", "nll_loss"],
                          "nothing to run: --ce-ops nll_loss matches no implementation of numpy")]:
        result = pytest_outside(tmp_path, *args)
        assert result.returncode == 4, (args, result.stdout[-1000:], result.stderr[-1000:])
        assert needle in result.stderr and "Traceback" not in result.stderr, (args, result.stderr)


def test_the_plugin_is_registered_once_with_the_checkout_conftest():
    """From the checkout the conftest registers the plugin unless it is already registered (`-p` here,
    or the entry point after pip install): no duplicate registration error either way."""
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    for extra in ([], ["-p", "conformance.pytest_plugin"]):
        result = subprocess.run([sys.executable, "-m", "pytest", *extra, "conformance/test_conformance.py", "--co", "-q",
                                 "-p", "no:cacheprovider", *ONE_CELL], cwd=ROOT, env=env, capture_output=True,
                                text=True, timeout=300)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        assert "test_cell[scipy.special.log_softmax|float64|cpu]" in result.stdout


def test_the_light_choices_module_agrees_with_the_suite():
    """conformance/plan/choices.py (imported by the plugin before anything heavy) lists what the suite runs."""
    from conformance.plan import choices
    from conformance.execute import run
    from conformance.execute import cell_runner as runner
    from conformance.adapters.custom import SIGNATURES
    from reference.dtypes import DTYPE_NAMES

    assert choices.ALL_DTYPES == DTYPE_NAMES == run.ALL_DTYPES
    assert choices.PROFILES is runner.PROFILES
    assert set(choices.SIGNATURES) == set(SIGNATURES)


def test_ce_shard_splits_the_collected_cells(tmp_path):
    """--ce-shard K/N collects the K-th part of the cells: the parts are disjoint and cover them all."""
    def collected(*extra):
        result = pytest_outside(tmp_path, "--co", "--ce-frameworks", "numpy", "--ce-dtypes", "float32,float64",
                                "-k", "test_cell", *extra)
        assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
        return {line for line in result.stdout.splitlines() if "test_cell[" in line}

    whole, first, second = collected(), collected("--ce-shard", "1/2"), collected("--ce-shard", "2/2")
    assert whole and first and second and not first & second and first | second == whole


def test_the_entry_point_loads_the_plugin_without_p(tmp_path):
    """Where the package is installed (its pytest11 entry point), no -p is needed."""
    from importlib.metadata import entry_points

    if not any(ep.value == "conformance.pytest_plugin" for ep in entry_points(group="pytest11")):
        pytest.skip("ce-conformance's pytest11 entry point is not installed here (pip install -e . installs it)")
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    result = subprocess.run([sys.executable, "-m", "pytest", "--pyargs", "conformance.test_conformance", "--co", "-q",
                             "-p", "no:cacheprovider", *ONE_CELL], cwd=tmp_path, env=env, capture_output=True,
                            text=True, timeout=300)
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert "test_cell[scipy.special.log_softmax|float64|cpu]" in result.stdout
