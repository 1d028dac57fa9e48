"""Kernels passed with --impl are checked in every differentiation mode their signature supports
(conformance/adapters/modes.py): mutants of a custom torch.autograd.Function sigmoid, each wrong in one mode
only, are caught (exit 1, the failing part named), and the correct one is not flagged."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from tests.installed_helpers import needs

ROOT = Path(__file__).resolve().parents[2]
K = "tests.custom_kernels:"


def run(tmp_path, kernel):
    out = tmp_path / kernel
    cmd = [sys.executable, "-m", "conformance", "run", "--profile", "quick", "--examples", "2", "--no-report",
           "--no-cache", "--out", str(out), "--impl", K + kernel, "--op", "sigmoid", "--signature", "torch",
           "--dtypes", "float64", "--devices", "cpu"]
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    result = subprocess.run(cmd, cwd=ROOT, env=env, capture_output=True, text=True, timeout=900)
    data = json.loads((out / "results.json").read_text())
    return result, data


@needs("torch")
def test_correct_custom_function_passes_in_every_mode(tmp_path):
    result, data = run(tmp_path, "torch_sigmoid_custom")
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert data["implementations"][0]["modes"] == ["vjp", "jvp", "hvp"]
    modes = [r for r in data["records"] if r.get("derivative_request")]
    assert len(modes) >= 3
    parts = set().union(*((r["ulp"].get("derivs") or {}).keys() for r in modes))
    assert parts == {"vjp:x", "jvp:x", "hvp:x"}
    assert all(r["verdict"] in ("accurate", "stable") for r in modes)


@pytest.mark.parametrize("kernel,mode", [
    ("torch_sigmoid_ignores_cotangent", "vjp"),
    ("torch_sigmoid_wrong_jvp", "jvp"),
    ("torch_sigmoid_wrong_double_backward", "hvp"),
])
@needs("torch")
def test_mutant_is_caught_in_its_mode(tmp_path, kernel, mode):
    result, data = run(tmp_path, kernel)
    assert result.returncode == 1, result.stdout[-3000:] + result.stderr[-2000:]
    bad = [r for r in data["records"] if r["unexpected"]]
    assert bad and all(r.get("derivative_request") for r in bad)  # plain cases (cotangent ones) all pass
    assert {r["part"] for r in bad} == {f"{mode}:x"}


def test_builtin_rows_declare_their_modes():
    """Every built-in row with gradients carries its framework's modes as data (conformance list shows them);
    value-only rows (NumPy ecosystem) have none. (A refactor once dropped the declaration silently.)"""
    from conformance.adapters import availability, implementations_for
    from conformance.adapters.modes import unsupported_reason
    from reference.derivs.request import WITHOUT_MODES

    for framework in ("torch", "jax", "tensorflow", "numpy"):
        if not availability(framework)[0]:
            continue
        for impl in implementations_for(framework):
            # every mode, but those the reference does not compute for the op (WITHOUT_MODES, empty at present)
            # and those declared unsupported with a reason (torch's chunked linear CE: no forward mode, no
            # double backward);
            # policy rows run the case dtype's modes through their base row
            expected = tuple(m for m in ("vjp", "jvp", "hvp") if m not in WITHOUT_MODES.get(impl.op, {})
                             and unsupported_reason(impl.id, m) is None)
            if not impl.grads or impl.policy is not None:
                expected = ()
            assert impl.modes == expected, (framework, impl.id, impl.modes)


def test_torch_linear_rows_hvp_where_double_backward_exists():
    """linear_cross_entropy's reference-path rows run hvp cells; the chunked rows detach the gradients they
    compute in the forward (no double backward), declared unsupported with that reason."""
    from conformance.adapters import availability, implementations_for
    from conformance.adapters.modes import unsupported_reason

    if not availability("torch")[0]:
        pytest.skip("torch not installed")
    rows = {i.id: i for i in implementations_for("torch") if i.op == "linear_cross_entropy"}
    assert "hvp" in rows["torch.nn.functional.linear_cross_entropy"].modes
    assert "hvp" in rows["torch.nn.LinearCrossEntropyLoss"].modes
    assert "hvp" not in rows["torch.nn.functional.linear_cross_entropy[chunked]"].modes
    assert "double backward" in unsupported_reason("torch.nn.LinearCrossEntropyLoss[chunked]", "hvp")
