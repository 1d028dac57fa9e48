"""python -m reference eval | golden: the reference from the command line.

    python -m reference eval [--case FILE] [--max-elements N]
                                               one JSON case (stdin by default) -> JSON result on stdout
                                               (with "cotangent", "tangents", "hvp": the derivative modes)
    python -m reference golden [--check] [--dir DIR]
                                               regenerate reference/golden/ from reference/catalog.py (its golden entries), or
                                               check it (exit 1 on a mismatch)
Bad input prints one line on stderr and exits 2, never a traceback. Inputs are bounded so that every answer
comes in bounded time and memory: at most --max-elements numbers (default 100,000; about 30 s and 300 MB),
JSON nested at most 32 deep, the case text at most 64 characters per allowed number plus 2^20, each number at
most 1,000 characters with its decimal exponent within ±99,999 (reference/decimal_io.py).
"""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

from reference.errors import CaseError


class _Parser(argparse.ArgumentParser):
    def error(self, message):
        raise CaseError(f"usage: {message}")


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not an integer: {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"must be at least 1, got {value}")
    return value


def _parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="python -m reference", description="certified reference for cross-entropy losses")
    sub = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    ev = sub.add_parser("eval", help="evaluate one JSON case (stdin or --case FILE)")
    ev.add_argument("--case", help="file holding the JSON case (default: stdin)")
    ev.add_argument("--max-elements", type=_positive, default=None,
                    help="accept cases with up to N numbers (default 100000)")
    golden = sub.add_parser("golden", help="regenerate (or --check) the golden corpus")
    golden.add_argument("--check", action="store_true", help="verify instead of writing; exit 1 on mismatch")
    golden.add_argument("--dir", help="golden directory (default: reference/golden)")
    return parser


def _eval(args) -> int:
    from reference.evaluate import evaluate
    from reference.jsonio import dumps, loads_case, result_json

    from reference.jsonio import DEFAULT_MAX_ELEMENTS

    max_elements = args.max_elements or DEFAULT_MAX_ELEMENTS
    limit = 64 * max_elements + (1 << 20)  # bytes of case text read at most
    try:
        if args.case:
            with open(args.case, encoding="utf-8") as f:
                text = f.read(limit + 1)
        else:
            text = sys.stdin.read(limit + 1)
    except OSError as exc:
        raise CaseError(f"cannot read {args.case or 'stdin'}: {exc.strerror}") from None
    except UnicodeDecodeError:
        raise CaseError(f"{args.case or 'stdin'} is not UTF-8 text") from None
    if len(text) > limit:
        raise CaseError(f"the case is longer than {limit} characters (--max-elements {max_elements}); raise "
                        f"--max-elements for larger inputs")
    case = loads_case(text, max_elements)
    result = evaluate(case["op"], case["dtype"], case["inputs"], case.get("params") or {},
                      cotangent=case.get("cotangent"), tangents=case.get("tangents"), hvp=case.get("hvp", False),
                      param_grads=case.get("param_grads"))
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
