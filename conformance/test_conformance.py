"""The conformance suite as pytest tests: one per cell; see conformance/conftest.py for the options."""
from __future__ import annotations

from conformance import known
from conformance.adapters import implementations_for
from conformance.runner import PROFILES, CellContext, run_cell
from conformance.verdicts import FAILING

_IMPLS: dict = {}


def _impl(framework: str, impl_id: str, specs):
    if framework not in _IMPLS:
        _IMPLS[framework] = {i.id: i for i in implementations_for(framework, specs)}
    return _IMPLS[framework][impl_id]


def test_cell(cell, request, references, workers, known_entries, record_sink):
    from conformance.conftest import custom_specs

    profile = request.config.getoption("--profile")
    specs = [s for s in custom_specs(request.config) if s.worker == cell.framework]
    impl = _impl(cell.framework, cell.impl_id, specs)
    worker = workers(cell.framework, PROFILES[profile]["timeout"], specs)
    ctx = CellContext(impl, cell.framework, cell.version, cell.dtype, cell.device, worker, references,
                      profile, request.config.getoption("--conformance-seed"))
    records = run_cell(ctx)
    for r in records:
        known.classify(r, known_entries, FAILING)
    if record_sink is not None:
        record_sink(records)
    assert records, f"{cell.id}: no case applied"
    unexpected = [r for r in records if r["unexpected"]]
    lines = [f"{r['case_id']}{' (minimal)' if r['minimal'] else ''}: {r['verdict']} [{r['part']}] {r['detail']}"
             for r in unexpected]
    assert not unexpected, f"{cell.id}: {len(unexpected)} unexpected failure(s):\n" + "\n".join(lines)
