"""Known divergences: failures that are understood, each with a reason and an upstream link.

conformance/known_divergences.toml holds [[divergence]] tables:

    id = "torch-bce-log-clamp"           # unique
    implementation = "torch.nn.functional.binary_cross_entropy*"   # fnmatch pattern, or a list of them
    op = "binary_cross_entropy"          # optional
    dtypes = ["float16", "bfloat16"]     # optional; default any
    devices = ["cpu"]                    # optional; default any
    versions = ">=2.0"                   # optional PEP 440 specifier on the framework version
    cases = "bce(p=0,*"                  # optional fnmatch pattern(s) on the case id; default any
    verdicts = ["inaccurate"]            # the verdicts expected
    parts = ["grad:p"]                   # optional: which part failed ("value", "grad:NAME"; fnmatch)
    detail = "shape (0,)*"               # optional fnmatch pattern(s) on the record's detail
    relation = "shift_invariance"        # instead: a metamorphic relation known to fail (test_metamorphic.py)
    reason = "..."
    link = "https://..."

A failing record that matches an entry is reported as known and does not fail the run; an entry whose
scope was run but matched no failing record is reported as fixed upstream; an entry whose scope was not
run at all is warned about as unmatched. Any failure not listed fails the run.
"""
from __future__ import annotations

import fnmatch
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

DEFAULT_PATH = Path(__file__).parent / "known_divergences.toml"
REQUIRED = ("id", "implementation", "verdicts", "reason", "link")


class KnownDivergenceError(Exception):
    pass


@dataclass
class Divergence:
    id: str
    implementation: str | list
    verdicts: list
    reason: str
    link: str
    op: str | None = None
    dtypes: list | None = None
    devices: list | None = None
    versions: str | None = None
    cases: str | list = "*"
    parts: list | None = None  # optional: "value", "grad:NAME" (fnmatch patterns)
    detail: str | list = "*"  # optional fnmatch pattern(s) on the record's detail
    relation: str | None = None  # a metamorphic relation (conformance/test_metamorphic.py) known to fail
    matched: int = field(default=0)
    in_scope: int = field(default=0)

    def in_scope_of(self, record: dict) -> bool:
        if not _any_match(record["implementation"], self.implementation):
            return False
        if self.op and record["op"] != self.op:
            return False
        if self.dtypes and record["dtype"] not in self.dtypes:
            return False
        if self.devices and record["device"] not in self.devices:
            return False
        if self.versions:
            version = (record.get("framework_version") or "").split()[-1:] or [""]
            try:
                if Version(version[0].split("+")[0]) not in SpecifierSet(self.versions):
                    return False
            except (InvalidVersion, InvalidSpecifier):
                return False
        if self.parts and not any(fnmatch.fnmatchcase(record.get("part") or "value", p) for p in self.parts):
            return False
        if not _any_match(record.get("detail") or "", self.detail):
            return False
        return _any_match(record["case_id"], self.cases)


def _any_match(text: str, patterns) -> bool:
    """fnmatch against one pattern or any of a list of patterns."""
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(fnmatch.fnmatchcase(text, p) for p in patterns)


def load(path: Path = DEFAULT_PATH) -> list[Divergence]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KnownDivergenceError(f"{path}: {exc}")
    entries = []
    for i, raw in enumerate(data.get("divergence", [])):
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise KnownDivergenceError(f"{path}: divergence #{i + 1} lacks {', '.join(missing)}")
        entries.append(Divergence(**raw))
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise KnownDivergenceError(f"{path}: duplicate ids")
    return entries


def classify(record: dict, entries: list[Divergence], failing: frozenset) -> None:
    """Set record["known_divergence"] and record["unexpected"] in place."""
    record["known_divergence"] = None
    for entry in entries:
        if entry.relation is None and entry.in_scope_of(record):
            entry.in_scope += 1
            if record["verdict"] in entry.verdicts:
                entry.matched += 1
                record["known_divergence"] = entry.id
                break
    record["unexpected"] = record["verdict"] in failing and record["known_divergence"] is None


def status(entries: list[Divergence], implementations_run=None) -> dict:
    """matched / fixed_upstream / unmatched entry ids. With `implementations_run` (the ids this run
    covered), an entry about implementations that were not run at all is not reported as unmatched."""
    entries = [e for e in entries if e.relation is None]
    ran = list(implementations_run) if implementations_run is not None else None

    def concerns_run(e):
        return ran is None or any(_any_match(i, e.implementation) for i in ran)

    return {
        "matched": [e.id for e in entries if e.matched],
        "fixed_upstream": [e.id for e in entries if e.in_scope and not e.matched],
        "unmatched": [e.id for e in entries if not e.in_scope and concerns_run(e)],
    }


def known_relation(entries: list[Divergence], relation: str, implementation: str) -> Divergence | None:
    """The entry that lists `relation` as known to fail for `implementation`, if any."""
    for entry in entries:
        if entry.relation == relation and _any_match(implementation, entry.implementation):
            return entry
    return None
