"""The static report: one self-contained index.html (CSS, script and PNG pictures inline; no network), built
from results.json alone with Jinja2 autoescaping, so text from a framework or an input is never markup."""
from __future__ import annotations

import datetime as _dt
import os
import re
from functools import lru_cache
from pathlib import Path

from markupsafe import Markup, escape

from .analysis import build_matrix, verdict_totals
from .errors import ReportInputError, ReportOutputError
from .load import load_results
from .plots import agreement_plots, ulp_distribution_plots
from .verdicts import FAILING, SEVERITY, STYLE
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


@lru_cache(maxsize=1)
def environment():
    from jinja2 import Environment, FileSystemLoader

    env = Environment(loader=FileSystemLoader(str(TEMPLATES)), autoescape=True, trim_blocks=True,
                      lstrip_blocks=True)
    env.filters.update(safe_url=safe_url, linkify=linkify, duration=duration, wbr=wbr, when=when)
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
    path = Path(path)
    tmp = path.with_name(f".{path.name}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            f.write(text)
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


def render_report(results: dict, results_file: str = "results.json") -> str:
    """The report page as a string (results already loaded and validated)."""
    records = results["records"]
    matrix = build_matrix(results)
    impls = {i["id"]: i for i in results.get("implementations", [])}
    plots = ulp_distribution_plots(records) + agreement_plots(records)
    run = results["run"]
    spans = [(d, sum(1 for dev, _ in matrix.columns if dev == d)) for d in matrix.devices]
    return environment().get_template("index.html.j2").render(
        run=run,
        sources=run.get("sources") or [],
        records=records,
        implementations=sorted(results.get("implementations", []), key=lambda i: (i.get("op", ""), i["id"])),
        matrix=matrix,
        device_spans=spans,
        totals=verdict_totals(records),
        unexpected_total=sum(1 for r in records if r.get("unexpected")),
        known_total=sum(1 for r in records if r["verdict"] in FAILING and r.get("known_divergence")
                        and not r.get("unexpected")),
        known_divergences=results.get("known_divergences"),
        plots=plots,
        view=lambda rec: record_view(rec, impls.get(rec["implementation"]), results_file),
        warnings=[f"{results_file}: {w}" for w in results.get("load_warnings", [])],
        results_file=results_file,
        schema_version=results.get("schema_version"),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )


def write_report(results_path_or_dict, out_dir) -> Path:
    """Load (and validate) a run, write OUT_DIR/index.html, return its path. Raises ReportInputError."""
    results = load_results(results_path_or_dict)
    results_file = results.get("source_path") or "results.json"
    out = prepare_out_dir(out_dir)
    return write_text(out / "index.html", render_report(results, results_file))
