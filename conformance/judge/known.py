"""Known divergences: failures that are understood, each with a reason and an upstream link.

conformance/judge/known_divergences.toml holds [[divergence]] tables:

    id = "torch-bce-log-clamp"           # unique
    implementation = "torch.nn.functional.binary_cross_entropy*"   # fnmatch pattern, or a list of them
    op = "binary_cross_entropy"          # optional
    dtypes = ["float16", "bfloat16"]     # optional; default any
    devices = ["cpu"]                    # optional; default any
    versions = { optax = ">=0.2.5" }     # optional: PEP 440 specifiers, each on the named package's version
    cases = "bce(p=0,*"                  # optional fnmatch pattern(s) on the case id; default any
    verdicts = ["inaccurate"]            # the verdicts expected
    parts = ["grad:p"]                   # optional: which part failed ("value", "grad:NAME"; fnmatch)
    detail = "shape (0,)*"               # optional fnmatch pattern(s) on the record's detail
    relation = "shift_invariance"        # instead: a metamorphic relation known to fail (test_metamorphic.py)
    predicate = "observed_zero_reference_subnormal"   # the mechanism, per failing element (known_predicates.py)
    frameworks = ["torch", "jax"]        # required with a wildcard implementation scope (built-in rows only)
    reason = "..."
    link = "https://..."

A failing record that matches an entry is reported as known and does not fail the run. A record whose failing
elements mix mechanisms, each element explained by one entry (its predicate holds on the element and its
verdicts hold the element's own verdict) but no entry explaining them all, is known too: known_divergence
names the entry explaining the most elements and known_divergences every entry used (_composed). Any failure
not listed fails the run.

`versions` names packages: a record's framework_version holds "name version" pairs ("jax 0.10.2, optax
0.2.8"), and each specifier is checked against its own package (pre-releases included); a record whose
version string does not name the package is out of the entry's scope. Every entry whose behaviour depends on
a release says so with `versions`.

An entry's scope *ran* when every framework it concerns ran (its `frameworks`, or the frameworks its
implementation patterns name by prefix -- torch., tf./keras., jax./optax., scipy./sklearn./numpy., cupy.; a
pattern with a leading wildcard concerns every CPU framework) and a record matched its implementation, op,
dtypes, devices, versions and cases patterns -- whatever its verdict (parts and detail describe a failure,
not a scope). So a jax-only run does not call an entry about torch *and* optax fixed. When every predicate an entry names
says from the case alone where its mechanism can occur (`case_applies`, e.g. an empty batch for
observed_unreduced_on_an_empty_batch: known_predicates_shape.py), only such a case counts (case_can_show).
An entry whose scope ran without a matching failure is "fixed upstream" (an XPASS): a note, or with
`strict=True` (run --strict-known) a failure of the run. An entry about implementations that ran but whose
scope did not run is only warned about as unmatched; entries about implementations that did not run at all
are not mentioned, nor entries whose frameworks did not run (a TensorFlow-only keras.losses.[A-Z]* entry in a
run of the ids ID@jax: framework_of_id).

A key the format does not know (a typo) is a KnownDivergenceError: one line, exit 2 on the command line.
"""
from __future__ import annotations

import fnmatch
import math
import re
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

from packaging.specifiers import InvalidSpecifier, SpecifierSet
from packaging.version import InvalidVersion, Version

from conformance.judge import item_predicates, known_predicates, known_predicates_shape, mask_predicates, mode_predicates
from conformance.judge import known_predicates_keras_softmax
from conformance.judge import known_predicates_modes

known_predicates.PREDICATES.update(item_predicates.PREDICATES)  # one namespace of predicate names
known_predicates.PREDICATES.update(mode_predicates.PREDICATES)
known_predicates.PREDICATES.update(known_predicates_shape.PREDICATES)
known_predicates.PREDICATES.update(mask_predicates.PREDICATES)
from conformance.judge import known_predicates_keras_binary  # noqa: E402
known_predicates.PREDICATES.update(known_predicates_keras_binary.PREDICATES)  # Keras binary rows on jax / torch
known_predicates.PREDICATES.update(known_predicates_keras_softmax.PREDICATES)
known_predicates.PREDICATES.update(known_predicates_modes.PREDICATES)

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
    versions: dict | None = None  # package name -> PEP 440 specifier
    cases: str | list = "*"
    parts: list | None = None  # optional: "value", "grad:NAME", "vjp:NAME", "jvp:NAME", "hvp:NAME" (fnmatch)
    detail: str | list = "*"  # optional fnmatch pattern(s) on the record's detail
    relation: str | None = None  # a metamorphic relation (conformance/test_metamorphic.py) known to fail
    predicate: str | list | None = None  # named element predicates (conformance/judge/known_predicates.py)
    frameworks: list | None = None  # the frameworks whose built-in rows a wildcard scope covers
    matched: int = field(default=0)
    in_scope: int = field(default=0)
    scope_ran: int = field(default=0)  # records in the entry's scope (any verdict; parts/detail not asked)
    other_versions: int = field(default=0)  # records of its implementations from releases `versions` excludes

    def scope_matches(self, record: dict) -> bool:
        """The record lies in the entry's scope: implementation, op, dtypes, devices, versions and cases."""
        return self._scope(record, count_other_versions=True)

    def in_scope_of(self, record: dict) -> bool:
        """In scope, and the record's failing part and detail are the entry's."""
        if self.parts and not any(fnmatch.fnmatchcase(record.get("part") or "value", p)
                                  for p in known_predicates.part_patterns(self.parts, record.get("framework"))):
            return False
        if not _any_match(record.get("detail") or "", self.detail):
            return False
        return self._scope(record)

    def _scope(self, record: dict, count_other_versions: bool = False) -> bool:
        if not _any_match(record["implementation"], self.implementation) and not (
                record.get("policy") and _any_match(policy_base(record), self.implementation)):
            return False
        if not known_predicates.framework_in_scope(self, record):
            return False
        if self.op and record["op"] != self.op:
            return False
        if self.dtypes and record["dtype"] not in self.dtypes:
            return False
        if self.devices and record["device"] not in self.devices:
            return False
        if self.versions and not versions_match(self.versions, record.get("framework_version")):
            self.other_versions += count_other_versions
            return False
        return _any_match(record["case_id"], self.cases)


def _package(name: str) -> str:
    """A package name in PEP 503 normal form (scikit_learn, Scikit-Learn -> scikit-learn)."""
    return re.sub(r"[-_.]+", "-", name).lower()


def parse_versions(text: str | None) -> dict[str, str]:
    """"jax 0.10.2, optax 0.2.8" -> {"jax": "0.10.2", "optax": "0.2.8"} (package names normalised)."""
    out = {}
    for part in (text or "").split(","):
        words = part.split()
        if len(words) >= 2:
            out[_package(words[0])] = words[1]
    return out


def versions_match(specifiers: dict, version_text: str | None) -> bool:
    """Every package's version satisfies its specifier; a package the version text does not name, or an
    unparseable version, is out of scope."""
    found = parse_versions(version_text)
    for package, spec in specifiers.items():
        version = found.get(_package(package))
        if version is None:
            return False
        try:
            if not SpecifierSet(spec).contains(Version(version), prereleases=True):
                return False
        except InvalidVersion:
            return False
    return True


def policy_base(record: dict) -> str:
    """A precision-policy record's row without its policy (ID[policy=NAME] -> ID): the same code run in another
    dtype, so an entry about ID also covers it, its predicates checked on the policy record's own elements."""
    return record["implementation"].removesuffix(f"[policy={record.get('policy')}]")


def _any_match(text: str, patterns) -> bool:
    """fnmatch against one pattern or any of a list of patterns."""
    patterns = [patterns] if isinstance(patterns, str) else patterns
    return any(text == p or fnmatch.fnmatchcase(text, p) for p in patterns)  # ids may hold [brackets]


def load(path: Path = DEFAULT_PATH) -> list[Divergence]:
    try:
        data = tomllib.loads(Path(path).read_text())
    except (OSError, tomllib.TOMLDecodeError) as exc:
        raise KnownDivergenceError(f"{path}: {exc}")
    entries = []
    for i, raw in enumerate(data.get("divergence", [])):
        if not isinstance(raw, dict):
            raise KnownDivergenceError(f"{path}: divergence #{i + 1} is not a table")
        missing = [k for k in REQUIRED if k not in raw]
        if missing:
            raise KnownDivergenceError(f"{path}: divergence #{i + 1} lacks {', '.join(missing)}")
        where = f"{path}: divergence {raw['id']!r}"
        unknown = sorted(set(raw) - KEYS)
        if unknown:
            raise KnownDivergenceError(f"{where}: unknown key {unknown[0]!r} (keys: {', '.join(sorted(KEYS))})")
        _check_versions(raw.get("versions"), where)
        entries.append(Divergence(**raw))
        bad = known_predicates.problems(entries[-1])
        if bad:
            raise KnownDivergenceError(f"{path}: divergence {entries[-1].id!r}: {bad[0]}")
    ids = [e.id for e in entries]
    if len(ids) != len(set(ids)):
        raise KnownDivergenceError(f"{path}: duplicate ids")
    return entries


def _check_versions(versions, where: str) -> None:
    if versions is None:
        return
    if not isinstance(versions, dict) or not versions:
        raise KnownDivergenceError(f"{where}: versions must be a table of package = specifier, "
                                   f'e.g. versions = {{ optax = ">=0.2.5" }}')
    for package, spec in versions.items():
        try:
            SpecifierSet(spec)
        except (InvalidSpecifier, TypeError):
            raise KnownDivergenceError(f"{where}: versions.{package} = {spec!r} is not a PEP 440 specifier")


def classify(record: dict, entries: list[Divergence], failing: frozenset) -> None:
    """Set record["known_divergence"] and record["unexpected"] in place."""
    record["known_divergence"] = None
    for entry in entries:
        if entry.relation is None and entry.scope_matches(record) and (
                record.get("derivative_request") or not modes_only(entry)) and case_can_show(entry, record):
            entry.scope_ran += 1  # an entry about derivative modes only has run when a mode record has
    for entry in entries:
        if entry.relation is None and entry.in_scope_of(record):
            entry.in_scope += 1
            if record["verdict"] in entry.verdicts and (
                    (known_predicates.holds(entry, record) and _other_parts_explained(entry, record, entries))
                    or _explained_part_by_part(entry, record, entries)):
                entry.matched += 1
                record["known_divergence"] = entry.id
                break
    if record["known_divergence"] is None and record["verdict"] in failing:
        composed = _composed(record, entries)
        if composed:
            for entry in composed:
                entry.matched += 1
            record["known_divergence"] = composed[0].id
            record["known_divergences"] = [entry.id for entry in composed]
    record["unexpected"] = record["verdict"] in failing and record["known_divergence"] is None


def case_can_show(entry: Divergence, record: dict) -> bool:
    """Can the record's case meet the entry's mechanism at all? When every predicate the entry names says
    from the case alone (its `case_applies`: inputs and params, not observations) where its mechanism can
    occur, the entry's scope has run only for such a case: an entry about an empty batch has not run (and is
    not "fixed upstream") in a run that drew no empty batch. Entries without such predicates: True."""
    wanted = [known_predicates.PREDICATES[n] for n in known_predicates.names(entry.predicate)]
    if not wanted or any(getattr(p, "case_applies", None) is None for p in wanted):
        return True
    return any(p.case_applies(record) for p in wanted)


def _element_verdict(element) -> str:
    """The verdict one failing element would give on its own (conformance/judge/verdict.py): a kind mismatch
    (NaN / +-inf / finite) is special_value_mismatch, a finite element beyond the bound inaccurate."""
    if math.isfinite(element.observed) and math.isfinite(element.reference):
        return "inaccurate"
    return "special_value_mismatch"


def _element_holds(entry: Divergence, element) -> bool:
    """One failing element satisfies one of the entry's predicates (an entry without predicates: True)."""
    wanted = [known_predicates.PREDICATES[n] for n in known_predicates.names(entry.predicate)]
    return not wanted or any(not getattr(p, "whole_part", False) and p(element) for p in wanted)


def _composed(record: dict, entries: list[Divergence]) -> list[Divergence]:
    """Entries that together explain a record no single entry explains, element by element: every failing
    element of every failing part is explained by some entry in scope for that part whose verdicts hold the
    element's own verdict and whose predicate holds on that element (an entry without a predicate, scoped to
    exact rows, explains any element of its verdicts: it would explain the record were that element its only
    failure). The entries, those explaining the most elements first; [] when any element stays unexplained,
    when the failure is not element-wise (an exception, a crash, a shape) or when one entry explains it all."""
    failing = record.get("failing_elements")
    if failing is None:
        failing = known_predicates.derive_failing(record)
    if not failing or record.get("observed") is None:
        return []
    used: dict[str, list] = {}
    for part, indices in failing.items():
        one_part = {**record, "part": part, "failing_elements": {part: indices}}
        candidates = [e for e in entries if e.relation is None and e.in_scope_of(one_part)]
        for index in indices or [None]:
            if index is None:
                return []
            element = known_predicates.Element(record, part, index)
            if element.ref_tensor is None or element.obs_tensor is None:
                return []
            verdict = _element_verdict(element)
            entry = next((e for e in candidates if verdict in e.verdicts
                          and _element_holds(e, element)), None)
            if entry is None:
                return []
            used.setdefault(entry.id, [entry, 0])[1] += 1
    if len(used) < 2:
        return []
    return [entry for entry, _ in sorted(used.values(), key=lambda item: -item[1])]


def _other_parts_explained(entry: Divergence, record: dict, entries: list[Divergence]) -> bool:
    """An entry limited to some parts explains a record only when every other failing part of the record is
    explained too, by an entry in scope for that part whose predicate holds there: a documented value
    finding never hides, say, a gradient twice the truth in the same record."""
    if not entry.parts:
        return True
    failing = record.get("failing_elements")
    if failing is None:
        failing = known_predicates.derive_failing(record)
    for part, indices in (failing or {}).items():
        if any(fnmatch.fnmatchcase(part, p) for p in known_predicates.part_patterns(entry.parts, record.get("framework"))):
            continue
        one_part = {**record, "part": part, "failing_elements": {part: indices}}
        if not any(other.relation is None and other.in_scope_of(one_part) and known_predicates.holds(other, one_part)
                   for other in entries):
            return False
    return True


def _explained_part_by_part(entry: Divergence, record: dict, entries: list[Divergence]) -> bool:
    """A record with several failing parts, one mechanism per part (parameter combinations meet several edges
    at once: a NaN value where an overflowed term is multiplied by a zero weight, and a gradient that cancels
    elsewhere in the same input): the entry explains the record's own failing part (its predicates hold
    there), and every other failing part is explained by this entry or by another entry in scope for that
    part whose predicates hold there. (An entry without predicates explains every element
    of the parts it covers, but not a part whose shape differs: known_predicates.holds)."""
    failing = record.get("failing_elements")
    if failing is None:
        failing = known_predicates.derive_failing(record)
    own = record.get("part") or "value"
    if not failing or own not in failing or len(failing) < 2:
        return False
    for part, indices in failing.items():
        one_part = {**record, "part": part, "failing_elements": {part: indices}}
        if entry.in_scope_of(one_part) and known_predicates.holds(entry, one_part):
            continue
        if part == own or not any(other is not entry and other.relation is None and other.in_scope_of(one_part)
                                  and known_predicates.holds(other, one_part) for other in entries):
            return False
    return True


FRAMEWORK_PREFIXES = {"torch": ("torch.",), "tensorflow": ("tf.", "keras."), "jax": ("jax.", "optax."),
                      "numpy": ("numpy.", "np.", "scipy.", "sklearn."), "cupy": ("cupy.",)}
KERAS_BACKEND_SUFFIXES = {"@jax": "keras_jax", "@torch": "keras_torch"}  # Keras on other backends: ID@jax, ID@torch
CPU_FRAMEWORKS = ("torch", "tensorflow", "jax", "numpy")


def framework_of_id(implementation_id: str) -> str | None:
    """The built-in framework an implementation id belongs to (ID@jax -> keras_jax, keras.* -> tensorflow,
    torch.* -> torch, ...), None when the id does not say (a custom or plugin row)."""
    base = implementation_id.split("[", 1)[0]
    for end, fw in KERAS_BACKEND_SUFFIXES.items():
        if base.endswith(end) or implementation_id.endswith(end):
            return fw
    return next((fw for fw, prefixes in FRAMEWORK_PREFIXES.items() if base.startswith(prefixes)), None)


def frameworks_of(entry: Divergence) -> set[str]:
    """The frameworks an entry is about: its `frameworks` key when it has one, else by the literal prefix
    of each implementation pattern (a pattern starting with a wildcard: every CPU framework)."""
    declared = getattr(entry, "frameworks", None)
    if declared:
        return set(declared)
    out = set()
    patterns = [entry.implementation] if isinstance(entry.implementation, str) else entry.implementation
    for pattern in patterns:
        literal = re.split(r"[*?\[]", pattern, maxsplit=1)[0]
        named = {fw for fw, prefixes in FRAMEWORK_PREFIXES.items() if any(literal.startswith(p) for p in prefixes)}
        named = {fw for end, fw in KERAS_BACKEND_SUFFIXES.items() if pattern.endswith(end)} or named
        out |= named or set(CPU_FRAMEWORKS)
    return out


def classify_quietly(record: dict, entries: list[Divergence], failing: frozenset) -> None:
    """classify(record) without counting it towards the entries' status (matched, in scope, scope ran): for a
    --baseline row's own records and for probes."""
    saved = [(e.matched, e.in_scope, e.scope_ran) for e in entries]
    classify(record, entries, failing)
    for e, (matched, in_scope, scope_ran) in zip(entries, saved):
        e.matched, e.in_scope, e.scope_ran = matched, in_scope, scope_ran


def reset(entries: list[Divergence]) -> None:
    """Forget the tallies (before classifying a run's records once more)."""
    for entry in entries:
        entry.matched = entry.in_scope = entry.scope_ran = entry.other_versions = 0


def status(entries: list[Divergence], implementations_run=None, strict: bool = False,
           frameworks_run=None) -> dict:
    """matched / fixed_upstream / unmatched entry ids, and "strict_failures": the fixed_upstream ids when
    `strict` (an entry whose scope ran but which no longer occurs fails a strict run), else [].
    fixed_upstream only lists entries whose scope ran (scope_matches) and, given `frameworks_run`, every
    framework of which ran. With `implementations_run` (the ids this run covered), an entry about
    implementations that were not run at all is not reported as unmatched."""
    entries = [e for e in entries if e.relation is None]
    ran = list(implementations_run) if implementations_run is not None else None

    def concerns_run(e):
        return ran is None or any(_any_match(i, e.implementation) and known_predicates.may_concern(e, i)
                                  and framework_of_id(i) in (None, *frameworks_of(e)) for i in ran)

    def whole_scope_ran(e):
        return e.scope_ran and (frameworks_run is None or frameworks_of(e) <= set(frameworks_run))

    fixed = [e.id for e in entries if whole_scope_ran(e) and not e.matched]
    return {
        "matched": [e.id for e in entries if e.matched],
        "fixed_upstream": fixed,
        "unmatched": [e.id for e in entries if not e.scope_ran and not e.matched and not e.other_versions
                      and concerns_run(e)],
        "strict_failures": list(fixed) if strict else [],
    }


KEYS = {f.name for f in fields(Divergence)} - {"matched", "in_scope", "scope_ran", "other_versions"}


def known_relation(entries: list[Divergence], relation: str, implementation: str) -> Divergence | None:
    """The entry that lists `relation` as known to fail for `implementation`, if any."""
    for entry in entries:
        if entry.relation == relation and _any_match(implementation, entry.implementation):
            return entry
    return None




def modes_only(entry: Divergence) -> bool:
    """The entry names only derivative-mode parts (vjp:, jvp:, hvp:): its scope runs only in mode records."""
    return bool(entry.parts) and all(p.split(":", 1)[0] in ("vjp", "jvp", "hvp") for p in entry.parts)
