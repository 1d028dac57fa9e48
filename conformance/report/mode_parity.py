"""Where execution modes disagree (issue 14): the same case of the same implementation, dtype and device run in
two or more execution modes (torch eager / compile, TF eager / graph / xla, JAX jit / eager) with a different
verdict, or with the same verdict and different output bits.

Every mode of a cell draws the same Hypothesis examples (conformance/execute/cell_runner.py seeds a cell
without its mode), so a case is matched across modes by content: its params and exact input bits
(conformance.cases.corpus.record_key), not by id. Records without inputs (an unsupported mode, an undeclared
dtype) have no output to compare and are left out.

    verdict  the verdicts differ (e.g. accurate eagerly, inaccurate under XLA)
    bits     the verdicts agree but some part's output bits (or the exception type) differ: a compiler
             that reassociates within the error budget, or the same wrong answer computed differently
"""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field

from conformance.cases.corpus import record_key

from .compare_measure import differing_parts
from .numbers import fmt_metric
from .verdicts import severity, worst
from .views import worst_metric

MAX_SHOWN = 200  # rows of the report's table (the counts above it cover every disagreement)


def record_mode(record: dict) -> str:
    """The record's execution mode; records written before modes existed ran in the framework's default."""
    from conformance.adapters.execution import default_mode

    return str(record.get("mode") or default_mode(str(record.get("framework", ""))))


@dataclass
class ModeSide:
    mode: str
    verdict: str
    ulp: str               # the record's worst ULP error over its parts (fmt_metric)
    unexpected: bool
    known_divergence: str | None


@dataclass
class ModeDisagreement:
    implementation: str
    framework: str
    op: str
    dtype: str
    device: str
    case_id: str
    source: str
    kind: str                                   # "verdict" or "bits"
    parts: list[str]                            # parts whose output bits differ from the first mode's
    sides: list[ModeSide] = field(default_factory=list)

    @property
    def modes(self) -> list[str]:
        return [s.mode for s in self.sides]

    @property
    def worst(self) -> str:
        return worst(s.verdict for s in self.sides)

    @property
    def unexpected(self) -> bool:
        return any(s.unexpected for s in self.sides)


@dataclass
class ModeParity:
    """Every case run in more than one mode (`compared`), and those whose modes disagree."""
    compared: int
    disagreements: list[ModeDisagreement]

    @property
    def by_verdict(self) -> int:
        return sum(1 for d in self.disagreements if d.kind == "verdict")

    @property
    def by_bits(self) -> int:
        return sum(1 for d in self.disagreements if d.kind == "bits")


def _mode_order(framework: str, mode: str) -> tuple:
    from conformance.adapters.execution import modes_of

    modes = modes_of(framework)
    return (modes.index(mode) if mode in modes else len(modes), mode)


def mode_parity(records: list[dict]) -> ModeParity:
    """Group the records by (implementation, dtype, device, case content) and compare their modes: each other
    mode against the first (the framework's default mode when it ran)."""
    groups: dict[tuple, dict[str, dict]] = defaultdict(dict)
    for r in records:
        if not r.get("inputs"):
            continue
        key = (r["implementation"], r["dtype"], r["device"], record_key(r))
        groups[key].setdefault(record_mode(r), r)  # a case's first record in that mode
    compared, out = 0, []
    for (impl, dtype, device, _), by_mode in groups.items():
        if len(by_mode) < 2:
            continue
        compared += 1
        framework = str(next(iter(by_mode.values())).get("framework", ""))
        modes = sorted(by_mode, key=lambda m: _mode_order(framework, m))
        first = by_mode[modes[0]]
        parts = []
        for m in modes[1:]:
            parts += [p for p in differing_parts(first, by_mode[m]) if p not in parts]
        verdicts = {by_mode[m]["verdict"] for m in modes}
        if len(verdicts) == 1 and not parts:
            continue
        sides = [ModeSide(m, by_mode[m]["verdict"], fmt_metric(worst_metric(by_mode[m].get("ulp"))),
                          bool(by_mode[m].get("unexpected")), by_mode[m].get("known_divergence")) for m in modes]
        out.append(ModeDisagreement(impl, framework, str(first.get("op", "")), dtype, device, str(first["case_id"]),
                                    str(first.get("source", "")), "verdict" if len(verdicts) > 1 else "bits",
                                    parts, sides))
    out.sort(key=lambda d: (d.kind != "verdict", not d.unexpected, severity(d.worst), d.implementation, d.dtype,
                            d.device, d.case_id))
    return ModeParity(compared, out)
