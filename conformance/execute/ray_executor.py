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
from pathlib import Path

from conformance.execute.cell_host import CellActor, progress_context  # noqa: F401  (the actor's body; run's progress)

logger = logging.getLogger("conformance.ray")


class RayUnavailable(Exception):
    """ray is not installed or the cluster cannot be reached: one line, exit 2."""


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
