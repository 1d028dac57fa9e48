"""A record with one mechanism per failing part (what parameter combinations find: a NaN value where an
overflowed term meets a zero weight, and a gradient that cancels elsewhere in the same input) is explained
part by part (conformance/judge/known.py _explained_part_by_part), and never when a part is left unexplained."""
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING

NAN_ENTRY = '''
[[divergence]]
id = "nan-at-infinite-input"
implementation = "torch.nn.functional.binary_cross_entropy_with_logits"
predicate = "observed_nan_where_input_infinite"
parts = ["value", "grad:*"]
verdicts = ["special_value_mismatch"]
reason = "inf - inf"
link = "https://example.org/nan"
'''

CANCEL_ENTRY = '''
[[divergence]]
id = "gradient-cancels"
implementation = "torch.nn.functional.binary_cross_entropy_with_logits"
parts = ["grad:*"]
verdicts = ["inaccurate"]
reason = "cancellation"
link = "https://example.org/cancel"
'''

SUBNORMAL_ENTRY = '''
[[divergence]]
id = "gradient-flushes"
implementation = "torch.nn.functional.binary_cross_entropy_with_logits"
predicate = "observed_zero_reference_subnormal"
parts = ["grad:*"]
verdicts = ["inaccurate"]
reason = "flush"
link = "https://example.org/flush"
'''


def _t(values, dtype="float32"):
    return {"dtype": dtype, "shape": [len(values)], "data": values}


def _ref(values):
    return {"dtype": "float32", "shape": [len(values)], "exact": [str(v) for v in values], "rounded": values}


def mixed_record(failing=None):
    """x = [inf, 100]: the value is NaN at the infinite logit (the limit is inf), and the gradient at the finite
    logit is inaccurate (0.25 instead of 0.5: no NaN, no infinite input)."""
    return {
        "implementation": "torch.nn.functional.binary_cross_entropy_with_logits",
        "op": "binary_cross_entropy_with_logits", "framework": "torch", "dtype": "float32", "device": "cpu",
        "case_id": "hyp-mixed", "framework_version": "torch 2.13.0", "verdict": "special_value_mismatch",
        "part": "value", "detail": "at (0,): got nan, reference inf", "params": {"reduction": "none"},
        "inputs": {"x": _t(["inf", 100.0]), "y": _t([0.5, 0.5])},
        "reference": {"value": _ref(["inf", 50.0]), "grad": {"x": _ref([0.5, 0.5]), "y": _ref(["-inf", -100.0])}},
        "observed": {"value": _t(["nan", 50.0]), "grad": {"x": _t([0.5, 0.25]), "y": _t(["-inf", -100.0])}},
        "failing_elements": failing or {"value": [0], "grad:x": [1]},
    }


def classify(tmp_path, toml, record):
    path = tmp_path / "k.toml"
    path.write_text(toml)
    known.classify(record, known.load(path), FAILING)
    return record["known_divergence"], record["unexpected"]


def test_each_part_explained_by_its_own_mechanism_is_known(tmp_path):
    assert classify(tmp_path, NAN_ENTRY + CANCEL_ENTRY, mixed_record()) == ("nan-at-infinite-input", False)


@pytest.mark.parametrize("toml", [NAN_ENTRY, NAN_ENTRY + SUBNORMAL_ENTRY])
def test_a_part_no_entry_explains_keeps_the_record_unexpected(tmp_path, toml):
    """Without an entry for the cancelling gradient (or with one whose predicate does not hold there: 0.25 is
    no flushed subnormal) the record stays unexpected."""
    assert classify(tmp_path, toml, mixed_record()) == (None, True)


def test_the_records_own_part_must_be_the_entrys(tmp_path):
    """A record whose own part is the cancelling gradient is not put on the NaN entry part by part (that entry
    does not explain its own part); it is known only by composing the entries element by element
    (known._composed), which names both."""
    record = mixed_record()
    record.update(part="grad:x", detail="at (1,): got 0.25, reference 0.5")
    path = tmp_path / "k.toml"
    path.write_text(NAN_ENTRY + CANCEL_ENTRY)
    entries = known.load(path)
    assert not known._explained_part_by_part(entries[0], record, entries)
    known.classify(record, entries, FAILING)
    assert not record["unexpected"]
    assert sorted(record["known_divergences"]) == ["gradient-cancels", "nan-at-infinite-input"]


def test_a_single_part_record_is_judged_as_before(tmp_path):
    only_value = mixed_record({"value": [0]})
    assert classify(tmp_path, NAN_ENTRY, only_value) == ("nan-at-infinite-input", False)
    only_grad = mixed_record({"grad:x": [1]})
    assert classify(tmp_path, NAN_ENTRY, only_grad) == (None, True)


def _focal_record(x, observed_grad_y):
    return {
        "implementation": "optax.losses.sigmoid_focal_loss", "op": "sigmoid_focal_loss", "framework": "jax",
        "dtype": "float32", "device": "cpu", "case_id": "sigmoid_focal(soft y,x=+-inf)",
        "framework_version": "optax 0.2.8", "verdict": "special_value_mismatch", "part": "grad:y",
        "detail": "at (0,): got nan, reference -inf", "params": {"gamma": 2.0, "alpha": 0.25, "reduction": "none"},
        "inputs": {"x": _t([x]), "y": _t([0.5])},
        "reference": {"value": _ref(["inf"]), "grad": {"x": _ref([0.0]), "y": _ref(["-inf"])}},
        "observed": {"value": _t(["inf"]), "grad": {"x": _t([0.0]), "y": _t([observed_grad_y])}},
        "failing_elements": {"grad:y": [0]},
    }


def test_the_optax_focal_entry_explains_nan_at_an_infinite_logit_only():
    """optax-focal-infinite-loss-times-zero-partial (the bundled registry): NaN for d/dy at x = +inf with a
    soft label is the documented inf * 0; the same NaN at a finite logit is not that mechanism."""
    entries = known.load()
    found = _focal_record("inf", "nan")
    known.classify(found, entries, FAILING)
    assert found["known_divergence"] == "optax-focal-infinite-loss-times-zero-partial" and not found["unexpected"]
    near_miss = _focal_record(3.0, "nan")
    known.classify(near_miss, entries, FAILING)
    assert near_miss["unexpected"]


def _ce_record(row0, label0, observed_row0):
    """torch cross_entropy[class], reduction none: logits [row0, [1, 2, 3]], target [label0, 0]; the reference
    gradient of an ignored row is 0."""
    def g(vals):
        return {"dtype": "float32", "shape": [2, 3], "data": vals}

    return {
        "implementation": "torch.nn.functional.cross_entropy[class]", "op": "cross_entropy", "framework": "torch",
        "dtype": "float32", "device": "cpu", "case_id": "hyp-ignored", "framework_version": "torch 2.13.0",
        "verdict": "special_value_mismatch", "part": "grad:logits", "detail": "at (0, 0): got nan, reference 0.0",
        "params": {"axis": 1, "ignore_index": -100, "label_smoothing": 0.1, "reduction": "none"},
        "inputs": {"logits": g(row0 + [1.0, 2.0, 3.0]), "target": {"dtype": "int64", "shape": [2], "data": [label0, 0]}},
        "reference": {"value": _ref([0.0, 2.4]), "grad": {"logits": {
            "dtype": "float32", "shape": [2, 3], "exact": ["0"] * 3 + ["-0.9", "0.24", "0.66"],
            "rounded": [0.0] * 3 + [-0.9, 0.24, 0.66]}}},
        "observed": {"value": _t([0.0, 2.4]), "grad": {"logits": g(observed_row0 + [-0.9, 0.24, 0.66])}},
        "failing_elements": {"grad:logits": [0, 1, 2]},
    }


@pytest.mark.parametrize("row0, label0, known_id", [
    (["nan", 0.0, 1.0], -100, "torch-ce-ignored-item-nonfinite-row-nan-gradient"),  # the finding: NaN row
    (["inf", 0.0, 1.0], -100, "torch-ce-ignored-item-nonfinite-row-nan-gradient"),  # +inf row
    ([5.0, 0.0, 1.0], -100, None),   # near miss: a finite row does not give that NaN
    (["nan", 0.0, 1.0], 2, None),    # near miss: a counted item
])
def test_the_torch_ignored_row_entry_needs_an_ignored_item_and_a_nonfinite_row(row0, label0, known_id):
    r = _ce_record(row0, label0, ["nan", "nan", "nan"])
    known.classify(r, known.load(), FAILING)
    assert r["known_divergence"] == known_id and r["unexpected"] is (known_id is None)
