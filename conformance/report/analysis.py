"""From a results dict to what the report shows: cells, their findings, the summary matrix.

cell     = (implementation, dtype, device): one square of the summary matrix.
finding  = records of one cell with the same (verdict, part, detail); shown with one representative record,
           the shrunk minimal input first (minimal=true), else the smallest input.
"""
from __future__ import annotations

import hashlib
import re
from collections import Counter, defaultdict
from dataclasses import dataclass, field
from functools import cached_property

from .verdicts import (CONFORMING, DEVICE_ORDER, DTYPE_ORDER, FAILING, NOT_APPLICABLE, OP_ORDER, SEVERITY,
                       order_key, severity, worst)

MAX_FINDINGS_PER_CELL = 40
MAX_CASE_IDS_SHOWN = 12


def anchor(*parts: str) -> str:
    """A stable, HTML-id-safe anchor for a cell: readable slug plus a short hash (slugs can collide)."""
    text = "|".join(parts)
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "-", text).strip("-")[:80]
    return f"cell-{slug}-{hashlib.sha1(text.encode()).hexdigest()[:6]}"


def input_size(record: dict) -> int:
    return sum(len(t.get("data", ())) for t in (record.get("inputs") or {}).values())


def representative_order(record: dict) -> tuple:
    """minimal=true first, then the smallest input, then case id."""
    return (not record.get("minimal", False), input_size(record), record.get("case_id", ""))


@dataclass
class Finding:
    verdict: str
    part: str | None
    detail: str
    records: list[dict]
    convention: str | None = None
    known_divergence: str | None = None

    @property
    def representative(self) -> dict:
        return self.records[0]

    @property
    def count(self) -> int:
        return len(self.records)

    @property
    def unexpected(self) -> int:
        return sum(1 for r in self.records if r.get("unexpected"))

    @property
    def case_ids(self) -> list[str]:
        return [r["case_id"] for r in self.records[:MAX_CASE_IDS_SHOWN]]

    @property
    def failing(self) -> bool:
        return self.verdict in FAILING


@dataclass
class Cell:
    implementation: str
    framework: str
    op: str
    dtype: str
    device: str
    records: list[dict] = field(default_factory=list)

    @property
    def key(self) -> str:
        return f"{self.implementation}|{self.dtype}|{self.device}"

    @property
    def anchor(self) -> str:
        return anchor(self.implementation, self.dtype, self.device)

    @cached_property
    def counts(self) -> list[tuple[str, int]]:
        c = Counter(r["verdict"] for r in self.records)
        order = list(SEVERITY) + ["unsupported"]
        return sorted(c.items(), key=lambda kv: order.index(kv[0]) if kv[0] in order else len(order))

    @cached_property
    def worst(self) -> str:
        return worst(r["verdict"] for r in self.records)

    @property
    def unexpected(self) -> int:
        return sum(1 for r in self.records if r.get("unexpected"))

    @property
    def known(self) -> int:
        """Failing records covered by a known divergence."""
        return sum(1 for r in self.records
                   if r["verdict"] in FAILING and r.get("known_divergence") and not r.get("unexpected"))

    @property
    def conforming(self) -> int:
        return sum(1 for r in self.records if r["verdict"] in CONFORMING)

    @property
    def applicable(self) -> int:
        return sum(1 for r in self.records if r["verdict"] not in NOT_APPLICABLE)

    @property
    def status(self) -> str:
        """'unexpected' (a failure not covered), 'known' (only known divergences fail), or 'ok'."""
        if self.unexpected:
            return "unexpected"
        if self.known:
            return "known"
        return "ok"

    @cached_property
    def findings(self) -> list[Finding]:
        """Every distinct (verdict, part, detail) except plain accurate records, worst first."""
        groups: dict[tuple, list[dict]] = defaultdict(list)
        for r in self.records:
            if r["verdict"] == "accurate":
                continue
            groups[(r["verdict"], r.get("part"), r.get("detail") or "")].append(r)
        out = []
        for (verdict, part, detail), recs in groups.items():
            recs.sort(key=representative_order)
            conv = next((r.get("convention") for r in recs if r.get("convention")), None)
            known = next((r.get("known_divergence") for r in recs if r.get("known_divergence")), None)
            out.append(Finding(verdict, part, detail, recs, conv, known))
        out.sort(key=lambda f: (severity(f.verdict) if f.verdict != "unsupported" else len(SEVERITY) + 2,
                                -f.unexpected, -f.count, f.part or "", f.detail))
        return out

    @property
    def shown_findings(self) -> list[Finding]:
        return self.findings[:MAX_FINDINGS_PER_CELL]

    @property
    def hidden_findings(self) -> int:
        return max(0, len(self.findings) - MAX_FINDINGS_PER_CELL)

    @property
    def accurate_count(self) -> int:
        return sum(1 for r in self.records if r["verdict"] == "accurate")


@dataclass
class ImplRow:
    implementation: str
    framework: str
    op: str
    version: str | None
    cells: dict[tuple[str, str], Cell] = field(default_factory=dict)  # (device, dtype) -> cell

    @property
    def records(self) -> list[dict]:
        return [r for c in self.cells.values() for r in c.records]

    @property
    def conforming(self) -> int:
        return sum(c.conforming for c in self.cells.values())

    @property
    def applicable(self) -> int:
        return sum(c.applicable for c in self.cells.values())

    @property
    def conformance(self) -> float | None:
        """(accurate + stable + convention) / applicable, in percent; None when nothing was applicable."""
        return 100.0 * self.conforming / self.applicable if self.applicable else None

    @property
    def unexpected(self) -> int:
        return sum(c.unexpected for c in self.cells.values())

    @property
    def known(self) -> int:
        return sum(c.known for c in self.cells.values())


@dataclass
class Matrix:
    columns: list[tuple[str, str]]  # (device, dtype)
    devices: list[str]
    ops: list[tuple[str, list[ImplRow]]]

    @property
    def cells(self) -> list[Cell]:
        return [c for _, rows in self.ops for row in rows for col in self.columns
                for c in [row.cells.get(col)] if c is not None]


def build_matrix(results: dict) -> Matrix:
    """Group records into cells and rows; order ops as docs/ops.md, dtypes float64..bfloat16."""
    versions = {i["id"]: i.get("version") for i in results.get("implementations", [])}
    frameworks = {i["id"]: i.get("framework") for i in results.get("implementations", [])}
    impl_ops = {i["id"]: i.get("op") for i in results.get("implementations", [])}
    rows: dict[str, ImplRow] = {}
    columns: set[tuple[str, str]] = set()
    for r in results.get("records", []):
        impl = r["implementation"]
        row = rows.get(impl)
        if row is None:
            row = rows[impl] = ImplRow(impl, r.get("framework") or frameworks.get(impl, ""),
                                       r.get("op") or impl_ops.get(impl, ""),
                                       r.get("framework_version") or versions.get(impl))
        col = (r["device"], r["dtype"])
        columns.add(col)
        cell = row.cells.get(col)
        if cell is None:
            cell = row.cells[col] = Cell(impl, row.framework, row.op, r["dtype"], r["device"])
        cell.records.append(r)
    # declared implementations without any record still get a row (all cells empty)
    for impl in results.get("implementations", []):
        if impl["id"] not in rows:
            rows[impl["id"]] = ImplRow(impl["id"], impl.get("framework", ""), impl.get("op", ""),
                                       impl.get("version"))
    devices = sorted({d for d, _ in columns}, key=lambda d: order_key(DEVICE_ORDER, d))
    ordered_cols = sorted(columns, key=lambda c: (order_key(DEVICE_ORDER, c[0]), order_key(DTYPE_ORDER, c[1])))
    by_op: dict[str, list[ImplRow]] = defaultdict(list)
    for row in rows.values():
        by_op[row.op].append(row)
    ops = [(op, sorted(by_op[op], key=lambda r: (r.framework, r.implementation)))
           for op in sorted(by_op, key=lambda o: order_key(OP_ORDER, o))]
    return Matrix(ordered_cols, devices, ops)


def verdict_totals(records: list[dict]) -> list[tuple[str, int]]:
    c = Counter(r["verdict"] for r in records)
    order = list(SEVERITY) + ["unsupported"]
    return [(v, c[v]) for v in order if c.get(v)] + sorted((v, n) for v, n in c.items() if v not in order)
