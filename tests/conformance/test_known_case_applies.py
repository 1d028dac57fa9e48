"""Entries whose mechanism a case may simply not contain say so (`case_applies` on their predicates), so
`--strict-known` does not call them "fixed upstream" on a run whose cases could not show them (the committed jax
upgrade and timeline runs replay a corpus without where= masks): jax-logsumexp-two-inf-finite-gradient (its own
predicate: two +inf in the item), optax-where-masked-target-gradient-nan (a masked class) and
optax-integer-labels-where-reads-masked-label (a masked label's class)."""
import numpy as np
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

INF, NAN = float("inf"), float("nan")


@pytest.fixture(scope="module")
def entries():
    return {e.id: e for e in known.load()}


def logsumexp_record(row, grad):
    x = np.asarray([row], dtype=np.float32)
    ref = [NAN if np.isnan(x).any() or np.isposinf(x).sum() >= 2 else 0.0] * len(row)
    return {"implementation": "jax.nn.logsumexp", "framework": "jax", "op": "logsumexp", "dtype": "float32",
            "device": "cpu", "case_id": "h", "framework_version": "jax 0.10.2", "params": {"axis": -1},
            "verdict": "special_value_mismatch", "part": "grad:x", "detail": "",
            "inputs": {"x": tensor_json(x)},
            "observed": {"value": None, "grad": {"x": tensor_json(np.asarray([grad], dtype=np.float32))}},
            "reference": {"certified": True, "value": None,
                          "grad": {"x": {"dtype": "float32", "shape": [1, len(row)], "exact": [str(r) for r in ref],
                                         "rounded": ref, "ieee": None}}},
            "failing_elements": {"grad:x": [i for i, g in enumerate(grad) if not np.isnan(g)]}}


def test_two_pos_inf_in_the_item_is_the_jax_logsumexp_mechanism(entries):
    r = logsumexp_record([INF, -3.4e38, INF], [NAN, 0.0, NAN])
    known.classify(r, list(entries.values()), FAILING)
    assert r["known_divergence"] == "jax-logsumexp-two-inf-finite-gradient"
    assert known.case_can_show(entries["jax-logsumexp-two-inf-finite-gradient"], r)


def test_an_item_undefined_by_nan_is_not_the_two_inf_mechanism(entries):
    """One +inf and a NaN: the item is undefined, the finite gradient is another mechanism (reported)."""
    r = logsumexp_record([INF, 1.0, NAN], [NAN, 0.0, NAN])
    known.classify(r, list(entries.values()), FAILING)
    assert r["known_divergence"] != "jax-logsumexp-two-inf-finite-gradient"
    assert not known.case_can_show(entries["jax-logsumexp-two-inf-finite-gradient"], r)


def ce_record(where, target):
    logits = np.zeros((2, 3), dtype=np.float32)
    return {"implementation": "optax.losses.softmax_cross_entropy", "framework": "jax", "op": "cross_entropy",
            "params": {"axis": -1, "where": where}, "inputs": {"logits": tensor_json(logits),
                                                               "target": tensor_json(np.asarray(target))}}


def test_mask_entries_apply_only_to_cases_with_a_masked_class_or_label(entries):
    nan_entry = entries["optax-where-masked-target-gradient-nan"]
    label_entry = entries["optax-integer-labels-where-reads-masked-label"]
    probs = np.full((2, 3), 1 / 3, dtype=np.float32)
    all_kept = [[True] * 3, [True] * 3]
    assert not known.case_can_show(nan_entry, ce_record(None, probs))
    assert not known.case_can_show(nan_entry, ce_record(all_kept, probs))
    assert known.case_can_show(nan_entry, ce_record([[True, False, True], [True] * 3], probs))
    labels = np.asarray([0, 2], dtype=np.int64)
    assert not known.case_can_show(label_entry, ce_record([[True, False, True], [True] * 3], labels))
    assert known.case_can_show(label_entry, ce_record([[True, False, True], [True, True, False]], labels))
