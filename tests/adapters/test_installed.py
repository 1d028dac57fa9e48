"""Planning a run reads versions (and, for CPU-only builds, devices) from package metadata: torch, scipy and
scikit-learn are not imported in the main process just for that, and the strings are the modules' own."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from conformance.adapters import installed

ROOT = Path(__file__).resolve().parents[2]


def _fresh(code: str) -> str:
    proc = subprocess.run([sys.executable, "-c", code], cwd=ROOT, capture_output=True, text=True, timeout=300)
    assert proc.returncode == 0, proc.stderr[-2000:]
    return proc.stdout.strip()


def test_torch_version_and_devices_without_importing_torch():
    pytest.importorskip("torch")
    out = _fresh("import sys\nfrom conformance.adapters import torch_adapter as a\n"
                 "v, d = a.version(), a.devices()\nbefore = 'torch' in sys.modules\n"
                 "import torch\nprint(before, v == f'torch {torch.__version__}', d == (['cpu', 'cuda'] if "
                 "torch.cuda.is_available() else ['cpu']))")
    imported, same_version, same_devices = out.split()
    assert same_version == "True" and same_devices == "True"
    if installed.local_tag("torch") == "cpu":  # a CPU-only wheel: nothing needed torch itself
        assert imported == "False"


def test_numpy_row_versions_without_importing_scipy_or_sklearn():
    pytest.importorskip("scipy")
    pytest.importorskip("sklearn")
    out = _fresh("import sys\nfrom conformance.adapters import numpy_adapter as a\nv = a.version()\n"
                 "before = 'scipy' in sys.modules or 'sklearn' in sys.modules\n"
                 "import numpy, scipy, sklearn\n"
                 "print(before, v == f'numpy {numpy.__version__}, scipy {scipy.__version__}, "
                 "scikit-learn {sklearn.__version__}')")
    assert out.split() == ["False", "True"]


def test_version_of_prefers_a_loaded_module_and_falls_back_to_importing():
    assert installed.version_of("pytest", "no-such-distribution") == pytest.__version__  # loaded: asked
    import json

    assert installed.version_of("json", "no-such-distribution") == json.__version__  # no metadata: imported
    assert installed.dist_version("no-such-distribution") is None
    assert installed.local_tag("no-such-distribution") is None
