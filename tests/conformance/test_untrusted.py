"""A results file from someone else is data: replay imports nothing it names, the report's Python snippet is
built from validated values only, and running every snippet of a hostile file does nothing but compute."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from conformance import cli
from conformance.report import load_results, write_report
from conformance.report.repro import python_snippet, replay_command

ROOT = Path(__file__).resolve().parents[2]
INJECT = "__import__('os').system('touch {marker}')"


def _record(case_id, implementation, framework="numpy", dtype="float32", params=None, inputs=None, **extra):
    r = {"cell": f"{implementation}|{dtype}|cpu", "implementation": implementation, "framework": framework,
         "framework_version": None, "op": "softmax", "dtype": dtype, "device": "cpu", "case_id": case_id,
         "source": "catalog", "params": params if params is not None else {"axis": -1},
         "inputs": inputs or {"x": {"dtype": "float32", "shape": [1, 2], "data": [0.5, -1.0]}},
         "reference": None, "observed": None, "exception": None, "ulp": {}, "bound_ratio": {},
         "verdict": "accurate", "part": None, "detail": "", "convention": None, "known_divergence": None,
         "unexpected": False, "minimal": False, "seed": None, "elapsed_s": 0.0}
    r.update(extra)
    return r


def hostile_records(marker: Path) -> list[dict]:
    code = INJECT.format(marker=marker)
    quote_break = f"'); {code}; ('"
    return [
        _record("good", "scipy.special.softmax"),  # a benign record: its snippet must really compute
        _record("shell", "custom:subprocess:call", "custom:numpy",
                params={"args": f"touch {marker}", "shell": True}),
        _record("evil-module", "custom:evilmod:f", "custom:numpy"),
        _record("dtype", "scipy.special.softmax", dtype=f"float32{quote_break}"),
        _record("input-dtype", "scipy.special.softmax",
                inputs={"x": {"dtype": f"float32).__class__; {code}; (np.float32", "shape": [1], "data": [1.0]}}),
        _record(f"id{quote_break}", f"scipy.special.softmax{quote_break}"),
        _record("params", "scipy.special.softmax",
                params={"axis": -1, f"k{quote_break}": f"v{quote_break}", "nested": [{"a": quote_break}]}),
        _record("name", "scipy.special.softmax",
                inputs={f"x{quote_break}": {"dtype": "float32", "shape": [1], "data": [1.0]}}),
        _record("framework", "torch.x", framework=f"torch{quote_break}"),
    ]


def hostile_file(tmp_path: Path, marker: Path) -> Path:
    doc = {"schema_version": 1,
           "run": {"started": "2026-01-01T00:00:00+00:00", "profile": "quick", "seed": 0, "python": "3.11",
                   "platform": "x", "frameworks": {"numpy": "2"}},
           "implementations": [], "records": hostile_records(marker),
           "summary": {"total": 9, "by_verdict": {"accurate": 9}, "unexpected": 0}}
    path = tmp_path / "hostile.json"
    path.write_text(json.dumps(doc))
    return path


@pytest.fixture
def evil(tmp_path, monkeypatch):
    """A module that leaves a marker file when imported, importable from the working directory."""
    marker = tmp_path / "PWNED"
    (tmp_path / "evilmod.py").write_text(f"open({str(marker)!r}, 'w').close()\ndef f(x, **k):\n    return x\n")
    monkeypatch.syspath_prepend(str(tmp_path))
    return marker


@pytest.mark.parametrize("case_id", ["shell", "evil-module"])
def test_replay_never_imports_what_a_results_file_names(case_id, tmp_path, evil, capsys):
    path = hostile_file(tmp_path, evil)
    code = cli.main(["replay", case_id, "--results", str(path)])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "--impl" in err[0] and "never imports" in err[0]
    assert not evil.exists() and "evilmod" not in sys.modules
    # another --impl on the command line does not let the record's own target in either
    code = cli.main(["replay", case_id, "--results", str(path), "--impl", "tests.fault_impls:softmax"])
    assert code == 2 and not evil.exists() and "evilmod" not in sys.modules


def test_replay_refuses_a_framework_or_dtype_outside_the_allow_lists(tmp_path, evil, capsys):
    path = hostile_file(tmp_path, evil)
    for case_id in ("dtype", "input-dtype", "framework"):
        assert cli.main(["replay", case_id, "--results", str(path)]) == 2
        assert len(capsys.readouterr().err.strip().splitlines()) == 1
    assert not evil.exists()


def test_replay_runs_a_custom_implementation_named_on_its_own_command_line(tmp_path, capsys):
    record = _record("c1", "custom:tests.fault_impls:softmax", "custom:numpy")
    doc = json.loads(hostile_file(tmp_path, tmp_path / "unused").read_text())
    doc["records"] = [record]
    path = tmp_path / "custom.json"
    path.write_text(json.dumps(doc))
    assert cli.main(["replay", "c1", "--results", str(path)]) == 2
    assert cli.main(["replay", "c1", "--results", str(path), "--impl", "tests.fault_impls:softmax"]) == 0
    assert "custom:tests.fault_impls:softmax|float32|cpu c1: accurate" in capsys.readouterr().out


def test_every_snippet_of_a_hostile_file_only_computes(tmp_path, evil):
    path = hostile_file(tmp_path, evil)
    records = load_results(path)["records"]
    write_report(path, tmp_path / "report")  # the report renders the hostile file without running anything
    assert (tmp_path / "report" / "index.html").stat().st_size > 0
    snippets = {r["case_id"]: python_snippet(r) for r in records}
    snippets["raw-number"] = python_snippet(_record("raw", "scipy.special.softmax", inputs={  # off-schema data
        "x": {"dtype": "float32", "shape": [1], "data": [INJECT.format(marker=evil)]}}))
    outcomes = {}
    for case_id, snippet in snippets.items():
        script = tmp_path / "snippet.py"
        script.write_text(snippet)
        env = dict(os.environ, PYTHONPATH=str(ROOT))
        done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=300)
        outcomes[case_id] = done
        assert not evil.exists(), (case_id, snippet)
    assert outcomes["good"].returncode == 0 and "[[" in outcomes["good"].stdout  # it really computes
    for case_id in ("input-dtype", "raw-number"):
        assert snippets[case_id].startswith("# no Python snippet")
    assert "system" not in snippets["dtype"] and "system" not in snippets["framework"]  # not allow-listed: left out
    for r in records:  # the replay command is shell-quoted: pasting it runs replay, nothing else
        import shlex

        words = shlex.split(replay_command(r["case_id"], "f.json", r["implementation"], r["dtype"]))
        assert words[:4] == ["python", "-m", "conformance", "replay"] and words[4] == r["case_id"]
