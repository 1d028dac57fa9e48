"""The one home for "this test needs a framework that may not be installed": a test that runs torch (its custom
kernels, its rows or the Keras torch backend) skips with the reason when torch is absent, as in a Python 3.12 or
3.13 environment without the 2.13.0 CPU wheel (only the Python 3.11 wheel is on this machine's disk)."""
from __future__ import annotations

import importlib.util

import pytest


def installed(module: str) -> bool:
    return importlib.util.find_spec(module) is not None


def needs(*modules: str):
    """Skip the decorated test, with the missing modules named, unless every module is importable."""
    missing = [m for m in modules if not installed(m)]
    return pytest.mark.skipif(bool(missing), reason=f"needs {', '.join(missing)} (not installed)")
