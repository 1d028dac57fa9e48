"""The compiled schema check agrees with jsonschema: on the fixtures, and on every single-value mutation
of a record (each leaf and container replaced by values of other types), of the run header and of an
implementation."""
from __future__ import annotations

import copy
import json

import jsonschema
import pytest

from conformance.results.fastcheck import Unsupported, compile_schema
from conformance.results.load import SCHEMA_PATH
from report_fixtures import build_results
from tests.doc_helpers import json_paths

SCHEMA = json.loads(SCHEMA_PATH.read_text())
VALIDATOR = jsonschema.Draft202012Validator(SCHEMA)
FAST = compile_schema(SCHEMA)
REPLACEMENTS = [None, "x", "nan", "-inf", -1, 0, 1.5, 2.0, True, [], {}, ["nan"], [1, "inf"], {"a": 1}]


def _get(doc, path):
    for p in path:
        doc = doc[p]
    return doc


@pytest.mark.parametrize("variant", ["base", "new", "gpu"])
def test_fast_check_accepts_the_fixtures(variant):
    assert FAST(build_results(variant))


@pytest.mark.parametrize("root", [("records", 0), ("records", 1), ("run",), ("implementations", 2)],
                         ids=["record-with-grads", "record-without-output", "run", "implementation"])
def test_fast_check_agrees_with_jsonschema_on_mutations(root):
    full = build_results()
    graded = next(r for r in full["records"] if r["observed"] and r["observed"]["grad"])
    raised = next(r for r in full["records"] if r["exception"] and r["observed"] is None)
    small = dict(full, records=[graded, raised])
    checked = 0
    for path in json_paths(_get(small, root), list_items=2):  # lists: their first two items
        if not path:
            continue
        for value in REPLACEMENTS:
            doc = copy.deepcopy(small)
            _get(doc, root + path[:-1])[path[-1]] = value
            checked += 1
            assert FAST(doc) == VALIDATOR.is_valid(doc), f"disagree at {root + path} = {value!r}"
    assert checked > 100


def test_unknown_keywords_are_refused():
    with pytest.raises(Unsupported):
        compile_schema({"type": "string", "pattern": "^a"})
