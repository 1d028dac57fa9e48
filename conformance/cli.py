"""ce-conformance (or python -m conformance) {run, report, compare, merge, replay, list, coverage}.

Bad input to any command: one clear line on stderr and exit code 2, never a traceback. Results that cannot
be written (disk full, any I/O error): one line and exit code 3, with results.jsonl whole up to its last
finished cell and no temporary file left.
"""
from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

DEFAULT_OUT = Path("reports") / "latest"
EXAMPLES = """examples:
  ce-conformance run --profile quick --frameworks numpy --out reports/quick
  ce-conformance run --frameworks torch --dtypes float32 --implementations 'torch.nn.functional.cross_entropy*'
  ce-conformance run --impl mypkg.losses:cross_entropy --op cross_entropy --signature torch --out reports/mine
  ce-conformance run --profile thorough --shard 2/8 --shard-timing last/results.json --out shards/2
  ce-conformance run --executor ray --address auto --profile thorough --out reports/nightly
  ce-conformance merge shards/*/results.json --out reports/nightly/results.json
  ce-conformance report reports/nightly/results.json
  ce-conformance compare reports/old/results.json reports/new/results.json --format markdown
  ce-conformance replay 'ce(logits=[big,big+ulp],y=0)' --results reports/quick/results.json
  ce-conformance list
  ce-conformance coverage --out docs/coverage.md

exit codes: 0 nothing unexpected failed, 1 unexpected failures (or a regression for compare),
2 bad input (one line on stderr), 3 results could not be written, 130 interrupted.
"""


class UsageError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # one line, exit 2 (argparse would print the whole usage)
        raise UsageError(f"{self.prog}: {message}")


def _csv(value: str) -> tuple:
    return tuple(v.strip() for v in value.split(",") if v.strip())


def _multi(values) -> tuple | None:
    if not values:
        return None
    out = []
    for v in values:
        out += _csv(v)
    return tuple(out)


def _size(text: str) -> int:
    """'4G', '512M', '2048' (MiB) -> bytes."""
    units = {"K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40}
    t = text.strip().upper().removesuffix("IB").removesuffix("B")
    scale = units.get(t[-1:], None)
    try:
        value = float(t[:-1] if scale else t) * (scale or 1 << 20)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a size: {text!r} (e.g. 4G, 512M)") from None
    if not value >= 64 << 20 or value > 1 << 50:
        raise argparse.ArgumentTypeError(f"--max-worker-memory {text!r}: choose between 64M and 1P")
    return int(value)


def _shard(text: str) -> tuple:
    from conformance.plan.shard import ShardError, parse_shard

    try:
        return parse_shard(text)
    except ShardError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None


def _jobs(text: str) -> int:
    try:
        n = int(text)
    except ValueError:
        n = 0
    if not 1 <= n <= 64:
        raise argparse.ArgumentTypeError(f"--jobs {text!r}: a whole number of lanes from 1 to 64")
    return n


def _writable_dir(path: Path) -> Path:
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise UsageError(f"cannot create output directory {path}: {exc.strerror}")
    if not os.access(path, os.W_OK):
        raise UsageError(f"output directory {path} is not writable")
    return path


def _version() -> str:
    from conformance import __version__

    return f"ce-conformance {__version__}"


def build_parser(prog: str = "python -m conformance") -> argparse.ArgumentParser:
    from conformance.plan.choices import PROFILES, SIGNATURES

    p = _Parser(prog=prog, description="Conformance of cross-entropy implementations against a certified "
                "reference.", epilog=EXAMPLES, formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("--version", action="version", version=_version())
    sub = p.add_subparsers(dest="command", parser_class=_Parser)
    run = sub.add_parser("run", help="run the conformance suite and write results.json (+ the HTML report)")
    run.add_argument("--frameworks", nargs="*", help="torch,tensorflow,jax,numpy (default: all installed)")
    run.add_argument("--ops", nargs="*", help="reference op names (default: all)")
    run.add_argument("--dtypes", nargs="*", help="float64,float32,float16,bfloat16 (default: all)")
    run.add_argument("--devices", nargs="*", help="cpu,cuda (default: both; cuda cells skip without a GPU)")
    run.add_argument("--modes", nargs="*", help="execution modes: eager,compile,graph,xla,jit, default (each "
                                                "framework's default), all (default: the profile's plan)")
    run.add_argument("--implementations", nargs="*", help="fnmatch patterns on implementation ids")
    run.add_argument("--profile", default="ci", choices=tuple(PROFILES), help="examples and timeouts (default ci)")
    run.add_argument("--seed", type=int, default=0)
    run.add_argument("--examples", type=int, help="Hypothesis examples per cell (default: the profile's)")
    run.add_argument("--timeout", type=float, help="per-case timeout in seconds (default: the profile's)")
    run.add_argument("--out", type=Path, default=DEFAULT_OUT, help=f"output directory (default {DEFAULT_OUT})")
    run.add_argument("--resume", action="store_true", help="continue an interrupted run in --out")
    run.add_argument("--no-report", action="store_true", help="do not write the HTML report")
    run.add_argument("--tf32", action="store_true", help="allow TF32/reduced-precision matmul (off by default)")
    run.add_argument("--known", type=Path, help="known-divergences TOML (default: the bundled one)")
    run.add_argument("--impl", action="append", default=[],
                     help="a custom implementation package.module:function (repeatable)")
    run.add_argument("--op", help="the reference op a custom --impl computes")
    run.add_argument("--signature", default="torch", choices=SIGNATURES, help="custom --impl calling convention")
    run.add_argument("--dtypes-supported", help="custom --impl: dtypes it supports (comma-separated)")
    run.add_argument("--vjp", help="custom --impl with --signature numpy: package.module:function giving its "
                                   "gradients as vjp(**inputs, **params) -> {input: gradient} (else value only)")
    run.add_argument("--baseline", help="custom --impl: judge it relative to this built-in implementation id "
                                        "(same verdict or better passes; worse fails)")
    run.add_argument("--strict-special-values", action="store_true",
                     help="an IEEE special value where the limit exists (verdict ieee_special) fails the run")
    run.add_argument("-q", "--quiet", action="store_true")
    run.add_argument("--cache", type=Path, default=None,
                     help="reference results cache directory (default $CE_CONFORMANCE_CACHE or "
                          "~/.cache/ce-conformance)")
    run.add_argument("--no-cache", action="store_true", help="compute every reference answer afresh")
    run.add_argument("--junit", type=Path, default=None,
                     help="also write the run as JUnit XML (one testcase per case and part) for any CI")
    run.add_argument("--strict-known", action="store_true",
                     help="fail the run (exit 1) when a known divergence whose scope ran no longer occurs")
    run.add_argument("--max-worker-memory", type=_size, default=None, metavar="SIZE",
                     help="cap each worker's address space (e.g. 4G, 512M; plain numbers are MiB); an "
                          "implementation that runs out is recorded as crashed: memory")
    run.add_argument("--corpus", type=Path, default=None,
                     help="regression corpus (JSON) to replay in every cell before the Hypothesis examples")
    run.add_argument("--shard", type=_shard, default=None, metavar="K/N",
                     help="run only the K-th of N disjoint parts of the cells (merge the N results afterwards)")
    run.add_argument("--shard-timing", type=Path, default=None, metavar="RESULTS",
                     help="balance the shards by each cell's wall time in this earlier results.json")
    run.add_argument("--executor", choices=("local", "ray"), default="local",
                     help="local: isolated worker processes here (default); ray: cells as Ray tasks "
                          "(pip install 'ce-conformance[ray]')")
    run.add_argument("--jobs", type=_jobs, default=None, metavar="N",
                     help="local lanes running cells at once, each with its own workers (default: 2 on a machine "
                          "with 2+ cores for the ci and thorough profiles, else 1); the records do not depend on it")
    run.add_argument("--address", default=None,
                     help="--executor ray: the cluster to join (e.g. auto, ray://head:10001; default: a local one)")
    run.add_argument("--write-corpus", type=Path, default=None,
                     help="write the run's catalog cases and minimal failing examples to this corpus "
                          "(merged into it when it exists)")

    rep = sub.add_parser("report", help="write the HTML report for a results file")
    rep.add_argument("results", type=Path)
    rep.add_argument("--out", type=Path, default=None, help="output directory (default: beside the results)")

    cmp_ = sub.add_parser("compare", help="compare two runs; exit 1 when anything regressed")
    cmp_.add_argument("old", type=Path)
    cmp_.add_argument("new", type=Path)
    cmp_.add_argument("--out", type=Path, default=None, help="write compare.html here")
    cmp_.add_argument("--ulp-threshold", type=float, default=None)
    cmp_.add_argument("--ignore-device", action="store_true",
                      help="match cells across devices (compare a CPU run with a GPU run)")
    cmp_.add_argument("--ignore-mode", action="store_true",
                      help="eager vs compiled parity: OLD's default-mode records against NEW's other execution "
                           "modes (OLD and NEW may be the same run)")
    cmp_.add_argument("--format", default="text", choices=("text", "markdown", "json"),
                      help="text (default), markdown (a PR comment) or json")

    tl = sub.add_parser("timeline", help="per finding, the first release that shows it and the first without it")
    tl.add_argument("runs", type=Path, nargs="+", help="results of one corpus on successive releases, oldest first")
    tl.add_argument("--framework", default=None)
    tl.add_argument("--out", type=Path, default=None, help="write the markdown table here")

    mrg = sub.add_parser("merge", help="merge results from several machines into one results.json")
    mrg.add_argument("inputs", type=Path, nargs="+")
    mrg.add_argument("--out", type=Path, required=True)

    rpl = sub.add_parser("replay", help="re-run one case from a results file and print the comparison")
    rpl.add_argument("case_id")
    rpl.add_argument("--results", type=Path, required=True)
    rpl.add_argument("--implementation", help="only the record(s) of this implementation")
    rpl.add_argument("--dtype")
    rpl.add_argument("--impl", action="append", default=[],
                     help="package.module:function of a custom implementation the record names (replay never "
                          "imports code named in a results file; repeatable)")
    rpl.add_argument("--signature", default=None, choices=SIGNATURES,
                     help="calling convention of --impl (default: the record's)")
    rpl.add_argument("--exact", type=int, action="append", default=[], metavar="INDEX",
                     help="also print the exact decimal of element INDEX (flat) of the value and each gradient, "
                          "recomputed from the stored inputs (records keep only some; repeatable)")

    sub.add_parser("list", help="list the implementations of every installed framework")

    cov = sub.add_parser("coverage", help="write docs/coverage.md: every public name of the cross-entropy family "
                                          "in the installed packages, covered / gap / out of scope (exit 1 on an "
                                          "unlisted name)")
    cov.add_argument("--out", type=Path, default=Path("docs") / "coverage.md")
    return p


def console_main() -> int:
    """The `ce-conformance` console script."""
    return main(prog="ce-conformance")


def main(argv=None, prog: str = "python -m conformance") -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    try:
        args = build_parser(prog).parse_args(argv)
        if args.command is None:
            raise UsageError(f"{prog}: choose a command: run, report, compare, merge, replay, list, coverage "
                             f"(--help shows examples)")
        args.prog = prog
        return COMMANDS[args.command](args, argv)
    except SystemExit as exc:  # --help, --version
        return exc.code if isinstance(exc.code, int) else 0
    except UsageError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except _io_error() as exc:  # disk full, quota, read-only: nothing written so far is lost
        print(f"error: {exc}; results.jsonl keeps every finished cell (run --resume when there is room)",
              file=sys.stderr)
        return 3
    except KeyboardInterrupt:
        print("interrupted; results written so far are in results.jsonl (use run --resume)", file=sys.stderr)
        return 130
    except RecursionError:
        print("error: the input is nested too deeply", file=sys.stderr)
        return 2
    except Exception as exc:  # a case the checks missed: still one line (CONFORMANCE_TRACEBACK=1 shows it)
        if os.environ.get("CONFORMANCE_TRACEBACK"):
            raise
        print(f"error: unexpected {type(exc).__name__}: {' '.join(str(exc).split())[:300]}", file=sys.stderr)
        return 2


def _io_error():
    from conformance.results.output_dir import ResultsIOError

    return ResultsIOError


def cmd_run(args, argv) -> int:
    from conformance.judge import known
    from conformance.execute.run import ALL_DEVICES, ALL_DTYPES, RunConfig, RunConfigError, execute

    custom = []
    if args.impl:
        from conformance.judge.baseline import BaselineError, find
        from conformance.adapters.custom import CustomSpecError, parse_spec

        if not args.op:
            raise UsageError("--impl needs --op (the reference op the function computes)")
        try:
            custom = [parse_spec(t, args.op, args.signature, _csv(args.dtypes_supported or ""), args.vjp,
                                 args.baseline) for t in args.impl]
            if args.baseline:
                find(args.baseline, args.op)
        except (CustomSpecError, BaselineError) as exc:
            raise UsageError(str(exc))
    elif args.vjp or args.baseline:
        raise UsageError("--vjp and --baseline go with --impl")
    frameworks = _multi(args.frameworks)
    if frameworks is None:
        from conformance.adapters import FRAMEWORKS

        frameworks = () if custom and not args.frameworks else tuple(FRAMEWORKS)
    config = RunConfig(
        out_dir=_writable_dir(args.out),
        frameworks=frameworks,
        ops=_multi(args.ops) or ((args.op,) if custom else None),
        dtypes=_multi(args.dtypes) or ALL_DTYPES,
        devices=_multi(args.devices) or ALL_DEVICES,
        modes=_multi(args.modes),
        profile=args.profile,
        seed=args.seed,
        resume=args.resume,
        implementations=_multi(args.implementations),
        examples=args.examples,
        timeout=args.timeout,
        custom=custom,
        known_path=args.known or known.DEFAULT_PATH,
        tf32=args.tf32,
        argv=[args.prog, *argv],
        shard=args.shard,
        shard_weights=_shard_weights(args),
        executor=args.executor,
        ray_address=args.address,
        jobs=args.jobs,
        quiet=args.quiet,
        cache_dir=_cache_dir(args),
        corpus_path=args.corpus,
        write_corpus=args.write_corpus,
        strict_known=args.strict_known,
        junit=args.junit,
        max_worker_memory=args.max_worker_memory,
        strict_special_values=args.strict_special_values,
    )
    if args.resume and not (config.out_dir / "results.jsonl").exists():
        raise UsageError(f"--resume: no results.jsonl in {config.out_dir} to continue")
    if args.known and not args.known.exists():
        raise UsageError(f"--known: no such file {args.known}")
    from conformance.results.errors import ResultsError
    from conformance.results.output_dir import OutputLocked, ResultsIOError, out_dir_lock

    try:
        with out_dir_lock(config.out_dir):  # the run and its report: one run per output directory
            code = execute(config, log=lambda m: print(m, flush=True))
            if not args.no_report:
                from conformance.report import write_report
                from conformance.report.errors import ReportOutputError

                try:
                    index = write_report(config.out_dir / "results.json", config.out_dir)
                except ReportOutputError as exc:
                    raise ResultsIOError(str(exc)) from None
                print(f"report: {index}")
    except (RunConfigError, known.KnownDivergenceError, OutputLocked, ResultsError, _ray_unavailable()) as exc:
        raise UsageError(str(exc))
    return code


def _ray_unavailable():
    from conformance.execute.ray_executor import RayUnavailable

    return RayUnavailable


def _shard_weights(args) -> dict | None:
    if args.shard_timing is None:
        return None
    if args.shard is None:
        raise UsageError("--shard-timing needs --shard K/N")
    from conformance.plan.shard import ShardError, load_timing

    try:
        return load_timing(args.shard_timing)
    except ShardError as exc:
        raise UsageError(str(exc))


def _cache_dir(args) -> Path | None:
    from conformance.execute.reference_cache import default_cache_dir

    if args.no_cache:
        return None
    path = args.cache or default_cache_dir()
    try:
        path.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        if args.cache:
            raise UsageError(f"cannot create cache directory {path}: {exc.strerror}")
        return None  # the default place is not writable: run without a disk cache
    return path


def cmd_report(args, argv) -> int:
    from conformance.report.cli import main as report_main

    return report_main(["report", str(args.results)] + (["--out", str(args.out)] if args.out else []))


def cmd_compare(args, argv) -> int:
    from conformance.report.cli import main as report_main

    extra = (["--out", str(args.out)] if args.out else []) + (
        ["--ulp-threshold", str(args.ulp_threshold)] if args.ulp_threshold is not None else []) + (
        ["--ignore-device"] if args.ignore_device else []) + (
        ["--ignore-mode"] if args.ignore_mode else []) + ["--format", args.format]
    return report_main(["compare", str(args.old), str(args.new), *extra])


def cmd_timeline(args, argv) -> int:
    from conformance.report.cli import main as report_main

    extra = (["--framework", args.framework] if args.framework else []) + (["--out", str(args.out)] if args.out else [])
    return report_main(["timeline", *map(str, args.runs), *extra])


def cmd_merge(args, argv) -> int:
    from conformance.report.cli import main as report_main

    return report_main(["merge", *map(str, args.inputs), "--out", str(args.out)])


def cmd_replay(args, argv) -> int:
    from conformance.execute.replay import ReplayError, replay

    try:
        return replay(args.case_id, args.results, args.implementation, args.dtype, impls=tuple(args.impl),
                      signature=args.signature, exact=tuple(args.exact))
    except ReplayError as exc:
        raise UsageError(str(exc))


def cmd_list(args, argv) -> int:
    from conformance.adapters import FRAMEWORKS, availability, implementations_for

    for name in FRAMEWORKS:
        ok, info = availability(name)
        if not ok:
            print(f"{name}: skipped ({info})")
            continue
        print(f"{name}: {info}")
        for impl in implementations_for(name):
            print(f"  {impl.id}  op={impl.op}  dtypes={','.join(impl.dtypes)}  grads={','.join(impl.grads) or '-'}"
                  f"  modes={','.join(impl.modes) or '-'}")
    return 0


def cmd_coverage(args, argv) -> int:
    from conformance.adapters.coverage import main as coverage_main

    if args.out.exists() and args.out.is_dir():
        raise UsageError(f"--out {args.out} is a directory; give the markdown file to write")
    return coverage_main(args.out)


COMMANDS = {"coverage": cmd_coverage, "run": cmd_run, "report": cmd_report, "compare": cmd_compare, "merge": cmd_merge, "timeline": cmd_timeline,
            "replay": cmd_replay, "list": cmd_list}
