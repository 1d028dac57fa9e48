"""A kernel right for each option alone and wrong only where label_smoothing, class weights and an ignored label
meet is caught by the ci profile's readable combination cases (reference/catalog.py COMBINATION_CASES) through
`run --impl`, and by nothing else of the catalog (the drawn combinations: tests/cases/test_combinations.py)."""
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_a_kernel_wrong_only_where_options_meet_is_caught_by_the_combination_cases(tmp_path):
    pytest.importorskip("torch")
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "conformance", "run", "--profile", "ci", "--no-report", "--no-cache", "--out", str(out),
         "-q", "--impl", "tests.combination_kernels:torch_cross_entropy_wrong_when_smoothing_meets_weight_and_ignored",
         "--op", "cross_entropy", "--signature", "torch", "--dtypes", "float64", "--modes", "eager", "--examples", "0",
         "--baseline", "torch.nn.functional.cross_entropy[class]"],
        cwd=ROOT, env={**os.environ, "PYTHONPATH": str(ROOT)}, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 1, proc.stderr[-2000:]
    records = json.loads((out / "results.json").read_text())["records"]
    caught = {r["case_id"] for r in records if r["unexpected"]}
    assert caught == {"ce(label_smoothing=0.1,weight,one ignored)", "ce(label_smoothing=1,weight,one ignored,sum)"}
    ran = {r["case_id"] for r in records}  # each option alone, and two of them, ran and passed
    assert {"ce(weight,mean)", "ce(label_smoothing=0.1)", "ce(one ignored)", "ce(probs,label_smoothing=0.1,weight)"} <= ran
