"""Python API: check your own implementation against the certified reference.

    from conformance.api import check
    code = check("mypkg.losses:cross_entropy", op="cross_entropy", signature="torch", out="reports/mine")

is the same as `python -m conformance run --impl mypkg.losses:cross_entropy --op cross_entropy
--signature torch --out reports/mine`: the function is called in the framework's calling convention,
differentiated by the framework's autodiff, held to that framework's documented conventions, and reported
as one more implementation (comparable with any built-in one: add `frameworks=("torch",)`).

Packages can register implementations for every run through the entry-point group
`ce_conformance.implementations`: each entry point names a callable returning a list of
conformance.adapters.implementation.Implementation (declared as data, like the built-in adapters).
"""
from __future__ import annotations

from pathlib import Path

from conformance.adapters.custom import parse_spec
from conformance.execute.run import ALL_DEVICES, ALL_DTYPES, RunConfig, execute


def check(target: str, op: str, signature: str = "torch", out="reports/custom", dtypes=ALL_DTYPES,
          frameworks=(), profile: str = "quick", seed: int = 0, examples: int | None = None,
          devices=ALL_DEVICES, report: bool = True, log=None) -> int:
    """Run the suite on `target` ("package.module:function"); return the exit code (0: no unexpected
    failure). Built-in `frameworks` given too are run on the same op for comparison. The run's lines go
    to the "conformance" logger (configure it, e.g. logging.basicConfig(level=logging.INFO), to see them),
    or to `log` when given (log=print: as the command line shows them)."""
    spec = parse_spec(target, op, signature, tuple(dtypes))
    config = RunConfig(out_dir=Path(out), frameworks=tuple(frameworks), ops=(op,), dtypes=tuple(dtypes),
                       devices=tuple(devices), profile=profile, seed=seed, examples=examples, custom=[spec],
                       argv=["conformance.api.check", target])
    code = execute(config, log=log)
    if report:
        from conformance.report import write_report

        write_report(Path(out) / "results.json", Path(out))
    return code
