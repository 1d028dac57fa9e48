"""Layouts: inputs of 2 to 5 dims, the class axis at every position the API allows, non-contiguous views.
A kernel right for the last axis and wrong for another, and one right on contiguous input and wrong on a
transposed or strided view, are caught through `run --impl`."""
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.adapters import execution
from conformance.cases import strategies

ROOT = Path(__file__).resolve().parents[2]
K = "tests.mode_kernels:"


def run(tmp_path, name, *args):
    out = tmp_path / name
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "quick", "--no-report",
                             "--no-cache", "--out", str(out), *args], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=900)
    result.records = json.loads((out / "results.json").read_text())["records"] if (out / "results.json").exists() \
        else []
    return result


def test_a_kernel_wrong_off_the_last_axis_is_caught(tmp_path):
    result = run(tmp_path, "axis", "--impl", K + "torch_softmax_wrong_off_the_last_axis", "--op", "softmax",
                 "--signature", "torch", "--dtypes", "float64", "--examples", "4",
                 "--baseline", "torch.nn.functional.softmax")
    assert result.returncode == 1, result.stderr[-2000:]
    wrong = [r for r in result.records if r["unexpected"]]
    assert wrong and all(r["verdict"] in ("inaccurate", "special_value_mismatch") for r in wrong)
    for r in wrong:
        ndim = len(r["inputs"]["x"]["shape"])
        assert r["params"]["axis"] % ndim != ndim - 1
    fine = [r for r in result.records if not r["unexpected"] and r["inputs"]]
    assert any(r["params"]["axis"] % len(r["inputs"]["x"]["shape"]) == len(r["inputs"]["x"]["shape"]) - 1
               for r in fine)


def test_a_kernel_wrong_on_non_contiguous_views_is_caught(tmp_path):
    result = run(tmp_path, "views", "--impl", K + "torch_log_softmax_wrong_on_views", "--op", "log_softmax",
                 "--signature", "torch", "--dtypes", "float64", "--examples", "30",
                 "--baseline", "torch.nn.functional.log_softmax")
    assert result.returncode == 1, result.stderr[-2000:]
    wrong = [r for r in result.records if r["unexpected"]]
    assert wrong and all(r["memory"] in ("transposed", "strided") for r in wrong)
    assert not any(r["unexpected"] for r in result.records if r.get("memory") == "contiguous")


@settings(max_examples=60, deadline=None, database=None)
@given(data=st.data())
def test_drawn_layouts_span_2_to_5_dims_and_every_axis(data):
    case = strategies.draw_case(data, "softmax", "float32", {"axis": None}, {}, "ci",
                                execution.FRAMEWORK_MEMORY["torch"])
    x = case.inputs["x"]
    assert 2 <= x.ndim <= 5
    assert -x.ndim <= case.params["axis"] < x.ndim
    if case.memory == "channels_last":
        assert x.ndim in (4, 5)


def test_memory_views_keep_the_values():
    import torch

    a = np.arange(2 * 3 * 4 * 5, dtype=np.float32).reshape(2, 3, 4, 5)
    for layout in execution.MEMORY_LAYOUTS:
        v = execution.numpy_view(a, layout)
        assert np.array_equal(v, a)
        assert v.flags.c_contiguous == (layout == "contiguous")
        t = execution.torch_view(torch.from_numpy(a), layout)
        assert np.array_equal(t.numpy(), a)
        assert t.is_contiguous() == (layout == "contiguous")
