"""The comparison page: compare.html, self-contained like the report (autoescaped Jinja2 template)."""
from __future__ import annotations

import datetime as _dt

from .compare import CompareResult
from .html import environment

MAX_ROWS = 2000


def render_compare(result: CompareResult) -> str:
    return environment().get_template("compare.html.j2").render(
        r=result,
        max_rows=MAX_ROWS,
        generated=_dt.datetime.now(_dt.timezone.utc).strftime("%Y-%m-%d %H:%M UTC"),
    )
