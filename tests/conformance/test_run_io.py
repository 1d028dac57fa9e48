"""No failure loses records: a disk-full run stops with one line and exit 3, keeps every finished cell and
resumes to the same records as an uninterrupted run; so does a run killed with SIGKILL at random points;
two runs never share an output directory; the two files of one run merge."""
import contextlib
import errno
import io
import json
import os
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from conformance import cli

from conformance.results import output_dir as run_io

from tests.conformance.cli_helpers import ROOT, child_env
RUN = ["run", "--frameworks", "numpy", "--ops", "softmax", "--dtypes", "float64,float32,float16", "--profile",
       "quick", "--examples", "2", "--no-report"]
VOLATILE = ("elapsed_s", "timing")


def run_in_process(*args) -> tuple[int, str, str]:
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = cli.main(list(args))
    return code, out.getvalue(), err.getvalue()


def comparable(records) -> list[str]:
    return sorted(json.dumps({k: v for k, v in r.items() if k not in VOLATILE}, sort_keys=True) for r in records)


def check_stream(out: Path, torn_ok: bool) -> None:
    """Every line of results.jsonl is whole JSON (the last may be torn after a kill); no temporary files."""
    lines = (out / "results.jsonl").read_text().split("\n")
    assert lines[-1] == "" or torn_ok
    for line in lines[:-1]:
        json.loads(line)
    assert not list(out.rglob("*.tmp")), list(out.rglob("*.tmp"))


@pytest.fixture(scope="module")
def cache(tmp_path_factory):
    return tmp_path_factory.mktemp("refcache")


@pytest.fixture(scope="module")
def baseline(tmp_path_factory, cache):
    out = tmp_path_factory.mktemp("baseline")
    code, stdout, err = run_in_process(*RUN, "--cache", str(cache), "--out", str(out))
    assert code in (0, 1), err
    doc = json.loads((out / "results.json").read_text())
    assert len({r["cell"] for r in doc["records"]}) == 3
    return out, doc


def test_disk_full_stops_with_one_line_and_resume_completes_the_run(baseline, cache, tmp_path, monkeypatch):
    base_out, base_doc = baseline
    budget = [int((base_out / "results.jsonl").stat().st_size * 0.6)]  # the disk fills up during the third cell
    real_write_all = run_io._write_all

    def full_disk(fd, data):
        if len(data) > budget[0]:
            real_write_all(fd, bytes(data[:budget[0]]))
            budget[0] = 0
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        budget[0] -= len(data)
        real_write_all(fd, data)

    monkeypatch.setattr(run_io, "_write_all", full_disk)
    out = tmp_path / "run"
    code, stdout, err = run_in_process(*RUN, "--cache", str(cache), "--out", str(out))
    assert code == 3, err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and "No space left on device" in lines[0] and "Traceback" not in err
    check_stream(out, torn_ok=False)
    assert not (out / "results.json").exists()
    kept = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()[1:]]
    assert [k for k in kept if k["kind"] == "cell_end"]  # some cells were finished before the disk filled
    monkeypatch.setattr(run_io, "_write_all", real_write_all)
    code, stdout, err = run_in_process(*RUN, "--cache", str(cache), "--resume", "--out", str(out))
    assert code in (0, 1), err
    check_stream(out, torn_ok=False)
    doc = json.loads((out / "results.json").read_text())
    assert comparable(doc["records"]) == comparable(base_doc["records"])


def test_a_failing_results_json_write_leaves_no_temporary_file(baseline, cache, tmp_path, monkeypatch):
    real_replace = os.replace

    def failing_replace(src, dst):
        if str(dst).endswith("results.json"):
            raise OSError(errno.EIO, os.strerror(errno.EIO))
        return real_replace(src, dst)

    monkeypatch.setattr(run_io.os, "replace", failing_replace)
    out = tmp_path / "run"
    code, _, err = run_in_process(*RUN, "--cache", str(cache), "--out", str(out))
    assert code == 3 and len(err.strip().splitlines()) == 1 and "Input/output error" in err
    check_stream(out, torn_ok=False)
    assert not (out / "results.json").exists()


def test_kill_9_at_random_points_then_resume_gives_the_uninterrupted_records(baseline, cache, tmp_path):
    _, base_doc = baseline
    seed = random.randrange(1 << 30)
    rng = random.Random(seed)
    env = child_env()
    interrupted = 0
    for point in range(12):  # three random points, then more (killed at once) until two landed mid-run
        if point >= 3 and interrupted >= 2:
            break
        cells_before = point % 3
        delay = rng.uniform(0.0, 0.4) if point < 3 else 0.0  # a fast machine may finish within a random delay
        out = tmp_path / f"run{point}"
        proc = subprocess.Popen([sys.executable, "-m", "conformance", *RUN, "--cache", str(cache), "--out",
                                 str(out)], cwd=ROOT, env=env, stdout=subprocess.DEVNULL,
                                stderr=subprocess.DEVNULL, start_new_session=True)
        stream = out / "results.jsonl"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if stream.exists() and stream.read_text().count('"cell_end"') >= cells_before:
                break
            time.sleep(0.02)
        time.sleep(delay)
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
        if not stream.exists():
            continue  # killed before the run began: nothing to resume
        check_stream(out, torn_ok=True)
        interrupted += not (out / "results.json").exists()
        code, _, err = run_in_process(*RUN, "--cache", str(cache), "--resume", "--out", str(out))
        assert code in (0, 1), (seed, point, err)
        check_stream(out, torn_ok=False)
        doc = json.loads((out / "results.json").read_text())
        assert comparable(doc["records"]) == comparable(base_doc["records"]), (seed, point)
    assert interrupted >= 2, seed  # the kills landed inside the runs


def test_resume_reruns_a_cell_whose_end_marker_is_missing(baseline, cache, tmp_path):
    base_out, base_doc = baseline
    out = tmp_path / "run"
    out.mkdir()
    lines = (base_out / "results.jsonl").read_text().splitlines()
    markers = [i for i, line in enumerate(lines) if '"cell_end"' in line]
    del lines[markers[1]]  # the second cell's records are all there, its marker is not
    (out / "results.jsonl").write_text("\n".join(lines[:markers[2]]) + "\n")
    code, stdout, err = run_in_process(*RUN, "--cache", str(cache), "--resume", "--out", str(out))
    assert code in (0, 1), err
    cells = list(dict.fromkeys(r["cell"] for r in base_doc["records"]))
    assert "dropped" in stdout and cells[0] not in stdout.split("dropped", 1)[1]
    doc = json.loads((out / "results.json").read_text())
    assert comparable(doc["records"]) == comparable(base_doc["records"])


def test_a_second_run_into_the_same_directory_fails_and_touches_nothing(tmp_path):
    out = tmp_path / "run"
    env = child_env()
    first = subprocess.Popen([sys.executable, "-m", "conformance", "run", "--impl", "tests.fault_impls:hang", "--op",
                              "softmax", "--signature", "numpy", "--dtypes", "float32", "--examples", "0",
                              "--timeout", "120", "--no-cache", "--no-report", "--out", str(out)],
                             cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                             start_new_session=True)
    try:
        deadline = time.monotonic() + 300
        while not (out / "results.jsonl").exists() and time.monotonic() < deadline:
            time.sleep(0.05)
        before = {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()}
        code, stdout, err = run_in_process(*RUN, "--no-cache", "--out", str(out))
        assert code == 2 and len(err.strip().splitlines()) == 1 and "another run" in err, err
        code, _, err = run_in_process(*RUN, "--no-cache", "--resume", "--out", str(out))
        assert code == 2 and "another run" in err
        assert {p.name: (p.read_bytes(), p.stat().st_mtime_ns) for p in out.iterdir()} == before
        assert first.poll() is None
    finally:
        os.killpg(first.pid, signal.SIGKILL)
        first.wait()


def test_merge_takes_a_runs_results_json_and_its_own_results_jsonl(baseline, tmp_path):
    base_out, base_doc = baseline
    code, stdout, err = run_in_process("merge", str(base_out / "results.json"), str(base_out / "results.jsonl"),
                                       "--out", str(tmp_path / "merged.json"))
    assert code == 0, err
    merged = json.loads((tmp_path / "merged.json").read_text())
    assert comparable(merged["records"]) == comparable(base_doc["records"])


def test_report_writes_its_html_atomically(baseline, tmp_path, monkeypatch):
    base_out, _ = baseline
    (tmp_path / "results.json").write_bytes((base_out / "results.json").read_bytes())
    (tmp_path / "index.html").write_text("the previous report")

    def no_space(fd):
        raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))

    monkeypatch.setattr(os, "fsync", no_space)
    code, _, err = run_in_process("report", str(tmp_path / "results.json"))
    assert code == 3 and len(err.strip().splitlines()) == 1 and "No space left on device" in err
    assert (tmp_path / "index.html").read_text() == "the previous report"  # never a torn or 0-byte report
    assert not [p for p in tmp_path.rglob("*") if p.is_file() and p.name not in ("index.html", "results.json")]
    monkeypatch.undo()
    code, _, err = run_in_process("report", str(tmp_path / "results.json"))
    assert code == 0 and (tmp_path / "index.html").stat().st_size > 10_000, err
