"""The report in a real browser: headless Chromium renders the matrix, a drill-down page and a plot, shows the
markup from a framework's exception as text (no script runs), applies the "hide known divergences and
conventions" toggle and a framework filter (the page takes them from its address, as its controls set it) and
its totals agree with the records, and takes a screenshot.

Needs Debian's chromium (`apt-get install -y chromium`); skipped with that reason when it is absent."""
from __future__ import annotations

import html as htmllib
import os
import re
import signal
import shutil
import subprocess

import pytest

from report_fixtures import MARKUP, build_results

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(CHROMIUM is None, reason="chromium not installed (apt-get install -y chromium)")

FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def _chromium(tmp_path, *args) -> subprocess.CompletedProcess:
    """Run chromium in its own process group; a page blocked by a dialog (an alert() that ran) never
    finishes, so a time limit turns that into a failure and the whole group is killed."""
    cmd = [CHROMIUM, *FLAGS, f"--user-data-dir={tmp_path / 'chromium-profile'}", *args]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)
    try:
        out, err = proc.communicate(timeout=90)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        pytest.fail("chromium did not finish: the page blocked (did an alert() dialog run?)")
    return subprocess.CompletedProcess(cmd, proc.returncode, out, err)


@pytest.fixture(scope="module")
def dom(report_html, tmp_path_factory) -> str:
    path, _ = report_html
    proc = _chromium(tmp_path_factory.mktemp("dump"), "--dump-dom", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout


def test_rendered_page_has_matrix_summary_and_plot(dom):
    assert re.search(r'<table class="matrix[^"]*" id="matrix">', dom)
    assert re.search(r'<td class="cell unexpected v-crashed', dom)
    assert re.search(r'<a href="cells/cell-torch\.nn\.functional\.cross_entropy-float16[^"]*\.html">', dom)
    assert 'id="by-framework"' in dom and 'id="worst"' in dom and 'id="known-table"' in dom
    assert re.search(r'<img src="img/[^"]+\.png"', dom)


def test_rendered_drill_down_page(report_html, tmp_path):
    path, page = report_html
    href = re.search(r'href="(cells/cell-torch\.nn\.functional\.cross_entropy-float16[^"]*\.html)"', page).group(1)
    proc = _chromium(tmp_path, "--dump-dom", (path.parent / href).as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    assert "minimal failing input" in proc.stdout and "exact reference" in proc.stdout
    assert "<script" not in proc.stdout


def test_markup_is_shown_as_text_and_no_script_ran(dom, report_html, tmp_path):
    path, page = report_html
    href = re.search(r'href="(cells/cell-torch\.nn\.functional\.cross_entropy-bfloat16[^"]*\.html)"', page).group(1)
    cell = _chromium(tmp_path, "--dump-dom", (path.parent / href).as_uri()).stdout
    assert htmllib.escape(MARKUP, quote=False) in cell      # serialised as text: &lt;script&gt;...
    for text in (dom, cell):
        assert "<b>x</b>" not in text and "alert(1)</script>" not in text
        assert not re.search(r"<body[^>]*data-pwned", text)  # the <img onerror> payload did not run
    assert len(re.findall(r"<script", dom)) == 2            # the report's JSON data block and its script


def _shown(dom: str) -> dict[str, str]:
    return dict(re.findall(r'<b id="shown-([a-z]+)">([^<]*)</b>', dom))


def test_hide_known_and_framework_filter_totals_match_the_records(report_html, tmp_path):
    """?hide-known=1&framework=torch: only torch's rows stay, known divergences and conventions lose their
    colour, and the totals line counts exactly torch's records from results.json."""
    path, _ = report_html
    proc = _chromium(tmp_path, "--dump-dom", path.as_uri() + "?hide-known=1&framework=torch")
    assert proc.returncode == 0, proc.stderr[-2000:]
    dom = proc.stdout
    assert re.search(r'<body class="hide-known" data-view="hide-known=1&amp;framework=torch">', dom)
    records = [r for r in build_results()["records"] if r["framework"] == "torch"]
    applicable = [r for r in records if r["verdict"] not in ("unsupported", "uncertified")]
    conforming = sum(r["verdict"] in ("accurate", "stable", "convention") for r in applicable)
    known = sum(1 for r in records if r["known_divergence"] and not r["unexpected"]
                and r["verdict"] not in ("accurate", "stable", "convention", "unsupported", "uncertified"))
    assert _shown(dom) == {
        "cells": str(len({r["cell"] for r in records})), "records": str(len(records)),
        "unexpected": str(sum(r["unexpected"] for r in records)), "known": str(known),
        "conventions": str(sum(r["verdict"] == "convention" for r in records)),
        "conformance": f"{100 * conforming / len(applicable):.1f}%"}
    assert known >= 1
    rows = re.findall(r'<tr class="impl-row( hidden)?" data-f="(\w+)"', dom)
    assert rows and all((hidden == "") == (fw == "torch") for hidden, fw in rows)
    # torch BCE float32: its worst verdict is a known special-value mismatch; hidden, what is left is uncertified
    bce = re.search(r'<td class="cell known ([^"]*)"[^>]*data-verdict="special_value_mismatch"[^>]*>\s*<a href="cells/cell-'
                    r'torch\.nn\.functional\.binary_cross_entropy-float32', dom)
    assert bce and "v-uncertified" in bce.group(1).split() and "filtered" not in bce.group(1)
    unfiltered = _shown(_chromium(tmp_path, "--dump-dom", path.as_uri()).stdout)
    assert unfiltered["records"] == str(len(build_results()["records"]))


def test_screenshot(report_html, tmp_path):
    path, _ = report_html
    shot = tmp_path / "report.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
