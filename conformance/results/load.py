"""Read a run's results: results.json (the whole run) or results.jsonl (streamed), validated against
conformance/results/schema/results.schema.json.

results.jsonl: the first line is the header {"kind": "header", ...run fields...}; every later line is one
object: a record ({"kind": "record", ...} or no kind; read without its kind, exactly as results.json holds
it, so the two files of one run merge), a finished cell's marker {"kind": "cell_end", "cell": ..., "records":
n} (for run --resume; skipped here), or optionally {"kind": "implementation", ...},
{"kind": "known_divergences", ...}, {"kind": "summary", ...}, or {"kind": "footer", "finished": ...,
"duration_s": ...} (merged into the run). The header may also carry "implementations". A last line that is
incomplete (a killed run) is dropped and noted in `load_warnings`; a malformed line anywhere else is an
error. Missing sections are derived from the records: implementations (id, framework, op, version) and the
summary (total, by_verdict, unexpected).

Large arrays are written packed (conformance/results/packed.py); load_results returns them as plain
lists, checked against their SHA-256, so no later reader sees the packed form.

Every problem raises ResultsError (the report calls it ReportInputError) with one line naming the file and what is wrong.
"""
from __future__ import annotations

import gzip
import json
from functools import lru_cache
from pathlib import Path
from typing import Any

from conformance.results import SCHEMA_PATH, SCHEMA_VERSION as SUPPORTED_SCHEMA_VERSION
from conformance.results.errors import ResultsError
from conformance.results.packed import unpack_record
from conformance.results.stream import parse_lines, summarize
RUN_FIELDS_FROM_FOOTER = ("finished", "duration_s")


@lru_cache(maxsize=1)
def _validator():
    import jsonschema

    try:
        schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    except OSError as e:  # pragma: no cover - a broken install
        raise ResultsError(f"cannot read the results schema {SCHEMA_PATH}: {e.strerror}") from None
    return jsonschema.Draft202012Validator(schema)


def _short(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


@lru_cache(maxsize=1)
def _fast_checks():
    """(check of the document without its records, check of one record), compiled from the schema file;
    None when the schema uses keywords fastcheck does not cover."""
    from conformance.results.fastcheck import Unsupported, compile_schema

    schema = _validator().schema
    try:
        return compile_schema(schema), compile_schema(schema, "#/properties/records/items")
    except Unsupported:
        return None


def _schema_error(data: dict, name: str, index_map: tuple[int, int] | None = None) -> None:
    import jsonschema

    error = jsonschema.exceptions.best_match(_validator().iter_errors(data))
    if error is None:
        return
    where = error.json_path if error.json_path != "$" else "top level"
    if index_map is not None:
        where = where.replace(f"$.records[{index_map[0]}]", f"$.records[{index_map[1]}]", 1)
    raise ResultsError(f"{name}: does not match the results schema at {where}: {_short(error.message)}")


def validate(data: Any, name: str = "results") -> dict:
    """Check schema_version first (a clear message for another version), then the whole schema: a fast
    compiled check of every record (fastcheck.py), and jsonschema for the message about the first part that
    fails it (or for everything when the fast check is unavailable)."""
    if not isinstance(data, dict):
        raise ResultsError(f"{name}: expected a JSON object with the run's results, got {type(data).__name__}")
    version = data.get("schema_version", None)
    if version != SUPPORTED_SCHEMA_VERSION:
        shown = "missing" if "schema_version" not in data else json.dumps(version)
        raise ResultsError(
            f"{name}: incompatible results schema_version {shown} (this version reads {SUPPORTED_SCHEMA_VERSION})")
    fast = _fast_checks()
    records = data.get("records")
    if fast is None or not isinstance(records, list):
        _schema_error(data, name)
        return data
    check_doc, check_record = fast
    head = {**data, "records": []}
    if not check_doc(head):
        _schema_error(head, name)
    bad = next((i for i, r in enumerate(records) if not check_record(r)), None)
    if bad is not None:
        _schema_error({**data, "records": [records[bad]]}, name, (0, bad))
    return data


def _parse_json(text: str, name: str) -> Any:
    if not text.strip():
        raise ResultsError(f"{name}: empty file")
    try:
        return json.loads(text)
    except json.JSONDecodeError as e:
        stripped = text.rstrip()
        if not stripped.endswith(("}", "]")) or e.pos >= len(stripped) - 1:
            raise ResultsError(f"{name}: truncated JSON: the file ends before the JSON does "
                                   f"({e.msg}, line {e.lineno}, column {e.colno})") from None
        raise ResultsError(f"{name}: not valid JSON: {e.msg} (line {e.lineno}, column {e.colno})") from None


def _derive_implementations(records: list[dict]) -> list[dict]:
    seen: dict[str, dict] = {}
    for r in records:
        impl = seen.setdefault(r["implementation"], {
            "id": r["implementation"], "framework": r["framework"], "op": r["op"],
            "version": r.get("framework_version"), "dtypes": [], "devices": []})
        if r["dtype"] not in impl["dtypes"]:
            impl["dtypes"].append(r["dtype"])
        if r["device"] not in impl["devices"]:
            impl["devices"].append(r["device"])
    return list(seen.values())


def _assemble_jsonl(text: str, name: str) -> dict:
    objects, warnings = parse_lines(text, name)
    lineno, header = objects[0]
    if not isinstance(header, dict) or header.get("kind") != "header":
        raise ResultsError(f"{name}: the first line of a results.jsonl must be the header object "
                               '{"kind": "header", ...}')
    header = dict(header)
    data: dict[str, Any] = {"schema_version": header.get("schema_version", SUPPORTED_SCHEMA_VERSION)}
    implementations = header.pop("implementations", None)
    known = header.pop("known_divergences", None)
    summary = None
    records: list[dict] = []
    for lineno, obj in objects[1:]:
        kind = obj.get("kind", "record")
        if kind == "record":
            records.append({k: v for k, v in obj.items() if k != "kind"})  # as results.json holds it
        elif kind == "cell_end":
            pass  # a finished cell's marker (for run --resume)
        elif kind == "implementation":
            implementations = (implementations or []) + [{k: v for k, v in obj.items() if k != "kind"}]
        elif kind == "known_divergences":
            known = {k: v for k, v in obj.items() if k != "kind"}
        elif kind == "summary":
            summary = {k: v for k, v in obj.items() if k != "kind"}
        elif kind == "footer":
            header.update({k: obj[k] for k in RUN_FIELDS_FROM_FOOTER if k in obj})
        else:
            warnings.append(f"line {lineno}: unknown kind {kind!r} ignored")
    if implementations is None:
        implementations = _derive_implementations(records)
        warnings.append("no implementations section: derived from the records")
    data["run"] = header
    data["implementations"] = implementations
    data["records"] = records
    if known is not None:
        data["known_divergences"] = known
    data["summary"] = summary if summary is not None else summarize(records)
    if warnings:
        data["load_warnings"] = warnings
    return data


def resolve_path(path: str | Path) -> Path:
    """A results file, or a directory holding results.json (preferred) or results.jsonl."""
    p = Path(path)
    if p.is_dir():
        for candidate in ("results.json", "results.json.gz", "results.jsonl"):
            if (p / candidate).is_file():
                return p / candidate
        raise ResultsError(f"{p}: directory holds no results.json, results.json.gz or results.jsonl")
    if not p.exists():
        raise ResultsError(f"{p}: no such file")
    return p


def load_results(source: str | Path | dict) -> dict:
    """Load and validate a run: a path (results.json, results.jsonl, or a directory holding one) or an
    already-parsed dict. Returns the results dict (a new dict when read from a file; `source_path` is set
    to the file read). Raises ResultsError on any problem."""
    if isinstance(source, dict):
        return validate(source, "results")
    path = resolve_path(source)
    name = str(path)
    compressed = path.suffix == ".gz"  # a committed, compressed results.json (reports/upgrade, reports/timeline)
    try:
        text = gzip.decompress(path.read_bytes()).decode("utf-8") if compressed else path.read_text(encoding="utf-8")
    except (EOFError, gzip.BadGzipFile):
        raise ResultsError(f"{name}: not a gzip file, or truncated") from None
    except UnicodeDecodeError:
        raise ResultsError(f"{name}: not a text file (expected UTF-8 JSON)") from None
    except OSError as e:
        raise ResultsError(f"{name}: cannot read: {e.strerror or e}") from None
    if compressed:
        path = path.with_suffix("")
    try:
        if path.suffix == ".jsonl" or (path.suffix != ".json" and _looks_like_jsonl(text)):
            data = _assemble_jsonl(text, name)
        else:
            data = _parse_json(text, name)
    except RecursionError:
        raise ResultsError(f"{name}: JSON nested too deeply") from None
    _check_depth(data, name)
    validate(data, name)
    if isinstance(data.get("records"), list):  # large arrays written packed (packed.py): plain lists again
        data["records"] = [unpack_record(r, f"{name}: record {i}") for i, r in enumerate(data["records"])]
    data["source_path"] = name
    return data


MAX_DEPTH = 64  # results files nest about 8 deep; deeper is not a results file (and would exhaust recursion)


def _check_depth(data, name: str) -> None:
    stack = [(data, 1)]
    while stack:
        obj, depth = stack.pop()
        if depth > MAX_DEPTH:
            raise ResultsError(f"{name}: JSON nested more than {MAX_DEPTH} deep; not a results file")
        if isinstance(obj, dict):
            stack += [(v, depth + 1) for v in obj.values() if isinstance(v, (dict, list))]
        elif isinstance(obj, list):
            stack += [(v, depth + 1) for v in obj if isinstance(v, (dict, list))]


def _looks_like_jsonl(text: str) -> bool:
    first = text.lstrip().split("\n", 1)[0]
    try:
        obj = json.loads(first)
    except (json.JSONDecodeError, RecursionError):
        return False
    return isinstance(obj, dict) and obj.get("kind") == "header"
