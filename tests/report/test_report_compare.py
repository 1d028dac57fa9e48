"""compare: the injected regression, improvement and ULP growth are found; exit codes via the CLI main."""
from __future__ import annotations

import html as htmllib

from conformance.report import compare_runs
from conformance.report.cli import compare_main
from conformance.report.compare import classify
from report_fixtures import build_results


def _keys(changes):
    return {(c.implementation, c.dtype, c.case_id) for c in changes}


def test_compare_finds_the_injected_changes(results_files):
    result = compare_runs(results_files["base"], results_files["new"])
    assert _keys(result.regressions) == {
        ("torch.nn.functional.cross_entropy", "float32", "ce-basic"),        # accurate -> inaccurate
        ("torch.nn.functional.cross_entropy", "float32", "ce-tiny-diff"),    # ulp 3 -> 30, same verdict
        ("torch.nn.functional.binary_cross_entropy", "float64", "bce-tiny-p"),  # new exception
    }
    assert _keys(result.improvements) == {
        ("optax.losses.softmax_cross_entropy_with_integer_labels", "float16", "ce-huge-logits")}
    assert len(result.unchanged) == len(build_results()["records"]) - 4
    assert not result.added and not result.removed
    assert result.exit_code == 1
    text = result.text
    assert "regressions: 3, improvements: 1" in text and "torch 2.13.0 -> 2.14.0" in text
    assert "ulp(value) 3 -> 30" in text and "new exception RuntimeError" in text


def test_ulp_threshold_decides_whether_growth_regresses(results_files):
    result = compare_runs(results_files["base"], results_files["new"], ulp_threshold=100)
    assert ("torch.nn.functional.cross_entropy", "float32", "ce-tiny-diff") not in _keys(result.regressions)
    assert len(result.regressions) == 2


def test_classify_rules():
    base = {"verdict": "accurate", "ulp": {"value": 0}, "exception": None}
    assert classify(base, dict(base, verdict="inaccurate"), 2)[0] == "regression"
    assert classify(dict(base, verdict="inaccurate"), base, 2)[0] == "improvement"
    assert classify(base, dict(base, ulp={"value": 2}), 2)[0] == "unchanged"      # growth == threshold
    assert classify(base, dict(base, ulp={"value": "nan"}), 2)[0] == "regression"  # nan counts as inf
    assert classify(base, dict(base, exception={"type": "E", "message": "m"}), 2)[0] == "regression"
    assert classify(base, dict(base, verdict="unsupported"), 2)[0] == "regression"
    assert classify(dict(base, verdict="crashed"), dict(base, verdict="unsupported"), 2)[0] == "improvement"


def test_same_run_has_no_regressions_and_exits_0(results_files, capsys):
    assert compare_main([str(results_files["base"]), str(results_files["base"])]) == 0
    assert "regressions: 0" in capsys.readouterr().out


def test_cli_exits_1_on_regression_and_writes_escaped_html(results_files, tmp_path, capsys):
    code = compare_main([str(results_files["base"]), str(results_files["new"]), "--out", str(tmp_path)])
    assert code == 1
    out = capsys.readouterr().out
    assert out.startswith("compare ") and "REGRESSIONS (3)" in out
    page = (tmp_path / "compare.html").read_text()
    assert "Regressions (3)" in page and "Improvements (1)" in page
    assert "<script" not in page
    assert htmllib.escape("all elements of input should be between 0 and 1") in page


def test_ignore_device_matches_a_cpu_run_with_a_gpu_run(results_files):
    plain = compare_runs(results_files["base"], results_files["gpu"])
    assert not plain.regressions and len(plain.added) == 12 and not plain.unchanged
    across = compare_runs(results_files["base"], results_files["gpu"], ignore_device=True)
    matched = [c for c in across.regressions + across.improvements + across.unchanged
               if c.implementation == "torch.nn.functional.cross_entropy"]
    assert len(matched) == 12 and all(c.device == "cpu→cuda" for c in matched)
    # the gpu run is accurate everywhere: the cpu float16 failures are improvements there
    assert ("torch.nn.functional.cross_entropy", "float16", "ce-huge-logits") in _keys(across.improvements)
