"""A whole conformance run: choose cells, run them through isolated workers, stream and finish results."""
from __future__ import annotations

import datetime as dt
import logging
import os
import platform
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

from conformance.judge import baseline

from conformance.plan import choices

from conformance.judge import known
from conformance.adapters import FRAMEWORKS
from conformance.plan.cells import plan
from conformance.execute.heap import keep_heap
from conformance.execute.reference_cache import ReferenceCache
from conformance.results.stream import ResultsWriter, summarize
from conformance.execute.progress import Progress, selection_text
from conformance.execute.cell_runner import PROFILES, CellContext, cell_costs, known_explainer, run_cell
from conformance.judge.severity import failing
from conformance.execute.worker import Worker, baseline_worker, start_quietly
from reference.dtypes import DTYPE_NAMES

ALL_DTYPES = DTYPE_NAMES
ALL_DEVICES = choices.ALL_DEVICES


logger = logging.getLogger("conformance.execute.run")


def _where(exc: BaseException) -> str:
    """Where a defect of the suite raised: the innermost frame inside this package, as path:line (for the
    bug report; the full traceback would bury the progress output)."""
    import traceback

    frames = [f for f in traceback.extract_tb(exc.__traceback__) if "conformance" in f.filename or "reference" in f.filename]
    f = (frames or traceback.extract_tb(exc.__traceback__) or [None])[-1]
    if f is None:
        return "no traceback"
    parts = Path(f.filename).parts
    root = max((i for i, part in enumerate(parts) if part in ("conformance", "reference")), default=len(parts) - 1)
    return f"at {'/'.join(parts[root:])}:{f.lineno} in {f.name}"


def log_to_logging(message: str) -> None:
    """The default `log` of execute(): run lines to the "conformance.execute.run" logger, "warning: ..." and
    "error: ..." lines at those levels, everything else at INFO."""
    head = message.split(":", 1)[0].strip().lower()
    level = {"warning": logging.WARNING, "error": logging.ERROR}.get(head, logging.INFO)
    if "internal error" in message:
        level = logging.ERROR
    logger.log(level, "%s", message)


class RunConfigError(Exception):
    """Bad arguments (unknown framework/op/dtype/device/profile): one line, exit 2."""


@dataclass
class RunConfig:
    out_dir: Path
    frameworks: tuple = tuple(FRAMEWORKS)
    ops: tuple | None = None
    dtypes: tuple = ALL_DTYPES
    devices: tuple = ALL_DEVICES
    profile: str = "ci"
    seed: int = 0
    resume: bool = False
    implementations: tuple | None = None  # fnmatch patterns on implementation ids
    examples: int | None = None
    timeout: float | None = None
    custom: list = field(default_factory=list)  # conformance.adapters.custom.CustomSpec
    known_path: Path = known.DEFAULT_PATH
    tf32: bool = False
    argv: list = field(default_factory=list)
    quiet: bool = False
    cache_dir: Path | None = None  # reference results on disk (conformance.execute.reference_cache); None: memory only
    max_worker_memory: int | None = None  # bytes of address space per worker (conformance.execute.worker); None: no cap
    corpus_path: Path | None = None  # replay this regression corpus in every cell (conformance.cases.corpus)
    write_corpus: Path | None = None  # write (merge) the run's interesting cases into this corpus file
    strict_known: bool = False  # a known divergence whose scope ran but that no longer occurs fails the run
    junit: Path | None = None  # also write the run as JUnit XML (conformance.results.junit)
    shard: tuple | None = None  # (K, N): only the K-th of N parts of the cells (conformance.plan.shard)
    shard_weights: dict | None = None  # cell id -> seconds in an earlier run, to balance the parts
    executor: str = "local"  # "local": cells in this process's workers; "ray": Ray tasks (conformance.execute.ray_executor)
    ray_address: str | None = None  # an existing Ray cluster ("auto", "ray://host:10001"); None: a local one
    strict_special_values: bool = False  # ieee_special fails the run too
    modes: tuple | None = None  # execution modes (adapters/execution.py), "default", "all"; None: the profile's plan
    jobs: int | None = None  # local lanes running cells at once (conformance.execute.lanes); None: lanes.default_jobs


def validate(config: RunConfig) -> None:
    import reference

    for name in config.frameworks:
        if name not in FRAMEWORKS:
            raise RunConfigError(f"unknown framework {name!r}; choose from {', '.join(FRAMEWORKS)}")
    for name in config.ops or ():
        if name not in reference.OPS:
            raise RunConfigError(f"unknown op {name!r}; choose from {', '.join(sorted(reference.OPS))}")
    for name in config.dtypes:
        if name not in ALL_DTYPES:
            raise RunConfigError(f"unknown dtype {name!r}; choose from {', '.join(ALL_DTYPES)}")
    for name in config.devices:
        if name not in ALL_DEVICES:
            raise RunConfigError(f"unknown device {name!r}; choose from {', '.join(ALL_DEVICES)}")
    if config.executor not in ("local", "ray"):
        raise RunConfigError(f"unknown executor {config.executor!r}; choose from local, ray")
    if config.executor == "ray":
        import importlib.util

        if importlib.util.find_spec("ray") is None:
            raise RunConfigError("--executor ray needs ray: pip install 'ce-conformance[ray]'")
    if config.profile not in PROFILES:
        raise RunConfigError(f"unknown profile {config.profile!r}; choose from {', '.join(PROFILES)}")
    from conformance.plan.mode_plan import MODE_CHOICES

    for name in config.modes or ():
        if name not in MODE_CHOICES:
            raise RunConfigError(f"unknown mode {name!r}; choose from {', '.join(MODE_CHOICES)}")


def _load_corpus(path) -> list:
    if path is None:
        return []
    from conformance.cases import corpus

    try:
        return corpus.load(path)
    except corpus.CorpusError as exc:
        raise RunConfigError(str(exc))


def environment(config: RunConfig, versions: dict, skipped: dict) -> dict:
    return {
        "schema_version": 1,
        "started": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "finished": None,
        "duration_s": None,
        "profile": config.profile,
        "seed": config.seed,
        "argv": list(config.argv),
        "python": sys.version.split()[0],
        "platform": platform.platform(),
        "cpu": _cpu_model(),
        "gpu": _gpu_model(),
        "tf32": config.tf32,
        "frameworks": versions,
        "skipped_frameworks": skipped,
    }


def _cpu_model() -> str | None:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:
        pass
    return platform.processor() or None


def _gpu_model() -> str | None:
    try:
        import subprocess

        out = subprocess.run(["nvidia-smi", "--query-gpu=name", "--format=csv,noheader"], capture_output=True,
                             text=True, timeout=10)
        return out.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def implementation_json(impl, version) -> dict:
    return {
        "id": impl.id, "framework": impl.framework, "version": version, "op": impl.op,
        "dtypes": list(impl.dtypes), "devices": list(impl.devices), "grads": list(impl.grads),
        "modes": list(impl.modes),
        "fixed_params": impl.fixed_params, "bad_labels": impl.bad_labels, "link": impl.link,
        "value_only": not impl.grads,
        "conventions": [{"key": c.key, "description": c.description, "link": c.link,
                         "ref_params": c.ref_params} for c in impl.conventions],
    }


def _cell_timing(ctx: CellContext, records: list, wall_s: float) -> dict:
    """One cell's cost: wall time, cases evaluated (every Hypothesis step), seconds inside the implementation
    and in the reference, compilations (JAX backend compiles / jaxpr traces, TF traces), shrinking, writing."""
    costs = {k: round(v, 4) if isinstance(v, float) else v for k, v in cell_costs(ctx).items()}
    return {"implementation": ctx.impl.id, "dtype": ctx.dtype, "device": ctx.device, "mode": ctx.mode,
            "wall_s": round(wall_s, 4), "records": len(records), **costs}


def _run_group(config: RunConfig, group, todo: list, corpus: list, refs, progress, explains, entries, fails,
               writer, internal_errors: list, cell_timing: dict) -> None:
    """A serial run's cells of one unit of a worker group (lanes.units), in this process, through one worker."""
    worker_name, _, version, _, specs = group
    timeout = config.timeout or PROFILES[config.profile]["timeout"]
    worker = Worker(worker_name, specs, timeout=timeout, max_memory=config.max_worker_memory)
    start_quietly(worker)  # the framework's import is the run's start-up, not its first cell's time
    base_workers: dict = {}
    try:
        for impl, device, dtype, mode in ((c.impl, c.device, c.dtype, c.mode) for c in todo):
            ctx = CellContext(impl, impl.framework, version, dtype, device, worker, refs,
                              config.profile, config.seed, config.examples, corpus,
                              on_shrink=progress.shrinking,
                              baseline=baseline_worker(impl, specs, base_workers, timeout), explains=explains,
                              mode=mode)
            t0 = time.perf_counter()
            try:
                records = run_cell(ctx)
            except Exception as exc:  # a defect of the suite: say so, keep going, fail the run
                internal_errors.append(f"{ctx.cell}: {type(exc).__name__}: {exc} ({_where(exc)})")
                progress.cell_done(ctx, None, time.perf_counter() - t0, f"internal error: {internal_errors[-1]}")
                continue
            baseline.classify_records(records, entries, fails)
            t_io = time.perf_counter()
            writer.write_cell(records, ctx.cell)
            ctx.io_s = time.perf_counter() - t_io
            cell_timing[ctx.cell] = _cell_timing(ctx, records, time.perf_counter() - t0)
            progress.cell_done(ctx, records, time.perf_counter() - t0)
    finally:
        worker.stop()
        for _, base_worker, _ in base_workers.values():
            base_worker.stop()


def execute(config: RunConfig, log=None) -> int:
    """Run; return the exit code: 0 nothing unexpected failed, 1 otherwise. Holds the output directory's lock
    (conformance.results.output_dir: run_io.OutputLocked when another run holds it; run_io.ResultsIOError when results
    cannot be written). `log` receives every line of output (header, progress, warnings, summary); by
    default they go to the "conformance.execute.run" logger (log_to_logging)."""
    from conformance.results.output_dir import out_dir_lock

    log = log or log_to_logging

    Path(config.out_dir).mkdir(parents=True, exist_ok=True)
    with out_dir_lock(config.out_dir):
        return _execute(config, log)


def _execute(config: RunConfig, log) -> int:
    validate(config)
    keep_heap()  # large cases' temporaries without page faults (conformance/execute/heap.py)
    os.environ["CE_CONFORMANCE_TF32"] = "1" if config.tf32 else "0"  # read by the adapters in the workers
    entries = known.load(config.known_path)
    corpus_cases = _load_corpus(config.corpus_path)
    fails = failing(config.strict_special_values)

    explains = known_explainer(entries, fails)  # the entry that explains a record (cell_runner.catalog_twins)

    groups, cells, skipped = plan(config.frameworks, config.ops, config.dtypes, config.devices,
                                  config.implementations, config.custom, modes=config.modes, profile=config.profile)
    if groups and not any(g.implementations for g in groups):
        raise RunConfigError(f"nothing to run: {selection_text(config)} matches no implementation of "
                             f"{', '.join(name for name, *_ in groups)} (see: python -m conformance list)")
    if config.shard:
        from conformance.plan.shard import shard_cells

        cells = shard_cells(cells, *config.shard, key=lambda c: c.id, weights=config.shard_weights)
    versions = {name: version for name, _, version, _, _ in groups}
    versions.update({name: None for name in skipped})
    writer = ResultsWriter(config.out_dir, environment(config, versions, skipped), resume=config.resume)
    if writer.dropped:
        log(f"resume: {writer.dropped} records of unfinished cells dropped; those cells run again")
    refs = ReferenceCache(config.cache_dir, warn=log)
    progress = Progress(len(cells), sum(1 for c in cells if c.id in writer.done_cells), log, config.quiet)
    progress.header(config, groups, skipped, refs)
    for _, _, _, impls, specs in groups:
        for impl in impls:
            if specs and not impl.grads:
                log(f"note: {impl.id} is value only (no --vjp): its gradients are not checked")
    started = time.perf_counter()
    implementations, internal_errors, cell_timing = [], [], {}
    todo_all = [c for c in cells if c.id not in writer.done_cells]
    from conformance.execute.lanes import default_jobs, units

    jobs = min(config.jobs or default_jobs(config.profile, len(todo_all)),
               max(1, len(units(todo_all, groups))))  # a lane runs whole units of a worker (lanes.py)
    hosted = config.executor == "ray" or jobs > 1  # cells run in other processes (lanes or Ray actors)
    if config.executor == "local" and jobs > 1 and not config.quiet:
        log(f"  lanes: {jobs} (cells of {jobs} workers at once; run --jobs 1 for one at a time)")
    for worker_name, module, version, impls, specs in groups:
        implementations += [implementation_json(i, version) for i in impls]
    for g, indices in ([] if hosted else units(todo_all, groups)):  # a group, or a part of it (lanes.SEGMENTS)
        _run_group(config, groups[g], [todo_all[i] for i in indices], corpus_cases, refs, progress, explains,
                   entries, fails, writer, internal_errors, cell_timing)

    def on_result(cell, result):  # a cell a lane or a Ray actor ran
        from conformance.execute.cell_host import progress_context

        ctx = progress_context(cell, result)
        if "error" in result:
            internal_errors.append(f"{ctx.cell}: {result['error']}")
            progress.cell_done(ctx, None, result["wall_s"], f"internal error: {internal_errors[-1]}")
            return
        records = result["records"]
        baseline.classify_records(records, entries, fails)
        t_io = time.perf_counter()
        writer.write_cell(records, ctx.cell)
        ctx.io_s = time.perf_counter() - t_io
        cell_timing[ctx.cell] = dict(_cell_timing(ctx, records, result["wall_s"]),
                                     **({"node": result["node"]} if config.executor == "ray" else {}))
        progress.cell_done(ctx, records, result["wall_s"])

    ref_stats = None
    if config.executor == "ray":
        from conformance.execute.ray_executor import run_cells

        run_cells(config, groups, todo_all, corpus_cases, on_result, known_entries=(entries, fails))
    elif jobs > 1 and todo_all:
        from conformance.execute.lanes import run_lanes

        ref_stats = run_lanes(config, groups, todo_all, corpus_cases, on_result,
                              lambda cell, *rest: progress.shrinking_line(cell.id, *rest), (entries, fails), jobs)
    known.reset(entries)  # classify every record once more, resumed ones included, for the final tallies
    baseline.classify_records(writer.records, entries, fails)
    summary = summarize(writer.records)
    status = known.status(entries, {r["implementation"] for r in writer.records}, strict=config.strict_known,
                          frameworks_run={r["framework"] for r in writer.records})
    from conformance.report.summary import entry_json

    status["entries"] = [entry_json(e) for e in entries]  # reasons and links travel with the results
    for entry_id in status["unmatched"]:
        log(f"warning: known divergence {entry_id!r} matched nothing that was run")
    for entry_id in status["fixed_upstream"]:
        log(f"{'error' if config.strict_known else 'note'}: known divergence {entry_id!r} no longer occurs "
            f"although its scope ran (fixed upstream?{' --strict-known fails the run' if config.strict_known else ''})")
    duration = time.perf_counter() - started
    path = writer.finish(implementations, status, summary, {
        "finished": dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds"),
        "duration_s": round(duration, 3),
        "jobs": jobs if config.executor == "local" else 1,
        "reference_cache": {**refs.stats(), **(ref_stats or {})},  # the lanes' caches where lanes ran the cells
        "timing": {"cells": cell_timing},
        "internal_errors": internal_errors,
        **({"shard": f"{config.shard[0]}/{config.shard[1]}"} if config.shard else {}),
    })
    if config.junit is not None:
        from conformance.results import junit
        from conformance.results.output_dir import ResultsIOError

        try:
            junit.write(config.junit, writer.records, entries, path, writer.header, status["strict_failures"],
                        internal_errors)
        except OSError as exc:
            raise ResultsIOError(f"cannot write {config.junit}: {exc.strerror or exc}") from None
        log(f"junit: {config.junit}")
    if config.write_corpus is not None:
        from conformance.cases import corpus

        total, added = corpus.write(config.write_corpus, writer.records)
        log(f"corpus {config.write_corpus}: {total} cases ({added} new)")
    log(f"wrote {path}: {summary['total']} records, {summary['unexpected']} unexpected, {duration:.1f} s "
        f"(seed {config.seed}; rerun with --seed {config.seed} for the same records)")
    if internal_errors:
        log(f"{len(internal_errors)} cell(s) hit an internal error of the suite (see above)")
    if status["strict_failures"]:
        log(f"--strict-known: {len(status['strict_failures'])} known divergence(s) no longer occur: "
            f"update or remove them in {config.known_path}")
    return 1 if summary["unexpected"] or internal_errors or status["strict_failures"] else 0
