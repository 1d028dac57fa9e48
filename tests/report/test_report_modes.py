"""The report's 'where execution modes disagree' section (conformance/report/mode_parity.py): a fabricated
run with a mode disagreement shows it (escaped, filterable by mode), one without does not."""
from __future__ import annotations

import copy
import html as htmllib
import re

import pytest

from conformance.report import write_report
from conformance.report.compare_measure import differing_parts
from conformance.report.mode_parity import mode_parity, record_mode
from report_fixtures import MARKUP, build_results

TORCH_CE = "torch.nn.functional.cross_entropy"


def _float32_ulp_up(x: float) -> float:
    import numpy as np

    return float(np.nextafter(np.float32(x), np.float32(np.inf)))


def with_compiled_twin(disagree: bool = True) -> dict:
    """The base run with torch cross_entropy's float32 cases run again in mode "compile" (the originals in
    "eager"). disagree: ce-basic is inaccurate when compiled (value changed) and ce-huge-logits keeps its
    verdict with one gradient element a ULP away; otherwise every compiled record is bit-identical."""
    results = build_results()
    twins = []
    for r in results["records"]:
        if r["implementation"] == TORCH_CE:
            r["mode"] = "eager"
            if r["dtype"] == "float32":
                twin = copy.deepcopy(r)
                twin.update(mode="compile", cell=r["cell"] + "|compile")
                twins.append(twin)
    if disagree:
        for r in results["records"]:  # markup in the case id (both modes), shown as text
            if r["implementation"] == TORCH_CE and r["dtype"] == "float32" and r["case_id"] == "ce-basic":
                r["case_id"] = "ce-basic" + MARKUP
        basic = next(t for t in twins if t["case_id"] == "ce-basic")
        basic.update(verdict="inaccurate", unexpected=True, part="value", detail="value off by 40 ulp",
                     case_id="ce-basic" + MARKUP)
        basic["observed"]["value"]["data"] = [v * (1 + 40 * 2 ** -23) for v in basic["observed"]["value"]["data"]]
        basic["ulp"]["value"] = 40
        huge = next(t for t in twins if t["case_id"] == "ce-huge-logits")
        grad = huge["observed"]["grad"]["logits"]["data"]
        grad[0] = _float32_ulp_up(grad[0])
    results["records"] += twins
    results["summary"]["total"] = len(results["records"])
    return results


def test_a_verdict_and_a_bits_disagreement_are_found_and_nothing_else():
    parity = mode_parity(with_compiled_twin()["records"])
    assert parity.compared == 3  # the three float32 cases of torch cross_entropy ran eager and compiled
    found = {(d.case_id, d.kind, tuple(d.parts)) for d in parity.disagreements}
    assert found == {("ce-basic" + MARKUP, "verdict", ("value",)), ("ce-huge-logits", "bits", ("grad:logits",))}
    first = parity.disagreements[0]  # verdict disagreements (and unexpected ones) first
    assert first.kind == "verdict" and first.modes == ["eager", "compile"] and first.unexpected
    assert [s.verdict for s in first.sides] == ["accurate", "inaccurate"] and first.sides[1].ulp == "40"
    assert (parity.by_verdict, parity.by_bits) == (1, 1)


def test_identical_modes_and_single_mode_runs_have_no_disagreement():
    assert mode_parity(with_compiled_twin(disagree=False)["records"]).disagreements == []
    assert mode_parity(with_compiled_twin(disagree=False)["records"]).compared == 3
    single = mode_parity(build_results()["records"])
    assert single.compared == 0 and single.disagreements == []


def test_differing_parts_names_the_parts_and_exceptions():
    a = build_results()["records"][0]
    b = copy.deepcopy(a)
    assert differing_parts(a, b) == []
    b["observed"]["value"]["data"] = ["nan"] * len(b["observed"]["value"]["data"])
    assert differing_parts(a, b) == ["value"]
    b.update(observed=None, exception={"type": "RuntimeError", "message": "x"})
    assert differing_parts(a, b) == ["exception"]


def test_record_mode_defaults_to_the_frameworks_default_mode():
    assert record_mode({"framework": "jax"}) == "jit" and record_mode({"framework": "torch"}) == "eager"
    assert record_mode({"framework": "torch", "mode": "compile"}) == "compile"


def _section(page: str) -> str:
    start = page.index('<section id="modes">')
    return page[start:page.index("</section>", start)]


def test_the_report_lists_the_disagreements_escaped_and_filterable(tmp_path):
    page = write_report(with_compiled_twin(), tmp_path).read_text(encoding="utf-8")
    section = _section(page)
    assert 'href="#modes"' in page and 'id="mode-disagreements"' in section
    rows = re.findall(r'<tr class="[^"]*" data-f="torch" data-o="cross_entropy" data-t="float32" data-d="cpu" '
                      r'data-m="eager compile" data-v="([^"]*)"', section)
    assert sorted(rows) == ["accurate accurate", "accurate inaccurate"]
    assert "ce-huge-logits" in section and "grad:logits" in section and "output bits" in section
    assert htmllib.escape(MARKUP, quote=False) in section and MARKUP not in page  # the case id, as text
    assert re.search(r'<a href="cells/cell-torch\.nn\.functional\.cross_entropy-float32-cpu-[0-9a-f]{6}\.html">', section)
    assert (tmp_path / re.search(r'<a href="(cells/[^"]+\.html)">', section).group(1)).exists()
    assert not re.search(r'(src|href)="(https?:)?//', section)  # offline: nothing loaded from the network
    assert "1 by verdict, 1 by output bits only" in section
    mode_select = page[page.index('id="f-mode"'):page.index("</select>", page.index('id="f-mode"'))]
    assert "<option>compile</option>" in mode_select


def test_a_run_whose_modes_agree_says_so_and_a_single_mode_run_has_no_section(tmp_path):
    page = write_report(with_compiled_twin(disagree=False), tmp_path / "agree").read_text(encoding="utf-8")
    section = _section(page)
    assert 'id="mode-disagreements"' not in section and 'id="modes-agree"' in section
    assert "3 cases ran in more than one mode; 0 disagree" in section
    plain = write_report(build_results(), tmp_path / "plain").read_text(encoding="utf-8")
    assert '<section id="modes">' not in plain and 'href="#modes"' not in plain


@pytest.mark.skipif(__import__("shutil").which("chromium") is None, reason="chromium not installed")
def test_the_filter_bar_filters_the_disagreements_by_mode_verdict_dtype_and_search(tmp_path):
    """Rows in order: the verdict disagreement (ce-basic), then the bits one (ce-huge-logits). The dtype filter
    and the search box apply too."""
    from test_report_browser import _chromium

    path = write_report(with_compiled_twin(), tmp_path / "report")
    for query, hidden in (("?mode=compile", [False, False]), ("?mode=eager&verdict=inaccurate", [False, True]),
                          ("?dtype=float32&q=huge", [True, False])):
        dom = _chromium(tmp_path, "--dump-dom", path.as_uri() + query).stdout
        classes = re.findall(r'<tr class="([^"]*)" data-f="torch"', _section(dom))
        assert ["hidden" in c.split() for c in classes] == hidden, (query, classes)
