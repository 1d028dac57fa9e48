"""Coverage of the cross-entropy family: every public name of each installed package's namespaces, decided.

`python -m conformance coverage` writes docs/coverage.md (in the spirit of ONNX's TestCoverage.md).

The family (documented rule): a public name (listed by dir(), no leading underscore) of one of NAMESPACES is
in the family when its lower-cased spelling matches one of FAMILY_PATTERNS (fnmatch), or when
conformance/adapters/coverage_scope.toml lists it under [include]. Each family name then has exactly one status:

* covered      a declared implementation row names it (the row id up to its first "[", "(" or "∘", and every
               "∘"-composed part; a part without a dot is taken in the first part's package, e.g.
               "optax.losses.softmax_cross_entropy∘smooth_labels" names optax.smooth_labels), or it is the
               very same object as a name that is (an alias, e.g. optax.kl_divergence is optax.losses's);
* gap          in the family but not covered yet; coverage_scope.toml's [gaps] says what it needs;
* out of scope coverage_scope.toml's [out_of_scope] says why (not a cross-entropy computation, an in-place
               or undocumented binding of a covered kernel, ...);
* unlisted     none of these: a new API (e.g. after an upgrade). `coverage` exits 1 and lists it, and
               tests/conformance/test_coverage.py fails.

A namespace whose package is not installed gets one "skipped" line in coverage.md.
"""
from __future__ import annotations

import fnmatch
import importlib
import importlib.metadata
import os
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path

SCOPE_FILE = Path(__file__).with_name("coverage_scope.toml")
DEFAULT_OUT = Path("docs") / "coverage.md"

# (distribution, namespace as users and row ids spell it, module to import)
NAMESPACES: tuple[tuple[str, str, str], ...] = (
    ("torch", "torch", "torch"),
    ("torch", "torch.nn.functional", "torch.nn.functional"),
    ("torch", "torch.nn", "torch.nn"),
    ("torch", "torch.special", "torch.special"),
    ("tensorflow", "tf.nn", "tensorflow.nn"),
    ("tensorflow", "tf.math", "tensorflow.math"),
    ("keras", "keras.losses", "keras.losses"),
    ("keras", "keras.ops", "keras.ops"),
    ("jax", "jax.nn", "jax.nn"),
    ("jax", "jax.scipy.special", "jax.scipy.special"),
    ("optax", "optax", "optax"),
    ("optax", "optax.losses", "optax.losses"),
    ("scipy", "scipy.special", "scipy.special"),
    ("scipy", "scipy.stats", "scipy.stats"),
    ("scikit-learn", "sklearn.metrics", "sklearn.metrics"),
)

FAMILY_PATTERNS: tuple[str, ...] = (
    "*entropy*", "*softmax*", "*sigmoid*", "*xlog*", "entr", "*_entr", "*kl_div*", "*kldiv*", "*log_loss*",
    "*focal*", "*nll*", "*bce*", "*logsumexp*", "*expit*", "*soft_margin*", "*softmargin*", "*poly_loss*",
    "*smooth_labels*",
)


@dataclass
class Entry:
    namespace: str
    name: str
    status: str  # "covered" | "gap" | "out_of_scope" | "unlisted"
    detail: str = ""
    rows: list = field(default_factory=list)

    @property
    def qualname(self) -> str:
        return f"{self.namespace}.{self.name}"


@dataclass
class Coverage:
    entries: list[Entry]
    versions: dict[str, str]  # distribution -> version
    skipped: dict[str, str]  # namespace -> why
    stale: list[str]  # scope-file names that no installed namespace has
    namespaces: tuple = NAMESPACES

    def by_status(self, status: str) -> list[Entry]:
        return [e for e in self.entries if e.status == status]


def load_scope(path: Path = SCOPE_FILE) -> dict:
    """{"include": set, "gaps": {name: what it needs}, "out_of_scope": {name: why}} from the scope file."""
    with open(path, "rb") as fh:
        data = tomllib.load(fh)
    scope = {"include": set(data.get("include", {}).get("names", [])),
             "gaps": dict(data.get("gaps", {})), "out_of_scope": dict(data.get("out_of_scope", {}))}
    both = set(scope["gaps"]) & set(scope["out_of_scope"])
    if both:
        raise ValueError(f"{path.name}: listed both as a gap and out of scope: {sorted(both)}")
    return scope


def in_family(name: str, qualname: str, include: set) -> bool:
    low = name.lower()
    return qualname in include or any(fnmatch.fnmatchcase(low, pattern) for pattern in FAMILY_PATTERNS)


def row_names(row_id: str) -> list[str]:
    """The public names a row id calls: 'a.b.f[x]∘g∘c.h' -> ['a.b.f', 'a.g', 'c.h']."""
    parts = [p.strip() for p in row_id.split("∘")]
    names = []
    for i, part in enumerate(parts):
        for stop in "[(":
            part = part.split(stop)[0]
        if i and "." not in part:
            part = parts[0].split(".")[0] + "." + part
        names.append(part)
    return names


def all_rows() -> list:
    """Every built-in implementation row of every installed framework."""
    from conformance.adapters import FRAMEWORKS, availability, implementations_for

    return [impl for fw in FRAMEWORKS if availability(fw)[0] for impl in implementations_for(fw)]


def _import(module: str):
    if module.startswith("keras"):
        os.environ.setdefault("KERAS_BACKEND", "tensorflow")
    return importlib.import_module(module)


def public_names(module) -> list[str]:
    return sorted(n for n in dir(module) if not n.startswith("_"))


def collect(namespaces=None, rows=None, scope=None) -> Coverage:
    """Decide every family name of every namespace. rows: implementations (default: all_rows());
    namespaces: (distribution, namespace, module) triples; module may also be a module object (tests)."""
    namespaces = NAMESPACES if namespaces is None else namespaces
    rows = all_rows() if rows is None else rows
    scope = load_scope() if scope is None else scope
    modules, versions, skipped = {}, {}, {}
    for dist, ns, module in namespaces:
        try:
            modules[ns] = _import(module) if isinstance(module, str) else module
        except Exception as exc:  # not installed, or broken: one line in coverage.md
            skipped[ns] = f"{dist} not importable ({type(exc).__name__}: {' '.join(str(exc).split())[:120]})"
            continue
        if dist not in versions:
            versions[dist] = _version(dist, module)
    covering: dict[str, list] = {}
    for impl in rows:
        for name in row_names(impl.id):
            covering.setdefault(name, []).append(impl)
    objects = {}  # id(object) -> covered qualname, for aliases
    for qualname in covering:
        obj = _resolve(qualname, modules)
        if obj is not None:
            objects.setdefault(id(obj), qualname)
    entries, seen = [], set()
    for dist, ns, _ in namespaces:
        if ns not in modules:
            continue
        for name in public_names(modules[ns]):
            qualname = f"{ns}.{name}"
            if not in_family(name, qualname, scope["include"]):
                continue
            seen.add(qualname)
            entries.append(_decide(ns, name, getattr(modules[ns], name, None), covering, objects, scope))
    listed = set(scope["gaps"]) | set(scope["out_of_scope"]) | scope["include"]
    stale = sorted(q for q in listed if q not in seen and q.rsplit(".", 1)[0] in modules)
    return Coverage(entries, versions, skipped, stale, tuple(namespaces))


def _version(dist: str, module) -> str:
    """The package's __version__ (tensorflow's distribution may be tensorflow-cpu), else its metadata."""
    top = module.split(".")[0] if isinstance(module, str) else module.__name__.split(".")[0]
    version = getattr(sys.modules.get(top), "__version__", None)
    if version:
        return str(version)
    try:
        return importlib.metadata.version(dist)
    except importlib.metadata.PackageNotFoundError:
        return "?"


def _resolve(qualname: str, modules: dict):
    ns = max((n for n in modules if qualname.startswith(n + ".")), key=len, default=None)
    if ns is None:
        return None
    obj = modules[ns]
    for attr in qualname[len(ns) + 1:].split("."):
        obj = getattr(obj, attr, None)
    return obj


def _decide(ns, name, obj, covering, objects, scope) -> Entry:
    qualname = f"{ns}.{name}"
    if qualname in covering:
        return Entry(ns, name, "covered", rows=covering[qualname])
    alias = objects.get(id(obj)) if obj is not None else None
    if alias is not None:
        return Entry(ns, name, "covered", f"same object as {alias}", rows=covering[alias])
    if qualname in scope["gaps"]:
        return Entry(ns, name, "gap", scope["gaps"][qualname])
    if qualname in scope["out_of_scope"]:
        return Entry(ns, name, "out_of_scope", scope["out_of_scope"][qualname])
    return Entry(ns, name, "unlisted", "new in the family: add a row, or list it in coverage_scope.toml")


# ----------------------------------------------------------------------------------------------- markdown

def _row_cell(impl) -> str:
    params = sorted(set(impl.params) | {f"{k}={v}" for k, v in impl.fixed_params.items()})
    return (f"`{impl.id}` (op `{impl.op}`; params {', '.join(params) or '-'}; "
            f"dtypes {', '.join(impl.dtypes)}; grads {', '.join(impl.grads) or 'value only'})")


def _cell(text: str) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def render(cov: Coverage) -> str:
    counts = {s: len(cov.by_status(s)) for s in ("covered", "gap", "out_of_scope", "unlisted")}
    lines = [
        "# Coverage of the cross-entropy family",
        "",
        "Generated by `python -m conformance coverage` from the installed packages (do not edit by hand).",
        "The family rule, statuses and scope file are described in conformance/adapters/coverage.py and",
        "conformance/adapters/coverage_scope.toml.",
        "",
        f"**{len(cov.entries)} family names: {counts['covered']} covered, {counts['gap']} gaps, "
        f"{counts['out_of_scope']} out of scope, {counts['unlisted']} unlisted.**",
        "",
        "Versions: " + ", ".join(f"{d} {v}" for d, v in sorted(cov.versions.items())) + ".",
        "",
    ]
    for ns, why in sorted(cov.skipped.items()):
        lines.append(f"* `{ns}`: skipped, {why}")
    if cov.skipped:
        lines.append("")
    for dist, ns, _ in cov.namespaces:
        entries = [e for e in cov.entries if e.namespace == ns]
        if ns in cov.skipped or not entries:
            continue
        lines += [f"## `{ns}` ({dist} {cov.versions.get(dist, '?')})", "", "| name | status | rows / reason |",
                  "|---|---|---|"]
        for e in entries:
            what = "<br>".join(_row_cell(r) for r in e.rows)
            if e.detail:
                what = _cell(e.detail) + ("<br>" + what if what else "")
            lines.append(f"| `{e.name}` | {e.status.replace('_', ' ')} | {what} |")
        lines.append("")
    if cov.stale:
        lines += ["## Scope entries no installed namespace has", ""] + [f"* `{q}`" for q in cov.stale] + [""]
    return "\n".join(lines)


def main(out: Path = DEFAULT_OUT) -> int:
    cov = collect()
    text = render(cov)
    out.parent.mkdir(parents=True, exist_ok=True)
    tmp = out.with_name(out.name + ".tmp")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(out)
    counts = {s: len(cov.by_status(s)) for s in ("covered", "gap", "out_of_scope", "unlisted")}
    print(f"{out}: {len(cov.entries)} family names, " + ", ".join(f"{n} {s}" for s, n in counts.items()))
    for e in cov.by_status("unlisted"):
        print(f"unlisted: {e.qualname} (add a row or an entry in {SCOPE_FILE.name})")
    return 1 if counts["unlisted"] else 0
