"""The wheel: built from the package sources (in a copy, so the checkout stays clean), its metadata carries
the license, classifiers, Python requirement, extras and entry points; it ships py.typed, the schema and the
known divergences."""
from __future__ import annotations

import email
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SOURCES = ("pyproject.toml", "README.md", "LICENSE", "conformance", "reference")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> zipfile.ZipFile:
    import setuptools
    from packaging.version import Version

    if Version(setuptools.__version__) < Version("77"):
        pytest.skip(f"setuptools {setuptools.__version__} < 77 cannot build SPDX license metadata (PEP 639)")
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        (shutil.copytree if (ROOT / name).is_dir() else shutil.copy2)(
            ROOT / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")} if (ROOT / name).is_dir()
                                        else {}))
    out = tmp_path_factory.mktemp("dist")
    result = subprocess.run([sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation", "-q",
                             "-w", str(out), str(src)], capture_output=True, text=True, timeout=600)
    assert result.returncode == 0, result.stderr[-3000:]
    (path,) = out.glob("ce_conformance-*.whl")
    return zipfile.ZipFile(path)


def _dist_file(whl: zipfile.ZipFile, name: str) -> str:
    (member,) = [n for n in whl.namelist() if n.split("/")[0].endswith(".dist-info") and n.endswith("/" + name)]
    return whl.read(member).decode()


def test_metadata_carries_license_classifiers_and_python(wheel):
    meta = email.message_from_string(_dist_file(wheel, "METADATA"))
    assert meta["License-Expression"] == "MIT"
    assert "LICENSE" in meta.get_all("License-File")
    assert meta["Requires-Python"] == ">=3.11"
    classifiers = meta.get_all("Classifier")
    assert "Framework :: Pytest" in classifiers and "Programming Language :: Python :: 3.11" in classifiers
    assert "Typing :: Typed" in classifiers
    assert {"torch", "tensorflow", "jax", "numpy", "cupy", "ray", "all", "test"} <= set(meta.get_all("Provides-Extra"))
    requires = meta.get_all("Requires-Dist")
    assert not any(r.startswith("mpmath") and "extra" not in r for r in requires)  # only the tests use mpmath
    assert meta.get_all("Project-URL")


def test_entry_points_license_file_and_data_are_in_the_wheel(wheel):
    entry_points = _dist_file(wheel, "entry_points.txt")
    assert "ce-conformance = conformance.cli:console_main" in entry_points
    assert "[pytest11]" in entry_points and "conformance.pytest_plugin = conformance.pytest_plugin" in entry_points
    names = set(wheel.namelist())
    assert "MIT License" in _dist_file(wheel, "LICENSE")
    assert {"conformance/py.typed", "reference/py.typed", "conformance/results/schema/results.schema.json",
            "conformance/judge/known_divergences.toml", "conformance/pytest_plugin.py"} <= names
