"""Fixtures the known-divergence tests share (a module may define its own `entries` over another registry)."""
import pytest

from conformance.judge import known


@pytest.fixture()
def entries():
    """The bundled known-divergence registry (conformance/judge/known_divergences.toml), freshly loaded."""
    return known.load()
