"""Custom kernels on every signature (conformance/adapters/custom.py, conformance/judge/baseline.py).

A faithful wrapper around a framework's own function passes with --baseline that function and fails without
it (the framework's own findings are reported honestly: known divergences never reach a custom kernel); a
broken kernel fails in every signature; numpy kernels are differentiated through a user VJP."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.installed_helpers import needs

ROOT = Path(__file__).resolve().parents[2]
K = "tests.custom_kernels:"


def run(tmp_path, name, *args):
    out = tmp_path / name
    cmd = [sys.executable, "-m", "conformance", "run", "--profile", "quick", "--examples", "2", "--no-report",
           "--no-cache", "--out", str(out), *args]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    records = []
    if (out / "results.json").exists():
        data = json.loads((out / "results.json").read_text())
        records = data["records"]
        result.implementations = data["implementations"]
    result.records = records
    return result


@needs("torch")
def test_faithful_torch_wrapper_passes_with_baseline_and_reports_torch_findings_without(tmp_path):
    common = ["--impl", K + "torch_log_softmax", "--op", "log_softmax", "--signature", "torch", "--dtypes", "float32"]
    alone = run(tmp_path, "alone", *common)
    assert alone.returncode == 1, alone.stderr
    unexpected = [r for r in alone.records if r["unexpected"]]
    assert unexpected and all(r["known_divergence"] is None for r in unexpected)
    with_base = run(tmp_path, "base", *common, "--baseline", "torch.nn.functional.log_softmax")
    assert with_base.returncode == 0, with_base.stdout[-2000:] + with_base.stderr[-2000:]
    matched = [r for r in with_base.records if (r["known_divergence"] or "").startswith("baseline:")]
    assert {r["case_id"] for r in matched} == {r["case_id"] for r in unexpected}
    assert all(r["baseline"]["verdict"] == r["verdict"] for r in matched)


def test_faithful_jax_kernel_passes_with_baseline(tmp_path):
    result = run(tmp_path, "jax", "--impl", K + "jax_log_softmax", "--op", "log_softmax", "--signature", "jax",
                 "--dtypes", "float32", "--baseline", "jax.nn.log_softmax")
    assert result.returncode == 0, result.stdout[-2000:] + result.stderr[-2000:]
    assert any(r["verdict"] == "accurate" for r in result.records)
    assert result.implementations[0]["grads"] == ["x"]


@pytest.mark.parametrize("signature,kernel,baseline", [
    ("torch", "torch_log_softmax_broken", "torch.nn.functional.log_softmax"),
    ("jax", "jax_log_softmax_broken", "jax.nn.log_softmax"),
    ("tf", "tf_log_softmax_broken", None),
])
@needs("torch")
def test_broken_kernels_fail_in_every_signature(tmp_path, signature, kernel, baseline):
    args = ["--impl", K + kernel, "--op", "log_softmax", "--signature", signature, "--dtypes", "float64"]
    result = run(tmp_path, signature, *args, *(["--baseline", baseline] if baseline else []))
    assert result.returncode == 1, result.stderr[-2000:]
    worse = [r for r in result.records if r["unexpected"]]
    assert worse and all(r["verdict"] == "inaccurate" for r in worse)
    if baseline:  # the per-case diff: the baseline's verdict is kept beside the kernel's
        assert any("worse than the baseline" in r["detail"] for r in worse)


def test_numpy_kernel_is_differentiated_through_its_vjp(tmp_path):
    common = ["--impl", K + "numpy_sigmoid", "--op", "sigmoid", "--signature", "numpy", "--dtypes", "float64"]
    good = run(tmp_path, "good", *common, "--vjp", K + "numpy_sigmoid_vjp")
    assert good.returncode == 0, good.stdout[-2000:]
    assert all("x" in (r["observed"] or {"grad": {"x": 0}})["grad"] for r in good.records)
    bad = run(tmp_path, "bad", *common, "--vjp", K + "numpy_sigmoid_vjp_broken")
    assert bad.returncode == 1
    assert {r["part"] for r in bad.records if r["unexpected"]} == {"grad:x"}
    value_only = run(tmp_path, "value", *common)
    assert value_only.returncode == 0
    assert value_only.implementations[0]["value_only"] and "value only" in value_only.stdout


@needs("torch")
def test_an_op_the_framework_has_no_row_for_uses_the_generic_convention(tmp_path):
    result = run(tmp_path, "focal", "--impl", K + "torch_softmax_focal_loss", "--op", "softmax_focal_loss",
                 "--signature", "torch", "--dtypes", "float64")
    assert result.returncode == 0, result.stdout[-2000:]
    assert any(r["observed"] and r["observed"]["grad"].get("logits") for r in result.records)


def test_bad_baseline_is_one_line(tmp_path):
    result = run(tmp_path, "x", "--impl", K + "torch_log_softmax", "--op", "log_softmax", "--baseline", "nope")
    assert result.returncode == 2 and "no such built-in implementation" in result.stderr
    assert [line for line in result.stderr.splitlines() if line.startswith(("error", "Traceback"))] == \
        [result.stderr.strip().splitlines()[-1]]  # one line (TensorFlow's own import logging aside)


@pytest.mark.parametrize("signature,kernel,op,baseline", [
    ("tf", "keras_categorical_focal", "softmax_focal_loss", "keras.losses.CategoricalFocalCrossentropy(from_logits=True)"),
    ("jax", "optax_sigmoid_focal", "sigmoid_focal_loss", "optax.losses.sigmoid_focal_loss"),
])
def test_focal_losses_run_in_the_tf_and_jax_signatures(tmp_path, signature, kernel, op, baseline):
    result = run(tmp_path, signature, "--impl", K + kernel, "--op", op, "--signature", signature,
                 "--dtypes", "float64", "--baseline", baseline)
    assert result.returncode == 0, result.stdout[-2000:]
    assert result.records and not any(r["verdict"] == "error_behaviour_mismatch" for r in result.records)


def test_a_jax_kernel_without_axis_is_checked_at_the_last_axis_and_never_passed_axis():
    """The jax rows now take any class axis (axis=); a kernel written like optax's function without axis= (the
    bundled examples/jax_cross_entropy.py) is held to the last axis, where the rows pass no axis=, instead of
    raising TypeError on every case moved to another axis (140 of 156 records of that example did)."""
    pytest.importorskip("jax")
    import numpy as np

    from conformance.adapters.custom import CustomSpec, build_custom

    plain = build_custom(CustomSpec("examples.jax_cross_entropy:cross_entropy", "cross_entropy", "jax"))
    assert plain.fixed_params.get("axis") == -1 and "axis" not in plain.params
    assert "TypeError" not in str(plain.call(
        {"logits": np.array([[1.0, 2.0, 3.0]]), "target": np.array([0])},
        {"axis": -1, "reduction": "none"}, "float64", "cpu", ()).value)
    with_axis = build_custom(CustomSpec("tests.custom_kernels:jax_log_softmax", "log_softmax", "jax"))
    assert "axis" in with_axis.params and "axis" not in with_axis.fixed_params  # drawn at every position
