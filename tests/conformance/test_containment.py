"""Workers are contained: nothing an implementation starts outlives the run, a memory cap turns a hungry
implementation into `crashed: memory`, and what an implementation prints stays in its record."""
import contextlib
import io
import json
import time
from pathlib import Path

import numpy as np

from conformance import cli
from conformance.adapters.custom import CustomSpec
from conformance.execute.worker import OUTPUT_LIMIT, Worker
from tests.conformance.cli_helpers import conformance as run_cli

X = {"x": np.asarray([[0.0, 1.0]], np.float32)}


def custom_run(name, out, *extra):
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = cli.main(["run", "--impl", f"tests.fault_impls:{name}", "--op", "softmax", "--signature", "numpy",
                         "--dtypes", "float32", "--examples", "0", "--no-cache", "--no-report", "--out", str(out),
                         *extra])
    return code, err.getvalue()


def alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except (OSError, IndexError):
        return False
    return state != "Z"  # a zombie has exited (only its parent's reaping is pending)


def test_a_process_an_implementation_starts_does_not_outlive_the_run(tmp_path, monkeypatch):
    pid_file = tmp_path / "pids"
    monkeypatch.setenv("CE_TEST_PID_FILE", str(pid_file))
    code, err = custom_run("orphan", tmp_path / "run")
    assert code == 0, err
    pids = [int(p) for p in pid_file.read_text().split()]
    assert pids
    deadline = time.monotonic() + 10
    while any(alive(p) for p in pids) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert not [p for p in pids if alive(p)]


def test_a_timed_out_case_takes_its_children_with_it(tmp_path, monkeypatch):
    monkeypatch.setenv("CE_TEST_PID_FILE", str(tmp_path / "pids"))
    w = Worker("custom:numpy", [CustomSpec("tests.fault_impls:orphan", "softmax", "numpy")])
    try:
        assert w.call("custom:tests.fault_impls:orphan", X, {"axis": -1}, "float32", "cpu", ())[0] == "ok"
        (pid,) = [int(p) for p in (tmp_path / "pids").read_text().split()]
        assert alive(pid)  # between cases a child may live on (a framework's helper processes do)...
        w._kill()  # ...until the worker is killed (timeout, crash) or stopped
        deadline = time.monotonic() + 10
        while alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        assert not alive(pid)
    finally:
        w.stop()


def test_memory_errors_are_crashes_and_the_worker_comes_back():
    specs = [CustomSpec(f"tests.fault_impls:{n}", "softmax", "numpy") for n in ("hungry", "impossible", "softmax")]
    w = Worker("custom:numpy", specs, max_memory=1 << 30)
    try:
        status, detail = w.call("custom:tests.fault_impls:hungry", X, {"axis": -1}, "float32", "cpu", ())
        assert status == "crashed" and detail.startswith("memory:") and "1024 MiB" in detail
        status, detail = w.call("custom:tests.fault_impls:impossible", X, {"axis": -1}, "float32", "cpu", ())
        assert status == "crashed" and detail.startswith("memory:") and "MemoryError" in detail
        status, observed = w.call("custom:tests.fault_impls:softmax", X, {"axis": -1}, "float32", "cpu", ())
        assert status == "ok" and w.restarts == 2
    finally:
        w.stop()
    uncapped = Worker("custom:numpy", specs[1:2])
    try:  # no cap: an impossible allocation is still a memory crash, not an ordinary exception
        status, detail = uncapped.call("custom:tests.fault_impls:impossible", X, {"axis": -1}, "float32", "cpu", ())
        assert status == "crashed" and detail.startswith("memory:")
    finally:
        uncapped.stop()


def test_max_worker_memory_records_crashed_memory(tmp_path):
    code, err = custom_run("hungry", tmp_path / "run", "--max-worker-memory", "1G")
    assert code == 1, err
    records = json.loads((tmp_path / "run" / "results.json").read_text())["records"]
    assert records and all(r["verdict"] == "crashed" and r["exception"]["message"].startswith("memory:")
                           for r in records)
    code, err = custom_run("hungry", tmp_path / "bad", "--max-worker-memory", "lots")
    assert code == 2 and "not a size" in err


def test_an_implementations_output_is_captured_per_case_not_printed(tmp_path):
    out = tmp_path / "run"
    done = run_cli("run", "--impl", "tests.fault_impls:chatty", "--op", "softmax", "--signature", "numpy",
                   "--dtypes", "float32", "--examples", "0", "--no-cache", "--no-report", "--out", str(out))
    assert done.returncode == 0, done.stderr[-2000:]
    assert len(done.stdout) + len(done.stderr) < 20_000 and "xxxx" not in done.stdout + done.stderr
    records = json.loads((out / "results.json").read_text())["records"]
    assert records
    for r in records:
        assert r["output"]["bytes"] == 5_000_000 + len("to stderr\n") + len("raw fd write\n")
        assert r["output"]["truncated"] and r["output"]["text"] == "x" * 99 + "\n" + r["output"]["text"][100:]
        assert len(r["output"]["text"]) == OUTPUT_LIMIT
