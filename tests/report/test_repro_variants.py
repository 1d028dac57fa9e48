"""The printed reproducer of the newer rows: a Keras@jax record and a torch.compile record, made by the worker as a
run makes them, give a Python snippet that runs in a fresh process (KERAS_BACKEND chosen first, the record's
execution mode, memory layout and derivative request) and shows the same observation; `replay` re-runs a record
in its own execution mode (a kernel wrong only when compiled is caught by replaying its compile record)."""
from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conformance.adapters import availability
from conformance.report.repro import python_snippet

ROOT = Path(__file__).resolve().parents[2]
X = np.array([[0.5, -1.25, 2.0], [3.0, 0.0, -0.75]], dtype=np.float32)
DUMP = ("\nimport json as _json\nprint('OBSERVED', _json.dumps({'value': np.asarray(obs.value, np.float64).ravel()"
        ".tolist(), 'grads': {k: np.asarray(g, np.float64).ravel().tolist() for k, g in obs.grads.items()}}))\n")


def real_record(framework, impl_id, mode, inputs, params, op="log_softmax", dtype="float32", request=None):
    """One record made the way a run makes it: the row's worker process, in execution mode `mode`."""
    from conformance.cases.case import Case
    from conformance.execute.cell_runner import CellContext, evaluate_case
    from conformance.execute.reference_cache import ReferenceCache
    from conformance.execute.worker import Worker
    from conformance.plan.cells import find_implementation

    impl = find_implementation(framework, impl_id)
    worker = Worker(framework, [])
    try:
        ctx = CellContext(impl, framework, None, dtype, "cpu", worker, ReferenceCache(), mode=mode)
        return evaluate_case(ctx, Case("c", op, dtype, inputs, params, "test", modes=request))
    finally:
        worker.stop()


def run_snippet(tmp_path, snippet, extra=""):
    script = tmp_path / "repro.py"
    script.write_text(snippet + DUMP + extra)
    done = subprocess.run([sys.executable, str(script)], cwd=tmp_path, capture_output=True, text=True, timeout=600,
                          env={**os.environ, "PYTHONPATH": str(ROOT)})
    assert done.returncode == 0, done.stderr[-3000:]
    line = next(x for x in done.stdout.splitlines() if x.startswith("OBSERVED "))
    return json.loads(line[len("OBSERVED "):]), done.stdout


def recorded(record, part="value"):
    t = record["observed"][part] if part == "value" else record["observed"]["grad"][part]
    return [float(v) for v in t["data"]]


@pytest.mark.skipif(not availability("keras_jax")[0], reason="Keras on JAX not installed")
def test_a_keras_on_jax_record_reproduces_in_a_fresh_process(tmp_path):
    record = real_record("keras_jax", "keras.ops.log_softmax@jax", "jit", {"x": X}, {"axis": -1})
    assert record["framework"] == "keras_jax" and record["mode"] == "jit" and record["observed"]
    snippet = python_snippet(record)
    assert snippet.startswith("from conformance.adapters import keras_runtime\nkeras_runtime.prepare_process('keras_jax')")
    got, out = run_snippet(tmp_path, snippet, "import keras\nprint('BACKEND', keras.backend.backend())\n")
    assert got["value"] == recorded(record) and got["grads"]["x"] == recorded(record, "x")
    assert "BACKEND jax" in out


@pytest.mark.skipif(not availability("torch")[0], reason="torch not installed")
def test_a_torch_compile_record_reproduces_compiled_in_a_fresh_process(tmp_path):
    record = real_record("torch", "torch.nn.functional.log_softmax", "compile", {"x": X}, {"axis": -1})
    assert record["mode"] == "compile" and record["timing"]["compiles"].get("torch_compiles", 0) >= 1
    snippet = python_snippet(record)
    assert "execution.using('compile', 'contiguous')" in snippet
    got, out = run_snippet(tmp_path, snippet, "from torch._dynamo.utils import counters\n"
                                              "print('GRAPHS', counters['stats']['unique_graphs'])\n")
    assert got["value"] == recorded(record) and got["grads"]["x"] == recorded(record, "x")
    graphs = int(next(x for x in out.splitlines() if x.startswith("GRAPHS ")).split()[1])
    assert graphs >= 1  # the snippet really ran torch.compile


def test_the_snippet_carries_the_derivative_request_and_refuses_an_unknown_mode():
    record = {"implementation": "torch.sigmoid", "framework": "torch", "op": "sigmoid", "dtype": "float64",
              "device": "cpu", "mode": "eager", "memory": "transposed", "params": {},
              "inputs": {"x": {"dtype": "float64", "shape": [2], "data": [0.5, -1.0]}},
              "observed": {"value": {}, "grad": {"x": {}}},
              "derivative_request": {"cotangent": {"dtype": "float64", "shape": [2], "data": [2.0, -3.0]},
                                     "tangents": {"x": {"dtype": "float64", "shape": [2], "data": [1.0, 0.5]}},
                                     "hvp": True, "param_grads": ["weight"]}}
    scope: dict = {}
    snippet = python_snippet(record)
    lines = snippet.splitlines()
    start = next(i for i, x in enumerate(lines) if x.startswith("request = "))
    end = next(i for i, x in enumerate(lines) if x.startswith("with execution.using("))
    exec("\n".join(["import numpy as np, ml_dtypes", *lines[start:end]]), scope)  # the request alone
    assert scope["request"]["hvp"] is True and scope["request"]["param_grads"] == ("weight",)
    assert scope["request"]["cotangent"].tolist() == [2.0, -3.0] and scope["request"]["tangents"]["x"].tolist() == [1.0, 0.5]
    assert "execution.using('eager', 'transposed')" in snippet
    assert python_snippet({**record, "mode": "__import__('os')"}).startswith("# no Python snippet")
    assert python_snippet({**record, "derivative_request": {**record["derivative_request"],
                                                            "param_grads": ["os.system"]}}).startswith("# no Python")


@pytest.mark.skipif(not availability("torch")[0], reason="torch not installed")
def test_replay_reruns_a_record_in_its_execution_mode(tmp_path, capsys):
    """A kernel right eagerly and wrong under torch.compile (tests/mode_kernels.py): replaying its compile record
    compiles it again and catches it; the same case recorded eagerly replays accurate."""
    from conformance import cli

    impl = "custom:tests.mode_kernels:torch_log_softmax_wrong_when_compiled"
    x = {"dtype": "float64", "shape": [2, 3], "data": [0.5, -1.25, 2.0, 3.0, 0.0, -0.75]}

    def rec(case_id, mode):
        return {"cell": f"{impl}|float64|cpu", "implementation": impl, "framework": "custom:torch",
                "framework_version": None, "op": "log_softmax", "dtype": "float64", "device": "cpu", "mode": mode,
                "memory": "contiguous", "case_id": case_id, "source": "catalog", "params": {"axis": -1},
                "inputs": {"x": x}, "reference": None, "observed": None, "exception": None, "ulp": {},
                "bound_ratio": {}, "verdict": "accurate", "part": None, "detail": "", "convention": None,
                "known_divergence": None, "unexpected": False, "minimal": False, "seed": None, "elapsed_s": 0.0}

    doc = {"schema_version": 1, "run": {"started": "2026-01-01T00:00:00+00:00", "profile": "ci", "seed": 0,
                                        "python": "3.11", "platform": "x", "frameworks": {"torch": "2"}},
           "implementations": [], "records": [rec("eager-1", "eager"), rec("compiled-1", "compile")],
           "summary": {"total": 2, "by_verdict": {}, "unexpected": 0}}
    path = tmp_path / "modes.json"
    path.write_text(json.dumps(doc))
    target = impl[len("custom:"):]
    assert cli.main(["replay", "eager-1", "--results", str(path), "--impl", target]) == 0
    assert cli.main(["replay", "compiled-1", "--results", str(path), "--impl", target]) == 1
    out = capsys.readouterr().out
    assert f"{impl}|float64|cpu|compile compiled-1: " in out
    bad = {**doc, "records": [rec("odd-1", "xla")]}
    path.write_text(json.dumps(bad))
    assert cli.main(["replay", "odd-1", "--results", str(path), "--impl", target]) == 2


def test_the_snippets_allow_lists_are_the_suites():
    from conformance import adapters
    from conformance.adapters import execution
    from conformance.report import repro

    assert repro.MODES == execution.ALL_MODES and set(repro.MEMORY) == set(execution.MEMORY_LAYOUTS)
    assert set(repro.FRAMEWORKS) == set(adapters.FRAMEWORKS)
