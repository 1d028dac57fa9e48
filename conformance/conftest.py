"""`pytest conformance`: one test per cell (implementation x dtype x device).

Options choose frameworks, ops, dtypes, devices, implementations, profile and seed; --conformance-out DIR
streams the records (one results-<worker>.jsonl per pytest-xdist worker). A cell fails when it has a
failing verdict not covered by a known divergence. The seed is printed in the header and reproducible.
"""
from __future__ import annotations

import os

import pytest

from conformance.run import ALL_DEVICES, ALL_DTYPES


def pytest_addoption(parser):
    g = parser.getgroup("ce-conformance")
    g.addoption("--frameworks", default="", help="comma-separated frameworks (default: all; none with --impl)")
    g.addoption("--impl", action="append", default=[], help="a custom implementation package.module:function")
    g.addoption("--impl-op", default="", help="the reference op a custom --impl computes")
    g.addoption("--impl-signature", default="torch", help="custom --impl calling convention: torch|jax|tf|numpy")
    g.addoption("--impl-dtypes", default="", help="custom --impl: dtypes it supports (comma-separated)")
    g.addoption("--ops", default="", help="comma-separated reference ops (default all)")
    g.addoption("--dtypes", default=",".join(ALL_DTYPES), help="comma-separated dtypes")
    g.addoption("--devices", default=",".join(ALL_DEVICES), help="comma-separated devices")
    g.addoption("--implementations", default="", help="comma-separated fnmatch patterns on implementation ids")
    g.addoption("--profile", default=os.environ.get("CE_PROFILE", "quick"), help="quick, ci or thorough")
    g.addoption("--conformance-seed", type=int, default=int(os.environ.get("CE_SEED", "0")))
    g.addoption("--conformance-out", default=None, help="directory for streamed records")
    g.addoption("--conformance-cache", default=os.environ.get("CE_CONFORMANCE_CACHE", ""),
                help="reference cache directory (shared safely by xdist workers); 'none' disables it "
                     "(default ~/.cache/ce-conformance)")


def pytest_report_header(config):
    return (f"ce-conformance: profile={config.getoption('--profile')} "
            f"seed={config.getoption('--conformance-seed')}")


def pytest_generate_tests(metafunc):
    if "cell" not in metafunc.fixturenames:
        return
    from conformance.cell_selection import select_cells

    from conformance.adapters import FRAMEWORKS

    opt = metafunc.config.getoption
    specs = custom_specs(metafunc.config)
    frameworks = _csv(opt("--frameworks")) or (() if specs else tuple(FRAMEWORKS))
    cells = select_cells(
        frameworks=frameworks, ops=_csv(opt("--ops")), dtypes=_csv(opt("--dtypes")),
        devices=_csv(opt("--devices")), patterns=_csv(opt("--implementations")), custom_specs=specs,
    )
    metafunc.parametrize("cell", cells, ids=[c.id for c in cells])


def custom_specs(config) -> list:
    """The --impl options as conformance.custom.CustomSpec (parsed once per session)."""
    if not hasattr(config, "_ce_custom_specs"):
        from conformance.custom import CustomSpecError, parse_spec

        targets = config.getoption("--impl")
        if targets and not config.getoption("--impl-op"):
            raise pytest.UsageError("--impl needs --impl-op (the reference op the function computes)")
        try:
            config._ce_custom_specs = [
                parse_spec(t, config.getoption("--impl-op"), config.getoption("--impl-signature"),
                           _csv(config.getoption("--impl-dtypes"))) for t in targets]
        except CustomSpecError as exc:
            raise pytest.UsageError(str(exc))
    return config._ce_custom_specs


def _csv(value: str) -> tuple:
    return tuple(v.strip() for v in value.split(",") if v.strip())


@pytest.fixture(scope="session")
def references(request):
    from conformance.refcache import ReferenceCache, default_cache_dir

    where = request.config.getoption("--conformance-cache")
    return ReferenceCache(None if where == "none" else (where or default_cache_dir()))


@pytest.fixture(scope="session")
def workers():
    from conformance.worker import Worker

    pool: dict[str, Worker] = {}

    def get(framework: str, timeout: float, specs=()) -> Worker:
        if framework not in pool:
            pool[framework] = Worker(framework, list(specs), timeout=timeout)
        return pool[framework]

    yield get
    for worker in pool.values():
        worker.stop()


@pytest.fixture(scope="session")
def known_entries():
    from conformance import known

    return known.load()


@pytest.fixture(scope="session")
def record_sink(request):
    out = request.config.getoption("--conformance-out")
    if not out:
        yield None
        return
    import json
    from pathlib import Path

    worker_id = os.environ.get("PYTEST_XDIST_WORKER", "main")
    path = Path(out) / f"results-{worker_id}.jsonl"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "w") as f:
        def sink(records):
            for r in records:
                f.write(json.dumps(r, sort_keys=True) + "\n")
            f.flush()

        yield sink
