"""A process that runs whole cells for a driver: the body of a Ray actor (conformance/execute/ray_executor.py)
and of a local lane (conformance/execute/lanes.py).

A host serves one worker group (a framework's rows, or custom kernels of one signature): it owns that group's
isolated worker process (conformance/execute/worker.py: a segfault or abort is recorded as `crashed`, a hang
past the per-case timeout as `timeout`, and the worker restarts) and a reference cache (the run's --cache
directory; a lane shares one cache among the hosts it holds), and runs whole cells there (run_cell). It gets
the run's known divergences, so a failure explained like a failing catalog case of its cell is not shrunk
(cell_runner.run_hypothesis). A cell's cases depend only on the seed and the cell, so its records equal a
serial local run's (apart from timings).
"""
from __future__ import annotations

import os
import time
from pathlib import Path
from types import SimpleNamespace


class CellActor:
    """Runs cells of one worker group; `run` returns the cell's records and costs as plain data."""

    def __init__(self, worker_name: str, specs: list, timeout: float, max_memory, cache_dir, profile: str,
                 seed: int, examples, corpus, tf32: bool, known_entries=None, refs=None, on_shrink=None):
        os.environ["CE_CONFORMANCE_TF32"] = "1" if tf32 else "0"
        from conformance.plan.cells import implementations
        from conformance.execute.reference_cache import ReferenceCache
        from conformance.execute.worker import Worker

        self.impls = {i.id: i for i in implementations(worker_name, specs)}
        self.specs, self.timeout = specs, timeout
        self.base_workers: dict = {}  # --baseline rows of custom kernels (worker.baseline_worker)
        self.worker = Worker(worker_name, specs, timeout=timeout, max_memory=max_memory)
        self.refs = refs if refs is not None else ReferenceCache(Path(cache_dir) if cache_dir else None)
        self.profile, self.seed, self.examples, self.corpus = profile, seed, examples, corpus
        self.on_shrink = on_shrink  # (ctx, record) when a cell starts shrinking a failure (a lane tells its driver)
        self.explains = None  # the catalog-twin shrink stop, as in a local run (cell_runner.known_explainer)
        if known_entries is not None:
            from conformance.execute.cell_runner import known_explainer

            self.explains = known_explainer(*known_entries)

    def run(self, impl_id: str, version, dtype: str, device: str, mode: str | None = None) -> dict:
        from conformance.execute.worker import baseline_worker
        from conformance.execute.cell_runner import CellContext, cell_costs, run_cell

        impl = self.impls[impl_id]
        ctx = CellContext(impl, impl.framework, version, dtype, device, self.worker, self.refs, self.profile,
                          self.seed, self.examples, self.corpus, on_shrink=self.on_shrink,
                          baseline=baseline_worker(impl, self.specs, self.base_workers, self.timeout), mode=mode,
                          explains=self.explains)
        t0 = time.perf_counter()
        try:
            records = run_cell(ctx)
        except Exception as exc:  # a defect of the suite: reported by the driver as an internal error
            return {"cell": ctx.cell, "error": f"{type(exc).__name__}: {exc}", "wall_s": time.perf_counter() - t0}
        return {"cell": ctx.cell, "records": records, "wall_s": time.perf_counter() - t0, **cell_costs(ctx),
                "node": os.uname().nodename}

    def stop(self) -> None:
        self.worker.stop()
        for _, base_worker, _ in self.base_workers.values():
            base_worker.stop()


def progress_context(cell, result: dict) -> SimpleNamespace:
    """What run's progress lines and timings read from a CellContext, for a cell run by a host."""
    import dataclasses

    from conformance.execute.cell_runner import COST_FIELDS, CellContext

    impl, device, dtype = cell.impl, cell.device, cell.dtype
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(CellContext) if f.name in COST_FIELDS}
    costs = {name: result.get(name, defaults[name]) for name in COST_FIELDS}
    return SimpleNamespace(cell=result.get("cell") or cell.id, impl=impl, dtype=dtype, device=device,
                           mode=cell.mode, **costs)
