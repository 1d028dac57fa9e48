"""Wrong output shapes of Keras Loss classes, one known divergence per mechanism
(conformance/judge/known_predicates_shape.py): each predicate matches the records of its own mechanism and none
of the others', a wrong shape from anything else stays unexpected, an entry whose mechanism no case could meet
has not run (case_can_show), and the "matched nothing" warning names only entries about frameworks that ran."""
import numpy as np
import pytest

from conformance.adapters import availability, implementations_for, modes
from conformance.judge import known, known_predicates
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

SCCE = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
GCE = "keras.losses.CategoricalGeneralizedCrossEntropy"
SHAPE_PREDICATES = ("observed_unreduced_on_an_empty_batch", "observed_shape_lost_the_single_class_axis",
                    "observed_shape_of_one_hot_labels_broadcast")


def shape_record(impl, pred, labels, observed_shape, reference_shape, reduction="none", pred_name="logits",
                 label_name="target", op="cross_entropy", framework="tensorflow"):
    """A record whose value part came back in observed_shape where the reference's is reference_shape."""
    n_obs, n_ref = int(np.prod(observed_shape)), int(np.prod(reference_shape))
    ref = {"dtype": "float64", "shape": list(reference_shape), "exact": ["0.5"] * n_ref,
           "rounded": [0.5] * n_ref, "ieee": None}
    return {"implementation": impl, "framework": framework, "op": op, "dtype": "float64", "device": "cpu",
            "case_id": "c", "framework_version": "x 1.0", "params": {"axis": -1, "reduction": reduction},
            "verdict": "inaccurate", "part": "value", "detail": "",
            "inputs": {pred_name: tensor_json(np.full(pred, 0.5)),
                       label_name: tensor_json(np.zeros(labels, dtype=np.int64))},
            "observed": {"value": {**tensor_json(np.full(n_obs, 0.5)), "shape": list(observed_shape)}, "grad": {}},
            "reference": {"certified": True, "value": ref, "grad": {}},
            "failing_elements": {"value": []}}


# (mechanism's predicate, entry, record) -- each mechanism with the shapes Keras 3.15.1 gives (ci records)
MECHANISMS = [
    ("observed_unreduced_on_an_empty_batch", "keras-empty-batch-unreduced",
     shape_record(SCCE, (0, 3), (0,), (0,), (), reduction="mean")),
    ("observed_unreduced_on_an_empty_batch", "keras-empty-batch-unreduced",
     shape_record(SCCE, (0, 5), (0,), (0,), (), reduction="sum")),
    ("observed_shape_lost_the_single_class_axis", "keras-loss-wrapper-squeezes-single-class",
     shape_record(SCCE, (1, 1, 1), (1, 1), (1,), (1, 1))),
    ("observed_shape_lost_the_single_class_axis", "keras-loss-wrapper-squeezes-single-class",
     shape_record(SCCE, (3, 1, 1), (3, 1), (3,), (3, 1))),
    ("observed_shape_of_one_hot_labels_broadcast", "keras-generalized-ce-single-class-labels-broadcast",
     shape_record(GCE, (1, 1), (1,), (1, 1), (1,), pred_name="p", op="generalized_cross_entropy")),
    ("observed_shape_of_one_hot_labels_broadcast", "keras-generalized-ce-single-class-labels-broadcast",
     shape_record(GCE, (4, 1, 1), (4, 1), (4, 4), (4, 1), pred_name="p", op="generalized_cross_entropy")),
    ("observed_shape_of_one_hot_labels_broadcast", "keras-generalized-ce-single-class-labels-broadcast",
     shape_record(GCE, (0, 1, 1), (0, 1), (0, 0), (0, 1), pred_name="p", op="generalized_cross_entropy")),
]


def _holds(name, rec):
    return known_predicates.PREDICATES[name](known_predicates.Element(rec, "value", None))


@pytest.mark.parametrize("mechanism, entry_id, rec", MECHANISMS, ids=lambda x: str(x)[:40])
def test_each_predicate_matches_its_own_mechanism_only(mechanism, entry_id, rec):
    assert {name for name in SHAPE_PREDICATES if _holds(name, rec)} == {mechanism}
    assert not known_predicates.PREDICATES[mechanism](known_predicates.Element(rec, "value", 0))  # whole parts only


@pytest.mark.parametrize("mechanism, entry_id, rec", MECHANISMS, ids=lambda x: str(x)[:40])
def test_each_mechanism_is_explained_by_its_own_entry(entries, mechanism, entry_id, rec):
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == entry_id and not rec["unexpected"]


NEAR_MISSES = [
    # an empty batch with reduction none (nothing to reduce) that still comes back in another shape
    shape_record(SCCE, (0, 3), (0,), (0, 3), (0,), reduction="none"),
    # a reduced loss of a non-empty batch that comes back unreduced: another bug
    shape_record(SCCE, (2, 3), (2,), (2,), (), reduction="mean"),
    # two classes: nothing is squeezed, a lost axis is something else
    shape_record(SCCE, (3, 1, 2), (3, 1), (3,), (3, 1)),
    # one class, but the part lost another axis than the last
    shape_record(SCCE, (1, 3, 1), (1, 3), (3,), (1, 3)),
    # one class, rank-1 labels (Keras expands the labels, squeezes nothing): a lost axis is another bug
    shape_record(SCCE, (3, 1), (3,), (), (3,)),
    # GCE with one class but a shape that is not the broadcast's
    shape_record(GCE, (3, 1), (3,), (3, 1), (3,), pred_name="p", op="generalized_cross_entropy"),
    # GCE with two classes: no broadcast
    shape_record(GCE, (3, 2), (3,), (3, 3), (3,), pred_name="p", op="generalized_cross_entropy"),
    # a Keras class with float targets whose shape is wrong
    {**shape_record("keras.losses.CategoricalCrossentropy(from_logits=True)", (3, 4), (3,), (2,), (3,)),
     "inputs": {"logits": tensor_json(np.zeros((3, 4))), "target": tensor_json(np.zeros((3, 4)))}},
]


@pytest.mark.parametrize("rec", NEAR_MISSES, ids=range(len(NEAR_MISSES)))
def test_other_wrong_shapes_are_no_mechanism_and_stay_unexpected(entries, rec):
    assert not any(_holds(name, rec) for name in SHAPE_PREDICATES)
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


def test_an_entry_has_run_only_where_a_case_could_show_its_mechanism(entries):
    """known.classify counts scope_ran (and so "fixed upstream?" / --strict-known) for a shape entry only on
    cases that can meet its mechanism: a run of SparseCategoricalCrossentropy without an empty batch has not
    run keras-empty-batch-unreduced; one with an empty batch that comes back right has (the entry is stale)."""
    empty = next(e for e in entries if e.id == "keras-empty-batch-unreduced")
    plain = shape_record(SCCE, (2, 3), (2,), (), (), reduction="mean")
    plain.update(verdict="accurate", failing_elements={})
    known.reset(entries)
    known.classify(plain, entries, FAILING)
    assert empty.scope_ran == 0 and not known.case_can_show(empty, plain)
    status = known.status(entries, {SCCE}, strict=True, frameworks_run={"tensorflow"})
    assert "keras-empty-batch-unreduced" not in status["fixed_upstream"]
    right = shape_record(SCCE, (0, 3), (0,), (), (), reduction="mean")
    right.update(verdict="ieee_special", failing_elements={})
    known.classify(right, entries, FAILING)
    assert empty.scope_ran == 1
    status = known.status(entries, {SCCE}, strict=True, frameworks_run={"tensorflow"})
    assert "keras-empty-batch-unreduced" in status["strict_failures"]
    # an entry whose predicates do not all say where they apply keeps the old rule (any record in scope)
    broadcast = next(e for e in entries if e.id == "keras-generalized-ce-single-class-labels-broadcast")
    assert known.case_can_show(broadcast, plain)


def test_matched_nothing_names_only_entries_about_frameworks_that_ran(entries):
    """A TensorFlow-only Keras entry (frameworks = ["tensorflow"], pattern keras.losses.[A-Z]*) also matches
    the id ID@jax by pattern; a run of the JAX backend alone must not call it 'matched nothing that was run'."""
    known.reset(entries)
    jax_only = known.status(entries, {SCCE + "@jax"}, frameworks_run={"keras_jax"})
    assert "keras-empty-batch-unreduced" not in jax_only["unmatched"]
    assert "keras-backend-empty-batch-unreduced" in jax_only["unmatched"]  # its own backend's entry is named
    tf_only = known.status(entries, {SCCE}, frameworks_run={"tensorflow"})
    assert "keras-empty-batch-unreduced" in tf_only["unmatched"]
    assert "keras-backend-empty-batch-unreduced" not in tf_only["unmatched"]
    assert known.framework_of_id(SCCE + "@torch") == "keras_torch"
    assert known.framework_of_id(SCCE + "[policy=floatx]") == "tensorflow"
    assert known.framework_of_id("torch.nn.functional.cross_entropy[class]") == "torch"
    assert known.framework_of_id("custom:my_kernel") is None


@pytest.mark.skipif(not availability("tensorflow")[0], reason="tensorflow not installed")
@pytest.mark.parametrize("impl_id, pred", [("keras.losses.BinaryCrossentropy(from_logits=True)", "x"),
                                           ("keras.losses.BinaryFocalCrossentropy(from_logits=False)", "p")])
def test_keras_binary_losses_give_the_jvp_in_the_values_shape(impl_id, pred):
    """Our bug, found by the ci run (16 records): the binary losses average over the last axis and the adapter
    puts that axis back in the value for reduction none, but the jvp of the value (its shape) came back
    without it: (1,) inputs gave a jvp of shape () where the reference's is (1,)."""
    impl = next(i for i in implementations_for("tensorflow") if i.id == impl_id)
    inputs = {pred: np.array([0.25]), "y": np.array([1.0])}
    params = {**{k: None for k in impl.fixed_params}, **impl.fixed_params, "reduction": "none"}
    params.setdefault("label_smoothing", 0.0)
    request = {"cotangent": np.array([1.0]), "tangents": {pred: np.array([1.0]), "y": np.array([0.5])},
               "hvp": False}
    with modes.requested(request):
        observed = impl.call(inputs, params, "float64", "cpu", (pred, "y"))
    assert observed.value.shape == (1,)
    assert observed.derivs[f"jvp:{pred}"].shape == (1,) and observed.derivs["jvp:y"].shape == (1,)
    assert observed.derivs[f"vjp:{pred}"].shape == (1,)


def gce_squeezed_grad(observed_at_picked, observed_elsewhere=0.0, reduction="sum"):
    """The quick-profile record (CategoricalGeneralizedCrossEntropy[policy=floatx], float16, hyp-ca518033f4d0):
    p [3, 3, 3, 1] of ones, labels [3, 3, 3] of zeros, q = 0.7; p's class axis is squeezed and one_hot(labels, 3)
    broadcasts against [3, 3, 3]: the gradient is -3 where the last kept index is 0 (the class the labels pick)
    and 0 elsewhere, where every element's true gradient is -1."""
    grad = np.tile([observed_at_picked, observed_elsewhere, observed_elsewhere], 9).reshape(3, 3, 3, 1)
    rec = shape_record(GCE + "[policy=floatx]", (3, 3, 3, 1), (3, 3, 3), (), (), reduction=reduction,
                       pred_name="p", op="generalized_cross_entropy")
    rec.update(dtype="float16", policy="floatx", part="grad:p", params={"axis": -1, "q": 0.7, "reduction": reduction})
    rec["inputs"]["p"] = tensor_json(np.ones((3, 3, 3, 1), dtype=np.float16))
    rec["observed"]["grad"] = {"p": tensor_json(grad.astype(np.float16))}
    rec["reference"]["grad"] = {"p": {"dtype": "float16", "shape": [3, 3, 3, 1], "exact": ["-1"] * 27,
                                      "rounded": [-1.0] * 27, "ieee": None}}
    rec["failing_elements"] = {"grad:p": list(range(27))}
    return rec


def test_the_squeezed_one_class_gradient_is_the_one_hot_broadcast(entries):
    rec = gce_squeezed_grad(-3.0)
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == "keras-generalized-ce-single-class-labels-broadcast" and not rec["unexpected"]


@pytest.mark.parametrize("picked, elsewhere", [(-2.0, 0.0), (-3.0, 0.5), (-1.0, -2.0)])
def test_other_gradients_of_that_case_are_not_the_broadcast(entries, picked, elsewhere):
    rec = gce_squeezed_grad(picked, elsewhere)
    rec["failing_elements"] = {"grad:p": [i for i in range(27) if rec["observed"]["grad"]["p"]["data"][i] != -1.0]}
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"]


@pytest.mark.parametrize("weight, observed_shape, known_id", [
    (0.0, (), "keras-sample-weight-squeezes-unit-batch"),     # the thorough record: () for (1,)
    ([0.5], (), None),                                        # a weight of the loss's rank: nothing is squeezed
    (0.0, (1, 1), None),                                      # another wrong shape
])
def test_a_scalar_sample_weight_squeezes_a_one_item_loss(entries, weight, observed_shape, known_id):
    rec = shape_record("keras.losses.CategoricalCrossentropy(from_logits=True)@torch", (1, 1), (1,), observed_shape,
                       (1,), framework="keras_torch")
    rec["inputs"]["target"] = tensor_json(np.zeros((1, 1)))
    rec["params"]["sample_weight"] = weight
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == known_id and rec["unexpected"] == (known_id is None)
