"""`run --executor ray [--address ADDR]`: the run's cells as tasks of Ray actors, on an existing cluster or a
local one (optional extra: `pip install 'ce-conformance[ray]'`).

Each actor is what a framework's worker is in a local run, one per framework (and device kind) per node:
it owns an isolated worker process (conformance.execute.worker: a segfault or abort is recorded as `crashed`, a hang
past the per-case timeout as `timeout`, and the worker restarts) and a reference cache (the run's --cache
directory on that node), and runs whole cells there (run_cell). Actors of CUDA cells ask Ray for a GPU
(num_gpus=1), so they land on GPU nodes. Each actor gets the run's known divergences, so a failure explained
like a failing catalog case of its cell is not shrunk there either (cell_runner.run_hypothesis). The driver receives each cell's records as it finishes and does
what a local run does with them: known divergences, results.jsonl, progress, timings. A cell's cases depend
only on the seed and the cell, so the records equal a local run's (apart from timings and order).

On a cluster the nodes need the same installs as the driver (ce-conformance, the frameworks); a local
cluster started here gets this checkout's directory on its workers' PYTHONPATH.
"""
from __future__ import annotations

import logging
import os
import time
from pathlib import Path
from types import SimpleNamespace


logger = logging.getLogger("conformance.ray")


class RayUnavailable(Exception):
    """ray is not installed or the cluster cannot be reached: one line, exit 2."""


class CellActor:
    """The body of the Ray actor (made remote in `_actor_class`)."""

    def __init__(self, worker_name: str, specs: list, timeout: float, max_memory, cache_dir, profile: str,
                 seed: int, examples, corpus, tf32: bool, known_entries=None):
        os.environ["CE_CONFORMANCE_TF32"] = "1" if tf32 else "0"
        from conformance.plan.cells import implementations
        from conformance.execute.reference_cache import ReferenceCache
        from conformance.execute.worker import Worker

        self.impls = {i.id: i for i in implementations(worker_name, specs)}
        self.specs, self.timeout = specs, timeout
        self.base_workers: dict = {}  # --baseline rows of custom kernels (worker.baseline_worker)
        self.worker = Worker(worker_name, specs, timeout=timeout, max_memory=max_memory)
        self.refs = ReferenceCache(Path(cache_dir) if cache_dir else None)
        self.profile, self.seed, self.examples, self.corpus = profile, seed, examples, corpus
        self.explains = None  # the catalog-twin shrink stop, as in a local run (cell_runner.known_explainer)
        if known_entries is not None:
            from conformance.execute.cell_runner import known_explainer

            self.explains = known_explainer(*known_entries)

    def run(self, impl_id: str, version, dtype: str, device: str, mode: str | None = None) -> dict:
        from conformance.execute.worker import baseline_worker
        from conformance.execute.cell_runner import CellContext, cell_costs, run_cell

        impl = self.impls[impl_id]
        ctx = CellContext(impl, impl.framework, version, dtype, device, self.worker, self.refs, self.profile,
                          self.seed, self.examples, self.corpus,
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


def _ray():
    try:
        import ray
    except ImportError as exc:
        raise RayUnavailable(f"--executor ray needs ray (pip install 'ce-conformance[ray]'): {exc}") from None
    return ray


def connect(address: str | None):
    """Join the cluster at `address`, or start a local one; reuse a connection this process already has."""
    ray = _ray()
    if ray.is_initialized():
        return ray
    kwargs = {"include_dashboard": False, "log_to_driver": False}
    if address is None:  # a local cluster: its workers import this checkout's conformance/ and reference/
        root = str(Path(__file__).resolve().parents[2])
        path = os.pathsep.join(p for p in (root, os.environ.get("PYTHONPATH", "")) if p)
        kwargs["runtime_env"] = {"env_vars": {"PYTHONPATH": path}}
    try:
        ray.init(address=address, **kwargs)
    except Exception as exc:  # ConnectionError, RuntimeError, ...: the cluster is not there
        raise RayUnavailable(f"--executor ray: cannot reach the Ray cluster {address or '(local)'}: "
                             f"{type(exc).__name__}: {exc}") from None
    return ray


def _nodes(ray) -> int:
    return max(1, sum(1 for n in ray.nodes() if n.get("Alive")))


def run_cells(config, groups: list, cells: list, corpus, on_result, known_entries=None) -> None:
    """Run `cells` (conformance.plan.cells.Cell) on Ray actors; call
    on_result(cell tuple, result dict) in the driver as each finishes (result: run()'s dict).
    known_entries: (the run's known divergences, the failing verdicts), for the actors' catalog-twin stop."""
    from conformance.execute.cell_runner import PROFILES

    ray = connect(config.ray_address)
    remote = ray.remote(CellActor)
    timeout = config.timeout or PROFILES[config.profile]["timeout"]
    nodes = _nodes(ray)
    corpus_ref = ray.put(corpus)
    known_ref = ray.put(known_entries)
    actors: dict = {}  # (group index, "cuda" or "cpu") -> [actor, ...]
    pending: dict = {}  # object ref -> cell tuple
    turn: dict = {}
    for cell in cells:
        g, impl, device, dtype, mode = cell.group, cell.impl, cell.device, cell.dtype, cell.mode
        key = (g, "cuda" if device == "cuda" else "cpu")
        if key not in actors:
            worker_name, _, _, _, specs = groups[g]
            n = min(nodes, sum(1 for c in cells if c.group == g and (c.device == "cuda") == (key[1] == "cuda")))
            options = {"num_cpus": 1, "num_gpus": 1 if key[1] == "cuda" else 0, "scheduling_strategy": "SPREAD",
                       "max_restarts": 0}
            actors[key] = [remote.options(**options).remote(
                worker_name, specs, timeout, config.max_worker_memory,
                str(config.cache_dir) if config.cache_dir else None, config.profile, config.seed, config.examples,
                corpus_ref, config.tf32, known_ref) for _ in range(n)]
        i = turn.get(key, 0)
        turn[key] = i + 1
        version = groups[g][2]
        pending[actors[key][i % len(actors[key])].run.remote(impl.id, version, dtype, device, mode)] = cell
    logger.info("ray: %d node(s); %d cell(s) on %d actor(s)", nodes, len(pending),
                sum(len(a) for a in actors.values()))
    try:
        while pending:
            ready, _ = ray.wait(list(pending), num_returns=1)
            cell = pending.pop(ready[0])
            try:
                result = ray.get(ready[0])
            except Exception as exc:  # the actor itself died (not the isolated worker): an internal error
                result = {"cell": cell.id, "wall_s": 0.0,
                          "error": f"Ray actor failed: {type(exc).__name__}: {' '.join(str(exc).split())[:300]}"}
            on_result(cell, result)
    finally:
        for group in actors.values():
            for actor in group:
                try:
                    ray.get(actor.stop.remote(), timeout=30)
                except Exception:  # already gone
                    pass
                ray.kill(actor)


def progress_context(cell, result: dict) -> SimpleNamespace:
    """What run's progress lines and timings read from a CellContext, for a cell run on Ray."""
    import dataclasses

    from conformance.execute.cell_runner import COST_FIELDS, CellContext

    impl, device, dtype = cell.impl, cell.device, cell.dtype
    defaults = {f.name: f.default if f.default is not dataclasses.MISSING else f.default_factory()
                for f in dataclasses.fields(CellContext) if f.name in COST_FIELDS}
    costs = {name: result.get(name, defaults[name]) for name in COST_FIELDS}
    return SimpleNamespace(cell=result["cell"], impl=impl, dtype=dtype, device=device, mode=cell.mode, **costs)
