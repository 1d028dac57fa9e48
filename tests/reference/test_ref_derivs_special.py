"""docs/special-values.md, "Derivative parts per op family": every row of the table, evaluated. The table is
data: each row's inputs, params and derivative request are what `python -m reference eval` reads, and each
part's limit column (a value ending in "…" is a prefix of the exact decimal) and IEEE column ("=" where the
kind is the same) must be what the reference gives, in float64 and float32."""
from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest

import reference

DOC = Path(__file__).resolve().parents[2] / "docs" / "special-values.md"


def rows():
    text = DOC.read_text(encoding="utf-8")
    body = text.split("<!-- derivative-special-values:begin -->")[1].split("<!-- derivative-special-values:end -->")[0]
    out = []
    for line in body.strip().splitlines()[2:]:
        cells = [c.strip() for c in line.strip().strip("|").split(" | ")]
        op, inputs, params, request, parts = cells
        out.append((op, json.loads(inputs.strip("`")), json.loads(params.strip("`")), json.loads(request.strip("`")),
                    parts))
    return out


def parse_parts(cell: str) -> dict:
    """{part: (limit list, ieee list or None)} from 'vjp:x = 0, 1 [nan, =]; jvp:x = ...'."""
    out = {}
    for item in cell.split("; "):
        name, rest = item.split(" = ", 1)
        ieee = None
        if rest.endswith("]"):
            rest, bracket = rest[:-1].split(" [")
            ieee = bracket.split(", ")
        out[name] = (rest.split(", "), ieee)
    return out


def _kind(x: float) -> str:
    return "nan" if math.isnan(x) else ("inf" if x == math.inf else ("-inf" if x == -math.inf else "fin"))


ROWS = rows()


def test_the_table_covers_every_op_family_and_mode():
    ops = {r[0] for r in ROWS}
    assert {"softmax", "log_softmax", "sigmoid", "log_sigmoid", "cross_entropy", "nll_loss", "binary_cross_entropy",
            "binary_cross_entropy_with_logits", "kl_div", "xlogy", "entropy", "cross_entropy_dist", "kl_divergence",
            "sigmoid_focal_loss", "softmax_focal_loss", "generalized_cross_entropy"} <= ops
    parts = {p.split(":")[0] for r in ROWS for p in parse_parts(r[4])}
    assert parts == {"vjp", "jvp", "hvp"}
    assert any("vjp:weight" in r[4] for r in ROWS) and any("vjp:pos_weight" in r[4] for r in ROWS)


@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("op,inputs,params,modes,parts", ROWS, ids=[f"{r[0]}-{i}" for i, r in enumerate(ROWS)])
def test_row(op, inputs, params, modes, parts, dtype):
    r = reference.evaluate(op, dtype, inputs, params, **modes)
    for name, (limit, ieee) in parse_parts(parts).items():
        got = [str(s) for s in np.ravel(r.derivs[name].exact)]
        assert len(got) == len(limit), (name, got)
        for g, want in zip(got, limit):
            assert g.startswith(want[:-1]) if want.endswith("…") else g == want, (name, got, limit)
        arr = r.derivs[name].ieee
        if ieee is None:
            assert arr is None or [_kind(a) for a in np.ravel(arr)] == [_kind(float(s)) for s in got], (name, arr)
        else:
            assert arr is not None, name
            for a, g, want in zip(np.ravel(arr), got, ieee):
                assert _kind(float(a)) == (_kind(float(g)) if want == "=" else _kind(float(want))), (name, arr, ieee)
        assert r.derivs[name].certified.all()
