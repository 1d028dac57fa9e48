"""python -m reference eval | golden: the reference from the command line.

    python -m reference eval [--case FILE]     one JSON case (stdin by default) -> JSON result on stdout
    python -m reference golden [--check] [--dir DIR]
                                               regenerate reference/golden/ from reference/catalog.py, or
                                               check it (exit 1 on a mismatch)
Bad input prints one line on stderr and exits 2.
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference.errors import CaseError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CaseError(f"usage: {message}")


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reference", description="certified reference for cross-entropy losses")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = sub.add_parser("eval", help="evaluate one JSON case (stdin or --case FILE)")
    ev.add_argument("--case", help="file holding the JSON case (default: stdin)")
    golden = sub.add_parser("golden", help="regenerate (or --check) the golden corpus")
    golden.add_argument("--check", action="store_true", help="verify instead of writing; exit 1 on mismatch")
    golden.add_argument("--dir", help="golden directory (default: reference/golden)")
    return parser


def _eval(args) -> int:
    from reference.evaluate import evaluate
    from reference.jsonio import dumps, loads_case, result_json

    if args.case:
        try:
            text = Path(args.case).read_text(encoding="utf-8")
        except OSError as exc:
            raise CaseError(f"cannot read {args.case}: {exc.strerror}") from None
        except UnicodeDecodeError:
            raise CaseError(f"{args.case} is not UTF-8 text") from None
    else:
        text = sys.stdin.read()
    case = loads_case(text)
    result = evaluate(case["op"], case["dtype"], case["inputs"], case.get("params") or {})
    sys.stdout.write(dumps(result_json(result)))
    return 0


def _golden(args) -> int:
    from reference import golden

    directory = Path(args.dir) if args.dir else golden.GOLDEN_DIR
    if args.check:
        problems = golden.check(directory)
        for p in problems:
            print(p, file=sys.stderr)
        if problems:
            return 1
        print(f"golden corpus in {directory} matches a regeneration")
        return 0
    names = golden.write(directory)
    print(f"wrote {len(names)} files to {directory}")
    return 0


def main(argv=None) -> int:
    try:
        args = _parser().parse_args(argv)
        return _eval(args) if args.command == "eval" else _golden(args)
    except CaseError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    except RecursionError:
        print("error: the case is nested too deeply", file=sys.stderr)
        return 2
    except Exception as exc:  # a case the checks above missed: still one line, never a traceback
        print(f"error: cannot evaluate this case ({type(exc).__name__}: {exc})".replace("\n", " "), file=sys.stderr)
        return 2
