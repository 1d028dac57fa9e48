"""Known divergences about one TensorFlow execution mode (issue 14 triage of the graph / xla cells):
tf-graph-bce-logits-gradient-sum-reordered (grappler sorts the AddN of the logits gradient's path terms by
node name, so the traced graph rounds sigmoid(-|x|) away where eager keeps it) and the Keras rows that reach
tf-xla-sparse-ce-out-of-range-labels-nan through tf.nn.sparse_softmax_cross_entropy_with_logits."""
import numpy as np
import pytest

from conformance.judge import known, known_predicates_modes
from conformance.judge.known_predicates import Element
from conformance.judge.severity import FAILING
from conformance.results.stream import tensor_json

TF_BCEL = "tf.nn.sigmoid_cross_entropy_with_logits"
GRAPH_ENTRY = "tf-graph-bce-logits-gradient-sum-reordered"
EXACT = "-3.720075976020835962959695803863118337359e-44"  # d/dx of bcel(x=100, y=1) = -sigmoid(-100)


def bcel_record(observed_grad: float, mode: str = "graph", implementation: str = TF_BCEL, x=100.0, y=1.0,
                exact: str = EXACT, params: dict | None = None) -> dict:
    """An inaccurate grad:x record of bcel(x, y) as verdict.py writes it (float64, reduction none)."""
    params = {"weight": None, "pos_weight": None, "reduction": "none", "label_smoothing": 0.0, **(params or {})}
    ref = {"dtype": "float64", "shape": [1], "exact": [exact], "rounded": [float(exact)], "ieee": None}
    return {"implementation": implementation, "framework": "tensorflow", "op": "binary_cross_entropy_with_logits",
            "dtype": "float64", "device": "cpu", "mode": mode, "case_id": "bcel(x=100,y=1)",
            "framework_version": "tensorflow 2.21.0, keras 3.15.1", "params": params,
            "inputs": {"x": tensor_json(np.asarray([x])), "y": tensor_json(np.asarray([y]))},
            "reference": {"value": {**ref, "exact": ["3.7e-44"], "rounded": [3.7e-44]}, "grad": {"x": ref}},
            "observed": {"value": tensor_json(np.asarray([3.7e-44])), "grad": {"x": tensor_json(np.asarray([observed_grad]))}},
            "verdict": "inaccurate", "part": "grad:x", "exception": None, "detail": "", "convention": None,
            "failing_elements": {"grad:x": [0]}}


def test_graph_mode_gradient_rounded_away_by_the_reordered_sum_is_known(entries):
    """The ci record (float64 graph cell, bcel(x=100, y=1)): 0 where eager returns -3.7e-44."""
    rec = bcel_record(0.0)
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == GRAPH_ENTRY and not rec["unexpected"]


@pytest.mark.parametrize("change", ["eager", "xla", "far off", "pos_weight"])
def test_neighbours_of_the_reordered_sum_are_not_explained(entries, change):
    """The same 0 in eager or XLA (which sum in the tape's order), a gradient off by far more than a few
    units of roundoff of 1 + |y|, or a pos_weight formula (other terms): reported."""
    kwargs: dict = {"mode": change} if change in ("eager", "xla") else {}
    observed = 1e-12 if change == "far off" else 0.0
    if change == "pos_weight":
        kwargs["params"] = {"pos_weight": [3.0]}
    rec = bcel_record(observed, **kwargs)
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


def test_the_bound_scales_with_the_mean_and_the_label():
    pred = known_predicates_modes.absolute_error_within_reordered_gradient_sum_under_graph
    u = 2.0 ** -53
    # 3 u (2 + 1) is inside 4 u (2 + 1), 5 u (2 + 1) is not; a mean over 1 item does not change it
    assert pred(Element(bcel_record(float(EXACT) + 9 * u), "grad:x", 0))
    assert not pred(Element(bcel_record(float(EXACT) + 15 * u), "grad:x", 0))
    # label 8: the product term is 8, the bound 4 u (2 + 8)
    assert pred(Element(bcel_record(float(EXACT) + 30 * u, y=8.0), "grad:x", 0))
    assert not pred(Element(bcel_record(float(EXACT) + 30 * u, params={"weight": [0.1]}), "grad:x", 0))


def test_the_graph_entry_has_run_only_on_graph_records(entries):
    entry = next(e for e in entries if e.id == GRAPH_ENTRY)
    assert known.case_can_show(entry, bcel_record(0.0))
    assert not known.case_can_show(entry, bcel_record(0.0, mode="eager"))


def test_installed_tensorflow_graph_sums_the_logits_gradient_in_another_order():
    """The mechanism on the installed TensorFlow: eager -sigmoid(-100), tf.function exactly 0."""
    tf = pytest.importorskip("tensorflow")
    x, y = tf.constant([100.0], tf.float64), tf.constant([1.0], tf.float64)

    def grad(x, y):
        with tf.GradientTape() as tape:
            tape.watch(x)
            loss = tf.nn.sigmoid_cross_entropy_with_logits(labels=y, logits=x)
        return tape.gradient(loss, x)

    assert float(grad(x, y)[0]) == pytest.approx(float(EXACT), rel=1e-15)
    assert float(tf.function(grad)(x, y)[0]) == 0.0


def keras_sparse_record(impl: str, labels, value, mode: str = "xla") -> dict:
    """An error_behaviour_mismatch record of a Keras sparse cross-entropy (reduction none) as verdict.py writes
    it; the probabilities form (from_logits=False) names its inputs p (labels) and q, and its q gradient is 0
    where clip_by_value cut q."""
    labels = np.asarray(labels, dtype=np.int64)
    x = np.tile([0.2, 0.3, 0.5], (labels.size, 1))
    probs = "from_logits=False" in impl
    names = ("p", "q") if probs else ("target", "logits")
    grad = np.zeros_like(x) if probs else np.where(np.isnan(np.asarray(value))[:, None], np.nan, 0.1)
    return {"implementation": impl, "framework": "tensorflow", "op": "cross_entropy_dist" if probs else "cross_entropy",
            "dtype": "float32", "device": "cpu", "mode": mode, "case_id": "ce(label=C)",
            "framework_version": "tensorflow 2.21.0, keras 3.15.1", "params": {"axis": -1, "reduction": "none"},
            "verdict": "error_behaviour_mismatch", "part": "value", "exception": None, "reference": None,
            "failing_elements": {}, "detail": "returned a value for an undefined input (class label 3 at (0,) is "
                                              "outside [0, 3)) instead of raising",
            "inputs": {names[0]: tensor_json(labels), names[1]: tensor_json(x)},
            "observed": {"value": tensor_json(np.asarray(value, dtype=np.float64)),
                         "grad": {names[1]: tensor_json(grad)}}}


KERAS_XLA = "keras-xla-sparse-ce-out-of-range-labels-nan"


@pytest.mark.parametrize("impl", ["keras.losses.sparse_categorical_crossentropy(from_logits=True)",
                                  "keras.ops.sparse_categorical_crossentropy(from_logits=True)",
                                  "keras.ops.sparse_categorical_crossentropy(from_logits=False)"])
def test_keras_sparse_rows_reach_the_xla_lowering(entries, impl):
    """Keras's TF backend calls tf.nn.sparse_softmax_cross_entropy_with_logits on both paths: NaN at the
    item whose label is C under XLA is that entry's; the same NaN eagerly (which raises) is not."""
    rec = keras_sparse_record(impl, [0, 3], [0.4, np.nan])
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == KERAS_XLA and not rec["unexpected"]
    rec = keras_sparse_record(impl, [0, 3], [0.4, np.nan], mode="eager")
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"]


@pytest.mark.parametrize("impl", ["keras.losses.sparse_categorical_crossentropy(from_logits=True)",
                                  "keras.ops.sparse_categorical_crossentropy(from_logits=False)"])
def test_nan_at_a_good_label_only_is_not_the_xla_lowering(entries, impl):
    rec = keras_sparse_record(impl, [3, 0], [0.4, np.nan])
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


POLICY_ENTRY = "keras-policy-sample-weight-overflows-compute-dtype"
SCCE = "keras.losses.SparseCategoricalCrossentropy(from_logits=True)"
CCE = "keras.losses.CategoricalCrossentropy(from_logits=True)"  # (the mixed SCCE rows: keras-mixed-policy-labels-rounded)


def policy_record(policy: str | None = "floatx", weights=(4.4942328371557893e307, 2.2250738585072014e-308),
                  value=np.inf, row: str = SCCE) -> dict:
    """The ci record: a float64 cell of a Keras Loss under a policy, sample_weight huge and tiny, reduction sum;
    the reference (inputs cast as the policy casts them) declares the infinite weight undefined."""
    impl = row + (f"[policy={policy}]" if policy else "")
    return {"implementation": impl, "framework": "tensorflow", "op": "cross_entropy", "dtype": "float64",
            "device": "cpu", "mode": "eager", "case_id": "ce(sample_weight: huge and tiny,sum)", "policy": policy,
            "framework_version": "tensorflow 2.21.0, keras 3.15.1", "verdict": "error_behaviour_mismatch",
            "params": {"axis": -1, "reduction": "sum", "sample_weight": list(weights)}, "part": "value",
            "exception": None, "reference": None, "failing_elements": {},
            "detail": "returned a value for an undefined input (sample_weight entries must be finite) instead of "
                      "raising",
            "inputs": {"logits": tensor_json(np.asarray([[1.0, 2.0, 3.0], [3.0, 2.0, 1.0]])),
                       "target": tensor_json(np.asarray([0, 1], dtype=np.int64))},
            "observed": {"value": tensor_json(np.asarray(value, dtype=np.float32))}}


@pytest.mark.parametrize("policy, weights", [("floatx", None), ("mixed_float16", (7e4, 1.0)),
                                             ("mixed_bfloat16", (1e39, 1.0))])
def test_a_weight_overflowing_in_the_policy_dtype_is_known(entries, policy, weights):
    rec = policy_record(policy, **({"weights": weights, "row": CCE} if weights else {}))
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == POLICY_ENTRY and not rec["unexpected"]


@pytest.mark.parametrize("change", ["no policy", "weight fits", "finite value", "fits in bfloat16 not float16"])
def test_neighbours_of_the_policy_overflow_are_not_explained(entries, change):
    """The plain float64 row (no cast), a weight the compute dtype holds, a finite loss, and mixed_bfloat16
    with a weight only float16 overflows at: reported."""
    rec = {"no policy": lambda: policy_record(None), "weight fits": lambda: policy_record(weights=(1e30, 1.0)),
           "finite value": lambda: policy_record(value=2.5),
           "fits in bfloat16 not float16": lambda: policy_record("mixed_bfloat16", (7e4, 1.0), row=CCE)}[change]()
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


GCE_JAX = "keras.losses.CategoricalGeneralizedCrossEntropy@jax"
S16 = 5.960464477539063e-08  # float16's smallest subnormal


def gce_record(observed: float, mode: str = "eager", sample_weight=S16, dtype: str = "float16") -> dict:
    """The ci record: grad:p of the generalized CE at p_y = 6.1e-5, q = 0.7, a subnormal sample_weight, sum."""
    exact = "-1.095484118458781720949719352962105043847e-6"
    ref = {"dtype": dtype, "shape": [1, 2], "exact": ["0", exact], "rounded": [0.0, -1.0728836059570312e-06],
           "ieee": None}
    return {"implementation": GCE_JAX, "framework": "keras_jax", "op": "generalized_cross_entropy",
            "dtype": dtype, "device": "cpu", "mode": mode, "case_id": "hyp-a2f8ae63f32d", "backend": "jax",
            "framework_version": "keras 3.15.1 (jax backend), jax 0.10.2",
            "params": {"axis": -1, "q": 0.7, "reduction": "sum", "sample_weight": sample_weight},
            "inputs": {"p": tensor_json(np.asarray([[0.5, 6.103515625e-05]], dtype=np.float16)),
                       "target": tensor_json(np.asarray([1], dtype=np.int64))},
            "reference": {"value": {**ref, "shape": [], "exact": ["8.5e-8"], "rounded": [S16]}, "grad": {"p": ref}},
            "observed": {"value": tensor_json(np.asarray(S16, dtype=np.float16)),
                         "grad": {"p": tensor_json(np.asarray([[0.0, observed]], dtype=np.float16))}},
            "verdict": "inaccurate", "part": "grad:p", "exception": None, "detail": "", "convention": None,
            "failing_elements": {"grad:p": [1]}}


def test_op_by_op_rounding_of_a_subnormal_weight_cotangent_is_known(entries):
    rec = gce_record(-13 * S16)  # w / q = 1.43 s rounded to 1 s, times q p^(q-1) = 12.9
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == "keras-jax-eager-subnormal-sample-weight-cotangent" and not rec["unexpected"]


@pytest.mark.parametrize("change", ["jit", "normal weight", "wrong sign", "twice off"])
def test_neighbours_of_the_subnormal_weight_rounding_are_not_explained(entries, change):
    """Under jax.jit (fused in float32), with a normal weight (no subnormal intermediate), a gradient of the
    wrong sign, or one off by more than s / |w| relative: reported."""
    rec = {"jit": lambda: gce_record(-13 * S16, mode="jit"),
           "normal weight": lambda: gce_record(-13 * S16, sample_weight=1e-3),
           "wrong sign": lambda: gce_record(13 * S16),
           "twice off": lambda: gce_record(-40 * S16)}[change]()
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None


def two_inf_record(row: tuple, x: np.ndarray, axis: int, observed_grad: np.ndarray) -> dict:
    """grad:x of logsumexp over the elements x along `axis`, reference NaN everywhere (two +inf in the reduced
    line make the gradient undefined, one +inf in the example's neighbour does not: only the first is asked of
    the entry); row = (implementation, framework, its version, dtype, mode, case id)."""
    impl, framework, version, dtype, mode, case_id = row
    nan = {"dtype": dtype, "shape": list(x.shape), "exact": ["nan"] * x.size, "rounded": [np.nan] * x.size,
           "ieee": None}
    return {"implementation": impl, "framework": framework, "op": "logsumexp", "dtype": dtype, "device": "cpu",
            "mode": mode, "case_id": case_id, "framework_version": version, "params": {"axis": axis},
            "inputs": {"x": tensor_json(x)}, "reference": {"value": None, "grad": {"x": nan}},
            "observed": {"value": tensor_json(np.asarray([np.inf])), "grad": {"x": tensor_json(observed_grad)}},
            "verdict": "special_value_mismatch", "part": "grad:x", "exception": None, "detail": "",
            "convention": None, "failing_elements": {"grad:x": [1]}}


TWO_INF_ROWS = [  # (row, entry, x from the reduced line, axis, observed gradient of x), as the runs met them
    (("keras.ops.logsumexp@jax", "keras_jax", "keras 3.15.1 (jax backend), jax 0.10.2", "bfloat16", "eager",
      "hyp-34f1a3a20d98"), "keras-jax-logsumexp-two-inf-finite-gradient",
     lambda line: np.asarray([line], dtype=np.float64), -1, lambda x: np.asarray([[np.nan, 0.0, np.nan]])),
    (("torch.special.logsumexp", "torch", "torch 2.13.0", "float64", "compile", "hyp-7e7e10c18b2a"),
     "torch-logsumexp-two-inf-finite-gradient",
     lambda line: np.asarray(line, dtype=np.float64)[:, None], -2, lambda x: np.where(np.isposinf(x), np.nan, 0.0)),
]


@pytest.mark.parametrize("row, entry, make_x, axis, observed", TWO_INF_ROWS, ids=["keras@jax", "torch"])
def test_logsumexp_two_inf_gradient_is_known(entries, row, entry, make_x, axis, observed):
    """keras.ops.logsumexp@jax is jax.scipy.special.logsumexp, and torch's logsumexp does the same: 0 at the
    finite elements of a line with two +inf, where the reference is NaN; a line with one +inf (a defined
    gradient) is not that entry's."""
    def rec(line):
        x = make_x(line)
        return two_inf_record(row, x, axis, observed(x))
    two = rec([np.inf, 1.0, np.inf])
    known.classify(two, entries, FAILING)
    assert two["known_divergence"] == entry
    one = rec([np.inf, 1.0, 2.0])
    known.classify(one, entries, FAILING)
    assert one["unexpected"]


def probs_ce_record(row, observed=np.inf, mode="compile") -> dict:
    """grad:target of torch's probability-target cross_entropy in float16 (one item, classes along axis 1)."""
    x = np.asarray([row], dtype=np.float64)
    ref = {"dtype": "float16", "shape": [1, len(row)], "exact": ["22859.0625"] + ["1"] * (len(row) - 1),
           "rounded": [22864.0] + [1.0] * (len(row) - 1), "ieee": None}
    return {"implementation": "torch.nn.functional.cross_entropy[probs]", "framework": "torch",
            "op": "cross_entropy", "dtype": "float16", "device": "cpu", "mode": mode, "case_id": "hyp-a78a40962527",
            "framework_version": "torch 2.13.0", "params": {"axis": 1, "reduction": "mean", "label_smoothing": 0.1},
            "inputs": {"logits": tensor_json(x), "target": tensor_json(np.full_like(x, 1.0 / len(row)))},
            "reference": {"value": None, "grad": {"target": ref}},
            "observed": {"value": tensor_json(np.asarray(1.0)),
                         "grad": {"target": tensor_json(np.asarray([[observed] + [1.0] * (len(row) - 1)]))}},
            "verdict": "special_value_mismatch", "part": "grad:target", "exception": None, "detail": "",
            "convention": None, "failing_elements": {"grad:target": [0]}}


@pytest.mark.parametrize("mode", ["compile", "eager"])
def test_a_target_gradient_through_an_overflowing_log_softmax_is_known(entries, mode):
    rec = probs_ce_record([-65504.0, 64864.0, 0.0], mode=mode)  # log_softmax_0 = -130368: -inf in float16
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == "torch-probs-ce-target-gradient-log-softmax-overflows"


def test_neighbours_of_the_log_softmax_overflow_are_not_explained(entries):
    """A row whose log-probabilities fit (-60000): reported; a finite observed gradient: not this predicate."""
    rec = probs_ce_record([-30000.0, 30000.0, 0.0])
    known.classify(rec, entries, FAILING)
    assert rec["unexpected"] and rec["known_divergence"] is None
    pred = known_predicates_modes.observed_nonfinite_where_log_softmax_overflows
    assert pred(Element(probs_ce_record([-65504.0, 64864.0, 0.0]), "grad:target", 0))
    assert not pred(Element(probs_ce_record([-65504.0, 64864.0, 0.0], observed=30000.0), "grad:target", 0))


def lce_raising_record(message: str, exc_type: str = "torch._inductor.exc.InductorError") -> dict:
    """The ci record: torch.nn.LinearCrossEntropyLoss[chunked] with one class, reduction none, compiled."""
    return {"implementation": "torch.nn.LinearCrossEntropyLoss[chunked]", "framework": "torch",
            "op": "linear_cross_entropy", "dtype": "float32", "device": "cpu", "mode": "compile",
            "case_id": "hyp-e7ade6ffe26a", "framework_version": "torch 2.13.0",
            "params": {"weight": [7.42], "ignore_index": -100, "reduction": "none"},
            "inputs": {"linear_weight": tensor_json(np.ones((1, 8), dtype=np.float32))},
            "verdict": "error_behaviour_mismatch", "part": "value", "observed": None, "reference": None,
            "exception": {"type": exc_type, "message": message}, "failing_elements": {},
            "detail": f"raised {exc_type}: {message} where the value is defined"}


def test_inductor_assertion_compiling_the_one_class_chunked_loss_is_known(entries):
    rec = lce_raising_record("AssertionError: ")
    known.classify(rec, entries, FAILING)
    assert rec["known_divergence"] == "torch-compile-linear-ce-chunked-one-class-inductor-assertion"
    other = lce_raising_record("expected a class", "RuntimeError")  # another error: reported
    known.classify(other, entries, FAILING)
    assert other["unexpected"] and other["known_divergence"] is None


