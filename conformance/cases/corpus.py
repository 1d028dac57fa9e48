"""Regression corpus: the cases a run found interesting, by content, to replay in later runs.

A corpus file (JSON) holds cases, not results:

    {"corpus_version": 1,
     "cases": [{"id": "hyp-1a2b3c4d5e6f", "op": "cross_entropy", "dtype": "float32",
                "params": {...every param, defaults spelled out...},
                "inputs": {"logits": {"dtype": "float32", "shape": [1, 3], "data": [...]}, ...},
                "found": [{"implementation": "optax...", "verdict": "inaccurate", "source": "hypothesis"}]}]}

`run --write-corpus FILE` collects every catalog case, every minimal failing example and every other failing
example (and every case the run replayed from a corpus) from the run's records; when FILE exists its cases are kept, so a corpus only
grows. `run --corpus FILE` replays, in every cell, the corpus cases of the cell's op and dtype that the
implementation accepts, before its Hypothesis examples (a case already run from the catalog is not repeated).
Old and new runs of an upgrade replay the same corpus, so they share those cases exactly (same bits).

Inputs are written as results.json writes them (every float as the float64 number that holds it exactly),
so a case read back has the same bits. Nothing in a corpus is executed: it is numbers and names, validated.
"""
from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path

import numpy as np

from conformance.results import strict_json
from conformance.cases.case import Case
from conformance.results.stream import tensor_from_json
from conformance.judge.severity import FAILING

CORPUS_VERSION = 1
FLOAT_DTYPES = ("float64", "float32", "float16", "bfloat16")


class CorpusError(Exception):
    """A corpus file that cannot be used: one line for the command line (exit 2)."""


def content_key(op: str, dtype: str, params: dict, inputs: dict) -> str:
    """A digest of a case's content as recorded: op, dtype, params and every input's dtype, shape and data."""
    text = json.dumps([op, dtype, params, inputs], sort_keys=True, separators=(",", ":"))
    return hashlib.sha256(text.encode()).hexdigest()


def record_key(record: dict) -> str:
    """The record's case by content; a mode case's cotangent and tangents are part of it."""
    key = content_key(record["op"], record["dtype"], record.get("params") or {}, record.get("inputs") or {})
    request = record.get("derivative_request")
    if request:
        key = hashlib.sha256((key + json.dumps(request, sort_keys=True)).encode()).hexdigest()
    return key


def interesting(record: dict) -> bool:
    """Catalog cases, replayed corpus cases, minimal failing examples and every other failing example
    (records with inputs). The unshrunk first failure is kept too: shrinking can turn one failure into
    another mechanism, and the first may be the only witness of a known divergence."""
    if not record.get("inputs") or record.get("derivative_request"):
        return False  # e.g. "(float16 not declared)": no case was run; mode cases are drawn anew each run
    return (record.get("source") in ("catalog", "corpus") or bool(record.get("minimal"))
            or record.get("verdict") in FAILING)


def entries_from_records(records) -> dict[str, dict]:
    """content key -> corpus entry, for the interesting records (one entry per case content)."""
    out: dict[str, dict] = {}
    for r in records:
        if not interesting(r):
            continue
        key = record_key(r)
        entry = out.setdefault(key, {"id": r["case_id"], "op": r["op"], "dtype": r["dtype"],
                                     "params": r.get("params") or {}, "inputs": r["inputs"], "found": []})
        found = {"implementation": r["implementation"], "verdict": r["verdict"],
                 "source": r.get("source") or "hypothesis"}
        if found not in entry["found"]:
            entry["found"].append(found)
    return out


def _check_entry(entry, where: str) -> None:
    if not isinstance(entry, dict):
        raise CorpusError(f"{where}: not an object")
    for name, kind in (("id", str), ("op", str), ("dtype", str), ("params", dict), ("inputs", dict)):
        if not isinstance(entry.get(name), kind):
            raise CorpusError(f"{where}: {name!r} missing or not a {kind.__name__}")
    if entry["dtype"] not in FLOAT_DTYPES:
        raise CorpusError(f"{where}: unknown dtype {entry['dtype']!r}")
    for name, t in entry["inputs"].items():
        if not (isinstance(t, dict) and isinstance(t.get("shape"), list) and isinstance(t.get("data"), list)
                and isinstance(t.get("dtype"), str)):
            raise CorpusError(f"{where}: input {name!r} is not a tensor (dtype, shape, data)")
        if int(np.prod(t["shape"], dtype=np.int64)) != len(t["data"]):
            raise CorpusError(f"{where}: input {name!r} has {len(t['data'])} values for shape {t['shape']}")


def read(path) -> list[dict]:
    """The entries of a corpus file, validated; CorpusError (one line) when it cannot be used."""
    path = Path(path)
    try:
        doc = json.loads(path.read_text())
    except FileNotFoundError:
        raise CorpusError(f"corpus {path}: no such file")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise CorpusError(f"corpus {path}: not a corpus file ({exc})")
    if not isinstance(doc, dict) or doc.get("corpus_version") != CORPUS_VERSION or not isinstance(
            doc.get("cases"), list):
        raise CorpusError(f"corpus {path}: expected {{\"corpus_version\": {CORPUS_VERSION}, \"cases\": [...]}}")
    for i, entry in enumerate(doc["cases"]):
        _check_entry(entry, f"corpus {path}: case #{i + 1}")
    return doc["cases"]


def load(path) -> list[dict]:
    """Entries ready to replay: each with its Case inputs decoded (arrays), keyed by op and dtype."""
    entries = read(path)
    out = []
    for i, e in enumerate(entries):
        try:
            inputs = {k: tensor_from_json(v) for k, v in e["inputs"].items()}
        except (ValueError, TypeError, KeyError) as exc:
            raise CorpusError(f"corpus {path}: case #{i + 1}: bad input data ({exc})")
        out.append({**e, "arrays": inputs})
    return out


def cases_for(corpus: list[dict], op: str, dtype: str) -> list[Case]:
    """Fresh Case objects (their own arrays and params) for one cell's op and dtype, in corpus order."""
    return [Case(id=e["id"], op=op, dtype=dtype, inputs={k: v.copy() for k, v in e["arrays"].items()},
                 params=json.loads(json.dumps(e["params"])), source="corpus")
            for e in corpus if e["op"] == op and e["dtype"] == dtype]


def write(path, records, keep_existing: bool = True) -> tuple[int, int]:
    """Write (merge into) a corpus file from a run's records; returns (cases in the file, cases added).
    Sorted by op, dtype and id, so the file is stable under re-runs and diffs well."""
    path = Path(path)
    merged: dict[str, dict] = {}
    if keep_existing and path.exists():
        for e in read(path):
            merged[content_key(e["op"], e["dtype"], e["params"], e["inputs"])] = e
    before = len(merged)
    for key, entry in entries_from_records(records).items():
        if key in merged:
            for f in entry["found"]:
                if f not in merged[key].setdefault("found", []):
                    merged[key]["found"].append(f)
        else:
            merged[key] = entry
    cases = sorted(merged.values(), key=lambda e: (e["op"], e["dtype"], e["id"], json.dumps(e["inputs"])))
    for e in cases:
        e["found"] = sorted(e.get("found", []), key=lambda f: (f["implementation"], f["verdict"], f["source"]))
    text = strict_json.dumps({"corpus_version": CORPUS_VERSION, "cases": cases}, indent=1, sort_keys=True)
    tmp = path.with_name(path.name + ".tmp")
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp.write_text(text + "\n")
    os.replace(tmp, path)
    return len(cases), len(cases) - before
