"""The one case catalog (reference/catalog.py): typed entries, unique ids, golden entries in the golden corpus,
and the conformance stage reading the same entries."""
from __future__ import annotations

import json
from collections import Counter

import pytest

import reference
from conformance.cases.build import PROFILE_ORDER, catalog_cases
from reference.catalog import CATALOG, DTYPES, Empty, Entry, Labels, Random
from reference.golden import GOLDEN_DIR


def test_ids_are_unique():
    repeated = [i for i, n in Counter(e.id for e in CATALOG).items() if n > 1]
    assert not repeated, f"catalog ids used twice: {repeated}"


def test_every_entry_names_a_reference_op_and_only_its_inputs():
    for e in CATALOG:
        assert e.op in reference.OPS, e.id
        assert set(e.inputs) <= set(reference.OPS[e.op].input_names), e.id


def test_golden_flag_follows_the_inputs():
    """Named (dtype-dependent) values and random draws are not golden; plain numbers, labels and empty arrays are."""
    assert Entry("a", "sigmoid", {"x": [1, "inf"]}, {}).golden
    assert not Entry("b", "sigmoid", {"x": ["max"]}, {}).golden
    assert not Entry("c", "softmax", {"x": Random((2, 3))}, {}).golden
    assert not Entry("d", "cross_entropy", {"logits": [[1, 2]], "target": Labels([0])}, {"weight": ["big", 1]}).golden
    assert not Entry("e", "softmax", {"x": [[1]]}, {}, "thorough").golden
    plain = Entry("f", "cross_entropy", {"logits": Empty((0, 3)), "target": Labels([])}, {})
    assert plain.golden and plain.plain_inputs() == {"logits": {"shape": [0, 3], "data": []}, "target": []}


def test_every_golden_entry_is_in_the_golden_corpus_in_every_dtype():
    found: Counter = Counter()
    for path in GOLDEN_DIR.glob("*.json"):
        for item in json.loads(path.read_text()):
            found[item["id"]] += 1
    golden = [e for e in CATALOG if e.golden]
    assert golden, "no golden entries"
    missing = [e.id for e in golden if found[e.id] != len(DTYPES)]
    assert not missing, f"golden entries missing from reference/golden (run python -m reference golden): {missing}"
    assert set(found) == {e.id for e in golden}, "the golden corpus holds cases the catalog does not"


@pytest.mark.parametrize("op", sorted({e.op for e in CATALOG}))
def test_the_conformance_stage_reads_the_same_entries(op):
    """Every entry of the op allowed in the profile becomes a case, with the catalog's id, in order."""
    for i, profile in enumerate(PROFILE_ORDER):
        allowed = PROFILE_ORDER[:i + 1]
        expected = [e.id for e in CATALOG if e.op == op and e.min_profile in allowed]
        assert [c.id for c in catalog_cases(op, "float32", profile)] == expected
