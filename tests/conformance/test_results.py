"""Streaming results: flushed per cell, a torn last line survives, resume continues, bad files are clear."""
import json

import numpy as np
import pytest

from conformance.report import ReportInputError, load_results
from conformance.results.stream import ResultsError, ResultsWriter, read_jsonl, tensor_from_json, tensor_json


def rec(cell, verdict="accurate"):
    return {"cell": cell, "verdict": verdict, "unexpected": verdict == "inaccurate"}


HEADER = {"schema_version": 1, "started": "now", "profile": "quick", "seed": 0, "python": "3", "platform": "p",
          "frameworks": {}}


def test_records_are_on_disk_after_each_cell(tmp_path):
    w = ResultsWriter(tmp_path, HEADER)
    w.write_cell([rec("a|float32|cpu"), rec("a|float32|cpu")])
    header, records = read_jsonl(tmp_path / "results.jsonl")
    assert header["profile"] == "quick" and len(records) == 2


def test_torn_last_line_is_dropped_and_resume_skips_done_cells(tmp_path):
    w = ResultsWriter(tmp_path, HEADER)
    w.write_cell([rec("a|float32|cpu")])
    with open(tmp_path / "results.jsonl", "a") as f:
        f.write('{"kind": "record", "cell": "b|flo')  # killed mid-write
    resumed = ResultsWriter(tmp_path, HEADER, resume=True)
    assert resumed.done_cells == {"a|float32|cpu"}
    resumed.write_cell([rec("b|float32|cpu", "inaccurate")])
    _, records = read_jsonl(tmp_path / "results.jsonl")
    assert [r["cell"] for r in records] == ["a|float32|cpu", "b|float32|cpu"]


def test_a_stream_of_another_schema_version_is_refused(tmp_path):
    (tmp_path / "results.jsonl").write_text(json.dumps({"kind": "header", "schema_version": 99}) + "\n")
    with pytest.raises(ResultsError, match="schema version 99"):
        read_jsonl(tmp_path / "results.jsonl")
    with pytest.raises(ReportInputError):
        load_results(tmp_path / "results.jsonl")


def test_tensors_round_trip_exactly_with_non_finite_values():
    import ml_dtypes

    for a in [np.asarray([[1.5, np.inf], [-np.inf, np.nan]], np.float32),
              np.asarray([0.1, 5e-324], np.float64), np.asarray([3, -100], np.int64),
              np.asarray([1.0078125], ml_dtypes.bfloat16), np.zeros((0, 3), np.float16)]:
        t = json.loads(json.dumps(tensor_json(a)))
        b = tensor_from_json(t)
        assert b.dtype == a.dtype and b.shape == a.shape
        np.testing.assert_array_equal(b.astype(np.float64), a.astype(np.float64))


def test_flat_parts_reads_every_part_of_a_record_section():
    """One reader of a record's per-part sections: value, gradients and derivative-mode parts, None left out
    unless asked for (compare, peers and the known-divergence predicates all read parts through it)."""
    from conformance.results.parts import flat_parts

    section = {"value": 3, "grad": {"logits": 1.5, "target": None}, "derivs": {"vjp:logits": 2, "hvp:logits": None}}
    assert flat_parts(section) == {"value": 3, "grad:logits": 1.5, "vjp:logits": 2}
    assert flat_parts(section, skip_none=False) == {"value": 3, "grad:logits": 1.5, "grad:target": None,
                                                    "vjp:logits": 2, "hvp:logits": None}
    assert flat_parts(None) == {} and flat_parts({"value": None}, skip_none=False) == {"value": None}


def test_exact_strings_kept_for_shown_elements_beyond_a_smaller_reference():
    """The shown elements count the observed ones too, which may be more than the reference's (a wrong output
    shape): keeping exact strings must not index past the reference (it was an internal error that lost
    the cell's records)."""
    from conformance.results.stream import exact_kept

    assert exact_kept(["1.5", "0"], [0, 1, 2, 5]) == ["1.5", "0"]


def test_an_internal_error_says_where_in_the_suite_it_raised():
    """A defect of the suite is reported with its innermost frame (path:line), so a user can file it."""
    from conformance.execute.run import _where
    from conformance.results.stream import exact_kept

    try:
        exact_kept(["1"], [0], rounded=object())  # not an array of numbers: raises inside the results stage
    except Exception as exc:  # noqa: BLE001 -- any defect
        where = _where(exc)
    else:
        raise AssertionError("expected a failure")
    assert where.startswith("at conformance/results/stream.py:") and where.endswith("in exact_kept")
