"""The pytest plugin of ce-conformance (entry point `pytest11`: `ce_conformance`).

    pytest --pyargs conformance --ce-profile quick --ce-frameworks numpy       # from any directory
    pytest -p conformance.pytest_plugin --pyargs conformance ...                # without the entry point

One test per cell (implementation x dtype x device), plus the metamorphic properties. A cell whose
failures are all known divergences is an xfail (with the entry's reason and link); `--ce-strict-known`
fails the session when a known divergence whose scope ran no longer occurs (fixed upstream: an XPASS). Any
other failure fails the cell, its message holding the repro lines. `--ce-out DIR` streams each process's
records to DIR/results-<worker>.jsonl (a results stream `merge` and `report` read) and writes
DIR/results.json for the whole session at its end (pytest-xdist workers' files merged by the controller).

Options are namespaced `--ce-*` (no clash with other plugins); their state lives on `config.stash`. The
module imports nothing heavy until a conformance test is collected: it is loaded by every pytest session of
an environment where ce-conformance is installed.
"""
from __future__ import annotations

import argparse
import os
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from conformance.plan.choices import ALL_DEVICES, ALL_DTYPES, PROFILES, SIGNATURES

OPTIONS_KEY = pytest.StashKey["CeOptions"]()
STATE_KEY = pytest.StashKey["CeState"]()


@dataclass
class CeOptions:
    profile: str
    frameworks: tuple
    ops: tuple
    dtypes: tuple
    devices: tuple
    implementations: tuple
    seed: int
    out: Path | None
    cache: str
    known: Path | None
    strict_known: bool
    shard: tuple | None
    custom: list = field(default_factory=list)  # conformance.adapters.custom.CustomSpec


@dataclass
class CeState:
    """What a session accumulates: the known-divergence entries (their match counts), the implementations
    and frameworks run, and (on the controller) what each pytest-xdist worker reported."""
    entries: list | None = None
    implementations_run: set = field(default_factory=set)
    worker_known: list = field(default_factory=list)  # [{entry id: [in_scope, matched]}, ...]
    worker_impls: set = field(default_factory=set)
    frameworks_run: set = field(default_factory=set)
    strict_failures: list = field(default_factory=list)
    results_path: Path | None = None
    sink: object = None


def _csv_of(allowed, what: str):
    def parse(text: str) -> tuple:
        items = tuple(v.strip() for v in str(text).split(",") if v.strip())
        for v in items:
            if allowed is not None and v not in allowed:
                raise argparse.ArgumentTypeError(f"unknown {what} {v!r}; choose from {', '.join(allowed)}")
        return items
    return parse


def _shard(text: str) -> tuple:
    from conformance.plan.shard import ShardError, parse_shard

    try:
        return parse_shard(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _frameworks():
    from conformance.adapters import FRAMEWORKS

    return tuple(FRAMEWORKS)


def pytest_addoption(parser):
    g = parser.getgroup("ce-conformance", "ce-conformance: cross-entropy conformance against a certified reference")
    g.addoption("--ce-profile", default=os.environ.get("CE_PROFILE", "quick"), choices=tuple(PROFILES),
                help="quick, ci or thorough (default quick, or $CE_PROFILE)")
    g.addoption("--ce-frameworks", type=_csv_of(_frameworks(), "framework"), default="",
                help="comma-separated frameworks (default: all installed; none with --ce-impl)")
    g.addoption("--ce-ops", type=_csv_of(None, "op"), default="", help="comma-separated reference ops (default all)")
    g.addoption("--ce-dtypes", type=_csv_of(ALL_DTYPES, "dtype"), default=",".join(ALL_DTYPES),
                help="comma-separated dtypes (default all)")
    g.addoption("--ce-devices", type=_csv_of(ALL_DEVICES, "device"), default=",".join(ALL_DEVICES),
                help="comma-separated devices (default cpu,cuda; cuda cells need a GPU)")
    g.addoption("--ce-implementations", type=_csv_of(None, "pattern"), default="",
                help="comma-separated fnmatch patterns on implementation ids")
    g.addoption("--ce-seed", type=int, default=int(os.environ.get("CE_SEED", "0")), help="the run's seed (default 0)")
    g.addoption("--ce-out", default=None, help="directory for the streamed records and results.json")
    g.addoption("--ce-cache", default=os.environ.get("CE_CONFORMANCE_CACHE", ""),
                help="reference cache directory (shared safely by xdist workers); 'none' disables it "
                     "(default ~/.cache/ce-conformance)")
    g.addoption("--ce-known", default=None, help="known-divergences TOML (default: the bundled one)")
    g.addoption("--ce-strict-special-values", action="store_true",
                help="an IEEE special value where the limit exists (verdict ieee_special) fails its cell")
    g.addoption("--ce-strict-known", action="store_true",
                help="fail when a known divergence whose scope ran no longer occurs (fixed upstream)")
    g.addoption("--ce-shard", type=_shard, default=None, help="K/N: run only the K-th of N shards of the cells")
    g.addoption("--ce-impl", action="append", default=[], help="a custom implementation package.module:function")
    g.addoption("--ce-impl-op", default="", help="the reference op a custom --ce-impl computes")
    g.addoption("--ce-impl-signature", default="torch", choices=SIGNATURES,
                help="custom --ce-impl calling convention")
    g.addoption("--ce-impl-dtypes", type=_csv_of(ALL_DTYPES, "dtype"), default="",
                help="custom --ce-impl: the dtypes it supports (comma-separated)")


def _is_xdist_worker(config) -> bool:
    return hasattr(config, "workerinput")


def pytest_configure(config):
    opt = config.getoption
    profile = opt("--ce-profile")
    if profile not in PROFILES:  # a default from $CE_PROFILE is not checked by argparse
        raise pytest.UsageError(f"--ce-profile: unknown profile {profile!r}; choose from {', '.join(PROFILES)}")
    ops = opt("--ce-ops")
    if ops:
        import reference

        bad = [o for o in ops if o not in reference.OPS]
        if bad:
            raise pytest.UsageError(f"--ce-ops: unknown op {bad[0]!r}; choose from {', '.join(sorted(reference.OPS))}")
    known_path = Path(opt("--ce-known")) if opt("--ce-known") else None
    if known_path is not None and not known_path.is_file():
        raise pytest.UsageError(f"--ce-known: no such file {known_path}")
    options = CeOptions(profile=profile, frameworks=opt("--ce-frameworks"), ops=ops, dtypes=opt("--ce-dtypes"),
                        devices=opt("--ce-devices"), implementations=opt("--ce-implementations"),
                        seed=opt("--ce-seed"), out=Path(opt("--ce-out")) if opt("--ce-out") else None,
                        cache=opt("--ce-cache"), known=known_path, strict_known=opt("--ce-strict-known"),
                        shard=opt("--ce-shard"), custom=_custom_specs(config))
    config.stash[OPTIONS_KEY] = options
    config.stash[STATE_KEY] = CeState()
    if (options.implementations or options.ops) and not options.custom and not _is_xdist_worker(config):
        _check_selection_matches(options)
    if options.out is not None and not _is_xdist_worker(config):
        from conformance.results.pytest_streams import prepare_out

        try:
            prepare_out(options.out)
        except OSError as exc:
            raise pytest.UsageError(f"--ce-out: cannot use {options.out}: {exc.strerror or exc}")


def _check_selection_matches(o: CeOptions) -> None:
    """A selection (--ce-implementations / --ce-ops) that matches no implementation of the installed
    frameworks is a usage error, as it is for `run` (not a session that runs nothing and passes)."""
    from conformance.plan.cells import groups_for, installed_frameworks

    installed = installed_frameworks(o.frameworks)
    groups, _ = groups_for(installed, o.ops, o.implementations)
    if any(g.implementations for g in groups):
        return
    what = " ".join(filter(None, [
        "--ce-implementations " + " ".join(repr(p) for p in o.implementations) if o.implementations else "",
        "--ce-ops " + ",".join(o.ops) if o.ops else ""]))
    where = ", ".join(installed) or "the installed frameworks"
    raise pytest.UsageError(f"nothing to run: {what} matches no implementation of {where} "
                            "(see: python -m conformance list)")


def _custom_specs(config) -> list:
    targets = config.getoption("--ce-impl")
    if not targets:
        return []
    if not config.getoption("--ce-impl-op"):
        raise pytest.UsageError("--ce-impl needs --ce-impl-op (the reference op the function computes)")
    from conformance.adapters.custom import CustomSpecError, parse_spec

    try:
        return [parse_spec(t, config.getoption("--ce-impl-op"), config.getoption("--ce-impl-signature"),
                           config.getoption("--ce-impl-dtypes")) for t in targets]
    except CustomSpecError as exc:
        raise pytest.UsageError(str(exc))


def ce_options(config) -> CeOptions:
    return config.stash[OPTIONS_KEY]


def pytest_report_header(config):
    o = config.stash.get(OPTIONS_KEY, None)
    if o is None:
        return None
    shard = f" shard={o.shard[0]}/{o.shard[1]}" if o.shard else ""
    return f"ce-conformance: profile={o.profile} seed={o.seed}{shard}" + (f" out={o.out}" if o.out else "")


def pytest_generate_tests(metafunc):
    if "ce_cell" not in metafunc.fixturenames:
        return
    from conformance.adapters import FRAMEWORKS
    from conformance.plan.cells import plan

    o = ce_options(metafunc.config)
    frameworks = o.frameworks or (() if o.custom else tuple(FRAMEWORKS))
    cells = plan(frameworks, o.ops, o.dtypes, o.devices, o.implementations, o.custom).cells
    if o.shard:
        from conformance.plan.shard import shard_cells

        cells = shard_cells(cells, *o.shard, key=lambda c: c.id)
    metafunc.parametrize("ce_cell", cells, ids=[c.id for c in cells])


@pytest.fixture(scope="session")
def ce_references(request):
    from conformance.execute.reference_cache import ReferenceCache, default_cache_dir

    where = ce_options(request.config).cache
    return ReferenceCache(None if where == "none" else (where or default_cache_dir()))


@pytest.fixture(scope="session")
def ce_workers():
    from conformance.execute.worker import Worker

    pool: dict = {}

    def get(framework: str, timeout: float, specs=()):
        if framework not in pool:
            pool[framework] = Worker(framework, list(specs), timeout=timeout)
        return pool[framework]

    yield get
    for worker in pool.values():
        worker.stop()


def known_entries(config) -> list:
    """The session's known-divergence entries (loaded once; their match counts accumulate)."""
    state = config.stash[STATE_KEY]
    if state.entries is None:
        from conformance.judge import known

        o = ce_options(config)
        try:
            state.entries = known.load(o.known) if o.known else known.load()
        except known.KnownDivergenceError as exc:
            raise pytest.UsageError(str(exc))
    return state.entries


@pytest.fixture(scope="session")
def ce_known_entries(request):
    return known_entries(request.config)


@pytest.fixture(scope="session")
def ce_record_sink(request):
    """A callable taking (implementation, version, records) that streams them, or None without --ce-out."""
    config = request.config
    o = ce_options(config)
    if o.out is None:
        yield None
        return
    from conformance.results.pytest_streams import WorkerStream

    stream = WorkerStream(o, config)
    config.stash[STATE_KEY].sink = stream
    yield stream.write
    stream.close()


@pytest.hookimpl(tryfirst=True)
def pytest_sessionfinish(session, exitstatus):
    config = session.config
    if OPTIONS_KEY not in config.stash:
        return
    state = config.stash[STATE_KEY]
    from conformance.results.pytest_streams import known_counts

    counts = known_counts(state.entries or ())
    if _is_xdist_worker(config):
        config.workeroutput["ce_known"] = counts
        config.workeroutput["ce_implementations"] = sorted(state.implementations_run)
        config.workeroutput["ce_frameworks"] = sorted(state.frameworks_run)
        return
    from conformance.results.pytest_streams import finish_session

    finish_session(session, counts, state, ce_options(session.config), known_entries(session.config))


@pytest.hookimpl(optionalhook=True)
def pytest_testnodedown(node, error):
    """pytest-xdist (controller): collect each worker's known-divergence counts."""
    config = node.config
    if STATE_KEY not in config.stash:
        return
    output = getattr(node, "workeroutput", None) or {}
    state = config.stash[STATE_KEY]
    if "ce_known" in output:
        state.worker_known.append(output["ce_known"])
        state.worker_impls.update(output.get("ce_implementations", ()))
        state.frameworks_run.update(output.get("ce_frameworks", ()))


def pytest_terminal_summary(terminalreporter, exitstatus, config):
    if STATE_KEY not in config.stash:
        return
    state = config.stash[STATE_KEY]
    if state.results_path is not None:
        terminalreporter.write_line(f"ce-conformance: wrote {state.results_path}")
    for line in state.strict_failures:
        terminalreporter.write_line(f"ce-conformance: FAILED (--ce-strict-known): {line}", red=True)
