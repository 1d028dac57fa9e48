"""One record laid out for the drill-down: inputs, then the value and each gradient as tables with the exact
reference (decimal), its correctly rounded value, the IEEE value and the value a documented convention gives
where the record has them, and the observed value side by side, element by element.

A part's heading is computed from the same element-wise distances as its table (one formatter, numbers.py):
the largest distance in ULPs to the correctly rounded value, and to the convention's value where one
explains the part, so heading and rows never disagree."""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, field

import numpy as np

from conformance.results.stream import EXACT_ROWS, shown_elements

from .numbers import fmt, fmt_metric, same, to_float, ulp_distance
from .repro import python_snippet, replay_command

MAX_ROWS = EXACT_ROWS  # rows per part table; the record stores their exact strings
MAX_INPUT_VALUES = 32


@dataclass
class Row:
    index: str
    exact: str
    rounded: str
    observed: str
    ieee: str | None = None
    documented: str | None = None
    ulps: str = ""
    documented_ulps: str = ""
    differs: bool = False       # observed differs from the correctly rounded reference
    as_documented: bool = False  # ... but equals the implementation's documented (convention) value


@dataclass
class PartView:
    name: str          # "value" or "grad:NAME"
    title: str
    dtype: str
    observed_dtype: str | None
    rows: list[Row]
    total: int
    ulp: str
    bound_ratio: str
    is_verdict_part: bool
    note: str = ""
    has_ieee: bool = False
    has_documented: bool = False
    convention: str | None = None   # key of the convention whose value the "as documented" column shows
    max_ulps: str = "—"             # largest ULPs column entry over every element (the heading's number)
    max_documented_ulps: str = "—"  # the same against the convention's value
    explained: bool = False         # the recorded ULP error is the one against the convention's value

    @property
    def hidden(self) -> int:
        return self.total - len(self.rows)


@dataclass
class InputView:
    name: str
    dtype: str
    shape: str
    values: list[str]
    total: int

    @property
    def hidden(self) -> int:
        return self.total - len(self.values)


@dataclass
class RecordView:
    record: dict
    inputs: list[InputView]
    parts: list[PartView]
    params: str
    replay: str
    snippet: str
    exception: dict | None
    conventions: list[dict] = field(default_factory=list)
    detail: str = ""


def _index(i: int, shape: list[int]) -> str:
    if not shape:
        return "()"
    try:
        return "[" + ", ".join(str(int(k)) for k in np.unravel_index(i, tuple(shape))) + "]"
    except ValueError:
        return f"#{i}"


def element_ulps(a, b, dtype: str) -> float | None:
    """Distance in ULPs of `dtype` between two stored numbers; 0 when equal (NaN = NaN), inf when they are not
    equal and either is non-finite (inf vs 100 is not a count of representable steps)."""
    fa, fb = to_float(a), to_float(b)
    if fa is None or fb is None:
        return None
    if same(a, b):
        return 0.0
    if not (math.isfinite(fa) and math.isfinite(fb)):
        return math.inf
    return ulp_distance(a, b, dtype)


def _largest(values) -> float | None:
    vals = [v for v in values if v is not None]
    return max(vals) if vals else None


def _part_view(name: str, ref: dict | None, obs: dict | None, ulp, ratio, verdict_part: str | None,
               case_dtype: str, documented: dict | None, convention: str | None = None) -> PartView:
    dtype = (ref or {}).get("dtype") or case_dtype
    exact = (ref or {}).get("exact") or []
    rounded = (ref or {}).get("rounded") or []
    ieee = (ref or {}).get("ieee")
    doc = (documented or {}).get("rounded") if documented else None
    observed = (obs or {}).get("data") or []
    obs_dtype = (obs or {}).get("dtype")
    shape = (ref or {}).get("shape") or (obs or {}).get("shape") or []
    n = max(len(exact), len(rounded), len(observed))
    notes = []
    if ref and obs and list(ref.get("shape", [])) != list(obs.get("shape", [])):
        notes.append(f"observed shape {obs.get('shape')} differs from the reference shape {ref.get('shape')}")
    if obs and obs_dtype and obs_dtype != dtype:
        notes.append(f"observed dtype {obs_dtype} differs from the case dtype {dtype}")
    if obs is None:
        notes.append("no observed output")
    if ref is None:
        notes.append("no reference")

    def get(seq, i):
        return seq[i] if seq is not None and i < len(seq) else None

    scored = []
    for i in range(n):
        r, o, c = get(rounded, i), get(observed, i), get(doc, i)
        d = element_ulps(r, o, dtype) if (r is not None and o is not None) else None
        dc = element_ulps(c, o, dtype) if (c is not None and o is not None) else None
        differs = o is not None and r is not None and not same(r, o)
        scored.append((i, d, dc, differs))
    # the MAX_ROWS worst (differing first, then by ULPs): the same choice the runner made for the exact
    # strings it stored (conformance.results.stream.shown_elements), so every row shown has its exact digits
    chosen = [scored[i] for i in shown_elements(rounded, observed, dtype, MAX_ROWS)] if n > MAX_ROWS else scored
    rows = []
    for i, d, dc, differs in chosen:
        rows.append(Row(
            index=_index(i, shape),
            exact=str(get(exact, i)) if get(exact, i) is not None else "—",
            rounded=fmt(get(rounded, i), dtype) if get(rounded, i) is not None else "—",
            observed=fmt(get(observed, i), obs_dtype or dtype) if get(observed, i) is not None else "—",
            ieee=fmt(get(ieee, i), dtype) if ieee is not None and get(ieee, i) is not None else None,
            documented=fmt(get(doc, i), dtype) if doc is not None and get(doc, i) is not None else None,
            ulps=fmt_metric(d) if d is not None else "",
            documented_ulps=fmt_metric(dc) if dc is not None else "",
            differs=differs,
            as_documented=differs and dc == 0.0,
        ))
    title = "value" if name == "value" else f"gradient d/d{name.split(':', 1)[1]}"
    largest, largest_doc = _largest(t[1] for t in scored), _largest(t[2] for t in scored)
    recorded = to_float(ulp)
    explained = (doc is not None and largest_doc is not None and recorded is not None and largest != largest_doc
                 and fmt_metric(recorded) == fmt_metric(largest_doc))
    return PartView(name, title, dtype, obs_dtype, rows, n, fmt_metric(ulp), fmt_metric(ratio),
                    verdict_part == name, "; ".join(notes),
                    has_ieee=ieee is not None, has_documented=doc is not None,
                    convention=convention if doc is not None else None,
                    max_ulps=fmt_metric(largest), max_documented_ulps=fmt_metric(largest_doc),
                    explained=explained)


def convention_refs(record: dict) -> list[tuple[str, dict]]:
    """(key, {"value": ref_tensor, "grad": {...}}) for each convention whose reference the record keeps:
    reference.conventions (the runner), or the older single reference.convention_value (value only)."""
    ref = record.get("reference") or {}
    out = [(str(k), v) for k, v in (ref.get("conventions") or {}).items() if isinstance(v, dict)]
    if not out and ref.get("convention_value") and record.get("convention"):
        out = [(str(record["convention"]), {"value": ref["convention_value"], "grad": {}})]
    return out


NUMBER_AFTER = re.compile(r"\b(got|reference) (-?(?:inf|nan|\d+(?:\.\d*)?(?:e[+-]?\d+)?))", re.IGNORECASE)


def detail_text(detail: str, dtype: str) -> str:
    """A record's detail with the numbers after 'got' and 'reference' printed as the tables print them (the
    shortest decimal that rounds back in the dtype), so -999999995904.0 reads -1000000000000.0 in float32 in
    both places. The exact decimals in parentheses stay as they are."""
    def sub(m):
        text = fmt(m.group(2), dtype) if m.group(2).lower() in ("inf", "-inf", "nan") else fmt(float(m.group(2)), dtype)
        return f"{m.group(1)} {text}"
    return NUMBER_AFTER.sub(sub, str(detail or ""))


def record_view(record: dict, implementation: dict | None, results_file: str) -> RecordView:
    ref = record.get("reference") or None
    obs = record.get("observed") or None
    ulp = record.get("ulp") or {}
    ratio = record.get("bound_ratio") or {}
    inputs = []
    for name, t in (record.get("inputs") or {}).items():
        data = t.get("data", [])
        inputs.append(InputView(name, t.get("dtype", ""), "×".join(map(str, t.get("shape", []))) or "scalar",
                                [fmt(x, t.get("dtype", "float64")) for x in data[:MAX_INPUT_VALUES]], len(data)))
    request = record.get("derivative_request") or {}  # a mode case: its cotangent and tangents beside the inputs
    extra = ([("cotangent v", request["cotangent"])] if request.get("cotangent") else []) + \
        [(f"tangent t[{k}]", t) for k, t in (request.get("tangents") or {}).items()]
    for name, t in extra:
        data = t.get("data", [])
        inputs.append(InputView(name, t.get("dtype", ""), "×".join(map(str, t.get("shape", []))) or "scalar",
                                [fmt(x, t.get("dtype", "float64")) for x in data[:MAX_INPUT_VALUES]], len(data)))
    conv = convention_refs(record)
    conv_key, conv_ref = conv[0] if conv else (None, {})
    parts = []
    if ref is not None or obs is not None:
        parts.append(_part_view("value", (ref or {}).get("value"), (obs or {}).get("value"), ulp.get("value"),
                                ratio.get("value"), record.get("part"), record["dtype"], conv_ref.get("value"),
                                conv_key))
        grad_names = list(((ref or {}).get("grad") or {}).keys())
        grad_names += [g for g in ((obs or {}).get("grad") or {}) if g not in grad_names]
        for g in grad_names:
            parts.append(_part_view(f"grad:{g}", ((ref or {}).get("grad") or {}).get(g),
                                    ((obs or {}).get("grad") or {}).get(g), (ulp.get("grad") or {}).get(g),
                                    (ratio.get("grad") or {}).get(g), record.get("part"), record["dtype"],
                                    (conv_ref.get("grad") or {}).get(g), conv_key))
        deriv_names = list(((ref or {}).get("derivs") or {}).keys())  # mode cases: vjp:IN, jvp:IN, hvp:IN
        deriv_names += [d for d in ((obs or {}).get("derivs") or {}) if d not in deriv_names]
        for d in deriv_names:
            parts.append(_part_view(d, ((ref or {}).get("derivs") or {}).get(d),
                                    ((obs or {}).get("derivs") or {}).get(d), (ulp.get("derivs") or {}).get(d),
                                    (ratio.get("derivs") or {}).get(d), record.get("part"), record["dtype"],
                                    None, conv_key))
    conventions = []
    if record.get("convention") and implementation:
        keys = {k.strip() for k in str(record["convention"]).replace(",", " ").split()}
        conventions = [c for c in implementation.get("conventions", []) or [] if c.get("key") in keys]
    return RecordView(
        record=record, inputs=inputs, parts=parts,
        params=json.dumps(record.get("params") or {}, sort_keys=True),
        replay=replay_command(record["case_id"], results_file, record["implementation"], record["dtype"]),
        snippet=python_snippet(record),
        exception=record.get("exception"),
        conventions=conventions,
        detail=detail_text(record.get("detail") or "", record["dtype"]),
    )


def worst_metric(section: dict | None) -> float | None:
    """Largest value over 'value' and every gradient of a record's ulp or bound_ratio (inf for inf/nan)."""
    if not section:
        return None
    values = [section.get("value"), *((section.get("grad") or {}).values()),
              *((section.get("derivs") or {}).values())]
    floats = [to_float(v) for v in values if v is not None]
    floats = [float("inf") if f is not None and f != f else f for f in floats if f is not None]
    return max(floats) if floats else None
