"""`python -m benchmarks` splits a run's time per execution mode (benchmarks/ci_bench.mode_split)."""
from benchmarks.ci_bench import mode_split


def test_cells_are_summed_per_mode_and_an_old_cell_is_the_default():
    cells = {
        "a|float32|cpu": {"mode": "eager", "wall_s": 2.0, "calls": 3, "call_s": 1.0, "compiles": {}},
        "a|float32|cpu|compile": {"mode": "compile", "wall_s": 50.0, "calls": 3, "call_s": 49.0,
                                  "compiles": {"torch_compiles": 2}},
        "b|float32|cpu|compile": {"mode": "compile", "wall_s": 10.0, "calls": 1, "call_s": 9.0,
                                  "compiles": {"torch_compiles": 1}},
        "c|float32|cpu": {"wall_s": 1.0, "calls": 1, "call_s": 0.5},
    }
    split = mode_split(cells)
    assert split["compile"] == {"cells": 2, "wall_s": 60.0, "calls": 4, "call_s": 58.0, "compiles": 3}
    assert split["eager"]["cells"] == 1 and split["default"]["wall_s"] == 1.0


def test_a_narrowed_ci_benchmark_passes_its_frameworks_and_dtypes_to_the_run():
    from benchmarks.ci_bench import ci_args

    assert ci_args() == []
    assert ci_args(["jax"], ["float32"]) == ["--frameworks", "jax", "--dtypes", "float32"]
    assert ci_args(None, ["float32", "float64"]) == ["--dtypes", "float32", "float64"]


def test_the_split_names_the_largest_cell():
    from benchmarks.run import report_split

    split = {"wall_s": 100.0, "framework calls": 60.0, "shrinking (all its work)": 20.0}
    doc = {"ci": {"cold": {"split": split, "largest_cell": {"cell": "a|float32|cpu|compile", "wall_s": 81.0,
                                                            "share": 0.81}}}}
    text = report_split(doc)
    assert "shrinking (all its work)" in text
    assert "largest cell: a|float32|cpu|compile, 81.0 s (81.0% of the run; target <= 10%)" in text


def _cells(n_lanes_worth: float):
    """Two cells of 60 s each: one shrinking 30 s of it, one with 9 s of reference (6 s exact strings)."""
    common = {"calls": 10, "records": 5, "compiles": {}}
    return {"a|float32|cpu": {"implementation": "a", "wall_s": 60.0, "call_s": 20.0, "reference_s": 0.0,
                              "shrink_s": 30.0, "io_s": 1.0, **common},
            "b|float32|cpu": {"implementation": "b", "wall_s": 60.0, "call_s": 30.0, "reference_s": 9.0,
                              "shrink_s": 0.0, "io_s": 1.0, "compile_s": 10.0, **common}}


def test_with_two_lanes_shares_are_of_the_cells_time_and_the_largest_cell_of_the_wall_time():
    from benchmarks.ci_bench import summarise

    doc = {"run": {"duration_s": 65.0, "jobs": 2, "reference_cache": {"exact_seconds": 6.0},
                   "timing": {"cells": _cells(2)}},
           "implementations": [], "summary": {"total": 10, "unexpected": 0}}
    s = summarise(doc)
    split, t = s["split"], s["targets"]
    assert split["cell_s"] == 120.0 and split["jobs"] == 2
    assert split["outside cells"] == 5.0  # 65 s of wall, 120 cell-seconds on 2 lanes
    parts = ("framework calls", "jax compiles", "reference", "exact strings + cond", "judging + Hypothesis",
             "writing records")
    assert abs(sum(split[k] for k in parts) - split["cell_s"]) < 1e-9  # the parts add up to the cells' time
    assert t["shrinking_share"] == 0.25 and t["reference_share"] == 9.0 / 120.0
    assert t["largest_cell_share"] == 60.0 / 65.0 and t["jobs"] == 2


def test_the_report_prints_every_target_for_cold_and_warm():
    from benchmarks.ci_bench import summarise
    from benchmarks.run import report_split

    doc = {"run": {"duration_s": 65.0, "jobs": 2, "reference_cache": {"exact_seconds": 6.0},
                   "timing": {"cells": _cells(2)}},
           "implementations": [], "summary": {"total": 10, "unexpected": 0}}
    text = report_split({"ci": {"cold": summarise(doc), "warm": summarise(doc)}})
    assert "cold: wall 65.0 s on 2 lane(s) (target <= 600 s); shrinking 25.0% of the cells' time" in text
    assert "reference 7.5% of the cells' time (target < 10% warm)" in text
    assert "warm largest cell: a|float32|cpu, 60.0 s (92.3% of the run; target <= 10%)" in text


def test_a_run_that_skips_a_section_keeps_it_from_the_file_it_replaces(tmp_path):
    import json

    from benchmarks.run import carry_over, report_machine

    path = tmp_path / "latest.json"
    path.write_text(json.dumps({"measured": "2026-01-01", "reference": {"x": 1}, "floor": {"y": 2}, "ci": {"old": 1}}))
    doc = {"measured": "2026-02-02", "machine": {"cpu": "c", "cores": 2, "platform": "p"}, "ci": {"new": 1}}
    carry_over(doc, path)
    assert doc["reference"] == {"x": 1} and doc["floor"] == {"y": 2} and doc["ci"] == {"new": 1}
    assert doc["carried"] == {"reference": "2026-01-01", "floor": "2026-01-01"}
    assert "reference rows carried over from 2026-01-01" in report_machine(doc)
