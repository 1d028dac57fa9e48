"""A record whose failing elements mix documented mechanisms is known when each element is explained by one
entry (conformance/judge/known.py, _composed), and unexpected as soon as one element is explained by none."""
from __future__ import annotations

import math

import numpy as np
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

IMPL = "torch.nn.BCEWithLogitsLoss"


def bce_record(x, observed, exact, failing, verdict="special_value_mismatch"):
    """A float32 BCEWithLogitsLoss record (reduction none) with elementwise observed and exact values."""
    x = np.asarray(x, dtype=np.float32)
    ref = {"dtype": "float32", "shape": [len(exact)], "exact": [str(e) for e in exact],
           "rounded": [float(np.float32(float(e))) for e in exact], "ieee": None}
    return {"implementation": IMPL, "framework": "torch", "op": "binary_cross_entropy_with_logits",
            "dtype": "float32", "device": "cpu", "case_id": "hyp-mixed", "framework_version": "torch 2.13.0",
            "params": {"reduction": "none"}, "verdict": verdict, "part": "value", "detail": "",
            "inputs": {"x": tensor_json(x), "y": tensor_json(np.full(x.shape, 0.5, dtype=np.float32))},
            "observed": {"value": tensor_json(np.asarray(observed, dtype=np.float32)), "grad": {}},
            "reference": {"certified": True, "value": ref, "grad": {}},
            "failing_elements": {"value": list(failing)}}


@pytest.fixture(scope="module")
def entries():
    return known.load()


def classify(rec, entries):
    known.reset(entries)
    known.classify(rec, entries, FAILING)
    return rec


def test_each_element_explained_by_its_own_entry(entries):
    """Element 0: NaN at a logit near the float32 maximum (sigmoid-ce-infinite-logit-nan's predicate);
    element 1: a finite loss beyond the bound (torch-bce-with-logits-cancellation, an exact-row entry). Neither
    entry explains both; together they do."""
    rec = bce_record([3.0e38, 20.0], [math.nan, 2.1e-9], ["1.5e38", "2.0611536e-9"], [0, 1])
    rec = classify(rec, entries)
    assert not rec["unexpected"]
    assert set(rec["known_divergences"]) == {"sigmoid-ce-infinite-logit-nan", "torch-bce-with-logits-cancellation"}
    assert rec["known_divergence"] in rec["known_divergences"]
    matched = known.status(entries)["matched"]
    assert {"sigmoid-ce-infinite-logit-nan", "torch-bce-with-logits-cancellation"} <= set(matched)


def test_one_unexplained_element_keeps_the_record_unexpected(entries):
    """The same, with a NaN at a small finite logit (no overflow, no infinity): no entry explains it."""
    rec = bce_record([3.0e38, 20.0, 1.0], [math.nan, 2.1e-9, math.nan], ["1.5e38", "2.0611536e-9", "0.8"],
                     [0, 1, 2])
    rec = classify(rec, entries)
    assert rec["unexpected"] and rec["known_divergence"] is None and "known_divergences" not in rec


def test_a_single_entry_record_is_not_composed(entries):
    rec = classify(bce_record([3.0e38], [math.nan], ["1.5e38"], [0]), entries)
    assert rec["known_divergence"] == "sigmoid-ce-infinite-logit-nan" and "known_divergences" not in rec


def test_a_real_mixed_record_end_to_end(tmp_path):
    """torch.nn.BCEWithLogitsLoss on one float32 case mixing the mechanisms of the two ci records issue 17
    reported as unexpected: NaN where x = -2.1e38, y = 3 and pos_weight 0 overflow (exact -0), and subnormal
    gradients flushed to 0 at x = -100. The run classifies the record as known."""
    import json
    import subprocess
    import sys

    pytest.importorskip("torch")
    x = [[-2.1e38, -20.0, -100.0, 1.0, -20.0, 0.5], [-2.1e38, -20.0, 2.0, -100.0, 0.25, 3.0e38]]
    y = [[3.0, 0.0, 0.0, 0.5, 0.0, 0.25], [3.0, 0.0, 1.0, 0.0, 0.5, 0.5]]
    case = {"id": "bcel(mixed)", "op": "binary_cross_entropy_with_logits", "dtype": "float32", "found": [],
            "params": {"weight": None, "pos_weight": [0.0] + [2.0] * 5, "reduction": "none", "label_smoothing": 0.0},
            "inputs": {"x": {"dtype": "float32", "shape": [2, 6], "data": [v for r in x for v in r]},
                       "y": {"dtype": "float32", "shape": [2, 6], "data": [v for r in y for v in r]}}}
    corpus = tmp_path / "mixed.json"
    corpus.write_text(json.dumps({"corpus_version": 1, "cases": [case]}))
    out = tmp_path / "run"
    subprocess.run([sys.executable, "-m", "conformance", "run", "--profile", "quick", "--frameworks", "torch",
                    "--implementations", IMPL, "--dtypes", "float32", "--examples", "0", "--corpus", str(corpus),
                    "--out", str(out), "--no-report", "-q", "--no-cache"], check=False, capture_output=True)
    records = [json.loads(line) for line in (out / "results.jsonl").read_text().splitlines()]
    rec = next(r for r in records if r.get("case_id") == "bcel(mixed)")
    assert rec["verdict"] == "special_value_mismatch" and set(rec["failing_elements"]) == {"value", "grad:x"}
    assert not rec["unexpected"] and rec["known_divergence"] == "sigmoid-ce-infinite-logit-nan"
    # one mechanism per part here (value: the overflow NaN, grad:x: the flushed subnormals), so the part-by-part
    # rule explains it before the element-by-element one is needed (the tests above mix them within one part)
