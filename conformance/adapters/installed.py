"""What package metadata says about an installed package, without importing it: the main process reads version
strings (and, for a CPU-only torch wheel, its devices) from this, so torch, scipy and scikit-learn are imported
only in their worker. Where metadata cannot tell (a build that may have CUDA), or the module is already
imported, the module itself is asked, as before. (TensorFlow and JAX are still imported to plan a run: their
implementation rows are built from the framework's objects.)"""
from __future__ import annotations

import importlib.metadata
import importlib.util
import sys


def dist_version(*dists: str) -> str | None:
    """The version of the first of these distributions that is installed, from its metadata; None if none."""
    for dist in dists:
        try:
            return importlib.metadata.version(dist)
        except importlib.metadata.PackageNotFoundError:
            continue
    return None


def version_of(module: str, *dists: str) -> str:
    """`module.__version__`: read from the module when it is already imported, else from the metadata of the
    first installed distribution in `dists` (the same string: the version a wheel's metadata declares is
    the one its __version__ reports), else by importing the module."""
    loaded = sys.modules.get(module)
    if loaded is not None and getattr(loaded, "__version__", None):
        return str(loaded.__version__)
    found = dist_version(*dists)
    if found is not None:
        return found
    return str(importlib.import_module(module).__version__)


def has_module(module: str) -> bool:
    return module in sys.modules or importlib.util.find_spec(module) is not None


def local_tag(dist: str) -> str | None:
    """The local part of an installed distribution's version ("cpu" for torch 2.13.0+cpu), or None."""
    version = dist_version(dist)
    return version.split("+", 1)[1] if version and "+" in version else None

