"""Loads the ce-conformance pytest plugin (conformance/pytest_plugin.py) for runs from a checkout where the
package's `pytest11` entry point is not installed; where it is (pip install), the plugin is already
registered and is not registered twice."""
from __future__ import annotations

import conformance.pytest_plugin as _plugin


def pytest_addoption(parser, pluginmanager):
    if not pluginmanager.is_registered(_plugin):
        pluginmanager.register(_plugin, "conformance.pytest_plugin")
