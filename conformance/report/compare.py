"""Compare two runs (two framework versions, or two machines) record by record.

Records are matched by case content -- (implementation, op, dtype, device, params, the exact input bits),
never by a Hypothesis id -- and, where a run holds several records for one case (one per part), by part as
well. With ignore_device the device is left out of the key (a CPU run against a GPU run); with ignore_mode
the execution mode is (an eager run against a compiled one, or a run's eager cells against its compiled
cells: the same case in two modes is then one pair, eager side old, the other mode new). Two runs that
replay the same regression corpus (run --corpus) therefore match case for case.

A matched record is
  unchanged    when the implementation's output is bit-for-bit the same (the same values and gradients, or
               the same exception type), whatever the ULP figures say;
  regression   when its verdict got worse (verdicts.COMPARE_ORDER), or, with the verdict not better, its
               error (value or any gradient) grew by more than ulp_threshold, or it raised where it did
               not before;
  improvement  when its verdict got better, or, with the verdict the same, its error shrank by more than
               ulp_threshold and nothing regressed;
  behaviour    when the verdict is neither better nor worse but what the implementation does changed kind:
               raise -> NaN, NaN -> value, value -> NaN, raise -> value, one exception type -> another;
  unchanged    otherwise.
The error of a part is its ULP error, except where the exact reference has zeros: a ULP count from an exact
0 measures how far the observed value is from 0 in subnormal steps (1e-300 is ~4.4e18 ulp in float64), so
such a part is judged by an absolute measure instead: the largest |observed| on an exact-zero element in
units of eps * scale (scale = the largest |reference| of the part, 1 when the part is all zeros),
together with the ULP distance of the other elements to the correctly rounded reference.
Records only in one run are listed as added / removed (neither regressions nor improvements), except those of
an implementation the other run has no record of at all (a row the other release lacks, e.g. a Keras loss
added in a later Keras, or one not selected there): those are one line per implementation
(implementations only in old / only in new), not one per case, so a new row does not read as hundreds of
cases that vanished or appeared.
"""
from __future__ import annotations

import math
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path

from conformance.cases.corpus import record_key

from .compare_measure import behaviour_kind, part_errors, same_output
from .numbers import fmt_metric
from .verdicts import compare_rank, worst

DEFAULT_ULP_THRESHOLD = 2.0
MAX_TEXT_LINES = 500


@dataclass
class Change:
    kind: str                   # regression | improvement | behaviour | unchanged | added | removed
    key: tuple                  # (implementation, op, dtype, device, case_id, part)
    old: dict | None
    new: dict | None
    reasons: list[str] = field(default_factory=list)

    implementation = property(lambda self: self.key[0])
    op = property(lambda self: self.key[1])
    dtype = property(lambda self: self.key[2])
    device = property(lambda self: self.key[3])
    case_id = property(lambda self: self.key[4])
    part = property(lambda self: self.key[5])

    @property
    def old_verdict(self) -> str | None:
        return self.old["verdict"] if self.old else None

    @property
    def new_verdict(self) -> str | None:
        return self.new["verdict"] if self.new else None

    @property
    def new_exception(self) -> str | None:
        e = (self.new or {}).get("exception")
        return f"{e.get('type')}: {e.get('message')}" if e else None

    def line(self) -> str:
        where = " | ".join(str(k) for k in (self.implementation, self.dtype, self.device))
        part = f" [{self.part}]" if self.part else ""
        verdicts = f"{self.old_verdict or '—'} -> {self.new_verdict or '—'}"
        why = f"; {'; '.join(self.reasons)}" if self.reasons else ""
        return f"{where} | {self.case_id}{part}: {verdicts}{why}"


@dataclass
class CellDiff:
    implementation: str
    dtype: str
    device: str
    old_worst: str | None
    new_worst: str | None
    counts: dict[str, int]


@dataclass
class CompareResult:
    old_name: str
    new_name: str
    old_run: dict
    new_run: dict
    ulp_threshold: float
    ignore_device: bool
    regressions: list[Change]
    improvements: list[Change]
    unchanged: list[Change]
    added: list[Change]
    removed: list[Change]
    cells: list[CellDiff]
    html_path: Path | None = None
    behaviour: list[Change] = field(default_factory=list)
    ignore_mode: bool = False
    impls_only_old: dict[str, int] = field(default_factory=dict)   # implementation -> its records in old
    impls_only_new: dict[str, int] = field(default_factory=dict)   # implementation -> its records in new

    @property
    def exit_code(self) -> int:
        """1 when anything regressed, else 0 (the CLI's exit status)."""
        return 1 if self.regressions else 0

    @property
    def framework_changes(self) -> list[tuple[str, str | None, str | None]]:
        old, new = self.old_run.get("frameworks") or {}, self.new_run.get("frameworks") or {}
        return [(fw, old.get(fw), new.get(fw)) for fw in sorted(set(old) | set(new))]

    @property
    def text(self) -> str:
        lines = [f"compare {self.old_name} -> {self.new_name}"]
        changed = [f"{fw} {o or '—'} -> {n or '—'}" for fw, o, n in self.framework_changes if o != n]
        if changed:
            lines.append("  frameworks: " + ", ".join(changed))
        lines.append(f"  regressions: {len(self.regressions)}, improvements: {len(self.improvements)}, "
                     f"behaviour changes: {len(self.behaviour)}, "
                     f"unchanged: {len(self.unchanged)}, only in old: {len(self.removed)}, "
                     f"only in new: {len(self.added)}, implementations only in old: {len(self.impls_only_old)}, "
                     f"only in new: {len(self.impls_only_new)} (ULP threshold {fmt_metric(self.ulp_threshold)}"
                     f"{', devices ignored' if self.ignore_device else ''}"
                     f"{', modes ignored' if self.ignore_mode else ''})")
        budget = MAX_TEXT_LINES
        for title, changes in self.groups(upper=True):
            if not changes:
                continue
            lines.append(f"{title} ({len(changes)})")
            for c in changes[:budget]:
                lines.append("  " + c.line())
            if len(changes) > budget:
                lines.append(f"  … {len(changes) - budget} more")
            budget = max(0, budget - len(changes))
        for title, impls in self.implementation_groups(upper=True):
            if impls:
                lines.append(f"{title} ({len(impls)})")
                lines += [f"  {impl}: {n} records" for impl, n in impls.items()]
        if self.html_path:
            lines.append(f"HTML: {self.html_path}")
        return "\n".join(lines)

    def groups(self, upper: bool = False) -> list[tuple[str, list[Change]]]:
        """(title, changes) in the order a reader wants them."""
        groups = [("Regressions", self.regressions), ("Behaviour changes", self.behaviour),
                  ("Improvements", self.improvements), ("Only in old", self.removed), ("Only in new", self.added)]
        return [(t.upper() if upper else t, c) for t, c in groups]

    def implementation_groups(self, upper: bool = False) -> list[tuple[str, dict[str, int]]]:
        """(title, {implementation: records}) for the implementations one run has no record of."""
        groups = [("Implementations only in old", self.impls_only_old),
                  ("Implementations only in new", self.impls_only_new)]
        return [(t.upper() if upper else t, g) for t, g in groups]

    def __str__(self) -> str:
        return self.text


def classify(old: dict, new: dict, threshold: float) -> tuple[str, list[str]]:
    if same_output(old, new):
        why = [] if old["verdict"] == new["verdict"] else [
            f"identical output, judged {old['verdict']} -> {new['verdict']} (the suite's judgement changed)"]
        return "unchanged", why
    ro, rn = compare_rank(old["verdict"]), compare_rank(new["verdict"])
    reasons = []
    grew = shrank = False
    oe, ne = part_errors(old), part_errors(new)
    for part in [p for p in oe if p in ne]:
        (o, unit), (n, unit_new) = oe[part], ne[part]
        if o == n or unit != unit_new:
            continue
        diff = n - o
        label = f"{'ulp' if unit == 'ulp' else 'abs'}({part}) {fmt_metric(o)} -> {fmt_metric(n)}" + (
            "" if unit == "ulp" else " eps*scale at an exact 0")
        if (math.isinf(n) and not math.isinf(o)) or diff > threshold:
            grew = True
            reasons.append(label)
        elif (math.isinf(o) and not math.isinf(n)) or -diff > threshold:
            shrank = True
            reasons.append(label)
    new_exception = bool(new.get("exception")) and not old.get("exception")
    if new_exception:
        e = new["exception"]
        reasons.append(f"new exception {e.get('type')}: {' '.join(str(e.get('message', '')).split())[:200]}")
    kinds = (behaviour_kind(old), behaviour_kind(new))
    if kinds[0] != kinds[1]:
        reasons.append(f"behaviour {kinds[0]} -> {kinds[1]}")
    if rn < ro:
        return "regression", reasons
    if rn > ro:
        return "improvement", reasons
    if grew or new_exception:
        return "regression", reasons
    if kinds[0] != kinds[1]:
        return "behaviour", reasons
    if shrank:
        return "improvement", reasons
    return "unchanged", reasons


def _mode(r: dict) -> str:
    from conformance.adapters.execution import default_mode

    return r.get("mode") or default_mode(str(r.get("framework", "")))


def _place(r: dict, ignore_device: bool, ignore_mode: bool) -> str:
    """Where the record ran, as compare shows it: the device, then /MODE for a mode other than the framework's
    default ("*" for what is ignored)."""
    from conformance.adapters.execution import default_mode

    device = "*" if ignore_device else r["device"]
    if ignore_mode:
        return device
    mode = _mode(r)
    return device if mode == default_mode(str(r.get("framework", ""))) else f"{device}/{mode}"


def _base_key(r: dict, ignore_device: bool, ignore_mode: bool = False) -> tuple:
    """The case by content: params and exact input bits (records without inputs, e.g. an undeclared dtype,
    by their case id)."""
    content = record_key(r) if r.get("inputs") else r["case_id"]
    return (r["implementation"], r["op"], r["dtype"], _place(r, ignore_device, ignore_mode), content)


def split_by_mode(run: dict) -> tuple[dict, dict]:
    """One run holding several modes as two runs for compare --ignore-mode: its default-mode records, and the
    records of its other modes."""
    from conformance.adapters.execution import default_mode

    default = [r for r in run["records"] if _mode(r) == default_mode(str(r.get("framework", "")))]
    other = [r for r in run["records"] if _mode(r) != default_mode(str(r.get("framework", "")))]
    return {**run, "records": default}, {**run, "records": other}


def compare_results(old: dict, new: dict, ulp_threshold: float = DEFAULT_ULP_THRESHOLD,
                    ignore_device: bool = False, old_name: str = "old", new_name: str = "new",
                    ignore_mode: bool = False) -> CompareResult:
    groups_old: dict[tuple, list[dict]] = defaultdict(list)
    groups_new: dict[tuple, list[dict]] = defaultdict(list)
    for r in old["records"]:
        groups_old[_base_key(r, ignore_device, ignore_mode)].append(r)
    for r in new["records"]:
        groups_new[_base_key(r, ignore_device, ignore_mode)].append(r)
    out: dict[str, list[Change]] = defaultdict(list)
    for base in list(groups_old) + [k for k in groups_new if k not in groups_old]:
        olds, news = groups_old.get(base, []), groups_new.get(base, [])
        if len(olds) <= 1 and len(news) <= 1:
            pairs = [(olds[0] if olds else None, news[0] if news else None)]
        else:
            by_part_old = {r.get("part"): r for r in olds}
            by_part_new = {r.get("part"): r for r in news}
            pairs = [(by_part_old.get(p), by_part_new.get(p))
                     for p in list(by_part_old) + [p for p in by_part_new if p not in by_part_old]]
        for o, n in pairs:
            part = (n or o).get("part")
            device = (n or o)["device"] if not ignore_device else f"{o['device'] if o else '—'}→{n['device'] if n else '—'}"
            if ignore_mode:
                device += f" {_mode(o) if o else '—'}→{_mode(n) if n else '—'}"
            elif _place(n or o, True, False) != "*":
                device += _place(n or o, True, False)[1:]
            key = (base[0], base[1], base[2], device, (n or o)["case_id"], part)
            if o is None:
                out["added"].append(Change("added", key, None, n))
            elif n is None:
                out["removed"].append(Change("removed", key, o, None))
            else:
                kind, reasons = classify(o, n, ulp_threshold)
                out[kind].append(Change(kind, key, o, n, reasons))
    added, only_new = _split_absent(out["added"], {r["implementation"] for r in old["records"]})
    removed, only_old = _split_absent(out["removed"], {r["implementation"] for r in new["records"]})
    return CompareResult(old_name, new_name, old["run"], new["run"], ulp_threshold, ignore_device,
                         out["regression"], out["improvement"], out["unchanged"], added, removed,
                         _cell_diffs(old, new, out, ignore_device, ignore_mode), behaviour=out["behaviour"],
                         ignore_mode=ignore_mode, impls_only_old=only_old, impls_only_new=only_new)


def _split_absent(changes: list[Change], other_side: set[str]) -> tuple[list[Change], dict[str, int]]:
    """Changes of implementations the other run holds records of, and {implementation: records} of those
    it has none of."""
    kept, absent = [], defaultdict(int)
    for c in changes:
        if c.implementation in other_side:
            kept.append(c)
        else:
            absent[c.implementation] += 1
    return kept, dict(sorted(absent.items()))


def _cell_diffs(old: dict, new: dict, out: dict, ignore_device: bool, ignore_mode: bool = False) -> list[CellDiff]:
    def cell(r):
        return (r["implementation"], r["dtype"], _place(r, ignore_device, ignore_mode))

    verdicts_old, verdicts_new = defaultdict(list), defaultdict(list)
    for r in old["records"]:
        verdicts_old[cell(r)].append(r["verdict"])
    for r in new["records"]:
        verdicts_new[cell(r)].append(r["verdict"])
    counts: dict[tuple, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for kind, changes in out.items():
        for c in changes:
            r = c.new or c.old
            counts[cell(r)][kind] += 1
    cells = []
    for k in sorted(set(verdicts_old) | set(verdicts_new)):
        cells.append(CellDiff(k[0], k[1], k[2], worst(verdicts_old[k]) if k in verdicts_old else None,
                              worst(verdicts_new[k]) if k in verdicts_new else None, dict(counts[k])))
    cells.sort(key=lambda c: (-c.counts.get("regression", 0), -c.counts.get("improvement", 0), c.implementation,
                              c.dtype, c.device))
    return cells


def compare_modes(old: dict, new: dict, ulp_threshold: float = DEFAULT_ULP_THRESHOLD, ignore_device: bool = False,
                  old_name: str = "old", new_name: str = "new") -> CompareResult:
    """The eager-vs-compiled parity view (compare --ignore-mode): OLD's records in their framework's default
    mode against NEW's records in every other mode, one mode at a time (OLD and NEW may be the same run).
    A regression is a case the other mode does worse on than the default mode."""
    base, _ = split_by_mode(old)
    _, others = split_by_mode(new)
    results = []
    for mode in sorted({_mode(r) for r in others["records"]}) or [None]:
        side = {**others, "records": [r for r in others["records"] if _mode(r) == mode]}
        # only the cells this mode ran (ci runs the other modes on a sample of the default mode's cells)
        cells = {(r["implementation"], r["dtype"], "*" if ignore_device else r["device"]) for r in side["records"]}
        mine = {**base, "records": [r for r in base["records"] if
                                    (r["implementation"], r["dtype"], "*" if ignore_device else r["device"]) in cells]}
        results.append(compare_results(mine, side, ulp_threshold, ignore_device, old_name, new_name,
                                       ignore_mode=True))
    first = results[0]
    for r in results[1:]:
        for name in ("regressions", "improvements", "unchanged", "added", "removed", "cells", "behaviour"):
            getattr(first, name).extend(getattr(r, name))
        for name in ("impls_only_old", "impls_only_new"):
            for impl, n in getattr(r, name).items():
                getattr(first, name)[impl] = getattr(first, name).get(impl, 0) + n
    return first

