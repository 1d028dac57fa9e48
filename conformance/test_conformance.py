"""The conformance suite as pytest tests: one per cell (see conformance/pytest_plugin.py for the options).

A cell passes when nothing failed, is an xfail when every failure is a known divergence (the entries'
reasons and links in the message), and fails otherwise, with the repro lines of each unexpected finding."""
from __future__ import annotations

import shlex

import pytest

from conformance.judge import baseline
from conformance.pytest_plugin import STATE_KEY, ce_options
from conformance.execute.cell_runner import PROFILES, CellContext, run_cell
from conformance.judge.severity import failing

MAX_LISTED = 12


def rerun_command(cell, options) -> str:
    """The command that re-runs this one cell with the same seed (hence the same cases)."""
    parts = ["ce-conformance", "run", "--profile", options.profile, "--seed", str(options.seed),
             "--dtypes", cell.dtype, "--devices", cell.device, "--no-report"]
    spec = next((s for s in options.custom if s.id == cell.impl_id), None)
    if spec is not None:
        parts += ["--impl", spec.target, "--op", spec.op, "--signature", spec.signature]
    else:
        parts += ["--frameworks", cell.framework, "--implementations", cell.impl_id]
    return shlex.join(parts)


def _finding_line(r, cell, options) -> str:
    line = f"{r['case_id']}{' (minimal)' if r['minimal'] else ''}: {r['verdict']} [{r['part']}] {r['detail']}"
    if options.out is not None:
        from conformance.report.repro import replay_command

        line += "\n    repro: " + replay_command(r["case_id"], str(options.out / "results.json"), cell.impl_id,
                                                 cell.dtype)
    return line


def test_cell(ce_cell, request, ce_references, ce_workers, ce_known_entries, ce_record_sink):
    cell, config = ce_cell, request.config
    options = ce_options(config)
    specs = [s for s in options.custom if s.worker == cell.framework]
    impl = cell.impl
    worker = ce_workers(cell.framework, PROFILES[options.profile]["timeout"], specs)
    ctx = CellContext(impl, cell.framework, cell.version, cell.dtype, cell.device, worker, ce_references,
                      options.profile, options.seed)
    records = run_cell(ctx)
    strict = bool(config.getoption("--ce-strict-special-values", False))  # ieee_special fails the cell too
    baseline.classify_records(records, ce_known_entries, failing(strict))
    config.stash[STATE_KEY].implementations_run.add(impl.id)
    config.stash[STATE_KEY].frameworks_run.add(cell.framework)
    if ce_record_sink is not None:
        ce_record_sink(impl, cell.version, records)
    assert records, f"{cell.id}: no case applied"
    unexpected = [r for r in records if r["unexpected"]]
    if unexpected:
        lines = [_finding_line(r, cell, options) for r in unexpected[:MAX_LISTED]]
        more = f"\n... and {len(unexpected) - MAX_LISTED} more" if len(unexpected) > MAX_LISTED else ""
        pytest.fail(f"{cell.id}: {len(unexpected)} unexpected failure(s):\n" + "\n".join(lines) + more
                    + f"\nre-run this cell: {rerun_command(cell, options)}", pytrace=False)
    matched = {r["known_divergence"] for r in records if r["known_divergence"]}
    if matched:
        by_id = {e.id: e for e in ce_known_entries}
        reasons = [f"known divergence {i}: {by_id[i].reason} ({by_id[i].link})" for i in sorted(matched)]
        pytest.xfail("\n".join(reasons))
