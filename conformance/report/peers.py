"""Best in class: for every (op, params, dtype, case) and part, the best ULP error any implementation achieved,
and the implementations "behind peers" on it.

Records are grouped by content (op, dtype, params without the class axis, input bits): the same case run
through different implementations (a record explained by a documented convention is left out: its ULP
figures are against the convention's reference). For each part (the value, each gradient) the best is the smallest ULP
error among the records that computed it. An implementation is behind peers on a case when its error is more
than BEHIND_FACTOR times the best AND beyond the dtype's ULP budget (differences within the budget are
rounding noise), or when it returned a wrong special value (NaN, inf) where a peer returned a finite answer
within the budget. A reader sees which framework to trust for which op, beyond pass/fail.
"""
from __future__ import annotations

import json
import math
from collections import Counter, defaultdict
from dataclasses import dataclass

from conformance.results.parts import flat_parts

BEHIND_FACTOR = 8.0
ULP_BUDGET = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}
MAX_ROWS = 60


@dataclass
class Behind:
    op: str
    dtype: str
    case_id: str
    part: str
    best_ulp: float
    best_by: list
    implementation: str
    ulp: float

    @property
    def factor(self) -> float:
        if math.isinf(self.ulp):
            return math.inf
        return self.ulp / max(self.best_ulp, 1.0)


def _key(record: dict) -> str | None:
    inputs = record.get("inputs")
    if not inputs:
        return None
    params = {k: v for k, v in (record.get("params") or {}).items() if k != "axis"}
    return json.dumps([record["op"], record["dtype"], params, inputs], sort_keys=True, default=str)


def _part_ulps(record: dict) -> dict:
    return {k: _num(v) for k, v in flat_parts(record.get("ulp")).items()}


def _num(v) -> float:
    return float(v)  # numbers, or "inf" / "nan" as results.json writes them


def behind_peers(records: list[dict]) -> list[Behind]:
    """Every (case, part, implementation) behind its peers, worst factor first."""
    groups: dict = defaultdict(list)
    for r in records:
        if r.get("verdict") in ("unsupported", "uncertified", "error_behaviour_mismatch", "crashed", "timeout",
                                "ieee_special"):
            continue
        if r.get("convention"):  # its ULP figures are against the documented convention, not the mathematics
            continue
        key = _key(r)
        if key is not None:
            groups[key].append(r)
    out = []
    for group in groups.values():
        if len({r["implementation"] for r in group}) < 2:
            continue
        by_part: dict = defaultdict(list)
        for r in group:
            for part, ulp in _part_ulps(r).items():
                by_part[part].append((ulp, r))
        for part, entries in by_part.items():
            finite = [u for u, _ in entries if math.isfinite(u)]
            if not finite:
                continue
            best = min(finite)
            budget = ULP_BUDGET.get(entries[0][1]["dtype"], 4)
            best_by = sorted({r["implementation"] for u, r in entries if u == best})
            for ulp, r in entries:
                if math.isinf(ulp) and best <= budget or (ulp > budget and ulp > BEHIND_FACTOR * max(best, 1.0)):
                    out.append(Behind(r["op"], r["dtype"], r["case_id"], part, best, best_by, r["implementation"], ulp))
    out.sort(key=lambda b: (-min(b.factor, 1e308), b.op, b.implementation))
    return out


def summary(records: list[dict]) -> dict:
    """{"rows": the worst MAX_ROWS Behind, "per_implementation": [(id, cases behind)], "total": n}."""
    rows = behind_peers(records)
    counts = Counter(b.implementation for b in rows)
    return {"rows": rows[:MAX_ROWS], "per_implementation": counts.most_common(), "total": len(rows),
            "factor": BEHIND_FACTOR}
