"""The static report, built from results.json alone with Jinja2 autoescaping (text from a framework or an input
is never markup) and nothing loaded from the network: index.html (first screen: summaries, worst findings,
filters; the matrix; pictures; known divergences; conventions; environment) with its CSS and a small script
inline and the per-cell data embedded as JSON (tojson), one page per cell under cells/ (opened from the matrix,
so the index stays small and fast), the pictures as PNG files under img/ (loaded lazily)."""
from __future__ import annotations

import datetime as _dt
import os
import re
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from .analysis import anchor, build_matrix, verdict_totals
from .errors import ReportInputError, ReportOutputError
from conformance.results.load import load_results
from .plots import agreement_plots, ulp_distribution_plots
from .mode_parity import MAX_SHOWN as MAX_MODE_ROWS, mode_parity
from .peers import summary as peers_summary
from .summary import (MAX_WORST_FINDINGS, cell_json, derivative_modes, known_entries, known_rows, summary_rows, verdict_classes,
                      worst_findings)
from .verdicts import CONFORMING, FAILING, NOT_APPLICABLE, SEVERITY, STYLE
from .views import record_view

TEMPLATES = Path(__file__).resolve().parent / "templates"
URL = re.compile(r"https?://[^\s<>\"'`)\]]+")


def safe_url(value) -> str:
    """The URL itself when it is http(s), else "" (no javascript:, data: or relative links from data)."""
    text = str(value or "").strip()
    return text if re.fullmatch(r"https?://[^\s<>\"'`]+", text) else ""


def linkify(value) -> Markup:
    """Escape text, turning bare http(s) URLs into links."""
    text = str(value or "")
    out, last = [], 0
    for m in URL.finditer(text):
        out.append(escape(text[last:m.start()]))
        out.append(Markup('<a href="{0}">{0}</a>').format(m.group(0)))
        last = m.end()
    out.append(escape(text[last:]))
    return Markup("").join(out)


def wbr(value) -> Markup:
    """Escape an identifier and allow line breaks after dots and underscores (long implementation ids)."""
    return Markup(re.sub(r"([.(∘\[])", r"\1<wbr>", str(escape(str(value)))))


def version_label(framework, version) -> str:
    """'torch 2.13.0' from ('torch', '2.13.0') or ('torch', 'torch 2.13.0'); the framework alone without one."""
    framework, version = str(framework or ""), str(version or "")
    if not version:
        return framework
    return version if version.startswith(framework) else f"{framework} {version}".strip()


def when(value) -> str:
    """An ISO timestamp as '2026-11-24 06:00:00 UTC' (anything else unchanged)."""
    text = str(value or "")
    try:
        t = _dt.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        return text or "—"
    if t.tzinfo is not None:
        t = t.astimezone(_dt.timezone.utc)
        return t.strftime("%Y-%m-%d %H:%M:%S UTC")
    return t.strftime("%Y-%m-%d %H:%M:%S")


def duration(seconds) -> str:
    if seconds is None:
        return "duration unknown"
    s = float(seconds)
    if s < 60:
        return f"{s:.1f} s"
    m, s = divmod(int(round(s)), 60)
    h, m = divmod(m, 60)
    return f"{h} h {m:02d} min" if h else f"{m} min {s:02d} s"


def pct(value) -> str:
    """A conformance percentage as the report prints it everywhere (one formatter): '87.3%', or 'n/a'."""
    return "n/a" if value is None else f"{float(value):.1f}%"


def plural(n, word: str, many: str | None = None) -> str:
    """'1 case', '2 cases', '1 known divergence', '3 known divergences'."""
    return f"{n:,} {word if n == 1 else (many or word + 's')}"


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(safe_url=safe_url, linkify=linkify, duration=duration, wbr=wbr, when=when, pct=pct,
                       plural=plural)
    env.globals.update(version_label=version_label)
    env.globals.update(styles=STYLE, legend_order=list(SEVERITY) + ["unsupported"])
    return env


def prepare_out_dir(out_dir: str | Path) -> Path:
    out = Path(out_dir)
    try:
        out.mkdir(parents=True, exist_ok=True)
    except FileExistsError:
        raise ReportInputError(f"cannot write to {out}: it exists and is not a directory") from None
    except OSError as e:
        raise ReportInputError(f"cannot create output directory {out}: {e.strerror or e}") from None
    if not out.is_dir():
        raise ReportInputError(f"cannot write to {out}: not a directory")
    return out


def write_text(path: Path, text: str) -> Path:
    """Write atomically: a temporary file beside path, renamed into place (never a 0-byte or torn file, no
    temporary left behind). ReportOutputError on any OSError."""
    return write_file(path, text)


def write_file(path: Path, content: str | bytes) -> Path:
    """write_text for text or bytes (the report's pages and pictures)."""
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    data = content.encode("utf-8") if isinstance(content, str) else content
    try:
        with open(tmp, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except OSError as e:
        try:
            os.unlink(tmp)
        except OSError:
            pass
        raise ReportOutputError(f"cannot write {path}: {e.strerror or e}") from None
    return path


def _versions(results: dict) -> dict:
    versions = dict((results.get("run") or {}).get("frameworks") or {})
    for i in results.get("implementations", []):
        versions.setdefault(i.get("framework"), i.get("version"))
    return versions


def _conformance(records: list[dict]) -> float | None:
    applicable = [r for r in records if r["verdict"] not in NOT_APPLICABLE]
    return 100.0 * sum(r["verdict"] in CONFORMING for r in applicable) / len(applicable) if applicable else None


def cell_href(cell) -> str:
    return f"cells/{cell.anchor}.html"


def render_pages(results: dict, results_file: str = "results.json") -> dict[str, str | bytes]:
    """Every file of the report, by path relative to its directory: index.html (the first screen, the
    matrix, pictures, known divergences, conventions, environment), cells/ANCHOR.html (one drill-down page
    per cell, opened from the matrix), img/*.png (the pictures) and report.css (shared by the cell pages)."""
    records = results["records"]
    matrix = build_matrix(results)
    impls = {i["id"]: i for i in results.get("implementations", [])}
    entries, entries_source = known_entries(results)
    run = results["run"]
    env = environment()
    plots = ulp_distribution_plots(records) + agreement_plots(records)
    files: dict[str, str | bytes] = {f"img/{p.name}.png": p.png for p in plots}
    files["report.css"] = env.get_template("style.css.j2").render(verdict_classes=verdict_classes())
    view = lambda rec: record_view(rec, impls.get(rec["implementation"]), results_file)  # noqa: E731
    common = dict(run=run, results_file=results_file, entries=entries, view=view,
                  generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
                  verdict_classes=verdict_classes())
    cell_template = env.get_template("cell.html.j2")
    for cell in matrix.cells:
        files[cell_href(cell)] = cell_template.render(cell=cell, **common)
    versions = _versions(results)
    spans = [(d, sum(1 for dev, _ in matrix.columns if dev == d)) for d in matrix.devices]
    files["index.html"] = env.get_template("index.html.j2").render(
        sources=run.get("sources") or [],
        records=records,
        implementations=sorted(results.get("implementations", []), key=lambda i: (i.get("op", ""), i["id"])),
        matrix=matrix,
        device_spans=spans,
        href=cell_href,
        totals=verdict_totals(records),
        unexpected_total=sum(1 for r in records if r.get("unexpected")),
        known_total=sum(1 for r in records if r["verdict"] in FAILING and r.get("known_divergence")
                        and not r.get("unexpected")),
        convention_total=sum(1 for r in records if r["verdict"] == "convention"),
        overall_conformance=_conformance(records),
        verdict_labels={v: s[2] for v, s in STYLE.items()},
        by_framework=summary_rows(matrix, "framework", versions),
        by_op=summary_rows(matrix, "op"),
        worst=worst_findings(matrix, entries, cell_href),
        max_worst=MAX_WORST_FINDINGS,
        known_rows=known_rows(results, entries),
        entries_source=entries_source,
        cells_json=[cell_json(c, cell_href(c)) for c in matrix.cells],
        modes=sorted({str(r["mode"]) for r in records if r.get("mode")}),
        backends=sorted({str(r["backend"]) for r in records if r.get("backend")}),
        policies=sorted({str(r["policy"]) for r in records if r.get("policy")}),
        mode_parity=mode_parity(records),
        max_mode_rows=MAX_MODE_ROWS,
        mode_href=lambda d: f"cells/{anchor(d.implementation, d.dtype, d.device)}.html",
        derivative_modes=derivative_modes(records),
        frameworks=sorted({c.framework for c in matrix.cells}),
        ops=[op for op, _ in matrix.ops],
        dtypes=[dt for _, dt in matrix.columns],
        devices=matrix.devices,
        verdicts=[v for v, _ in verdict_totals(records)],
        plots=plots,
        known_divergences=results.get("known_divergences"),
        peers=peers_summary(records),
        warnings=[f"{results_file}: {w}" for w in results.get("load_warnings", [])],
        schema_version=results.get("schema_version"),
        **common,
    )
    return files


def render_report(results: dict, results_file: str = "results.json") -> str:
    """The index page as a string (results already loaded and validated)."""
    return render_pages(results, results_file)["index.html"]


def write_report(results_path_or_dict, out_dir) -> Path:
    """Load (and validate) a run, write OUT_DIR/index.html with cells/, img/ and report.css beside it, and
    return the index's path. Raises ReportInputError."""
    results = load_results(results_path_or_dict)
    results_file = results.get("source_path") or "results.json"
    out = prepare_out_dir(out_dir)
    files = render_pages(results, results_file)
    for sub in ("cells", "img"):
        folder = out / sub
        if folder.is_dir():  # drop pages of cells an earlier report had and this one has not
            for old in folder.iterdir():
                if old.is_file() and old.suffix in (".html", ".png") and f"{sub}/{old.name}" not in files:
                    old.unlink()
        else:
            prepare_out_dir(folder)
    for rel, content in files.items():
        if rel != "index.html":
            write_file(out / rel, content)
    return write_file(out / "index.html", files["index.html"])
