"""The report's pictures, drawn with matplotlib's Agg canvas (no pyplot, no display), written as PNG files
beside the report (img/NAME.png).

ULP-error distributions: per dtype and part (the value; the worst gradient element), one row per
implementation (and device) with its full name, grouped under a bold row per op, a histogram of each record's
ULP error over bins of k = ceil(log2(1 + ulp)) (0 | 1 | 2-3 | 4-7 | ... | >= 4096 | inf/nan), drawn as a
heat strip (colour = share of the row's records, with a colour bar; number = count).

Agreement matrix: per op, for each pair of implementations (and devices), over the cases both ran with
identical inputs and params (same case_id and dtype): the share where both outputs are identical element by
element (NaN equal to NaN, same shape) or both raised. Crashed, timed-out and unsupported records are left
out. This is agreement between implementations, not correctness: the reference decides that.
"""
from __future__ import annotations

import base64
import io
import json
import math
from collections import defaultdict
from dataclasses import dataclass
from functools import lru_cache

from .numbers import log2_ulp_bin, same, to_float
from .verdicts import DTYPE_ORDER, OP_ORDER, order_key

MAX_BIN = 13  # k >= 13 (ulp >= 4096) shares one column
BIN_LABELS = ["0", "1"] + [f"{2 ** (k - 1)}–{2 ** k - 1}" for k in range(2, MAX_BIN)] + ["≥4096", "inf/nan"]


@dataclass
class Plot:
    title: str
    caption: str
    png: bytes
    alt: str
    name: str = "plot"

    @property
    def png_base64(self) -> str:
        return base64.b64encode(self.png).decode("ascii")

    @property
    def data_uri(self) -> str:
        return "data:image/png;base64," + self.png_base64

    @property
    def path(self) -> str:
        return f"img/{self.name}.png"


def _figure(width: float, height: float):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(width, height), dpi=100)
    FigureCanvasAgg(fig)
    return fig


def _png(fig) -> bytes:
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=100, bbox_inches="tight", facecolor="white")
    return buf.getvalue()


def _label(impl: str, device: str, many_devices: bool) -> str:
    """The full implementation id (never truncated: `...(from_logits=False)` and `...=True)` must differ)."""
    return f"{impl} [{device}]" if many_devices else impl


def _bin_index(ulp) -> int | None:
    k = log2_ulp_bin(ulp)
    if k is None:
        return None
    if k < 0:
        return MAX_BIN + 1
    return min(k, MAX_BIN)


def _worst_grad(record: dict):
    grads = ((record.get("ulp") or {}).get("grad") or {}).values()
    vals = [to_float(g) for g in grads if to_float(g) is not None]
    if not vals:
        return None
    return math.inf if any(math.isnan(v) for v in vals) else max(vals)


def ulp_histogram_rows(records: list[dict], dtype: str, many_devices: bool):
    """{'value': {label: counts[15]}, 'grad': {...}} for the records of one dtype, ordered by op then
    implementation; and {label: op}."""
    out: dict[str, dict[str, list[int]]] = {"value": {}, "grad": {}}
    ops: dict[str, str] = {}
    key = lambda r: (order_key(OP_ORDER, r["op"]), r["implementation"], r["device"])  # noqa: E731
    for r in sorted(records, key=key):
        if r["dtype"] != dtype:
            continue
        label = _label(r["implementation"], r["device"], many_devices)
        ops[label] = r["op"]
        for part, ulp in (("value", (r.get("ulp") or {}).get("value")), ("grad", _worst_grad(r))):
            b = _bin_index(ulp)
            if b is None:
                continue
            out[part].setdefault(label, [0] * (MAX_BIN + 2))[b] += 1
    return out, ops


def _grouped(rows: dict[str, list[int]], ops: dict[str, str]):
    """Row labels with a header row per op (counts None) and the matching count rows."""
    labels, counts, last = [], [], None
    for label, c in rows.items():
        op = ops.get(label, "")
        if op != last:
            labels.append(op)
            counts.append(None)
            last = op
        labels.append(label)
        counts.append(c)
    return labels, counts


def _heat_panel(fig, ax, labels: list[str], counts: list, title: str):
    import numpy as np

    share = np.full((len(labels), len(BIN_LABELS)), np.nan)
    for i, c in enumerate(counts):
        if c is not None:
            total = max(sum(c), 1)
            share[i] = [x / total for x in c]
    im = ax.imshow(np.ma.masked_invalid(share), cmap=_cmap_with_bad("Blues", "#ffffff"), vmin=0, vmax=1,
                   aspect="auto")
    for i, c in enumerate(counts):
        for j, x in enumerate(c or ()):
            if x:
                ax.text(j, i, f"{int(x)}", ha="center", va="center", fontsize=7,
                        color="white" if share[i, j] > 0.55 else "#1a1a1a")
    ax.set_xticks(range(len(BIN_LABELS)))
    ax.set_xticklabels(BIN_LABELS, rotation=60, ha="right", fontsize=7.5)
    ax.set_yticks(range(len(labels)))
    ax.set_yticklabels(labels, fontsize=8)
    for tick, c in zip(ax.get_yticklabels(), counts):
        if c is None:  # an op's header row
            tick.set_fontweight("bold")
            tick.set_fontsize(9)
    for i, c in enumerate(counts):
        if c is None and i:
            ax.axhline(i - 0.5, color="#444444", linewidth=1.0)
    ax.set_xlabel("ULP error against the correctly rounded reference (bins of ceil(log2(1 + ulp)))", fontsize=8)
    ax.set_title(title, fontsize=10, loc="left")
    ax.set_xticks([x - 0.5 for x in range(1, len(BIN_LABELS))], minor=True)
    ax.set_yticks([y - 0.5 for y in range(1, len(labels))], minor=True)
    ax.grid(which="minor", color="white", linewidth=0.8)
    ax.tick_params(which="minor", length=0)
    bar = fig.colorbar(im, ax=ax, fraction=0.03, pad=0.02)
    bar.set_label("share of the row's records", fontsize=8)
    bar.ax.tick_params(labelsize=7)


def ulp_distribution_plots(records: list[dict]) -> list[Plot]:
    dtypes = sorted({r["dtype"] for r in records}, key=lambda d: order_key(DTYPE_ORDER, d))
    many_devices = len({r["device"] for r in records}) > 1
    plots = []
    for dtype in dtypes:
        rows, ops = ulp_histogram_rows(records, dtype, many_devices)
        for part, words in (("value", "the value"), ("grad", "the worst gradient element")):
            if not rows[part]:
                continue
            labels, counts = _grouped(rows[part], ops)
            fig = _figure(11, 1.5 + 0.24 * len(labels))
            _heat_panel(fig, fig.subplots(), labels, counts, f"{dtype}: ULP error of {words}, per implementation")
            plots.append(Plot(
                title=f"ULP error distribution, {dtype}, {words}",
                caption=(f"{dtype}, {words}: each row is one implementation (grouped by op, bold); cells count "
                         f"its records by ULP error against the correctly rounded reference; colour = share of "
                         f"the row's records (colour bar)."),
                png=_png(fig),
                alt=f"Heat map of ULP error counts of {words} per implementation for {dtype}",
                name=f"ulp-{dtype}-{part}"))
    return plots


def _comparable(record: dict) -> tuple | None:
    """('raised',) or ('value', shape, data) for records that produced something; None otherwise."""
    if record.get("exception") and not record.get("observed"):
        return ("raised",)
    obs = record.get("observed")
    if not obs or not obs.get("value"):
        return None
    v = obs["value"]
    return ("value", tuple(v.get("shape", ())), v.get("data", []))


def _agree(a: tuple, b: tuple) -> bool:
    if a[0] != b[0]:
        return False
    if a[0] == "raised":
        return True
    return a[1] == b[1] and len(a[2]) == len(b[2]) and all(same(x, y) for x, y in zip(a[2], b[2]))


@lru_cache(maxsize=None)
def _op_defaults(op: str) -> tuple:
    """The op's default params (docs/ops.md), from the reference's catalog (none for an op it lacks)."""
    import reference

    spec = reference.OPS.get(op)
    return tuple(sorted(spec.defaults.items(), key=lambda kv: kv[0])) if spec is not None else ()


def _normalized_params(record: dict) -> dict:
    """Params with the op's defaults filled in and a negative class axis made non-negative (axis=-1 and
    axis=1 are the same on 2-D logits), so implementations that spell the same case differently (an explicit
    default, their own fixed axis) still share it."""
    params = {**dict(_op_defaults(record.get("op", ""))), **(record.get("params") or {})}
    axis = params.get("axis")
    floating = [t for t in (record.get("inputs") or {}).values()
                if str(t.get("dtype", "")).startswith(("float", "bfloat"))]
    if isinstance(axis, int) and not isinstance(axis, bool) and axis < 0 and floating:
        params["axis"] = axis + len(floating[0].get("shape", []))
    return params


def agreement_table(records: list[dict]) -> tuple[list[str], list[list[tuple[int, int]]]]:
    """Labels and a matrix of (agreeing, shared) counts for the records of one op."""
    many_devices = len({r["device"] for r in records}) > 1
    by_row: dict[str, dict[tuple, tuple[str, tuple]]] = defaultdict(dict)
    for r in records:
        out = _comparable(r)
        if out is None:
            continue
        label = _label(r["implementation"], r["device"], many_devices)
        ident = json.dumps([r.get("inputs"), _normalized_params(r)], sort_keys=True)
        by_row[label][(r["case_id"], r["dtype"])] = (ident, out)
    labels = sorted(by_row)
    table = []
    for a in labels:
        row = []
        for b in labels:
            shared = agree = 0
            for key, (ident, out) in by_row[a].items():
                other = by_row[b].get(key)
                if other is None or other[0] != ident:
                    continue
                shared += 1
                agree += _agree(out, other[1])
            row.append((agree, shared))
        table.append(row)
    return labels, table


def agreement_plots(records: list[dict]) -> list[Plot]:
    import numpy as np

    by_op: dict[str, list[dict]] = defaultdict(list)
    for r in records:
        by_op[r["op"]].append(r)
    plots = []
    for op in sorted(by_op):
        labels, table = agreement_table(by_op[op])
        n = len(labels)
        if n < 2 or not any(table[i][j][1] for i in range(n) for j in range(n) if i != j):
            continue
        frac = np.full((n, n), np.nan)
        for i in range(n):
            for j in range(n):
                agree, shared = table[i][j]
                if shared:
                    frac[i, j] = agree / shared
        size = 1.6 + 0.62 * n
        fig = _figure(size + 4.2, size)
        ax = fig.subplots()
        cmap = _cmap_with_bad("RdYlGn")
        im = ax.imshow(np.ma.masked_invalid(frac), cmap=cmap, vmin=0, vmax=1)
        for i in range(n):
            for j in range(n):
                agree, shared = table[i][j]
                text = f"{100 * agree / shared:.0f}%\nn={shared}" if shared else "—"
                ax.text(j, i, text, ha="center", va="center", fontsize=7.5, color="#1a1a1a")
        ax.set_xticks(range(n))
        ax.set_xticklabels([f"[{k + 1}]" for k in range(n)], fontsize=8)
        ax.set_yticks(range(n))
        ax.set_yticklabels([f"{label} [{k + 1}]" for k, label in enumerate(labels)], fontsize=8)
        ax.set_title(f"{op}: identical outputs on shared cases", fontsize=10)
        fig.colorbar(im, ax=ax, fraction=0.046, pad=0.04)
        plots.append(Plot(
            title=f"Agreement between implementations of {op}",
            caption=(f"{op}: for each pair, the share of cases both ran (same case id, dtype, inputs and "
                     f"params) where both outputs are identical element by element or both raised; n = shared "
                     f"cases. Agreement is not correctness."),
            png=_png(fig),
            alt=f"Agreement matrix between implementations of {op}",
            name=f"agreement-{op}"))
    return plots


def _cmap_with_bad(name: str, bad: str = "#eeeeee"):
    import matplotlib

    return matplotlib.colormaps[name].with_extremes(bad=bad)
