"""Loading results: schema validation of the fixtures, results.jsonl, and every kind of bad input."""
from __future__ import annotations

import json

import jsonschema
import pytest

from conformance.report import ReportInputError, load_results
from conformance.results.load import SCHEMA_PATH
from report_fixtures import MARKUP, build_results, to_jsonl


@pytest.mark.parametrize("variant", ["base", "new", "gpu"])
def test_fixtures_are_valid_against_the_schema(variant):
    schema = json.loads(SCHEMA_PATH.read_text())
    jsonschema.Draft202012Validator(schema).validate(build_results(variant))


def test_fixture_has_what_the_report_tests_rely_on():
    res = build_results()
    verdicts = {r["verdict"] for r in res["records"]}
    assert {"accurate", "stable", "convention", "inaccurate", "special_value_mismatch", "error_behaviour_mismatch",
            "unsupported", "crashed", "timeout", "uncertified"} <= verdicts
    assert any(r["minimal"] and r["verdict"] == "inaccurate" for r in res["records"])
    assert any(MARKUP in (r.get("exception") or {}).get("message", "") for r in res["records"])
    numbers = json.dumps(res)
    assert '"inf"' in numbers and '"nan"' in numbers and "NaN" not in numbers and "Infinity" not in numbers


def test_jsonl_loads_the_same_records_as_json(results_files):
    a, b = load_results(results_files["base"]), load_results(results_files["jsonl"])
    assert [r["case_id"] for r in a["records"]] == [r["case_id"] for r in b["records"]]
    assert b["summary"] == a["summary"]
    assert [i["id"] for i in b["implementations"]] == [i["id"] for i in a["implementations"]]


def test_directory_resolves_to_its_results_file(tmp_path):
    (tmp_path / "results.json").write_text(json.dumps(build_results()))
    assert load_results(tmp_path)["source_path"].endswith("results.json")


def test_jsonl_incomplete_last_line_is_dropped_with_a_warning(tmp_path):
    text = to_jsonl(build_results())
    p = tmp_path / "results.jsonl"
    p.write_text(text[: len(text) - 40])  # a killed run: the last record is cut
    data = load_results(p)
    assert len(data["records"]) == len(build_results()["records"]) - 1
    assert any("incomplete" in w for w in data["load_warnings"])


def test_jsonl_broken_line_in_the_middle_is_an_error(tmp_path):
    lines = to_jsonl(build_results()).splitlines()
    lines[3] = lines[3][:20]
    p = tmp_path / "results.jsonl"
    p.write_text("\n".join(lines))
    with pytest.raises(ReportInputError, match="line 4 is not valid JSON"):
        load_results(p)


def test_jsonl_without_header_is_an_error(tmp_path):
    p = tmp_path / "results.jsonl"
    p.write_text(json.dumps(build_results()["records"][0]) + "\n")
    with pytest.raises(ReportInputError, match="header"):
        load_results(p)


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


@pytest.mark.parametrize("make, message", [
    (lambda t: t / "missing.json", "no such file"),
    (lambda t: _write(t, "trunc.json", json.dumps(build_results())[:900]), "truncated JSON"),
    (lambda t: _write(t, "empty.json", ""), "empty file"),
    (lambda t: _write(t, "list.json", "[1, 2]"), "expected a JSON object"),
    (lambda t: _write(t, "v2.json", json.dumps(dict(build_results(), schema_version=2))),
     "incompatible results schema_version 2"),
    (lambda t: _write(t, "nover.json", json.dumps({k: v for k, v in build_results().items()
                                                   if k != "schema_version"})),
     "schema_version missing"),
    (lambda t: _write(t, "badverdict.json", json.dumps(
        dict(build_results(), records=[dict(build_results()["records"][0], verdict="great")]))),
     r"\$\.records\[0\]\.verdict"),
    (lambda t: _write(t, "norecords.json", json.dumps({k: v for k, v in build_results().items()
                                                       if k != "records"})),
     "'records' is a required property"),
])
def test_bad_input_raises_one_clear_line(tmp_path, make, message):
    with pytest.raises(ReportInputError, match=message) as err:
        load_results(make(tmp_path))
    assert "\n" not in str(err.value)
