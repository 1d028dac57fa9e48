"""conformance/execute/heap.py: the run's processes keep their freed heap (glibc's mallopt), once per
process; CE_KEEP_HEAP=0 leaves the defaults. Run in subprocesses: the setting is process-wide."""
import os
import subprocess
import sys

import pytest

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
CODE = ("from conformance.execute import heap; a = heap.keep_heap(); b = heap.keep_heap(); "
        "import numpy as np; x = np.exp(np.ones(1 << 16)).sum(); print(a, b, heap._done, x > 0)")


def _run(env_value):
    env = {**os.environ, "PYTHONPATH": ROOT}
    env.pop("CE_KEEP_HEAP", None)
    if env_value is not None:
        env["CE_KEEP_HEAP"] = env_value
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, env=env, cwd=ROOT,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    return out.stdout.split()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="glibc's mallopt")
def test_keep_heap_applies_once_and_can_be_turned_off():
    a, b, done, ok = _run(None)
    assert (a, b, done, ok) == ("True", "True", "[True]", "True")  # set once: the second call only reports
    a, b, done, ok = _run("0")
    assert (a, b, done, ok) == ("False", "False", "[False]", "True")


def test_the_run_and_its_lanes_keep_the_heap():
    from pathlib import Path

    for name in ("run.py", "lanes.py"):
        text = (Path(ROOT) / "conformance" / "execute" / name).read_text()
        assert "keep_heap()" in text, name
