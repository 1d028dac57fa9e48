"""results.jsonl (streamed, append-only, flushed per cell) and results.json (the whole run), per
conformance/results/schema/results.schema.json."""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from conformance.results import output_dir as run_io
from conformance.floats import dtype_name
from conformance.results.strict_json import dumps
from reference.jsonio import case_number_json

from conformance.results import SCHEMA_VERSION
from conformance.results.errors import ResultsError
from conformance.results.packed import (NUMBER_KEYS, PACK_MIN, STRING_KEYS, dumps_packed, number_list, pack_record,
                                        unpack_record)


def number_json(x) -> float | str:
    """A float as results.json writes it: a JSON number, or "inf" / "-inf" / "nan"."""
    return case_number_json(float(x))


def numbers_json(a) -> list:
    """number_json of every element (float64 values): floats, the non-finite ones spelled "inf" / "-inf" /
    "nan", as a NumberList over a copy of the values (packed.number_list): the entries are made when first
    read, and a list nobody reads is packed straight from its array (most records' large lists)."""
    a = np.asarray(a)
    source = a.ravel().copy() if _float_like(a) else a.astype(np.float64).ravel()
    return number_list(source)


def _float_like(a: np.ndarray) -> bool:
    return a.dtype.kind == "f" or str(a.dtype) == "bfloat16"


def tensor_json(a) -> dict:
    a = np.asarray(a)
    if a.dtype.kind in "iub":
        data = [int(v) for v in a.ravel()]
    else:
        data = numbers_json(a)
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


EXACT_ROWS = 12  # drill-down rows per part (conformance/report/views.MAX_ROWS): their exact strings are stored


def _floats(data: list, n: int) -> tuple[np.ndarray, np.ndarray]:
    """(float64 values, present) of a stored number list padded to n (report.numbers.to_float's reading)."""
    vals = np.zeros(n)
    present = np.zeros(n, dtype=bool)
    src = getattr(data, "source", None)
    if src is not None and src.size == len(data):  # a NumberList: its array, without making its entries
        m = min(n, src.size)
        vals[:m] = src[:m]
        present[:m] = True
        return vals, present
    head = data[:n]
    if all(type(v) is float for v in head):  # the common case, at C speed
        vals[:len(head)] = head
        present[:len(head)] = True
        return vals, present
    special = {"inf": np.inf, "-inf": -np.inf, "nan": np.nan}
    for i, v in enumerate(data[:n]):
        if isinstance(v, (int, float)) and not isinstance(v, bool):
            vals[i], present[i] = v, True
        elif isinstance(v, str) and v.strip().lower() in special:
            vals[i], present[i] = special[v.strip().lower()], True
    return vals, present


def shown_elements(rounded: list, observed: list | None, dtype: str, limit: int = EXACT_ROWS) -> list[int]:
    """The flat indices a record's drill-down shows for one part: every element when there are at most
    `limit`, else the `limit` worst (elements where observed differs from rounded first, then by ULP distance
    in `dtype`, then by index), in index order. The report's tables and the stored exact strings both use it."""
    from conformance.floats import NUMPY_DTYPES, ordinals

    observed = observed or []
    n = max(len(rounded), len(observed))
    if n <= limit:
        return list(range(n))
    r, has_r = _floats(rounded, n)
    o, has_o = _floats(observed, n)
    both = has_r & has_o
    equal = both & ((r == o) | (np.isnan(r) & np.isnan(o)))
    differs = both & ~equal
    finite = np.isfinite(r) & np.isfinite(o)
    dist = np.zeros(n)
    dt = NUMPY_DTYPES.get(dtype)
    if dt is not None:
        with np.errstate(all="ignore"):
            steps = np.abs(ordinals(np.where(finite, r, 0).astype(dt)) - ordinals(np.where(finite, o, 0).astype(dt)))
        dist = np.where(differs, np.where(finite, steps.astype(np.float64), np.inf), 0.0)
    order = np.lexsort((np.arange(n), -dist, ~differs))
    return sorted(int(i) for i in order[:limit])


def exact_kept(exact, shown, rounded=None) -> list:
    """The exact strings a record stores (README, "What a result holds"): those of the `shown` indices
    (None: all) and of every element whose exact value reads as 0 in float64 or is not finite (short, and
    what the report's run-to-run comparison and the special-value checks read); null elsewhere. `rounded`
    (the correctly rounded values) narrows the search: such an element rounds to 0 or a non-finite value."""
    flat = np.asarray(exact, dtype=object).ravel()
    if shown is None:
        return [str(e) for e in flat]
    out = [None] * flat.size
    for i in shown:
        if i < flat.size:  # shown also counts the observed elements, which may be more (a wrong output shape)
            out[i] = str(flat[i])
    if rounded is None:
        candidates = range(flat.size)
    else:
        r = np.asarray(rounded).astype(np.float64).ravel()
        candidates = np.flatnonzero((r == 0) | ~np.isfinite(r))
    for i in candidates:
        if out[i] is not None:
            continue
        e = str(flat[i])
        try:
            v = float(e)
        except ValueError:
            v = np.nan
        if v == 0.0 or not np.isfinite(v):
            out[i] = e
    return out


def ref_array_json(r, shown=None, rounded: list | None = None, exact: list | None = None) -> dict:
    """One reference part as stored; `shown`: the flat indices whose exact strings are kept (exact_kept);
    `rounded`: the rounded values as JSON numbers when already made; `exact`: the stored list when already
    decided (reference_json: none for an accurate part of a deferred answer)."""
    out = {
        "dtype": dtype_name(np.asarray(r.rounded).dtype),
        "shape": list(np.asarray(r.rounded).shape),
        "exact": exact if exact is not None else exact_kept(r.exact, shown, r.rounded),
        "rounded": rounded if rounded is not None else numbers_json(r.rounded),
        "ieee": None,
    }
    if r.ieee is not None:
        out["ieee"] = numbers_json(r.ieee)
    return out


def reference_json(ref, observed: dict | None = None, failing: dict | None = None,
                   all_exact: bool = False) -> dict | None:
    """The record's reference. Exact strings are kept (exact_kept) for the elements the drill-down shows
    (shown_elements against `observed`, the record's observed JSON) and the part's failing elements
    (`failing`: part key -> flat indices, at most compare.MAX_FAILING); all of them with all_exact. A record
    without failing elements whose answer is deferred (conformance/execute/reference_cache.defer_exact: a
    large case whose exact strings are made only on demand) keeps none in each part with no element that
    rounds to 0 or a non-finite value (`replay --exact` recomputes any): such a record never waits for an
    arb evaluation. A record with failing elements keeps them as above, in every part."""
    if ref is None or isinstance(ref, Exception):
        return None
    failing = failing or {}
    on_demand = getattr(ref.value, "approx", None) is not None and not any(failing.values())

    def one(key: str, r) -> dict:
        if all_exact:
            return ref_array_json(r)
        obs = part_of(observed or {}, key)
        rounded = numbers_json(r.rounded)
        if on_demand and _no_zero_or_special(r):
            return ref_array_json(r, rounded=rounded, exact=[None] * len(rounded))
        shown = shown_elements(rounded, (obs or {}).get("data"), dtype_name(np.asarray(r.rounded).dtype))
        return ref_array_json(r, sorted(set(shown) | set(failing.get(key) or ())), rounded)

    return {
        "certified": bool(ref.certified),
        "value": one("value", ref.value),
        "grad": {name: one(f"grad:{name}", g) for name, g in ref.grads.items()},
        **({"derivs": {key: one(key, d) for key, d in ref.derivs.items()}} if getattr(ref, "derivs", None) else {}),
    }


def _no_zero_or_special(r) -> bool:
    """No element of the part rounds to 0 or a non-finite value (whose exact strings a record keeps)."""
    v = np.asarray(r.rounded).astype(np.float64)
    return bool(np.all(np.isfinite(v) & (v != 0)))


def part_of(container: dict, part: str):
    """A part's tensor in a record's observed or reference object: "value", "grad:NAME", or a derivative
    mode's part ("vjp:NAME", "jvp:NAME", "hvp:NAME", kept under "derivs"); None when absent."""
    if part == "value":
        return container.get("value")
    if part.startswith("grad:"):
        return (container.get("grad") or {}).get(part[5:])
    return (container.get("derivs") or {}).get(part)


class ResultsWriter:
    """Append-only streaming of records to DIR/results.jsonl; `finish()` writes DIR/results.json.

    Each cell's records are followed by an end marker {"kind": "cell_end", "cell": ..., "records": n}, written
    with them in one append. --resume keeps exactly the cells whose marker is there with its n records and
    re-runs every other cell (its partial records are dropped). Writes go through conformance.results.output_dir: an I/O
    error raises ResultsIOError and leaves results.jsonl whole up to its last complete line, and no *.tmp."""

    def __init__(self, out_dir: Path, header: dict, resume: bool = False):
        self.out_dir = Path(out_dir)
        self.path = self.out_dir / "results.jsonl"
        self.done_cells: set[str] = set()
        self.records: list[dict] = []
        self.header = header
        self.dropped = 0  # records of incomplete cells dropped on --resume
        self.out_dir.mkdir(parents=True, exist_ok=True)
        if resume and self.path.exists():
            old_header, cells, self.dropped = read_cells(self.path)
            self.header = {**old_header, "resumed": True}
            for cell, records in cells.items():
                self.records += records
                self.done_cells.add(cell)
        self._rewrite()

    def _rewrite(self) -> None:
        """The whole stream (header, each finished cell and its marker), replaced atomically."""
        lines = [dumps({"kind": "header", **self.header})]
        cells: dict[str, list] = {}
        for r in self.records:
            cells.setdefault(r["cell"], []).append(r)
        for cell, records in cells.items():
            lines.append(_cell_text(cell, records).rstrip("\n"))
        run_io.replace(self.path, "\n".join(lines) + "\n")

    def write_cell(self, records: list[dict], cell: str | None = None) -> None:
        cell = cell if cell is not None else (records[0]["cell"] if records else None)
        if cell is None:
            return
        run_io.append(self.path, _cell_text(cell, records))
        self.records.extend(records)
        self.done_cells.add(cell)

    def finish(self, implementations: list[dict], known: dict, summary: dict, run_updates: dict) -> Path:
        run = {k: v for k, v in {**self.header, **run_updates}.items() if k != "kind"}
        doc = {
            "schema_version": SCHEMA_VERSION,
            "run": run,
            "implementations": implementations,
            "records": [pack_record(r) for r in self.records],
            "known_divergences": known,
            "summary": summary,
        }
        target = self.out_dir / "results.json"
        run_io.replace(target, dumps(doc, indent=1))
        return target


def record_line(record: dict, **kwargs) -> str:
    """One record as results.jsonl holds it: {"kind": "record", ...} with its large arrays packed
    (conformance/results/packed.py)."""
    return dumps_packed({"kind": "record", **record}, dumps, **kwargs)


RECORD_BASE = 64 * 1024  # bytes of a record's line besides its lists (docs/results.md, "Record size")


def record_size_bound(record: dict) -> int:
    """The size bound (bytes) of `record`'s line (docs/results.md, "Record size"): RECORD_BASE, plus for a
    tensor's number list of n entries 25 n while it is written as a list (n <= PACK_MIN) or 11 n + 200
    packed; for an exact-string list 5 bytes per null entry while a list (none packed) + 72 per string
    kept; 25 bytes per entry of any other list (parameters, failing indices)."""
    total = RECORD_BASE
    stack = [record]
    while stack:
        obj = stack.pop()
        items = obj.items() if isinstance(obj, dict) else enumerate(obj)
        tensor = isinstance(obj, dict) and "shape" in obj
        for k, v in items:
            if isinstance(v, dict):
                stack.append(v)
            elif isinstance(v, list):
                n = len(v)
                if tensor and k in NUMBER_KEYS:
                    total += 25 * n if n <= PACK_MIN else 11 * n + 200
                elif tensor and k in STRING_KEYS:
                    kept = n - v.count(None)
                    total += 72 * kept + (5 * (n - kept) if n <= PACK_MIN else 100)
                else:
                    total += 25 * n
                    stack.extend(x for x in v if isinstance(x, (dict, list)))
    return total


def _cell_text(cell: str, records: list[dict]) -> str:
    lines = [record_line(r) for r in records]
    lines.append(dumps({"kind": "cell_end", "cell": cell, "records": len(records)}))
    return "\n".join(lines) + "\n"


def read_cells(path: Path) -> tuple[dict, dict[str, list[dict]], int]:
    """(header, {cell: records} of every complete cell, number of records of incomplete cells): a cell is
    complete when its end marker follows exactly the number of records it names."""
    header, records = read_jsonl(path, markers=True)
    cells: dict[str, list[dict]] = {}
    pending: dict[str, list[dict]] = {}
    for r in records:
        if r.get("kind") == "cell_end":
            got = pending.pop(r.get("cell"), [])
            if len(got) == r.get("records") and r.get("cell") not in cells:
                cells[r["cell"]] = got
            continue
        pending.setdefault(r.get("cell"), []).append(r)
    return header, cells, sum(len(v) for v in pending.values())


def parse_lines(text: str, name: str) -> tuple[list[tuple[int, dict]], list[str]]:
    """[(line number, object)] of a results stream's non-blank lines, and warnings. A last line that is not
    JSON (a run killed mid-write) is dropped with a warning; a bad line anywhere else, or a line that is not a
    JSON object, raises ResultsError naming the file and the line. Shared by every reader of results.jsonl."""
    lines = text.split("\n")
    last = max((i for i, line in enumerate(lines) if line.strip()), default=-1)
    if last < 0:
        raise ResultsError(f"{name}: empty file")
    objects, warnings = [], []
    for i, line in enumerate(lines):
        if not line.strip():
            continue
        try:
            obj = json.loads(line)
        except json.JSONDecodeError as e:
            if i == last and i > 0:
                warnings.append(f"line {i + 1} is incomplete (an interrupted run?) and was ignored")
                continue
            raise ResultsError(f"{name}: line {i + 1} is not valid JSON: {e.msg} at column {e.colno}") from None
        if not isinstance(obj, dict):
            raise ResultsError(f"{name}: line {i + 1} is not a JSON object")
        objects.append((i + 1, obj))
    return objects, warnings


def read_jsonl(path: Path, markers: bool = False) -> tuple[dict, list[dict]]:
    """Header and records of a streamed file; a torn (partially written) last line is dropped. markers: keep
    the cells' end markers too (with their "kind": "cell_end"), in order."""
    header, records = None, []
    with open(path) as f:
        objects, _ = parse_lines(f.read(), str(path))
    for _, obj in objects:
        kind = obj.pop("kind", None)
        if kind == "header":
            header = obj
        elif kind == "record":
            records.append(unpack_record(obj, f"{path}: record {len(records)}"))
        elif kind == "cell_end" and markers:
            records.append({"kind": kind, **obj})
    if header is None:
        raise ResultsError(f"{path}: no header line; not a results stream")
    if header.get("schema_version") != SCHEMA_VERSION:
        raise ResultsError(f"{path}: schema version {header.get('schema_version')!r}, this tool reads {SCHEMA_VERSION}")
    return header, records


def summarize(records: list[dict]) -> dict:
    """summary = {total, by_verdict, unexpected}, computed from the records (results.json's "summary")."""
    by_verdict: dict[str, int] = {}
    for r in records:
        by_verdict[r["verdict"]] = by_verdict.get(r["verdict"], 0) + 1
    return {"total": len(records), "by_verdict": by_verdict,
            "unexpected": sum(1 for r in records if r.get("unexpected"))}
