"""The command line: bad input is one line and exit 2; crashes are recorded and the run goes on; a killed
run keeps its results and resumes."""
import json
import os
import signal
import subprocess
import sys

import pytest

from tests.conformance.cli_helpers import ROOT, child_env, conformance


@pytest.mark.parametrize("args,needle", [
    (["run", "--frameworks", "nonesuch"], "unknown framework 'nonesuch'"),
    (["run", "--ops", "softmaxx", "--frameworks", "numpy"], "unknown op 'softmaxx'"),
    (["run", "--dtypes", "float8", "--frameworks", "numpy"], "unknown dtype 'float8'"),
    (["run", "--devices", "tpu", "--frameworks", "numpy"], "unknown device 'tpu'"),
    (["run", "--profile", "forever", "--frameworks", "numpy"], "invalid choice: 'forever'"),
    (["run", "--signature", "fortran", "--impl", "tests.fault_impls:softmax", "--op", "softmax"], "invalid choice"),
    (["compare", "a.json", "b.json", "--format", "xml"], "invalid choice: 'xml'"),
    (["run", "--jobs", "0", "--frameworks", "numpy"], "--jobs '0': a whole number of lanes from 1 to 64"),
    (["run", "--impl", "no_colon", "--op", "softmax"], "expected package.module:function"),
    (["run", "--impl", "nosuchmodule:fn", "--op", "softmax"], "cannot import nosuchmodule"),
    (["run", "--impl", "tests.fault_impls:softmax"], "--impl needs --op"),
    (["run", "--resume", "--out", "/tmp/ce-no-such-run-dir"], "no results.jsonl"),
    (["report", "/nonexistent/results.json"], "results"),
    (["compare", "/nonexistent/a.json", "/nonexistent/b.json"], ""),
    (["replay", "x", "--results", "/nonexistent/results.json"], ""),
    (["frobnicate"], "invalid choice"),
    ([], "choose a command"),
])
def test_bad_input_is_one_line_and_exit_2(args, needle, tmp_path):
    if "--out" not in args and args and args[0] == "run":
        args = args + ["--out", str(tmp_path / "out")]
    result = conformance(*args)
    assert result.returncode == 2, result.stderr
    lines = [line for line in result.stderr.splitlines() if line.strip()]
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr and needle in lines[0]


def test_unwritable_output_directory(tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = conformance("run", "--frameworks", "numpy", "--out", str(blocker / "sub"))
    assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_truncated_and_foreign_results_files(tmp_path):
    truncated = tmp_path / "t.json"
    truncated.write_text('{"schema_version": 1, "run": {"started"')
    foreign = tmp_path / "f.json"
    foreign.write_text(json.dumps({"schema_version": 7, "records": []}))
    for path in (truncated, foreign):
        result = conformance("report", str(path), "--out", str(tmp_path / "r"))
        assert result.returncode == 2 and len(result.stderr.strip().splitlines()) == 1


def test_crashing_and_hanging_implementations_are_recorded_and_the_run_continues(tmp_path):
    out = tmp_path / "run"
    result = conformance("run", "--impl", "tests.fault_impls:segfault", "--impl", "tests.fault_impls:hang",
                         "--impl", "tests.fault_impls:raises", "--impl", "tests.fault_impls:softmax",
                         "--op", "softmax", "--signature", "numpy", "--dtypes", "float32", "--examples", "2",
                         "--timeout", "3", "--profile", "quick", "--out", str(out))
    assert result.returncode == 1, result.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    verdicts = {}
    for r in doc["records"]:
        verdicts.setdefault(r["implementation"], set()).add(r["verdict"])
    assert verdicts["custom:tests.fault_impls:segfault"] == {"crashed"}
    assert verdicts["custom:tests.fault_impls:hang"] == {"timeout"}
    assert "error_behaviour_mismatch" in verdicts["custom:tests.fault_impls:raises"]
    assert "accurate" in verdicts["custom:tests.fault_impls:softmax"]
    html = "".join(p.read_text() for p in [out / "index.html", *sorted((out / "cells").glob("*.html"))])
    assert "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html and "<script>alert('x')" not in html


def test_killed_run_keeps_its_records_and_resumes(tmp_path):
    out = tmp_path / "run"
    env = child_env()
    cmd = [sys.executable, "-m", "conformance", "run", "--frameworks", "numpy", "--profile", "quick",
           "--dtypes", "float32,float64", "--no-report", "--out", str(out)]
    proc = subprocess.Popen(cmd, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    cells_seen = 0
    for line in proc.stdout:
        cells_seen += "records" in line
        if cells_seen >= 3:
            break
    os.killpg(proc.pid, signal.SIGKILL)
    proc.wait()
    lines = (out / "results.jsonl").read_text().splitlines()
    done = {json.loads(line)["cell"] for line in lines[1:] if '"cell_end"' in line}  # finished cells
    assert len(done) >= 3 and not (out / "results.json").exists()
    result = conformance("run", "--frameworks", "numpy", "--profile", "quick", "--dtypes", "float32,float64",
                         "--no-report", "--resume", "--out", str(out))
    assert result.returncode in (0, 1), result.stderr[-2000:]
    doc = json.loads((out / "results.json").read_text())
    cells = [r["cell"] for r in doc["records"]]
    assert done <= set(cells)
    first_run_cells = [c for c in dict.fromkeys(cells) if c in done]
    assert len(first_run_cells) == len(done)
    assert not any(f"{c}: " in result.stdout for c in done)  # the done cells were not run again


def test_pytest_option_runs_a_custom_implementation():
    """`pytest conformance --ce-impl ...` is the pytest equivalent of `run --impl ...`: one test per cell."""
    env = child_env()
    args = [sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider", "conformance/test_conformance.py",
            "--ce-impl-op", "softmax", "--ce-impl-signature", "numpy", "--ce-dtypes", "float32,float64",
            "--ce-profile", "quick"]
    good = subprocess.run(args + ["--ce-impl", "tests.fault_impls:softmax"], cwd=ROOT, env=env, capture_output=True,
                          text=True, timeout=600)
    assert good.returncode == 0 and "2 passed" in good.stdout, good.stdout[-2000:]
    bad = subprocess.run(args + ["--ce-impl", "tests.fault_impls:raises"], cwd=ROOT, env=env, capture_output=True,
                         text=True, timeout=600)
    assert bad.returncode == 1 and "2 failed" in bad.stdout and "error_behaviour_mismatch" in bad.stdout


def test_console_script_version_and_help(monkeypatch, capsys):
    """`ce-conformance` (conformance.cli:console_main, the console script): --version, examples in --help."""
    from conformance import __version__
    from conformance.cli import console_main

    monkeypatch.setattr(sys, "argv", ["ce-conformance", "--version"])
    assert console_main() == 0
    assert capsys.readouterr().out.strip() == f"ce-conformance {__version__}"
    monkeypatch.setattr(sys, "argv", ["ce-conformance", "--help"])
    assert console_main() == 0
    out = capsys.readouterr().out
    assert out.startswith("usage: ce-conformance") and "examples:" in out and "--shard 2/8" in out
    monkeypatch.setattr(sys, "argv", ["ce-conformance", "run", "--profile", "nightly"])
    assert console_main() == 2
    assert "invalid choice: 'nightly'" in capsys.readouterr().err
