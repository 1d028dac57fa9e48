"""The report's first screen, derived from the matrix (conformance/report/analysis.py): a summary per framework
and per op, the worst findings in plain words, the known-divergence table, and the per-cell data the page's
script filters (embedded as JSON through Jinja2's tojson, never pasted as code).

Numbers here are the same counts as everywhere in the report:
    records     every record of the row (unsupported included)
    unexpected  failing records no known divergence covers (they fail the run)
    known       failing records a known divergence covers, counted by verdict ("known by kind")
    conventions records with verdict `convention` (documented behaviour, not a defect)
    conformance (accurate + stable + convention) / applicable, applicable = not unsupported, not uncertified
"""
from __future__ import annotations

from collections import Counter, defaultdict
from dataclasses import dataclass, field

from .analysis import Cell, Matrix
from .verdicts import (CONFORMING, DTYPE_ORDER, FAILING, NOT_APPLICABLE, SEVERITY, STYLE, order_key, severity,
                       worst)

MAX_WORST_FINDINGS = 15


def is_known(record: dict) -> bool:
    return record["verdict"] in FAILING and bool(record.get("known_divergence")) and not record.get("unexpected")


def needs_attention(record: dict) -> bool:
    """False for what the 'hide known divergences and conventions' toggle greys out."""
    return not is_known(record) and record["verdict"] != "convention"


@dataclass
class SummaryRow:
    """One framework's or one op's totals."""
    name: str
    label: str
    implementations: set = field(default_factory=set)
    records: int = 0
    unexpected: int = 0
    known_by_kind: Counter = field(default_factory=Counter)
    conventions: int = 0
    conforming: int = 0
    applicable: int = 0
    by_verdict: Counter = field(default_factory=Counter)

    def add(self, cell: Cell) -> None:
        self.implementations.add(cell.implementation)
        for r in cell.records:
            self.records += 1
            self.by_verdict[r["verdict"]] += 1
            self.unexpected += bool(r.get("unexpected"))
            if is_known(r):
                self.known_by_kind[r["verdict"]] += 1
            self.conventions += r["verdict"] == "convention"
            self.conforming += r["verdict"] in CONFORMING
            self.applicable += r["verdict"] not in NOT_APPLICABLE

    @property
    def known(self) -> int:
        return sum(self.known_by_kind.values())

    @property
    def conformance(self) -> float | None:
        return 100.0 * self.conforming / self.applicable if self.applicable else None

    @property
    def known_kinds(self) -> list[tuple[str, int]]:
        return sorted(self.known_by_kind.items(), key=lambda kv: severity(kv[0]))

    @property
    def worst(self) -> str:
        return worst(self.by_verdict) if self.by_verdict else "unsupported"


def summary_rows(matrix: Matrix, by: str, versions: dict | None = None) -> list[SummaryRow]:
    """by = 'framework' or 'op'; rows with unexpected failures first, then by conformance (lowest first)."""
    rows: dict[str, SummaryRow] = {}
    for cell in matrix.cells:
        key = getattr(cell, by) or "—"
        label = key
        if by == "framework" and versions and versions.get(key):
            v = str(versions[key])
            label = v if v.startswith(key) else f"{key} {v}"
        rows.setdefault(key, SummaryRow(key, label)).add(cell)
    return sorted(rows.values(), key=lambda r: (-r.unexpected, r.conformance if r.conformance is not None else 101,
                                                r.name))


@dataclass
class WorstFinding:
    text: str            # plain words
    verdict: str
    implementation: str
    framework: str
    op: str
    dtype: str
    device: str
    count: int
    unexpected: bool
    known_id: str | None
    href: str
    reason: str = ""
    link: str = ""
    cells: dict = field(default_factory=dict)
    implementations: list = field(default_factory=list)


def worst_findings(matrix: Matrix, entries: dict, href) -> list[WorstFinding]:
    """Unexpected failures first, one line per finding (worst verdict, most records first); then each known
    divergence once, with how many records it explains where, its reason and link; in plain words."""
    unexpected, known = [], {}
    for cell in matrix.cells:
        for f in cell.findings:
            if not f.failing:
                continue
            what = STYLE.get(f.verdict, (None, None, f.verdict))[2]
            part = f" in the {_part_words(f.part)}" if f.part else ""
            if f.unexpected:
                unexpected.append(WorstFinding(
                    f"{cell.implementation} ({cell.dtype}, {cell.device}): {what}{part}, "
                    f"{f.unexpected} case{'s' if f.unexpected != 1 else ''}",
                    f.verdict, cell.implementation, cell.framework, cell.op, cell.dtype, cell.device,
                    f.unexpected, True, None, href(cell)))
            for r in f.records:
                kid = r.get("known_divergence")
                if not is_known(r):
                    continue
                k = known.get(kid)
                if k is None:
                    entry = entries.get(kid, {})
                    k = known[kid] = WorstFinding("", r["verdict"], cell.implementation, cell.framework, cell.op,
                                                  cell.dtype, cell.device, 0, False, kid, href(cell),
                                                  str(entry.get("reason") or ""), str(entry.get("link") or ""))
                    k.cells = {}
                k.count += 1
                k.cells[(cell.implementation, cell.dtype)] = True
                if severity(r["verdict"]) < severity(k.verdict):
                    k.verdict = r["verdict"]
    for k in known.values():
        impls = sorted({i for i, _ in k.cells})
        dtypes = sorted({d for _, d in k.cells}, key=lambda d: order_key(DTYPE_ORDER, d))
        where = impls[0] if len(impls) == 1 else f"{len(impls)} implementations"
        k.text = (f"{k.known_id}: {k.count} record{'s' if k.count != 1 else ''} of {where} "
                  f"({', '.join(dtypes)})")
        k.implementations = impls
        k.framework = " ".join(sorted({c.framework for c in matrix.cells if c.implementation in impls}))
        k.op = " ".join(sorted({c.op for c in matrix.cells if c.implementation in impls}))
    unexpected.sort(key=lambda w: (severity(w.verdict), -w.count, w.implementation, w.dtype))
    return unexpected + sorted(known.values(), key=lambda w: (-w.count, severity(w.verdict), w.known_id))


def _part_words(part: str) -> str:
    return "value" if part == "value" else f"gradient d/d{part.split(':', 1)[1]}" if part.startswith("grad:") else part


def known_entries(results: dict) -> tuple[dict[str, dict], str]:
    """{id: entry} with reason, link and scope: from results.json when the run recorded them, else from the
    bundled conformance/judge/known_divergences.toml (read as data). Second item: where they came from."""
    recorded = (results.get("known_divergences") or {}).get("entries")
    if recorded:
        return {e["id"]: e for e in recorded if isinstance(e, dict) and e.get("id")}, "results.json"
    try:
        from conformance.judge import known

        entries = known.load(known.DEFAULT_PATH)
    except Exception:  # the report still renders without reasons
        return {}, ""
    return {e.id: entry_json(e) for e in entries}, "conformance/judge/known_divergences.toml (bundled)"


def entry_json(e) -> dict:
    """A conformance.judge.known.Divergence as data (what results.json carries under known_divergences.entries)."""
    return {k: getattr(e, k) for k in ("id", "implementation", "op", "dtypes", "devices", "versions", "cases",
                                       "verdicts", "parts", "detail", "relation", "reason", "link")
            if getattr(e, k, None) not in (None, "*")}


@dataclass
class KnownRow:
    id: str
    scope: list[tuple[str, str]]
    reason: str
    link: str
    versions: str
    explained: int
    status: str
    implementations: list[str]


def known_rows(results: dict, entries: dict[str, dict]) -> list[KnownRow]:
    """Every entry the run's status names or that explained a record; status matched / fixed upstream /
    matched nothing / not in scope of this run."""
    counts: Counter = Counter()
    impls: dict[str, set] = defaultdict(set)
    for r in results.get("records", []):
        kid = r.get("known_divergence")
        if kid:
            counts[kid] += 1
            impls[kid].add(r["implementation"])
    status = {}
    kd = results.get("known_divergences") or {}
    for key, words in (("matched", "matched"), ("fixed_upstream", "fixed upstream?"), ("unmatched", "matched nothing")):
        for kid in kd.get(key, []) or []:
            status[str(kid)] = words
    ids = list(dict.fromkeys([*counts, *status]))
    rows = []
    for kid in ids:
        e = entries.get(kid, {})
        scope = []
        for key in ("implementation", "op", "dtypes", "devices", "cases", "parts", "verdicts", "detail", "relation"):
            v = e.get(key)
            if v not in (None, "", "*", []):
                scope.append((key, ", ".join(map(str, v)) if isinstance(v, list) else str(v)))
        rows.append(KnownRow(kid, scope, str(e.get("reason") or "(no reason recorded)"), str(e.get("link") or ""),
                             str(e.get("versions") or "any"), counts.get(kid, 0),
                             status.get(kid, "matched" if counts.get(kid) else "not in this run"),
                             sorted(impls.get(kid, ()))))
    rows.sort(key=lambda r: (-r.explained, r.id))
    return rows


def cell_json(cell: Cell, href: str) -> dict:
    """What the page's script needs to filter, recolour and total one cell (short keys: it is embedded once
    per cell)."""
    attention = [r["verdict"] for r in cell.records if needs_attention(r)]
    known_kinds = Counter(r["verdict"] for r in cell.records if is_known(r))
    return {
        "a": cell.anchor, "h": href, "i": cell.implementation, "f": cell.framework, "o": cell.op,
        "t": cell.dtype, "d": cell.device,
        "m": sorted({str(r["mode"]) for r in cell.records if r.get("mode")}),
        "b": next((str(r["backend"]) for r in cell.records if r.get("backend")), ""),  # Keras backend
        "p": next((str(r["policy"]) for r in cell.records if r.get("policy")), "none"),  # precision policy
        "dm": derivative_modes(cell.records),
        "n": len(cell.records), "u": cell.unexpected, "k": cell.known, "kk": dict(known_kinds),
        "cv": sum(1 for r in cell.records if r["verdict"] == "convention"),
        "ok": cell.conforming, "ap": cell.applicable,
        "v": dict(Counter(r["verdict"] for r in cell.records)),
        "w": cell.worst, "wa": worst(attention) if attention else "accurate",
        "ids": sorted({r["case_id"] for r in cell.records}),
    }


def verdict_classes() -> list[tuple[str, str, str]]:
    """(css class, background, text colour) per verdict, for the stylesheet: one place to add a verdict."""
    order = list(SEVERITY) + [v for v in STYLE if v not in SEVERITY]
    return [(f"v-{v}", STYLE[v][0], STYLE[v][1]) for v in order if v in STYLE]


def derivative_modes(records) -> list[str]:
    """The derivative modes (vjp, jvp, hvp) the records' parts were judged in (mode cases)."""
    return sorted({part.split(":", 1)[0] for r in records for part in ((r.get("ulp") or {}).get("derivs") or {})})
