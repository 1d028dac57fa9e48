"""`python -m benchmarks`' end-to-end row (benchmarks/floor_bench.end_to_end): it runs the run's own steps on
one large case -- an accurate record holding two arrays, not three -- and prints its record floor, each step
the sum of what was timed (no timing is asserted)."""
import pytest


@pytest.fixture(scope="module")
def row():
    from benchmarks.floor_bench import end_to_end

    return end_to_end(classes=4096, repeat=1)


def test_the_row_judges_and_records_the_case_as_a_run_does(row):
    sp = row["last_split"]
    assert sp["verdicts"] == {"value": "accurate", "grad:logits": "accurate"}
    assert sp["exact_strings_and_cond_s"] == 0.0  # exact digits on demand: none made for an accurate record
    # the packed inputs and observation (about 4 / 3 of 4 bytes each per element) and no third array
    assert 2 * 4 * 4096 * 4 // 3 < sp["record_bytes"] < 3 * 4 * 4096 * 4 // 3


def test_the_row_prints_the_record_floor(row):
    from benchmarks.run import report_floor

    floor = row["record_floor"]
    steps = ("key_s", "approximations_s", "judge_s", "encode_and_write_s")
    assert all(floor[k] > 0 for k in steps) and floor["total_s"] == pytest.approx(sum(floor[k] for k in steps))
    text = report_floor({"floor": {"throughput": [], "end_to_end": row}})
    assert "the floor of any record of it" in text and "(target 2x)" in text
