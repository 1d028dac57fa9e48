"""How big the report is and how fast its first screen opens: `python -m benchmarks.report_load REPORT_DIR`.

Size: index.html alone (what the browser loads first) and the whole directory (cells/, img/, report.css).
Load time: headless Chromium opens a small harness page that loads index.html in a frame and records the
time from the frame's start to its load event (parsing, the inline script applying the filters, layout;
pictures are lazy and cell pages are separate files, so neither is counted), the median of --repeat runs.
Prints one JSON object; needs Debian's chromium."""
from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

HARNESS = """<!DOCTYPE html><html><body><iframe id="f" style="width:1400px;height:1000px"></iframe><script>
var t0 = performance.now(), f = document.getElementById("f");
f.onload = function () { document.body.setAttribute("data-load-ms", (performance.now() - t0).toFixed(1)); };
f.src = %s;
</script></body></html>"""
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", "--disable-background-networking",
         "--disable-component-update", "--disable-sync", "--allow-file-access-from-files"]


def load_ms(index: Path, chromium: str, tmp: Path) -> float:
    harness = tmp / "harness.html"
    harness.write_text(HARNESS % json.dumps(index.resolve().as_uri()), encoding="utf-8")
    cmd = [chromium, *FLAGS, f"--user-data-dir={tmp / 'profile'}", "--dump-dom", harness.as_uri()]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True,
                            start_new_session=True)
    try:
        out, _ = proc.communicate(timeout=120)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        raise SystemExit("chromium did not finish within 120 s")
    m = re.search(r'data-load-ms="([\d.]+)"', out)
    if not m:
        raise SystemExit("the harness recorded no load time")
    return float(m.group(1))


def measure(report_dir: Path, repeat: int = 3) -> dict:
    index = report_dir / "index.html"
    if not index.is_file():
        raise SystemExit(f"no index.html in {report_dir}")
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None:
        raise SystemExit("chromium not installed (apt-get install -y chromium)")
    files = [p for p in report_dir.rglob("*") if p.is_file() and p.name not in ("results.json", "results.jsonl")]
    with tempfile.TemporaryDirectory() as tmp:
        times = [load_ms(index, chromium, Path(tmp)) for _ in range(repeat)]
    load = os.getloadavg()
    return {"index_bytes": index.stat().st_size,
            "report_bytes": sum(p.stat().st_size for p in files),
            "files": len(files), "cell_pages": len(list((report_dir / "cells").glob("*.html"))),
            "load_ms_median": statistics.median(times), "load_ms": times,
            "cpus": os.cpu_count(), "load_average_1min": round(load[0], 2)}


def main(argv=None) -> int:
    p = argparse.ArgumentParser(prog="python -m benchmarks.report_load", description=__doc__.splitlines()[0])
    p.add_argument("report_dir", type=Path)
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args(argv)
    print(json.dumps(measure(args.report_dir, args.repeat), indent=1))
    return 0


if __name__ == "__main__":
    sys.exit(main())
