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


# --- issue 16: match by content, identical bits, exact zeros, behaviour changes, markdown / JSON ---------------

import copy  # noqa: E402
import json  # noqa: E402

from conformance.report.compare import compare_results  # noqa: E402
from conformance.report.compare_formats import to_json, to_markdown  # noqa: E402


def _zero_ref_record(observed, exact=("0", "0.5"), ulp=4.4e18, verdict="inaccurate", dtype="float64"):
    return {"implementation": "jax.nn.softmax", "op": "softmax", "dtype": dtype, "device": "cpu",
            "case_id": "c", "part": "grad:x", "verdict": verdict, "exception": None,
            "ulp": {"value": 0, "grad": {"x": ulp}},
            "reference": {"value": {"exact": ["1"], "rounded": [1.0]},
                          "grad": {"x": {"exact": list(exact), "rounded": [float(e) for e in exact]}}},
            "observed": {"value": {"dtype": dtype, "shape": [1], "data": [1.0]},
                         "grad": {"x": {"dtype": dtype, "shape": [2], "data": list(observed)}}}}


def test_identical_output_is_unchanged_whatever_the_ulp_figure():
    old = _zero_ref_record([1e-300, 0.5], ulp=4.36e18)
    new = dict(copy.deepcopy(old), ulp={"value": 0, "grad": {"x": 4.4e18}}, verdict="special_value_mismatch")
    kind, why = classify(old, new, 2)
    assert kind == "unchanged" and "identical output" in why[0]


def test_growth_on_an_exact_zero_is_judged_by_an_absolute_measure():
    old = _zero_ref_record([1e-300, 0.5], ulp=4.36e18)
    new = _zero_ref_record([3e-300, 0.5], ulp=4.4e18)  # both ~0 at the scale 0.5: noise, not a regression
    assert classify(old, new, 2)[0] == "unchanged"
    worse = _zero_ref_record([1e-3, 0.5], ulp=4.6e18)  # 1e-3 at an exact 0 of a part of scale 0.5: real
    kind, why = classify(old, worse, 2)
    assert kind == "regression" and why[0].startswith("abs(grad:x)") and "exact 0" in why[0]
    assert classify(worse, old, 2)[0] == "improvement"
    # the other elements of such a part are still measured in ulps of the rounded reference
    off = _zero_ref_record([1e-300, 0.5 + 2 ** -40], ulp=4.36e18)
    assert classify(old, off, 2)[0] == "regression"


def test_behaviour_changes_are_their_own_group():
    base = {"verdict": "special_value_mismatch", "ulp": {}, "reference": {"value": {"rounded": [1.0]}}}
    raised = dict(base, observed=None, exception={"type": "ValueError", "message": "m"})
    nan = dict(base, observed={"value": {"shape": [1], "data": ["nan"]}}, exception=None)
    inf = dict(base, observed={"value": {"shape": [1], "data": ["inf"]}}, exception=None)
    kind, why = classify(raised, nan, 2)
    assert kind == "behaviour" and "behaviour raise -> nan" in why
    assert classify(nan, inf, 2) == ("behaviour", ["behaviour nan -> value"])
    assert classify(nan, nan, 2)[0] == "unchanged"
    # a worse verdict stays a regression, with the behaviour change as its reason
    good = dict(base, verdict="accurate", observed={"value": {"shape": [1], "data": [1.0]}}, exception=None)
    assert classify(good, nan, 2) == ("regression", ["behaviour value -> nan"])


def test_records_are_matched_by_content_not_by_hypothesis_id(results_files):
    old = json.loads(results_files["base"].read_text())
    new = copy.deepcopy(old)
    for i, r in enumerate(new["records"]):
        r["case_id"] = f"hyp-renamed-{i}"  # another run's ids for the same cases
    result = compare_results(old, new)
    assert not result.added and not result.removed and not result.regressions
    assert len(result.unchanged) == len(old["records"])
    # one input bit flipped: that case exists on one side only
    r = next(r for r in new["records"] if r.get("inputs") and r["inputs"].get("logits"))
    r["inputs"]["logits"]["data"][0] = float(r["inputs"]["logits"]["data"][0]) + 0.25
    result = compare_results(old, new)
    assert len(result.added) == 1 and len(result.removed) == 1


def test_markdown_and_json_outputs(results_files, capsys):
    result = compare_runs(results_files["base"], results_files["new"])
    md = to_markdown(result)
    assert md.startswith("### Conformance compare: **regressed**")
    assert "| 3 | 0 | 1 |" in md and "<summary><b>Regressions (3)</b></summary>" in md
    assert "torch 2.13.0 → 2.14.0" in md and "new exception RuntimeError" in md
    doc = json.loads(to_json(result))
    assert doc["counts"]["regressions"] == 3 and doc["exit_code"] == 1
    assert {c["case_id"] for c in doc["regressions"]} == {"ce-basic", "ce-tiny-diff", "bce-tiny-p"}
    assert compare_main([str(results_files["base"]), str(results_files["new"]), "--format", "json"]) == 1
    assert json.loads(capsys.readouterr().out)["counts"]["improvements"] == 1
    assert compare_main([str(results_files["base"]), str(results_files["new"]), "--format", "markdown"]) == 1
    assert "| implementation | dtype |" in capsys.readouterr().out
    assert compare_main([str(results_files["base"]), str(results_files["new"]), "--format", "yaml"]) == 2


def test_markdown_cells_are_escaped():
    from conformance.report.compare_formats import _cell

    assert _cell("a|b\nc <script>") == "a\\|b c &lt;script&gt;"


def test_rows_one_release_lacks_are_grouped_by_implementation_not_listed_per_case(results_files, tmp_path):
    """A row the old release lacks (e.g. a Keras loss added later) is one line per implementation, not one
    'only in new' change per case; a case missing from a row both runs hold is still listed per case."""
    old = json.loads(results_files["base"].read_text())
    new = copy.deepcopy(old)
    extra = [dict(copy.deepcopy(r), implementation="keras.losses.NewLoss", case_id=f"new-{i}")
             for i, r in enumerate(old["records"][:3])]
    new["records"] += extra
    dropped = new["records"].pop(0)  # a case of a row both runs hold
    result = compare_results(old, new)
    assert result.impls_only_new == {"keras.losses.NewLoss": 3} and result.impls_only_old == {}
    assert [c.case_id for c in result.removed] == [dropped["case_id"]] and not result.added
    assert "IMPLEMENTATIONS ONLY IN NEW (1)" in result.text and "keras.losses.NewLoss: 3 records" in result.text
    assert "keras.losses.NewLoss" in to_markdown(result)
    doc = json.loads(to_json(result))
    assert doc["implementations_only_in_new"] == {"keras.losses.NewLoss": 3}
    assert doc["counts"]["only_in_new"] == 0 and doc["counts"]["implementations_only_in_new"] == 1
    # and the other way round: the new release lost the row
    back = compare_results(new, old)
    assert back.impls_only_old == {"keras.losses.NewLoss": 3} and not back.removed
    from conformance.report.html_compare import render_compare
    page = render_compare(result)
    assert "Implementations only in new (1)" in page and "keras.losses.NewLoss" in page
