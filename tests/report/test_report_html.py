"""The report: first screen (summaries, worst findings), matrix, drill-down pages, pictures, escaping, no
network."""
from __future__ import annotations

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
    colours = dict(re.findall(r"\.v-(\w+) \{ background-color: (#[0-9a-f]{6});", page))
    cells = re.findall(r'<td class="cell (\w+) v-(\w+)" data-i="\d+" data-verdict="(\w+)"', page)
    by_verdict = {v: (status, colours[cls]) for status, cls, v in cells}
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
    assert (torch_bce.conforming, torch_bce.applicable) == (2, 3)  # 1 uncertified left out; 1 known failure


def cell_page(report_html, prefix: str) -> str:
    path, page = report_html
    href = re.search(rf'href="(cells/{re.escape(prefix)}[^"]*\.html)"', page).group(1)
    return (path.parent / href).read_text(encoding="utf-8")


def test_matrix_cells_link_to_their_drill_down_pages(report_html):
    path, page = report_html
    links = re.findall(r'<td class="cell[^>]*>\s*<a href="cells/(cell-[^"]+)\.html"', page)
    assert links and len(links) == len(set(links)) == len(build_matrix(build_results()).cells)
    for anchor in links:
        assert f'id="{anchor}"' in (path.parent / "cells" / f"{anchor}.html").read_text(encoding="utf-8")


def test_drill_down_shows_the_minimal_input_with_reference_and_observed(report_html):
    section = cell_page(report_html, "cell-torch.nn.functional.cross_entropy-float16")
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


def test_convention_drill_down_agrees_with_itself(report_html):
    """torch BCE float32 at p = denorm_min: the clamp convention's value 100 is shown beside exact (103.27893)
    and observed (100); the heading's ULP numbers are the table's (0 against the convention, 429,776 against
    the correctly rounded value), and the detail prints -1e12 as the table does."""
    section = cell_page(report_html, "cell-torch.nn.functional.binary_cross_entropy-float32")
    value = section[section.index("<h4>value"):section.index("</table>", section.index("<h4>value"))]
    heading = value[:value.index("</h4>")]
    assert "ULP error 0 against the value of convention <span class=\"mono\">log_clamp_-100</span>" in heading
    assert "(429,776 against the correctly rounded value)" in heading
    assert '<th>convention <span class="mono">log_clamp_-100</span></th>' in value
    row = re.search(r"<tr class=\"as-documented\"><td class=\"mono\">\(\)</td>(.*?)</tr>", value).group(1)
    cells = re.findall(r"<td[^>]*>([^<]*)</td>", row)
    assert cells[0].startswith("103.2789299") and cells[1:] == ["103.27893", "100.0", "100.0", "429,776", "0"]
    grad = section[section.index("<h4>gradient d/dp"):]
    assert "ULP error inf" in grad[:grad.index("</h4>")]
    assert "got -1000000000000.0, reference -inf" in section and "-999999995904" not in section
    assert "-1000000000000.0</td>" in grad


def test_convention_and_known_divergence_reasons_are_linked(report_html):
    path, page = report_html
    keras = cell_page(report_html, "cell-keras.losses.BinaryCrossentropy")
    assert "Convention <span class=\"mono\">clip_eps_1e-7</span>" in keras
    assert 'href="https://github.com/keras-team/keras/blob/master/keras/src/backend/tensorflow/nn.py"' in keras
    optax = cell_page(report_html, "cell-optax.losses.softmax_cross_entropy_with_integer_labels-float16")
    assert 'Known divergence <span class="mono">optax-fp16-overflow</span>: float16 logits near 1000 overflow' in optax
    assert '<a href="https://github.com/google-deepmind/optax/issues/0000">upstream</a>' in optax
    known = page[page.index('id="known-table"'):page.index("</table>", page.index('id="known-table"'))]
    row = known[known.index('id="known-optax-fp16-overflow"'):]
    row = row[:row.index("</tr>")]
    assert "float16 logits near 1000 overflow in exp" in row and "&gt;=0.2" in row and "matched" in row
    assert re.search(r'<td class="num" data-value="1">1</td>', row)
    assert 'href="https://github.com/google-deepmind/optax/issues/0000"' in row
    assert "torch-bf16-nll-old" in known and "matched nothing" in known and "javascript:" not in known


def test_first_screen_summary_matches_the_records(report_html):
    _, page = report_html
    records = build_results()["records"]
    table = page[page.index('id="by-framework"'):page.index("</table>", page.index('id="by-framework"'))]
    for fw in ("torch", "jax", "tensorflow", "numpy"):
        mine = [r for r in records if r["framework"] == fw]
        row = table[table.index(f'data-f="{fw}"'):]
        row = row[:row.index("</tr>")]
        values = dict(re.findall(r'<td class="num[^"]*" data-value="([^"]+)">([^<]*)</td>', row))
        assert str(len(mine)) in values and values[str(len(mine))] == f"{len(mine):,}"
        unexpected = sum(r["unexpected"] for r in mine)
        assert re.search(rf'<td class="num( bad)?" data-value="{unexpected}">{unexpected}</td>', row)
    worst = page[page.index('id="worst"'):page.index("</ol>", page.index('id="worst"'))]
    items = re.findall(r"<li class=\"(unexpected-item|known-item)\"", worst)
    assert items[0] == "unexpected-item" and "known-item" in items
    assert items.index("known-item") == sum(1 for i in items if i == "unexpected-item")  # unexpected first
    assert "crashed" in worst[:worst.index("</li>")]        # the worst verdict leads


def test_plots_are_png_files_with_full_labels(report_html):
    path, page = report_html
    images = re.findall(r'<img src="(img/[^"]+\.png)"[^>]*loading="lazy"', page)
    assert len(images) >= 5  # ULP distributions per dtype and part, agreement matrices
    for rel in images:
        assert (path.parent / rel).read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert "Agreement between implementations of cross_entropy" in page
    assert "ULP error distribution, float16" in page
    from conformance.report.plots import ulp_histogram_rows
    rows, ops = ulp_histogram_rows(build_results()["records"], "float32", False)
    assert "keras.losses.BinaryCrossentropy(from_logits=False)" in rows["value"]   # never truncated
    assert ops["keras.losses.BinaryCrossentropy(from_logits=False)"] == "binary_cross_entropy"


def all_pages(report_html) -> list[str]:
    path, page = report_html
    return [page] + [p.read_text(encoding="utf-8") for p in sorted((path.parent / "cells").glob("*.html"))]


def test_markup_from_frameworks_and_inputs_is_escaped(report_html):
    pages = all_pages(report_html)
    for text in pages:
        assert MARKUP not in text and IMG_MARKUP not in text
        assert "onerror=" not in text.replace("onerror=&#34;", "").replace("onerror=&quot;", "")
        assert 'href="javascript:' not in text                  # a javascript: link from data is dropped
    assert any(htmllib.escape(MARKUP, quote=False) in text for text in pages)
    index = pages[0]
    assert re.findall(r"<script[^>]*>", index) == ['<script type="application/json" id="cells-data">', "<script>"]
    data = index[index.index('id="cells-data">'):index.index("</script>", index.index('id="cells-data">'))]
    assert "<" not in data[len('id="cells-data">'):]       # tojson escapes <, > and & inside the JSON block
    assert not any("<script" in text for text in pages[1:])  # the drill-down pages have no script at all


def test_report_loads_nothing_from_the_network(report_html):
    for text in all_pages(report_html):
        assert not re.search(r'<(script|img|link|iframe)[^>]+(src|href)="(https?:)?//', text)
        assert "@import" not in text
    index = all_pages(report_html)[0]
    assert "<style>" in index and "<link" not in index
    assert '<link rel="stylesheet" href="../report.css">' in all_pages(report_html)[1]


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
    write_report(build_results(), tmp_path / "b")
    assert any("--results results.json" in c.read_text() for c in (tmp_path / "b" / "cells").glob("*.html"))


def test_unwritable_out_dir_is_a_report_input_error(results_files, tmp_path):
    blocker = tmp_path / "file"
    blocker.write_text("x")
    with pytest.raises(ReportInputError, match="cannot"):
        write_report(results_files["base"], blocker / "out")


def test_convention_rows_equal_to_the_documented_value_are_marked_as_such(report_html):
    section = cell_page(report_html, "cell-keras.losses.BinaryCrossentropy-from_logits-False-float64")
    assert '<th>convention <span class="mono">clip_eps_1e-7</span></th>' in section
    assert 'class="as-documented"' in section and 'class="differs"' not in section


def test_a_second_report_in_the_same_directory_drops_stale_cell_pages(results_files, tmp_path):
    write_report(results_files["base"], tmp_path)
    stale = tmp_path / "cells" / "cell-gone-float32-cpu-000000.html"
    stale.write_text("old")
    write_report(results_files["gpu"], tmp_path)
    pages = {p.name for p in (tmp_path / "cells").glob("*.html")}
    assert stale.name not in pages and pages and all("cuda" in name for name in pages)


def test_mode_filter_only_when_records_carry_a_mode(report_html, tmp_path):
    _, page = report_html
    assert 'id="f-mode"' not in page                        # no record has a mode
    results = build_results()
    for i, r in enumerate(results["records"]):
        r["mode"] = "jit" if i % 2 else "eager"
    page = write_report(results, tmp_path).read_text()
    select = page[page.index('id="f-mode"'):page.index("</select>", page.index('id="f-mode"'))]
    assert "<option>eager</option>" in select and "<option>jit</option>" in select
