"""Regression corpus: written by content, read back bit for bit, replayed before Hypothesis, merged, validated."""

import numpy as np
import pytest

from conformance.cases import corpus
from conformance.results.load import load_results
from conformance.results.stream import tensor_json

from tests.conformance.cli_helpers import conformance


def rec(case_id, source="catalog", minimal=False, x=(1.0, 2.0), dtype="float32", impl="a.softmax",
        verdict="accurate"):
    return {"case_id": case_id, "op": "softmax", "dtype": dtype, "implementation": impl, "verdict": verdict,
            "source": source, "minimal": minimal, "params": {"axis": -1},
            "inputs": {"x": tensor_json(np.asarray([x], dtype=dtype))}}


def test_only_catalog_minimal_and_corpus_cases_are_kept_by_content(tmp_path):
    path = tmp_path / "c.json"
    records = [rec("cat"), rec("hyp-1", "hypothesis", x=(3.0, 4.0)),  # a passing example: not interesting
               rec("hyp-2", "hypothesis", True, x=(5.0, 6.0), verdict="inaccurate"),
               rec("cat", impl="b.softmax"),  # the same content from another implementation: one case
               rec("hyp-3", "hypothesis", False, x=(9.0, 1.0), verdict="inaccurate"),  # unshrunk failure: kept
               {**rec("(float16 not declared)"), "inputs": {}}]
    total, added = corpus.write(path, records)
    assert (total, added) == (3, 3)
    cases = corpus.read(path)
    assert sorted(c["id"] for c in cases) == ["cat", "hyp-2", "hyp-3"]
    cat = next(c for c in cases if c["id"] == "cat")
    assert [f["implementation"] for f in cat["found"]] == ["a.softmax", "b.softmax"]
    # merging: existing cases stay, new ones are added, nothing is duplicated
    total, added = corpus.write(path, [rec("new", "hypothesis", True, x=(7.0, 8.0)), rec("cat")])
    assert (total, added) == (4, 1)


def test_inputs_come_back_bit_for_bit(tmp_path):
    path = tmp_path / "c.json"
    x16 = np.array([[-0.0, np.float16(6e-8), np.inf, np.nan, np.float16(65504)]], dtype=np.float16)
    r = rec("edge", dtype="float16")
    r["inputs"] = {"x": tensor_json(x16)}
    corpus.write(path, [r])
    [case] = corpus.cases_for(corpus.load(path), "softmax", "float16")
    back = case.inputs["x"]
    assert back.dtype == np.float16 and back.shape == x16.shape
    assert back.view(np.uint16).tolist() == x16.view(np.uint16).tolist()
    assert case.source == "corpus" and case.params == {"axis": -1}
    assert corpus.cases_for(corpus.load(path), "softmax", "float32") == []


@pytest.mark.parametrize("text, needle", [
    ("not json", "not a corpus file"),
    ('{"cases": []}', "corpus_version"),
    ('{"corpus_version": 1, "cases": [{"id": "x", "op": "softmax", "dtype": "float8", "params": {}, '
     '"inputs": {}}]}', "unknown dtype"),
    ('{"corpus_version": 1, "cases": [{"id": "x", "op": "softmax", "dtype": "float32", "params": {}, '
     '"inputs": {"x": {"dtype": "float32", "shape": [2], "data": [1]}}}]}', "1 values for shape"),
])
def test_bad_corpus_is_one_clear_error(tmp_path, text, needle):
    path = tmp_path / "c.json"
    path.write_text(text)
    with pytest.raises(corpus.CorpusError, match=needle):
        corpus.read(path)


def test_bad_corpus_on_the_command_line_is_exit_2(tmp_path):
    bad = tmp_path / "c.json"
    bad.write_text("[]")
    result = conformance("run", "--frameworks", "numpy", "--corpus", str(bad), "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "corpus" in result.stderr and "Traceback" not in result.stderr
    result = conformance("run", "--frameworks", "numpy", "--corpus", str(tmp_path / "none.json"),
                         "--out", str(tmp_path / "o"))
    assert result.returncode == 2 and "no such file" in result.stderr


def test_two_runs_replaying_one_corpus_run_the_same_cases(tmp_path):
    """A run writes its corpus; two later runs with other seeds and no Hypothesis examples replay exactly
    the same cases, and the corpus' Hypothesis cases are among them (not only the catalog)."""
    base = ["run", "--frameworks", "numpy", "--implementations", "scipy.special.softmax", "--dtypes", "float64",
            "--profile", "quick", "--no-report", "-q"]
    path = tmp_path / "corpus.json"
    first = conformance(*base, "--seed", "3", "--out", str(tmp_path / "a"), "--write-corpus", str(path))
    assert first.returncode in (0, 1), first.stderr[-2000:]
    written = corpus.read(path)
    extra = rec("hyp-handmade", "hypothesis", True, x=(-0.0, 1e-300), dtype="float64")
    extra["params"] = written[0]["params"]
    corpus.write(path, [extra])
    runs = []
    for seed, out in (("5", "b"), ("6", "c")):
        result = conformance(*base, "--seed", seed, "--examples", "0", "--corpus", str(path), "--out",
                             str(tmp_path / out))
        assert result.returncode in (0, 1), result.stderr[-2000:]
        runs.append(load_results(tmp_path / out)["records"])  # the reader: large inputs unpacked
    keys = [sorted(corpus.record_key(r) for r in records) for records in runs]
    assert keys[0] == keys[1] and len(keys[0]) == len(set(keys[0]))
    replayed = [r for r in runs[0] if r["source"] == "corpus"]
    assert any(r["case_id"] == "hyp-handmade" for r in replayed)
    assert {corpus.record_key(r) for r in runs[0]} >= {
        corpus.content_key(e["op"], e["dtype"], e["params"], e["inputs"]) for e in corpus.read(path)}
