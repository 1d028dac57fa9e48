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
    assert "shrinking (all its work)" in text and "largest cell: a|float32|cpu|compile, 81.0 s (81.0% of the run)" in text
