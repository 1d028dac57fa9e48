"""The golden corpus: reference/golden/<op>.json regenerated from reference.catalog, and MANIFEST.sha256.

Each file is a JSON list of entries {"id", "op", "dtype", "inputs", "params", "expect"}, where "expect" is
the command-line result (value, grad, certified; "ieee" where it differs) or {"error": "UndefinedError: ..."}.
Generation is deterministic: the same catalog gives byte-identical files.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

from reference.catalog import CATALOG, DTYPES
from reference.errors import CaseError, UndefinedError
from reference.evaluate import evaluate
from reference.jsonio import case_json, dumps, result_json

GOLDEN_DIR = Path(__file__).parent / "golden"
MANIFEST = "MANIFEST.sha256"


def _entry(case_id, op, dtype, inputs, params) -> dict:
    data = {"id": case_id, "op": op, "dtype": dtype, "inputs": case_json(inputs), "params": case_json(params)}
    try:
        data["expect"] = result_json(evaluate(op, dtype, inputs, params))
    except UndefinedError as exc:
        data["expect"] = {"error": f"UndefinedError: {exc}"}
    except CaseError as exc:
        raise AssertionError(f"catalog case {case_id!r} ({dtype}) is malformed: {exc}") from exc
    return data


def generate() -> dict[str, str]:
    """File name -> text, for every golden file and the manifest."""
    by_op: dict[str, list] = {}
    for entry in (e for e in CATALOG if e.golden):
        for dtype in DTYPES:
            by_op.setdefault(entry.op, []).append(_entry(entry.id, entry.op, dtype, entry.plain_inputs(), entry.params))
    files = {f"{op}.json": dumps(entries) for op, entries in sorted(by_op.items())}
    files[MANIFEST] = "".join(f"{hashlib.sha256(text.encode()).hexdigest()}  {name}\n"
                              for name, text in sorted(files.items()))
    return files


def write(directory: Path = GOLDEN_DIR) -> list[str]:
    directory.mkdir(parents=True, exist_ok=True)
    files = generate()
    for stale in directory.glob("*.json"):
        if stale.name not in files:
            stale.unlink()
    for name, text in files.items():
        (directory / name).write_text(text, encoding="ascii")
    return sorted(files)


def check(directory: Path = GOLDEN_DIR) -> list[str]:
    """Problems found (empty when the corpus matches a regeneration and its manifest)."""
    problems = []
    files = generate()
    present = {p.name for p in directory.glob("*.json")} | ({MANIFEST} if (directory / MANIFEST).exists() else set())
    for name in sorted(present - set(files)):
        problems.append(f"{name}: not produced by the catalog")
    for name, text in sorted(files.items()):
        path = directory / name
        if not path.exists():
            problems.append(f"{name}: missing")
        elif path.read_bytes() != text.encode("ascii"):
            problems.append(f"{name}: differs from a regeneration")
    manifest = directory / MANIFEST
    if manifest.exists():
        for line in manifest.read_text(encoding="ascii").splitlines():
            digest, _, name = line.partition("  ")
            path = directory / name
            if path.exists() and hashlib.sha256(path.read_bytes()).hexdigest() != digest:
                problems.append(f"{name}: checksum does not match {MANIFEST}")
    return problems
