"""A release timeline of findings: the same corpus run over several releases of one framework, oldest first.

    python -m conformance timeline RUN1 RUN2 ... --framework jax --out docs/timeline-jax.md
    python -m conformance timeline RUN1 RUN2 ... --framework jax --out reports/timeline/jax/index.html

A finding is one failing part (value, grad:NAME) of one case -- matched across runs by content (implementation,
dtype, device, params, exact input bits; conformance.cases.corpus.record_key) -- with a failing verdict. For each
finding the timeline records the releases in which it fails, and from that the first release that shows it
and the first later release that no longer does (the case ran and that part passed). A case that did not run
in a release (an implementation the release lacks) leaves that release blank. Findings with the same
implementation, part and presence pattern are one row, with their dtypes, verdicts, case count and one
example case; this is what an engineer bisecting a numerical regression wants: "appeared in X, gone in Y".
"""
from __future__ import annotations

from collections import defaultdict

from conformance.cases.corpus import record_key
from conformance.judge.severity import FAILING

from .errors import ReportInputError
from conformance.results.load import load_results


def _release(run: dict, framework: str | None) -> str:
    frameworks = run.get("frameworks") or {}
    if framework:
        return frameworks.get(framework) or f"{framework} (not run)"
    return "; ".join(str(v) for v in frameworks.values() if v) or "?"


def _case_key(r: dict) -> tuple:
    content = record_key(r) if r.get("inputs") else r["case_id"]
    return (r["implementation"], r["dtype"], r["device"], content)


def findings(runs: list[dict]) -> tuple[dict, dict]:
    """(finding -> {run index: record}, case -> set of run indexes where the case ran).
    A finding is (implementation, dtype, device, content, part)."""
    found: dict[tuple, dict[int, dict]] = defaultdict(dict)
    ran: dict[tuple, set[int]] = defaultdict(set)
    for i, doc in enumerate(runs):
        for r in doc["records"]:
            case = _case_key(r)
            ran[case].add(i)
            if r["verdict"] in FAILING:
                found[case + (r.get("part") or "value",)][i] = r
    return found, ran


def timeline_rows(runs: list[dict]) -> list[dict]:
    found, ran = findings(runs)
    n = len(runs)
    groups: dict[tuple, dict] = {}
    for key, by_run in found.items():
        case, part = key[:4], key[4]
        pattern = tuple("x" if i in by_run else ("." if i in ran[case] else " ") for i in range(n))
        group = groups.setdefault((case[0], part, pattern), {
            "implementation": case[0], "part": part, "pattern": pattern, "dtypes": set(), "verdicts": set(),
            "cases": 0, "example": None, "known": set()})
        group["cases"] += 1
        group["dtypes"].add(case[1])
        for r in by_run.values():
            group["verdicts"].add(r["verdict"])
            if r.get("known_divergence"):
                group["known"].add(r["known_divergence"])
        latest = by_run[max(by_run)]
        if group["example"] is None or len(latest["case_id"]) < len(group["example"]):
            group["example"] = latest["case_id"]
    rows = []
    for g in groups.values():
        present = [i for i, p in enumerate(g["pattern"]) if p == "x"]
        first = present[0]
        gone = next((i for i in range(first + 1, n) if g["pattern"][i] == "."), None)
        back = gone is not None and any(g["pattern"][i] == "x" for i in range(gone + 1, n))
        rows.append({**g, "first": first, "gone": gone, "reappears": back})
    rows.sort(key=lambda g: (g["first"], -1 if g["gone"] is None else g["gone"], g["implementation"], g["part"]))
    return rows


def _cell(text) -> str:
    return " ".join(str(text).split()).replace("|", "\\|")


def table(runs: list[dict], names: list[str], framework: str | None) -> dict:
    """What both formats show: the releases, and the rows grouped into findings that change between releases
    and findings that never change, each row with its releases spelled out."""
    releases = [_release(doc["run"], framework) for doc in runs]
    rows = timeline_rows(runs)
    for r in rows:
        r["first_label"] = releases[r["first"]] if r["first"] > 0 else f"{releases[0]} (or earlier)"
        r["gone_label"] = (releases[r["gone"]] + (" (reappears later)" if r["reappears"] else "")
                           if r["gone"] is not None else "still present")
        r["presence"] = "".join(r["pattern"]).replace(" ", "_")
    changed = [r for r in rows if r["first"] > 0 or r["gone"] is not None]
    steady = [r for r in rows if r not in changed]
    return {"framework": framework, "releases": list(zip(releases, names)), "groups": [
        ("Findings that appear or disappear between releases", changed),
        ("Findings that never change (failing in every release where the case ran)", steady)]}


def to_markdown(runs: list[dict], names: list[str], framework: str | None) -> str:
    t = table(runs, names, framework)
    lines = [f"# Release timeline of findings{f' ({framework})' if framework else ''}", "",
             "Generated by `python -m conformance timeline` from the same regression corpus replayed on each "
             "release (conformance/report/timeline.py says how findings are matched).", "",
             "| # | release | results |", "|---:|---|---|"]
    lines += [f"| {i + 1} | {_cell(rel)} | `{_cell(name)}` |" for i, (rel, name) in enumerate(t["releases"])]
    lines += ["", "Presence: one character per release, oldest first: `x` fails, `.` ran and passed, `_`: "
              "did not run.", ""]
    for title, group in t["groups"]:
        lines += [f"## {title} ({len(group)} rows, {sum(r['cases'] for r in group)} failing case parts)", ""]
        if not group:
            lines += ["None.", ""]
            continue
        lines += ["| implementation | part | verdicts | dtypes | cases | first shows it | first without it | "
                  "presence | known divergence | example case |", "|---|---|---|---|---:|---|---|---|---|---|"]
        for r in group:
            lines.append("| " + " | ".join(_cell(v) for v in (
                r["implementation"], r["part"], ", ".join(sorted(r["verdicts"])), ", ".join(sorted(r["dtypes"])),
                r["cases"], r["first_label"], r["gone_label"], "`" + r["presence"] + "`",
                ", ".join(sorted(r["known"])) or "—", r["example"])) + " |")
        lines.append("")
    return "\n".join(lines)


def to_html(runs: list[dict], names: list[str], framework: str | None) -> str:
    """The same table as a page in the report's style (autoescaped Jinja2; offline, no script)."""
    import datetime as _dt

    from .html import environment

    return environment().get_template("timeline.html.j2").render(
        t=table(runs, names, framework),
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"))


def write_timeline(paths: list, out, framework: str | None = None) -> str:
    """The timeline as markdown (returned); written to `out` as HTML when its name ends in .html, else markdown."""
    if len(paths) < 2:
        raise ReportInputError("timeline needs at least two runs, oldest first")
    runs = [load_results(p) for p in paths]
    names = [str(p) for p in paths]
    text = to_markdown(runs, names, framework)
    if out is not None:
        from .html import write_text

        write_text(out, to_html(runs, names, framework) if str(out).endswith(".html") else text)
    return text
