"""results.jsonl (streamed, append-only, flushed per cell) and results.json (the whole run), per
conformance/schema/results.schema.json."""
from __future__ import annotations

import json
import os
from pathlib import Path

import numpy as np

from conformance.floats import dtype_name
from reference.jsonio import case_number_json

SCHEMA_VERSION = 1
SCHEMA_PATH = Path(__file__).parent / "schema" / "results.schema.json"


class ResultsError(Exception):
    """A results file that cannot be used (missing, truncated, wrong schema version)."""


def number_json(x) -> float | str:
    """A float as results.json writes it: a JSON number, or "inf" / "-inf" / "nan"."""
    return case_number_json(float(x))


def tensor_json(a) -> dict:
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        data = [int(v) for v in a.ravel()]
    else:
        data = [number_json(v) for v in a.astype(np.float64).ravel()]
    return {"dtype": dtype_name(a.dtype), "shape": list(a.shape), "data": data}


INTEGER_DTYPES = ("int64", "int32", "int16", "int8", "uint8", "bool")


def tensor_from_json(t: dict) -> np.ndarray:
    """A tensor of a results file; its dtype must be a float dtype of the suite or an integer/bool dtype
    (ResultsError otherwise: a dtype string from a file is never handed to numpy unchecked)."""
    from conformance.floats import NUMPY_DTYPES

    name = t.get("dtype") if isinstance(t, dict) else None
    if name not in NUMPY_DTYPES and name not in INTEGER_DTYPES:
        raise ResultsError(f"tensor dtype {name!r} is not one of {', '.join([*NUMPY_DTYPES, *INTEGER_DTYPES])}")
    dt = NUMPY_DTYPES.get(name) or np.dtype(name)
    if np.dtype(dt).kind in "iub":
        return np.asarray(t["data"], dtype=dt).reshape(t["shape"])
    return np.asarray([float(v) for v in t["data"]], dtype=np.float64).astype(dt).reshape(t["shape"])


def ref_array_json(r) -> dict:
    out = {
        "dtype": dtype_name(np.asarray(r.rounded).dtype),
        "shape": list(np.asarray(r.rounded).shape),
        "exact": [str(e) for e in np.asarray(r.exact, dtype=object).ravel()],
        "rounded": [number_json(v) for v in np.asarray(r.rounded).astype(np.float64).ravel()],
        "ieee": None,
    }
    if r.ieee is not None:
        out["ieee"] = [number_json(v) for v in np.asarray(r.ieee).astype(np.float64).ravel()]
    return out


def reference_json(ref) -> dict | None:
    if ref is None or isinstance(ref, Exception):
        return None
    return {
        "certified": bool(ref.certified),
        "value": ref_array_json(ref.value),
        "grad": {name: ref_array_json(g) for name, g in ref.grads.items()},
    }


class ResultsWriter:
    """Append-only streaming of records to DIR/results.jsonl; `finish()` writes DIR/results.json."""

    def __init__(self, out_dir: Path, header: dict, resume: bool = False):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "results.jsonl"
        self.done_cells: set[str] = set()
        self.records: list[dict] = []
        self.header = header
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            old_header, records = read_jsonl(self.path)
            self.header = {**old_header, "resumed": True}
            self.records = records
            self.done_cells = {r["cell"] for r in records}
            self._rewrite()  # drops a torn last line
        else:
            self._rewrite()

    def _rewrite(self) -> None:
        with open(self.path, "w") as f:
            f.write(json.dumps({"kind": "header", **self.header}) + "\n")
            for r in self.records:
                f.write(json.dumps({"kind": "record", **r}) + "\n")
            f.flush()
            os.fsync(f.fileno())

    def write_cell(self, records: list[dict]) -> None:
        with open(self.path, "a") as f:
            for r in records:
                f.write(json.dumps({"kind": "record", **r}) + "\n")
            f.flush()
            os.fsync(f.fileno())
        self.records.extend(records)
        if records:
            self.done_cells.add(records[0]["cell"])

    def finish(self, implementations: list[dict], known: dict, summary: dict, run_updates: dict) -> Path:
        run = {k: v for k, v in {**self.header, **run_updates}.items() if k != "kind"}
        doc = {
            "schema_version": SCHEMA_VERSION,
            "run": run,
            "implementations": implementations,
            "records": self.records,
            "known_divergences": known,
            "summary": summary,
        }
        target = self.out_dir / "results.json"
        tmp = target.with_suffix(".json.tmp")
        tmp.write_text(json.dumps(doc, indent=1))
        tmp.replace(target)
        return target


def read_jsonl(path: Path) -> tuple[dict, list[dict]]:
    """Header and records of a streamed file; a torn (partially written) last line is dropped."""
    header, records = None, []
    with open(path) as f:
        lines = f.read().split("\n")
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError:
            if i >= len(lines) - 2:
                break  # the run was killed mid-write
            raise ResultsError(f"{path}: line {i + 1} is not JSON")
        kind = obj.pop("kind", None)
        if kind == "header":
            header = obj
        elif kind == "record":
            records.append(obj)
    if header is None:
        raise ResultsError(f"{path}: no header line; not a results stream")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(f"{path}: schema version {header.get('schema_version')!r}, this tool reads {SCHEMA_VERSION}")
    return header, records


def summarise(records: list[dict]) -> dict:
    by_verdict: dict[str, int] = {}
    for r in records:
        by_verdict[r["verdict"]] = by_verdict.get(r["verdict"], 0) + 1
    return {"total": len(records), "by_verdict": by_verdict,
            "unexpected": sum(1 for r in records if r.get("unexpected"))}
