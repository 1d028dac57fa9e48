"""Command-line entry points, one per command; each returns the exit status (never calls sys.exit):

    report RESULTS [--out DIR]   (DIR defaults to the results' directory) -> 0; prints DIR/index.html
    compare OLD NEW [--out DIR] [--ulp-threshold N] [--ignore-device] [--ignore-mode] [--format text|markdown|json]
                                                                -> 1 when anything regressed, else 0
    merge A B [C ...] --out FILE                                -> 0; prints the path written
    timeline RUN1 RUN2 [...] [--framework F] [--out FILE.md]    -> 0; the release timeline of findings

Any bad input (missing, malformed, truncated or incompatible results; an output path that is not a
directory; bad arguments) prints one line "conformance <command>: error: ..." on stderr and returns 2, without
a traceback; an output file that cannot be written (disk full, permissions) returns 3
(CONFORMANCE_TRACEBACK=1 shows the traceback of an unexpected internal error).
"""
from __future__ import annotations

import argparse
import os
import sys

from .errors import ReportInputError, ReportOutputError



class _ArgumentError(Exception):
    pass


class _Parser(argparse.ArgumentParser):
    def error(self, message):  # argparse would print usage on several lines and exit itself
        raise _ArgumentError(message)


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0:
        raise argparse.ArgumentTypeError(f"must be a number >= 0, got {text!r}")
    return value


def _report_parser() -> _Parser:
    p = _Parser(prog="conformance report", description="Write the static HTML report of one run.")
    p.add_argument("results", help="results.json, results.jsonl, or a directory holding one")
    p.add_argument("--out", default=None, help="output directory (default: the directory of the results)")
    return p


def _compare_parser() -> _Parser:
    from .compare import DEFAULT_ULP_THRESHOLD

    p = _Parser(prog="conformance compare", description="Compare two runs; exit 1 when anything regressed.")
    p.add_argument("old", help="the baseline run (results.json / results.jsonl / directory)")
    p.add_argument("new", help="the run to check")
    p.add_argument("--out", default=None, help="also write DIR/compare.html")
    p.add_argument("--ulp-threshold", type=_non_negative, default=DEFAULT_ULP_THRESHOLD,
                   help=f"ULP growth that counts as a regression (default {DEFAULT_ULP_THRESHOLD:g})")
    p.add_argument("--ignore-device", action="store_true",
                   help="match records across devices (compare a CPU run with a GPU run)")
    p.add_argument("--ignore-mode", action="store_true",
                   help="eager vs compiled parity: OLD's default-mode records against NEW's other execution modes "
                        "(OLD and NEW may be the same run)")
    p.add_argument("--format", choices=("text", "markdown", "json"), default="text",
                   help="stdout: text (default), markdown (a pull-request comment) or json")
    return p


def _timeline_parser() -> _Parser:
    p = _Parser(prog="conformance timeline",
                description="Per finding, the first release that shows it and the first that no longer does.")
    p.add_argument("runs", nargs="+", help="results of the same corpus on successive releases, oldest first")
    p.add_argument("--framework", default=None, help="the framework whose versions name the releases")
    p.add_argument("--out", default=None, help="write the table here: an HTML page when FILE ends in .html, else "
                   "markdown (default: markdown on stdout only)")
    return p


def _merge_parser() -> _Parser:
    p = _Parser(prog="conformance merge", description="Merge runs from different machines into one results.json.")
    p.add_argument("inputs", nargs="+", help="two or more results files")
    p.add_argument("--out", required=True, help="the merged results.json to write (or a directory)")
    return p


def _run(prog: str, parser_factory, body, argv) -> int:
    try:
        args = parser_factory().parse_args(argv)
        return body(args)
    except ReportOutputError as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 3
    except (ReportInputError, _ArgumentError) as e:
        print(f"{prog}: error: {e}", file=sys.stderr)
        return 2
    except SystemExit as e:  # --help
        return e.code if isinstance(e.code, int) else 0
    except KeyboardInterrupt:
        print(f"{prog}: interrupted", file=sys.stderr)
        return 130
    except Exception as e:  # an internal error: still one line, unless asked for the traceback
        if os.environ.get("CONFORMANCE_TRACEBACK"):
            raise
        print(f"{prog}: error: unexpected {type(e).__name__}: {' '.join(str(e).split())[:300]}", file=sys.stderr)
        return 2


def report_main(argv=None) -> int:
    from .html import write_report

    def body(args):
        out = args.out
        if out is None:
            out = args.results if os.path.isdir(args.results) else os.path.dirname(os.path.abspath(args.results))
        print(write_report(args.results, out))
        return 0

    return _run("conformance report", _report_parser, body, argv)


def compare_main(argv=None) -> int:
    from .compare_formats import compare_runs

    def body(args):
        from .compare_formats import FORMATS

        result = compare_runs(args.old, args.new, out_dir=args.out, ulp_threshold=args.ulp_threshold,
                              ignore_device=args.ignore_device, ignore_mode=args.ignore_mode)
        print(FORMATS[args.format](result), end="" if args.format == "markdown" else "\n")
        return result.exit_code

    return _run("conformance compare", _compare_parser, body, argv)


def merge_main(argv=None) -> int:
    from .merge import merge_runs

    def body(args):
        print(merge_runs(args.inputs, args.out))
        return 0

    return _run("conformance merge", _merge_parser, body, argv)


def timeline_main(argv=None) -> int:
    from .timeline import write_timeline

    def body(args):
        text = write_timeline(args.runs, args.out, args.framework)
        print(f"wrote {args.out}" if args.out else text)
        return 0

    return _run("conformance timeline", _timeline_parser, body, argv)


COMMANDS = {"report": report_main, "compare": compare_main, "merge": merge_main, "timeline": timeline_main}


def main(argv=None) -> int:
    """`report|compare|merge ...` (for `python -m conformance.report`)."""
    argv = list(sys.argv[1:] if argv is None else argv)
    if not argv or argv[0] not in COMMANDS:
        print(f"conformance: error: expected one of {', '.join(COMMANDS)}, got {argv[0] if argv else 'nothing'!r}",
              file=sys.stderr)
        return 2
    return COMMANDS[argv[0]](argv[1:])
