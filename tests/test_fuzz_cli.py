"""No command prints a traceback on any input: Hypothesis feeds JSON documents (random ones, case-shaped ones,
and valid results files with one part replaced) to `python -m reference eval` and to conformance's report,
compare, merge and replay (their main() functions, in process). Every answer is an exit status of 0, 1, 2 or
3 and, for 2 and 3, exactly one line on stderr. CE_FUZZ_EXAMPLES=N runs N examples per test (default 60)."""
import contextlib
import copy
import io
import json
import os
import tempfile
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import reference
from conformance import cli as conformance_cli
from reference import cli as reference_cli
from tests.doc_helpers import json_paths

SETTINGS = settings(max_examples=int(os.environ.get("CE_FUZZ_EXAMPLES", "60")), deadline=None, database=None,
                    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large])

scalars = (st.none() | st.booleans() | st.integers(-(1 << 70), 1 << 70) | st.floats(allow_nan=False)
           | st.text(max_size=12) | st.sampled_from(["inf", "-inf", "nan", "float32", "custom:numpy", ""]))
json_values = st.recursive(scalars, lambda kids: st.lists(kids, max_size=4)
                           | st.dictionaries(st.text(max_size=8), kids, max_size=4), max_leaves=20)
number_text = st.builds(lambda m, e: f"{m}e{e}", st.integers(-10 ** 6, 10 ** 6), st.integers(-10 ** 9, 10 ** 9)) \
    | st.builds(str, st.integers(-(10 ** 30), 10 ** 30)) | st.sampled_from(["0e99999999", "1e-99999", "-0.0"])
nested_numbers = st.recursive(number_text | st.sampled_from(['"inf"', '"nan"', "true", "null", '"x"']),
                              lambda kids: st.lists(kids, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]"),
                              max_leaves=12)
INPUT_NAMES = sorted({i.name for op in reference.OPS.values() for i in op.inputs})
PARAM_NAMES = sorted({p for op in reference.OPS.values() for p in op.defaults})
case_text = st.builds(
    lambda op, dtype, inputs, params: '{"op": %s, "dtype": %s, "inputs": {%s}, "params": %s}' % (
        json.dumps(op), json.dumps(dtype), ", ".join(f"{json.dumps(k)}: {v}" for k, v in inputs), json.dumps(params)),
    st.sampled_from(sorted(reference.OPS)) | st.text(max_size=5),
    st.sampled_from(["float64", "float32", "float16", "bfloat16"]) | st.text(max_size=5),
    st.lists(st.tuples(st.sampled_from(INPUT_NAMES), nested_numbers), max_size=3),
    st.dictionaries(st.sampled_from(PARAM_NAMES), json_values, max_size=3))
deep = st.integers(1, 3000).map(lambda n: '{"op": "softmax", "dtype": "float32", "inputs": {"x": ' + "[" * n
                                + "1" + "]" * n + "}}")


def call(main, argv) -> tuple[int, str]:
    err = io.StringIO()
    with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(err):
        code = main(argv)
    return code, err.getvalue()


def check(code, err) -> None:
    assert code in (0, 1, 2, 3), (code, err)
    assert "Traceback" not in err, err
    if code in (2, 3):
        assert len(err.strip().splitlines()) == 1, err


@SETTINGS
@given(st.one_of(json_values.map(json.dumps), case_text, deep, st.text(max_size=40)))
def test_reference_eval_never_prints_a_traceback(text):
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "case.json"
        path.write_text(text)
        check(*call(reference_cli.main, ["eval", "--case", str(path)]))


def _base() -> dict:
    tensor = {"dtype": "float32", "shape": [1, 2], "data": [0.5, -1.0]}
    ref = {"dtype": "float32", "shape": [1, 2], "exact": ["0.8175744761936437", "0.1824255238063563"],
           "rounded": [0.8175745, 0.18242553]}
    record = {"cell": "custom:tests.fault_impls:softmax|float32|cpu", "implementation": "custom:tests.fault_impls:softmax",
              "framework": "custom:numpy", "framework_version": None, "op": "softmax", "dtype": "float32",
              "device": "cpu", "case_id": "c1", "source": "catalog", "params": {"axis": -1}, "inputs": {"x": tensor},
              "reference": {"certified": True, "value": ref, "grad": {}},
              "observed": {"value": {"dtype": "float32", "shape": [1, 2], "data": [0.8175745, 0.18242553]},
                           "grad": {}}, "exception": None, "ulp": {"value": 0, "grad": {}},
              "bound_ratio": {"value": 0.0, "grad": {}}, "verdict": "accurate", "part": None, "detail": "",
              "convention": None, "known_divergence": None, "unexpected": False, "minimal": False, "seed": None,
              "elapsed_s": 0.0}
    return {"schema_version": 1,
            "run": {"started": "2026-01-01T00:00:00+00:00", "profile": "quick", "seed": 0, "python": "3.11",
                    "platform": "x", "frameworks": {}},
            "implementations": [{"id": record["implementation"], "framework": "custom:numpy", "op": "softmax"}],
            "records": [record], "summary": {"total": 1, "by_verdict": {"accurate": 1}, "unexpected": 0}}


BASE = _base()


PATHS = list(json_paths(BASE))[1:]


@st.composite
def results_text(draw):
    """A valid results file with one part replaced (or removed), or random JSON, as .json or .jsonl."""
    kind = draw(st.sampled_from(["mutated", "mutated", "random", "jsonl"]))
    if kind == "random":
        return draw(json_values.map(json.dumps)), ".json"
    doc = copy.deepcopy(BASE)
    path = draw(st.sampled_from(PATHS))
    parent = doc
    for k in path[:-1]:
        parent = parent[k]
    if draw(st.booleans()) and isinstance(parent, dict):
        del parent[path[-1]]
    else:
        parent[path[-1]] = draw(json_values)
    if kind == "jsonl":
        header = {"kind": "header", "schema_version": doc.get("schema_version"), **(doc.get("run") or {})} \
            if isinstance(doc.get("run"), dict) else draw(json_values)
        records = doc.get("records") if isinstance(doc.get("records"), list) else [doc.get("records")]
        lines = [json.dumps(header)] + [json.dumps(r) for r in records]
        lines += draw(st.lists(json_values.map(json.dumps), max_size=2))
        return "\n".join(lines) + draw(st.sampled_from(["", "\n", '\n{"kind": "rec'])), ".jsonl"
    return json.dumps(doc), ".json"


@SETTINGS
@given(results_text(), st.sampled_from(["report", "compare", "merge", "replay"]))
def test_results_commands_never_print_a_traceback(doc, command):
    text, suffix = doc
    with tempfile.TemporaryDirectory() as d:
        path, base = Path(d) / f"results{suffix}", Path(d) / "base.json"
        path.write_text(text)
        base.write_text(json.dumps(BASE))
        argv = {"report": ["report", str(path), "--out", str(Path(d) / "r")],
                "compare": ["compare", str(base), str(path)],
                "merge": ["merge", str(base), str(path), "--out", str(Path(d) / "m.json")],
                "replay": ["replay", "c1", "--results", str(path)]}[command]
        check(*call(conformance_cli.main, argv))
