"""Splitting a run across machines: `run --shard K/N` runs the K-th of N disjoint parts of the cells
(implementation x dtype x device); the N parts cover every cell once, and `merge` of their results equals
one unsharded run (a cell's cases depend only on the run's seed and the cell, never on what else ran).

The partition is deterministic: cells are sorted by id and dealt greedily, heaviest first, to the part with
the least total weight so far (longest-processing-time scheduling). Without timings every cell weighs 1
(a balanced round-robin); with `--shard-timing RESULTS` each cell weighs its wall time in that earlier run
(`run.timing.cells`), a cell that run lacked weighing the mean of the known ones.
"""
from __future__ import annotations

import json
from pathlib import Path


class ShardError(Exception):
    """A bad --shard or --shard-timing: one line, exit 2."""


def parse_shard(text: str) -> tuple[int, int]:
    """"K/N" (1 <= K <= N) -> (K, N)."""
    try:
        k_text, n_text = str(text).split("/")
        k, n = int(k_text), int(n_text)
    except ValueError:
        raise ShardError(f"--shard {text!r}: expected K/N, e.g. 1/4") from None
    if n < 1 or not 1 <= k <= n:
        raise ShardError(f"--shard {text!r}: need 1 <= K <= N")
    return k, n


def load_timing(path) -> dict[str, float]:
    """cell id -> wall seconds, from an earlier run's results.json (run.timing.cells)."""
    path = Path(path)
    if path.is_dir():
        path = path / "results.json"
    try:
        doc = json.loads(path.read_text(encoding="utf-8"))
    except OSError as exc:
        raise ShardError(f"--shard-timing: cannot read {path}: {exc.strerror or exc}") from None
    except (json.JSONDecodeError, UnicodeDecodeError):
        raise ShardError(f"--shard-timing: {path} is not a results.json") from None
    cells = ((doc.get("run") or {}).get("timing") or {}).get("cells") if isinstance(doc, dict) else None
    if not isinstance(cells, dict):
        raise ShardError(f"--shard-timing: {path} has no per-cell timing (run.timing.cells)")
    out = {}
    for cell, t in cells.items():
        wall = t.get("wall_s") if isinstance(t, dict) else None
        if isinstance(wall, (int, float)) and wall >= 0:
            out[cell] = float(wall)
    return out


def assign(ids, n: int, weights: dict | None = None) -> dict[str, int]:
    """cell id -> part (1..n)."""
    ids = sorted(set(ids))
    weights = weights or {}
    known = [weights[i] for i in ids if i in weights]
    default = sum(known) / len(known) if known else 1.0
    weight = {i: weights.get(i, default) for i in ids}
    loads = [0.0] * n
    out = {}
    for i in sorted(ids, key=lambda i: (-weight[i], i)):
        part = min(range(n), key=lambda p: (loads[p], p))
        loads[part] += weight[i]
        out[i] = part + 1
    return out


def shard_cells(cells, k: int, n: int, key=lambda c: c, weights: dict | None = None) -> list:
    """The cells of part k of n, in their given order."""
    cells = list(cells)
    parts = assign([key(c) for c in cells], n, weights)
    return [c for c in cells if parts[key(c)] == k]
