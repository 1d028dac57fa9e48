"""The report page: matrix, drill-down, pictures, escaping, self-containedness."""
from __future__ import annotations

import base64
import html as htmllib
import re

import pytest

from conformance.report import ReportInputError, write_report
from conformance.report.analysis import build_matrix
from report_fixtures import IMG_MARKUP, MARKUP, build_results


def test_matrix_has_every_implementation_and_dtype(report_html):
    _, page = report_html
    matrix = page[page.index('id="matrix"'):page.index("</table>", page.index('id="matrix"'))]
    for impl in build_results()["implementations"]:
        assert htmllib.escape(impl["id"]).replace(".", ".<wbr>").replace("(", "(<wbr>") in matrix
    for dtype in ("float64", "float32", "float16", "bfloat16"):
        assert f"<th>{dtype}</th>" in matrix


def test_cells_are_coloured_by_worst_verdict_and_marked(report_html):
    _, page = report_html
    cells = re.findall(r'<td class="cell (\w+)" style="background-color:(#[0-9a-f]{6});[^"]*" data-verdict="(\w+)"',
                       page)
    by_verdict = {v: (status, colour) for status, colour, v in cells}
    assert by_verdict["crashed"] == ("unexpected", "#b71c1c")
    assert by_verdict["special_value_mismatch"][0] == "known"  # the optax float16 known divergence
    assert by_verdict["unsupported"] == ("ok", "#e0e0e0")
    assert by_verdict["accurate"] == ("ok", "#81c784")


def test_conformance_percentage_excludes_unsupported_and_uncertified():
    matrix = build_matrix(build_results())
    rows = {row.implementation: row for _, rows in matrix.ops for row in rows}
    torch_ce = rows["torch.nn.functional.cross_entropy"]
    # 13 records: 9 accurate + 1 stable conform; 2 inaccurate + 1 error_behaviour_mismatch do not
    assert (torch_ce.conforming, torch_ce.applicable) == (10, 13)
    scipy = rows["scipy.special.softmax"]
    assert (scipy.conforming, scipy.applicable) == (3, 3)  # its 2 unsupported records are not applicable
    torch_bce = rows["torch.nn.functional.binary_cross_entropy"]
    assert (torch_bce.conforming, torch_bce.applicable) == (2, 2)  # 1 uncertified left out


def test_matrix_cells_link_to_their_drill_down(report_html):
    _, page = report_html
    links = set(re.findall(r'<td class="cell[^>]*>\s*<a href="#(cell-[^"]+)"', page))
    anchors = set(re.findall(r'<details class="cell-detail" id="(cell-[^"]+)"', page))
    assert links and links == anchors


def test_drill_down_shows_the_minimal_input_with_reference_and_observed(report_html):
    _, page = report_html
    start = page.index('id="cell-torch.nn.functional.cross_entropy-float16')
    section = page[start:page.index("</details>", start)]
    first = section.index("Shown: ")
    assert "ce-huge-logits" in section[first:first + 200] and "minimal failing input" in section
    assert "exact reference" in section and "correctly rounded" in section and "observed" in section
    assert "gradient d/dlogits" in section                 # gradients beside the value
    assert "ULP error 37" in section and "bound ratio 4.62" in section
    assert re.search(r"python -m conformance replay ce-huge-logits --results \S+ --implementation "
                     r"torch\.nn\.functional\.cross_entropy --dtype float16", section)
    assert 'implementations_for(&#39;torch&#39;)' in section  # strings through repr
    assert "np.array([1000.0, 1000.5, 999.0, -3.0, 7.5, 7.25], dtype=np.float64).reshape((2, 3))" \
           ".astype(np.float16)" in section


def test_convention_and_known_divergence_reasons_are_linked(report_html):
    _, page = report_html
    assert "Convention <span class=\"mono\">clip_eps_1e-7</span>" in page
    assert 'href="https://github.com/keras-team/keras/blob/master/keras/src/backend/tensorflow/nn.py"' in page
    assert 'Known divergence: optax-fp16-overflow' in page
    assert '<a href="https://github.com/google-deepmind/optax/issues/0000">' in page


def test_plots_are_inline_png(report_html):
    _, page = report_html
    images = re.findall(r'<img src="data:image/png;base64,([A-Za-z0-9+/=]+)"', page)
    assert len(images) >= 3  # ULP distributions per dtype and agreement matrices
    for b64 in images:
        assert base64.b64decode(b64)[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Agreement between implementations of cross_entropy" in page
    assert "ULP error distribution, float16" in page


def test_markup_from_frameworks_and_inputs_is_escaped(report_html):
    _, page = report_html
    assert MARKUP not in page and IMG_MARKUP not in page
    assert htmllib.escape(MARKUP, quote=False) in page
    assert "onerror=" not in page.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
    assert len(re.findall(r"<script", page)) == 1            # only the report's own
    assert 'href="javascript:' not in page                  # a javascript: link from data is dropped


def test_report_is_self_contained(report_html):
    _, page = report_html
    assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="(https?:)?//', page)
    assert "<link" not in page and "@import" not in page
    assert "<style>" in page


def test_environment_and_conventions_tables(report_html):
    _, page = report_html
    env = page[page.index('id="environment"'):]
    for text in ("2026-11-24 06:00:00 UTC", "3 min 20 s", "quick", "1234", "3.11.2", "AMD EPYC 7B13", "2.21.0",
                 "cupy"):
        assert text in env
    conv = page[page.index('id="conventions"'):page.index('id="environment"')]
    assert "log_clamp_-100" in conv and "prob_target_mean_count" in conv and "raises" in conv


def test_report_from_jsonl_and_dict(results_files, tmp_path):
    p = write_report(results_files["jsonl"], tmp_path / "a")
    assert p.name == "index.html" and 'id="matrix"' in p.read_text()
    q = write_report(build_results(), tmp_path / "b")
    assert "--results results.json" in q.read_text()


def test_unwritable_out_dir_is_a_report_input_error(results_files, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportInputError, match="cannot"):
        write_report(results_files["base"], blocker / "out")


def test_convention_rows_equal_to_the_documented_value_are_marked_as_such(report_html):
    _, page = report_html
    start = page.index('id="cell-keras.losses.BinaryCrossentropy-from_logits-False-float64')
    section = page[start:page.index("</details>", start)]
    assert "as documented</th>" in section and 'class="as-documented"' in section
    assert 'class="differs"' not in section
