"""Parameter combinations drawn together (conformance/cases/combinations.py via strategies.draw_case)."""
from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conformance.cases.combinations import BY_NAME, COMBINATIONS, applicable_combinations, draw_combination
from conformance.cases.layout import applicable
from conformance.cases.strategies import draw_case
from conformance.execute.reference_cache import op_defaults
from conformance.floats import named_value

# rows as the adapters declare them (torch cross_entropy, BCEWithLogitsLoss, BCELoss; Keras BinaryCrossentropy;
# tf.nn.weighted_cross_entropy_with_logits; optax sigmoid_focal_loss)
REDUCTIONS = ("none", "sum", "mean")
TORCH_CE = ("cross_entropy", {"weight": None, "ignore_index": None, "reduction": REDUCTIONS,
                              "mean_denominator": ("weight_sum",), "label_smoothing": None}, {"axis": 1})
TORCH_BCEL = ("binary_cross_entropy_with_logits", {"weight": None, "pos_weight": None, "reduction": REDUCTIONS}, {})
TF_WEIGHTED = ("binary_cross_entropy_with_logits", {"pos_weight": None}, {"reduction": "none"})
KERAS_BCEL = ("binary_cross_entropy_with_logits", {"reduction": REDUCTIONS, "label_smoothing": None}, {})
TORCH_BCE = ("binary_cross_entropy", {"weight": None, "reduction": REDUCTIONS, "log_clamp": (-100,)}, {})
OPTAX_FOCAL = ("sigmoid_focal_loss", {"alpha": None, "gamma": None}, {"reduction": "none"})
KERAS_CCE = ("cross_entropy", {"reduction": REDUCTIONS, "label_smoothing": None,
                               "mean_denominator": ("weight_sum", "count")}, {"axis": -1})
SETTINGS = settings(max_examples=400, database=None, derandomize=True, suppress_health_check=list(HealthCheck),
                    phases=[Phase.generate], deadline=None)


class _Found(Exception):
    def __init__(self, case):
        self.case = case


def find(strategy, predicate, settings):
    """The first generated example satisfying predicate (derandomized, not shrunk: shrinking is slow and not
    what is tested); AssertionError when none of the examples does."""
    @settings
    @given(strategy)
    def search(case):
        if predicate(case):
            raise _Found(case)

    try:
        search()
    except _Found as found:
        return found.case
    raise AssertionError("no example satisfies the predicate")


class _Labelled:
    """draw_case's `data` (st.data() draws with a label) over a composite strategy's draw."""

    def __init__(self, draw):
        self.draw_fn = draw

    def draw(self, strategy, label=None):
        return self.draw_fn(strategy)


def cases(row, dtype="float32", profile="ci"):
    op, allowed, fixed = row

    @st.composite
    def strategy(draw):
        return draw_case(_Labelled(draw), op, dtype, allowed, fixed, profile)

    return strategy()


def usable(case, row) -> bool:
    op, allowed, fixed = row
    return applicable(case, allowed, fixed, op_defaults(op))


def _soft(a) -> bool:
    a = np.asarray(a, dtype=np.float64)
    return a.size > 0 and bool(((a > 0) & (a < 1)).all())


def test_every_combination_applies_to_some_row_and_rows_without_options_get_none():
    rows = (TORCH_CE, TORCH_BCEL, TF_WEIGHTED, KERAS_BCEL, TORCH_BCE, OPTAX_FOCAL, KERAS_CCE)
    found = {c.name for row in rows for c in applicable_combinations(*row)}
    assert found == {c.name for c in COMBINATIONS}
    assert {c.name for c in applicable_combinations(*TORCH_CE)} == {"smoothing+weight+ignore_index",
                                                                    "probs+smoothing"}
    assert applicable_combinations("softmax", {"axis": None}, {}) == []
    # a param the row fixes is not settable: Keras' categorical cross entropy has smoothing, no weight
    assert [c.name for c in applicable_combinations(*KERAS_CCE)] == ["probs+smoothing"]


class _NoDraws:
    def draw(self, strategy, label=None):
        raise AssertionError(f"drew {label!r}")


@pytest.mark.parametrize("row, profile", [(TORCH_CE, "quick"), (("softmax", {"axis": None}, {}), "ci"),
                                          (("sigmoid", {}, {}), "thorough")])
def test_no_combination_draw_in_quick_or_where_none_applies(row, profile):
    """Those examples stay byte for byte what they were: not even the 'combination?' choice is drawn."""
    assert draw_combination(_NoDraws(), *row, profile) is None


def test_smoothing_with_weight_and_ignored_labels_are_drawn_together():
    def together(case):
        target = case.inputs["target"]
        return (case.params.get("label_smoothing", 0) > 0 and case.params.get("weight") is not None
                and target.dtype.kind == "i" and (target == case.params["ignore_index"]).any()
                and (target != case.params["ignore_index"]).any())

    case = find(cases(TORCH_CE), together, settings=SETTINGS)
    assert usable(case, TORCH_CE) and len(case.params["weight"]) == case.inputs["logits"].shape[1]


def test_probability_targets_with_smoothing_and_weight():
    case = find(cases(TORCH_CE), lambda c: c.inputs["target"].dtype.kind == "f" and c.params.get("label_smoothing", 0) > 0
                and c.params.get("weight") is not None, settings=SETTINGS)
    assert usable(case, TORCH_CE)
    keras = find(cases(KERAS_CCE), lambda c: c.inputs["target"].dtype.kind == "f"
                 and c.params.get("label_smoothing", 0) > 0, settings=SETTINGS)
    assert usable(keras, KERAS_CCE) and "weight" not in keras.params


@pytest.mark.parametrize("row", [TORCH_BCEL, KERAS_BCEL, OPTAX_FOCAL])
def test_soft_targets_meet_infinite_logits(row):
    case = find(cases(row), lambda c: _soft(c.inputs["y"]) and np.isinf(c.inputs["x"]).any(), settings=SETTINGS)
    assert usable(case, row)


def test_soft_targets_with_extreme_logits_and_smoothing_for_keras():
    fmax = named_value("max", "float16")
    case = find(cases(KERAS_BCEL, "float16"), lambda c: _soft(c.inputs["y"]) and c.params.get("label_smoothing", 0) > 0
                and (np.abs(c.inputs["x"].astype(np.float64)) == fmax).any(), settings=SETTINGS)
    assert usable(case, KERAS_BCEL)


def test_soft_targets_meet_probabilities_at_zero_and_one():
    case = find(cases(TORCH_BCE), lambda c: _soft(c.inputs["y"]) and c.params.get("weight") is not None
                and ((c.inputs["p"] == 0) | (c.inputs["p"] == 1)).any(), settings=SETTINGS)
    assert usable(case, TORCH_BCE)  # the elementwise weight broadcasts over the batch
    assert np.broadcast_shapes(np.shape(case.params["weight"]), case.inputs["p"].shape) == case.inputs["p"].shape


@pytest.mark.parametrize("row", [TORCH_BCEL, TF_WEIGHTED])
def test_pos_weight_meets_extreme_logits(row):
    big = named_value("big", "float32")

    def extreme(c):
        pw = c.params.get("pos_weight")
        x = np.abs(c.inputs["x"].astype(np.float64))
        return pw is not None and max(pw) >= 100 and (x >= 1e4).any() and c.inputs["x"].ndim == 2

    case = find(cases(row), extreme, settings=SETTINGS)
    assert usable(case, row) and len(case.params["pos_weight"]) == case.inputs["x"].shape[-1]
    huge = find(cases(row), lambda c: max(c.params.get("pos_weight") or [0]) >= 1e4, settings=SETTINGS)
    assert all(math.isfinite(v) and 0 <= v <= big for v in huge.params["pos_weight"])


def test_combination_names_and_docs_agree():
    from conformance.cases import combinations

    for c in COMBINATIONS:
        assert BY_NAME[c.name] is c and c.name in combinations.__doc__
