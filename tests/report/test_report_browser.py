"""The report in a real browser: headless Chromium renders the matrix, a drill-down and a plot, shows the
markup from a framework's exception as text (no script runs), and takes a screenshot.

Needs Debian's chromium (`apt-get install -y chromium`); skipped with that reason when it is absent."""
from __future__ import annotations

import html as htmllib
import os
import re
import signal
import shutil
import subprocess

import pytest

from report_fixtures import MARKUP

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


def test_rendered_page_has_matrix_drill_down_and_plot(dom):
    assert re.search(r'<table class="matrix[^"]*" id="matrix">', dom)
    assert re.search(r'<td class="cell unexpected" style="background-color:#b71c1c', dom)
    assert re.search(r'<details class="cell-detail" id="cell-torch\.nn\.functional\.cross_entropy-float16', dom)
    assert "minimal failing input" in dom and "exact reference" in dom
    assert re.search(r'<img src="data:image/png;base64,[A-Za-z0-9+/]{100,}', dom)


def test_markup_is_shown_as_text_and_no_script_ran(dom):
    assert htmllib.escape(MARKUP, quote=False) in dom      # serialised as text: &lt;script&gt;...
    assert "<b>x</b>" not in dom and "alert(1)</script>" not in dom
    assert len(re.findall(r"<script", dom)) == 1            # only the report's own script element
    assert not re.search(r"<body[^>]*data-pwned", dom)      # the <img onerror> payload did not run


def test_screenshot(report_html, tmp_path):
    path, _ = report_html
    shot = tmp_path / "report.png"
    proc = _chromium(tmp_path, f"--screenshot={shot}", "--window-size=1400,1000", path.as_uri())
    assert proc.returncode == 0, proc.stderr[-2000:]
    data = shot.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n" and len(data) > 50_000
