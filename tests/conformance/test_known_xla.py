"""tf-xla-sparse-ce-out-of-range-labels-nan: under XLA, tf.nn.sparse_softmax_cross_entropy_with_logits returns NaN
rows for labels outside [0, C) where eager raises (the tf2xla lowering adds NaN to their one-hot rows). The
entry matches that mechanism in the xla mode only; the installed TensorFlow shows it."""
import numpy as np
import pytest

from conformance.judge import known
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

TF_SPARSE = "tf.nn.sparse_softmax_cross_entropy_with_logits"
ENTRY = "tf-xla-sparse-ce-out-of-range-labels-nan"


def returned_record(labels, value, grad_rows=None, mode="xla", classes=3):
    """An error_behaviour_mismatch record as verdict.py writes it: a value returned for an undefined input."""
    labels = np.asarray(labels, dtype=np.int64)
    logits = np.tile(np.arange(1.0, classes + 1.0), (labels.size, 1))
    grad = np.zeros_like(logits) if grad_rows is None else np.asarray(grad_rows, dtype=np.float64)
    return {"implementation": TF_SPARSE, "framework": "tensorflow", "op": "cross_entropy", "dtype": "float32",
            "device": "cpu", "mode": mode, "case_id": "ce(label=C)", "framework_version": "tensorflow 2.21.0",
            "params": {"axis": -1, "reduction": "none", "ignore_index": None}, "verdict": "error_behaviour_mismatch",
            "part": "value", "exception": None, "reference": None, "failing_elements": {},
            "detail": f"returned a value for an undefined input (class label {labels[0]} at (0,) is outside "
                      f"[0, {classes})) instead of raising",
            "inputs": {"logits": tensor_json(logits), "target": tensor_json(labels)},
            "observed": {"value": tensor_json(np.asarray(value, dtype=np.float64)),
                         "grad": {"logits": tensor_json(grad)}}}


NAN_ROW = [np.nan] * 3


@pytest.mark.parametrize("labels, value, grad", [
    ([3], [np.nan], [NAN_ROW]),                                     # ce(label=C)
    ([-1], [np.nan], [NAN_ROW]),                                    # ce(label=-1)
    ([0, 5, 2], [2.4, np.nan, 0.4], [[-0.9, 0.2, 0.7], NAN_ROW, [0.1, 0.2, -0.3]]),  # one bad item of three
])
def test_nan_rows_at_out_of_range_labels_under_xla_are_known(entries, labels, value, grad):
    rec = returned_record(labels, value, grad)
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == ENTRY and not rec["unexpected"]


@pytest.mark.parametrize("change", ["eager", "graph", "finite value", "finite gradient row", "nan elsewhere only"])
def test_other_modes_and_other_values_are_not_the_xla_lowering(entries, change):
    """The same NaN in eager or tf.function (which raise: a value there is something else), a finite value or
    gradient row at the bad label, or NaN at a good item while the bad one is finite: reported."""
    labels, value, grad = [0, 5], [2.4, np.nan], [[-0.9, 0.2, 0.7], NAN_ROW]
    mode = "xla"
    if change in ("eager", "graph"):
        mode = change
    elif change == "finite value":
        value = [2.4, 1.0]
    elif change == "finite gradient row":
        grad = [[-0.9, 0.2, 0.7], [0.1, 0.2, -0.3]]
    else:
        value = [np.nan, 1.0]
    rec = returned_record(labels, value, grad, mode=mode)
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


def test_the_entry_has_run_only_for_xla_cases_with_a_bad_label(entries):
    entry = next(e for e in entries if e.id == ENTRY)
    good = returned_record([0, 1], [0.4, 1.4])
    good.update(verdict="accurate", reference={})
    assert not known.case_can_show(entry, good)
    assert not known.case_can_show(entry, returned_record([3], [np.nan], [NAN_ROW], mode="eager"))
    assert known.case_can_show(entry, returned_record([3], [np.nan], [NAN_ROW]))


def test_installed_tensorflow_returns_nan_under_xla_and_raises_eagerly():
    tf = pytest.importorskip("tensorflow")
    labels = tf.constant([3, 0], dtype=tf.int64)
    logits = tf.constant([[1.0, 2.0, 3.0], [1.0, 2.0, 3.0]])

    def loss(y, x):
        return tf.nn.sparse_softmax_cross_entropy_with_logits(labels=y, logits=x)

    out = tf.function(loss, jit_compile=True)(labels, logits).numpy()
    assert np.isnan(out[0]) and np.isfinite(out[1])
    with pytest.raises(tf.errors.InvalidArgumentError):
        loss(labels, logits)
