"""Execution modes (conformance/adapters/execution.py, conformance/mode_plan.py): a kernel that is right eagerly
and wrong when compiled or traced is caught in the compiled modes only, through `run --impl`; compare
--ignore-mode shows the eager-vs-compiled disagreement; the profiles choose the modes; an unsupported mode is
an `unsupported` record with its reason."""
import json

from conformance.adapters import execution
from conformance.adapters.implementation import Implementation
from conformance.plan.mode_plan import CI_SAMPLE, cell_modes

from tests.conformance.cli_helpers import conformance as cli
from tests.conformance.cli_helpers import run_records
from tests.installed_helpers import needs

K = "tests.mode_kernels:"


def run(tmp_path, name, *args):
    return run_records(tmp_path, name, "--examples", "2", *args)


def _by_mode(records):
    out = {}
    for r in records:
        out.setdefault(r["mode"], []).append(r)
    return out


def test_tf_kernel_wrong_in_graphs_is_caught_in_graph_and_xla_and_compare_ignore_mode_shows_it(tmp_path):
    result = run(tmp_path, "tf", "--impl", K + "tf_log_softmax_wrong_in_graphs", "--op", "log_softmax",
                 "--signature", "tf", "--dtypes", "float64", "--modes", "all", "--baseline", "tf.nn.log_softmax")
    assert result.returncode == 1, result.stderr[-2000:]
    by_mode = _by_mode(result.records)
    assert set(by_mode) == {"eager", "graph", "xla"}
    assert not any(r["unexpected"] for r in by_mode["eager"])
    for mode in ("graph", "xla"):
        wrong = [r for r in by_mode[mode] if r["unexpected"]]
        assert wrong and all(r["verdict"] in ("inaccurate", "special_value_mismatch") for r in wrong), mode
        assert all(r["cell"].endswith("|" + mode) for r in by_mode[mode])
    # the same cases in every mode (the failing mode adds the shrunk minimal one)
    # (derivative-mode cases, vjp/jvp/hvp, run in the default execution mode only)
    plain = {r["case_id"] for r in by_mode["eager"] if not r.get("derivative_request")}
    assert plain <= {r["case_id"] for r in by_mode["graph"]}
    assert not any(r.get("derivative_request") for r in by_mode["graph"] + by_mode["xla"])
    parity = cli("compare", str(result.out), str(result.out), "--ignore-mode", "--format", "json")
    assert parity.returncode == 1, parity.stderr[-2000:]
    doc = json.loads(parity.stdout)
    assert doc["ignore_mode"] and doc["regressions"]
    assert {"eager→graph", "eager→xla"} <= {r["device"].split(" ")[-1] for r in doc["regressions"]}


@needs("torch")
def test_torch_kernel_wrong_when_compiled_is_caught_by_torch_compile_only(tmp_path):
    result = run(tmp_path, "torch", "--impl", K + "torch_log_softmax_wrong_when_compiled", "--op", "log_softmax",
                 "--signature", "torch", "--dtypes", "float64", "--modes", "eager,compile",
                 "--baseline", "torch.nn.functional.log_softmax")
    assert result.returncode == 1, result.stderr[-2000:]
    by_mode = _by_mode(result.records)
    assert not any(r["unexpected"] for r in by_mode["eager"])
    wrong = [r for r in by_mode["compile"] if r["unexpected"]]
    assert wrong and all(r["verdict"] in ("inaccurate", "special_value_mismatch") for r in wrong)
    compiled = [r for r in by_mode["compile"] if r.get("timing")]
    assert sum(r["timing"]["compiles"].get("torch_compiles", 0) for r in compiled) >= 1


def test_adapters_declare_the_modes_of_modes_py():
    from conformance.adapters import jax_adapter, tensorflow_adapter, torch_adapter

    assert torch_adapter.MODES == execution.FRAMEWORK_MODES["torch"]
    assert tensorflow_adapter.MODES == execution.FRAMEWORK_MODES["tensorflow"]
    assert jax_adapter.MODES == execution.FRAMEWORK_MODES["jax"]
    assert set(CI_SAMPLE) <= set(execution.ALL_MODES)


def _impl(id, op, framework="torch"):
    return Implementation(id=id, framework=framework, op=op, call=None, dtypes=("float32",))


def test_profiles_choose_the_modes():
    a, b = _impl("a", "cross_entropy"), _impl("b", "cross_entropy")
    impls = [a, b]
    assert cell_modes("torch", a, impls, "float32", None, "quick") == ["eager"]
    assert cell_modes("torch", a, impls, "float32", None, "thorough") == ["eager", "compile"]
    assert cell_modes("torch", a, impls, "float32", None, "ci") == ["eager", "compile"]  # sampled: first row
    assert cell_modes("torch", b, impls, "float32", None, "ci") == ["eager"]
    assert cell_modes("torch", a, impls, "float64", None, "ci") == ["eager"]
    assert cell_modes("jax", a, impls, "float32", ("default",), "ci") == ["jit"]
    assert cell_modes("tensorflow", a, impls, "float32", ("xla",), "ci") == ["xla"]
    assert cell_modes("numpy", a, impls, "float32", ("compile",), "ci") == []
    assert cell_modes("custom:tensorflow", a, [a], "float64", None, "ci") == ["eager", "graph", "xla"]
    assert execution.cell_id("a", "float32", "cpu", "jit", "jax") == "a|float32|cpu"
    assert execution.cell_id("a", "float32", "cpu", "eager", "jax") == "a|float32|cpu|eager"


def test_an_unsupported_mode_is_an_unsupported_record_with_its_reason():
    from conformance.execute.cell_runner import CellContext, run_cell

    impl = Implementation(id="x", framework="torch", op="softmax", call=None, dtypes=("float32",),
                          unsupported_execution={"compile": "graph breaks on data-dependent control flow"})
    ctx = CellContext(impl, "torch", "torch 0", "float32", "cpu", worker=None, refs=None, mode="compile")
    [record] = run_cell(ctx)
    assert record["verdict"] == "unsupported" and record["mode"] == "compile"
    assert "graph breaks on data-dependent control flow" in record["detail"]
    assert record["cell"] == "x|float32|cpu|compile"
