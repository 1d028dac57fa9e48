"""The report stage: a static HTML report of one run, a comparison of two runs, and merging runs.

    write_report(results_path_or_dict, out_dir) -> Path          out_dir/index.html
    compare_runs(old, new, out_dir=None, ulp_threshold=2.0, ignore_device=False) -> CompareResult
    merge_runs(paths, out_path) -> Path                          the merged results.json
    load_results(path_or_dict) -> dict                           results.json / results.jsonl, validated

Every bad input raises ReportInputError (one-line message). cli.py has the command-line mains.
See docs/report.md.
"""
from .compare import CompareResult
from .compare_formats import compare_runs
from .errors import ReportInputError
from .html import write_report
from conformance.results.load import load_results
from .merge import merge_runs

__all__ = ["write_report", "compare_runs", "CompareResult", "merge_runs", "load_results", "ReportInputError"]
