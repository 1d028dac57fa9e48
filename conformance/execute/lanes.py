"""`run --jobs N`: the run's cells on N local lanes, so both cores of a small machine work.

In a serial run the main process (drawing, reference, judging) and the framework's worker strictly take
turns: one core idles. A lane is a spawned process holding cell hosts (conformance/execute/cell_host.py: a
worker group's isolated worker, the run's known divergences, one reference cache per lane on the run's
--cache directory); N lanes run N cells at once. The driver (this process) only hands out cells, prints
progress and writes records.

Deterministic: a cell's cases depend only on the seed and the cell (cell_runner.cell_seed), and the cells
of a unit (a worker group, or a part of one: SEGMENTS) all run on one lane, in the plan's order, in a worker
started for that unit: exactly what a serial run does with them, unit after unit (a framework's
once-per-process warnings, e.g. torch's first forward-mode or compile call, land on the same record). The
driver writes cells, and prints their progress lines, in the plan's order (a cell that finishes early waits
for those before it), so results.jsonl and results.json equal a serial run's apart from timings.

Scheduling: whole units: a lane keeps to its unit until it is done, then takes the costliest unit no lane
has started (cells x a framework's typical seconds per ci cell, CELL_WEIGHT: JAX cells compile); a lane
with no such unit left ends. So N lanes help when the run has at least N units (the ci profile: JAX's two
halves, torch, TensorFlow, numpy). A lane stops the worker of a unit it leaves.
"""
from __future__ import annotations

import multiprocessing as mp
import os
from collections import deque
from multiprocessing.connection import wait
from pathlib import Path

_CTX = mp.get_context("spawn")


def default_jobs(profile: str, n_cells: int) -> int:
    """Lanes when `run` is not given --jobs: two on a machine with two or more cores for the ci and thorough
    profiles (minutes of cells), one for quick (seconds: a lane's start would cost more than it saves) and for
    a single cell."""
    if profile == "quick" or n_cells < 2:
        return 1
    return max(1, min(2, os.cpu_count() or 1))


def _lane(conn, setup: dict) -> None:
    """A lane's loop (runs in the child): ("cell", index, group, impl id, version, dtype, device, mode) ->
    ("done", index, result); ("shrinking", index, verdict, part, steps, elements) on the way; at the end
    ("stats", its reference cache's counters)."""
    from conformance.execute.cell_budget import shrink_budget, shrink_element_budget
    from conformance.execute.cell_host import CellActor
    from conformance.execute.heap import keep_heap
    from conformance.execute.reference_cache import ReferenceCache
    from conformance.execute.worker import start_quietly

    keep_heap()  # a lane judges and builds records as the main process does (conformance/execute/heap.py)
    refs = ReferenceCache(Path(setup["cache_dir"]) if setup["cache_dir"] else None)
    hosts: dict = {}
    current = {"index": None, "unit": None}

    def on_shrink(ctx, record):
        conn.send(("shrinking", current["index"], record["verdict"], record.get("part") or "value",
                   shrink_budget(ctx), shrink_element_budget(ctx)))

    try:
        while True:
            try:
                message = conn.recv()
            except EOFError:
                return
            if message is None:
                return
            _, index, u, g, impl_id, version, dtype, device, mode = message
            if current["unit"] is not None and current["unit"] != u and current["unit"] in hosts:
                hosts.pop(current["unit"]).stop()  # no cells of the unit it leaves are left (see scheduling)
            current.update(index=index, unit=u)
            try:
                if u not in hosts:  # a unit's own worker, as in a serial run
                    worker_name, specs = setup["groups"][g]
                    hosts[u] = CellActor(worker_name, specs, setup["timeout"], setup["max_memory"], None,
                                         setup["profile"], setup["seed"], setup["examples"], setup["corpus"],
                                         setup["tf32"], setup["known_entries"], refs=refs, on_shrink=on_shrink)
                    start_quietly(hosts[u].worker)  # the framework's import: not the first cell's time
                result = hosts[u].run(impl_id, version, dtype, device, mode)
            except Exception as exc:  # the host itself failed: the driver reports an internal error
                result = {"cell": None, "error": f"{type(exc).__name__}: {exc}", "wall_s": 0.0}
            conn.send(("done", index, result))
    finally:
        for host in hosts.values():
            host.stop()
        try:
            conn.send(("stats", refs.stats()))
        except (BrokenPipeError, OSError):
            pass


class _Lane:
    def __init__(self, setup: dict):
        parent, child = _CTX.Pipe()
        self.process = _CTX.Process(target=_lane, args=(child, setup))  # not daemonic: it starts workers
        self.process.start()
        child.close()
        self.conn = parent
        self.group = None  # the worker group of its last cell
        self.index = None  # the cell it runs now (None: idle)


# a framework's cells' typical wall seconds relative to TensorFlow's in the ci profile (benchmarks/results/
# latest.json, cold and warm: jax 1.7-4.8 s a cell, torch 1.0-1.5, tensorflow 0.8-1.1, numpy 0.3-0.4)
CELL_WEIGHT = {"jax": 3.0, "torch": 1.2, "tensorflow": 1.0, "numpy": 0.35}


# worker groups run as this many parts of consecutive cells, each in a worker of its own, in serial runs too (so
# a serial run and a run on lanes give each cell the same worker history): JAX's cells compile at length (74%
# of a cold jax ci run), so its group alone would be the longest lane; its halves run on two lanes
SEGMENTS = {"jax": 2}


def units(cells: list, groups: list) -> list[tuple[int, list[int]]]:
    """The run's units of work, in plan order: (group, indices into `cells` of its part), a group's cells in
    SEGMENTS parts of consecutive cells (one part for most frameworks)."""
    by_group: dict = {}
    for i, cell in enumerate(cells):
        by_group.setdefault(cell.group, []).append(i)
    out = []
    for g, indices in by_group.items():  # built-in groups only (not "custom:jax": --impl kernels are few cells)
        k = max(1, min(SEGMENTS.get(groups[g].worker, 1), len(indices)))
        bounds = [-(-j * len(indices) // k) for j in range(k + 1)]  # the first parts take the odd cells
        out += [(g, indices[bounds[j]:bounds[j + 1]]) for j in range(k)]
    return out


def _pick(lane: _Lane, queues: dict, started: set, weights: dict | None = None):
    """(group, next cell index) for `lane`, or None when it has nothing left (see the module docstring);
    weights: group -> seconds per cell (1 when absent)."""
    if lane.group is not None and queues.get(lane.group):
        return lane.group, queues[lane.group].popleft()
    left = [g for g, q in queues.items() if q and g not in started]
    if not left:
        return None
    g = max(left, key=lambda g: (len(queues[g]) * (weights or {}).get(g, 1.0), -g))
    started.add(g)
    return g, queues[g].popleft()


def run_lanes(config, groups: list, cells: list, corpus, on_result, on_shrinking, known_entries, jobs: int) -> dict:
    """Run `cells` (conformance.plan.cells.Cell, in plan order) on `jobs` lanes; call on_result(cell, result)
    in plan order (result: cell_host.CellActor.run's dict, or {"error": ...}) and on_shrinking(cell, verdict,
    part, steps, elements) as cells start shrinking. Returns the lanes' reference-cache counters, summed."""
    from conformance.plan.choices import PROFILES

    setup = {"groups": [(g.worker, list(g.specs)) for g in groups],
             "timeout": config.timeout or PROFILES[config.profile]["timeout"], "max_memory": config.max_worker_memory,
             "cache_dir": str(config.cache_dir) if config.cache_dir else None, "profile": config.profile,
             "seed": config.seed, "examples": config.examples, "corpus": corpus, "tf32": config.tf32,
             "known_entries": known_entries}
    parts = units(cells, groups)
    queues = {u: deque(indices) for u, (_, indices) in enumerate(parts)}
    unit_of = {i: u for u, (_, indices) in enumerate(parts) for i in indices}
    lanes = [_Lane(setup) for _ in range(max(1, min(jobs, len(queues))))]
    started: set = set()  # groups a lane has taken
    from conformance.adapters.execution import framework_of

    weights = {u: CELL_WEIGHT.get(framework_of(groups[g].worker), 1.0) for u, (g, _) in enumerate(parts)}
    finished: dict = {}
    written = 0
    stats: list = []
    try:
        while written < len(cells):
            for lane in lanes:
                if lane.index is None:
                    picked = _pick(lane, queues, started, weights)
                    if picked is not None:
                        lane.group, lane.index = picked
                        c = cells[lane.index]
                        lane.conn.send(("cell", lane.index, unit_of[lane.index], c.group, c.impl.id, c.version,
                                        c.dtype, c.device, c.mode))
            busy = [lane for lane in lanes if lane.index is not None]
            for conn in (wait([lane.conn for lane in busy]) if busy else ()):
                lane = next(x for x in busy if x.conn is conn)
                try:
                    message = conn.recv()
                except (EOFError, OSError):  # the lane process itself died: its cell is an internal error
                    finished[lane.index] = {"cell": cells[lane.index].id, "wall_s": 0.0,
                                            "error": f"lane process died ({lane.process.exitcode})"}
                    fresh = _Lane(setup)
                    fresh.group = lane.group  # goes on with the group, in a new worker (as after a crash)
                    lanes[lanes.index(lane)] = fresh
                    continue
                if message[0] == "shrinking":
                    on_shrinking(cells[message[1]], *message[2:])
                elif message[0] == "done":
                    finished[message[1]] = message[2]
                    lane.index = None
            while written in finished:
                on_result(cells[written], finished.pop(written))
                written += 1
    finally:
        for lane in lanes:
            stats += _stop(lane)
    return merge_stats(stats)


def _stop(lane: _Lane) -> list:
    """Ask a lane to end; its reference-cache counters (empty if it died)."""
    out = []
    try:
        lane.conn.send(None)
        while lane.conn.poll(30):
            message = lane.conn.recv()
            if message[0] == "stats":
                out.append(message[1])
                break
    except (EOFError, BrokenPipeError, OSError):
        pass
    lane.process.join(10)
    if lane.process.is_alive():
        lane.process.kill()
        lane.process.join(5)
    return out


def merge_stats(stats: list) -> dict:
    """Several reference caches' stats() as one: counts and seconds summed, the rest from the first."""
    if not stats:
        return {}
    out = dict(stats[0])
    for s in stats[1:]:
        for k, v in s.items():
            if isinstance(v, (int, float)) and not isinstance(v, bool) and isinstance(out.get(k), (int, float)):
                out[k] = round(out[k] + v, 3) if isinstance(v, float) else out[k] + v
    return out
