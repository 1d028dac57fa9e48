"""Layouts: inputs of 2 to 5 dims, the class axis at every position the API allows, non-contiguous views.
A kernel right for the last axis and wrong for another, and one right on contiguous input and wrong on a
transposed or strided view, are caught through `run --impl`."""

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from conformance.adapters import execution
from conformance.cases import strategies

from tests.conformance.cli_helpers import run_records as run
from tests.installed_helpers import needs

K = "tests.mode_kernels:"


def run_wrong_kernel(tmp_path, kernel: str, op: str, examples: int):
    """`run --impl` of the faulty torch `kernel` as `op` in float64, torch's own row the baseline: the run fails.
    Returns (its records, the unexpected ones: at least one)."""
    result = run(tmp_path, kernel, "--impl", K + kernel, "--op", op, "--signature", "torch", "--dtypes", "float64",
                 "--examples", str(examples), "--baseline", f"torch.nn.functional.{op}")
    assert result.returncode == 1, result.stderr[-2000:]
    wrong = [r for r in result.records if r["unexpected"]]
    assert wrong
    return result.records, wrong


@needs("torch")
def test_a_kernel_wrong_off_the_last_axis_is_caught(tmp_path):
    records, wrong = run_wrong_kernel(tmp_path, "torch_softmax_wrong_off_the_last_axis", "softmax", 4)
    assert all(r["verdict"] in ("inaccurate", "special_value_mismatch") for r in wrong)
    for r in wrong:
        ndim = len(r["inputs"]["x"]["shape"])
        assert r["params"]["axis"] % ndim != ndim - 1
    fine = [r for r in records if not r["unexpected"] and r["inputs"]]
    assert any(r["params"]["axis"] % len(r["inputs"]["x"]["shape"]) == len(r["inputs"]["x"]["shape"]) - 1
               for r in fine)


@needs("torch")
def test_a_kernel_wrong_on_non_contiguous_views_is_caught(tmp_path):
    records, wrong = run_wrong_kernel(tmp_path, "torch_log_softmax_wrong_on_views", "log_softmax", 30)
    assert all(r["memory"] in ("transposed", "strided") for r in wrong)
    assert not any(r["unexpected"] for r in records if r.get("memory") == "contiguous")


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


@needs("torch")
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
