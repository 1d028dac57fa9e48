"""Labelled Hypothesis draws of each reference op's inputs and params, in one place (the array-api-tests
`*_helpers.py` style). test_ref_gradients checks every drawn case's value and gradients against mpmath,
test_ref_derivs its vjp / jvp / hvp: both parametrize over CASES, so a new op or param gets its draw once and
both kinds of check see it.

Values lie on coarse dyadic grids (logits in quarters, the rest in 64ths), exact in every dtype; a clip's
bounds (0.1, 0.9) lie off the grid, so no input sits on its kink.
"""
from __future__ import annotations

from typing import Callable, NamedTuple

import numpy as np
from hypothesis import strategies as st

from ref_helpers import DTYPE_NAMES, logits_strategy, prob_rows_strategy

DTYPES = st.sampled_from(DTYPE_NAMES)
REDUCTIONS = ("none", "sum", "mean")
CLIP = [0.1, 0.9]  # off the 1/64 grid


class Case(NamedTuple):
    op: str
    inputs: dict
    params: dict


# ---- labelled draws of one value ----

def one_of(data, label: str, options):
    """One of `options`; Hypothesis prints the label beside the value of a failing example."""
    return data.draw(st.sampled_from(options), label=label)


def dtype(data) -> str:
    return data.draw(DTYPES, label="dtype")


def flag(data, label: str) -> bool:
    return data.draw(st.booleans(), label=label)


def reduction(data, *extra: str) -> str:
    return one_of(data, "reduction", REDUCTIONS + extra)


def logits(data, label: str, rows: int, cols: int, lo: float = -8.0, hi: float = 8.0) -> np.ndarray:
    """(rows, cols) logits: quarters in [lo, hi]."""
    return data.draw(logits_strategy(rows, cols, lo, hi), label=label)


def probabilities(data, label: str, rows: int, cols: int) -> np.ndarray:
    """(rows, cols) values in (0, 1]: multiples of 1/64 (rows need not sum to 1)."""
    return data.draw(prob_rows_strategy(rows, cols), label=label)


def sixty_fourths(data, label: str, rows: int, cols: int, lo: float, hi: float) -> np.ndarray:
    """(rows, cols) multiples of 1/64 in [lo, hi] (|values| <= 4: exact in every dtype)."""
    k = st.lists(st.integers(round(lo * 64), round(hi * 64)), min_size=cols, max_size=cols)
    return np.array(data.draw(st.lists(k, min_size=rows, max_size=rows), label=label), dtype=float) / 64.0


def batch_shape(data, max_rows: int, max_classes: int, min_classes: int = 1) -> tuple[int, int]:
    """(rows, classes), each drawn: for the identities, which hold at every shape."""
    return data.draw(st.integers(1, max_rows), label="rows"), data.draw(st.integers(min_classes, max_classes),
                                                                         label="classes")


def class_labels(data, n: int, classes: int, lo: int = 0) -> np.ndarray:
    """n integer labels in [lo, classes), each drawn (and labelled) on its own."""
    return np.array([data.draw(st.integers(lo, classes - 1), label=f"label {i}") for i in range(n)])


def logits_and_labels(data, max_rows: int, max_classes: int, min_classes: int = 1, lo: int = 0):
    """(rows, classes) logits and a label in [lo, classes) per row, the shape drawn too (batch_shape)."""
    rows, classes = batch_shape(data, max_rows, max_classes, min_classes)
    return logits(data, "logits", rows, classes), class_labels(data, rows, classes, lo)


# ---- one draw per op family: (inputs, params) ----

def softmax_family(data):  # softmax, log_softmax, logsumexp
    return {"x": logits(data, "x", 2, 3)}, {"axis": one_of(data, "axis", [0, 1, -1])}


def sigmoid_family(data):
    return {"x": logits(data, "x", 1, 4, -30, 30)}, {}


def entropy(data):
    params = {"base": one_of(data, "base", ["e", 2]), "normalize": flag(data, "normalize")}
    return {"p": probabilities(data, "p", 2, 3)}, params


def _distribution_params(data) -> dict:
    params = {"normalize": one_of(data, "normalize", ["none", "q", "both"]), "reduction": reduction(data)}
    if flag(data, "clip"):
        params["clip"] = CLIP
    return params


def two_distributions(data):  # cross_entropy_dist, kl_divergence
    inputs = {"p": probabilities(data, "p", 2, 3), "q": probabilities(data, "q", 2, 3)}
    return inputs, {**_distribution_params(data), "base": one_of(data, "base", ["e", 2])}


def cross_entropy_dist_label_smoothing(data):
    inputs = {"p": probabilities(data, "p", 2, 3), "q": probabilities(data, "q", 2, 3)}
    smoothing = one_of(data, "label_smoothing", [0.125, 0.25, 0.5, 1.0])
    return inputs, {**_distribution_params(data), "label_smoothing": smoothing}


def elementwise_information(data):  # xlogy, rel_entr, generalized_kl
    return {"x": probabilities(data, "x", 1, 3) * 4, "y": probabilities(data, "y", 1, 3)}, {}


def entr(data):
    return {"x": sixty_fourths(data, "x", 1, 4, 1 / 64, 4)}, {}


def xlog1py(data):
    return {"x": sixty_fourths(data, "x", 1, 3, 1 / 64, 4), "y": sixty_fourths(data, "y", 1, 3, -31 / 64, 1)}, {}


def cross_entropy_labels(data):
    y = class_labels(data, 3, 4)
    params = {"label_smoothing": one_of(data, "label_smoothing", [0.0, 0.125, 1.0]), "reduction": reduction(data),
              "mean_denominator": one_of(data, "mean_denominator", ["count", "weight_sum"])}
    if flag(data, "weight"):
        params["weight"] = [0.5, 1.0, 2.0, 4.0]
    if flag(data, "ignore_index"):
        params["ignore_index"] = int(y[0])
        if params["reduction"] == "mean" and (y == y[0]).all():
            params["reduction"] = "sum"  # a mean over nothing is NaN (tested elsewhere)
    return {"logits": logits(data, "logits", 3, 4), "target": y}, params


def cross_entropy_probabilities(data):
    inputs = {"logits": logits(data, "logits", 2, 3), "target": probabilities(data, "target", 2, 3)}
    params = {"label_smoothing": one_of(data, "label_smoothing", [0.0, 0.25]), "reduction": reduction(data),
              "mean_denominator": one_of(data, "mean_denominator", ["count", "weight_sum"]),
              "weight": one_of(data, "weight", [None, [0.5, 1.0, 3.0]])}
    return inputs, params


def cross_entropy_spatial_class_axis(data):
    x = logits(data, "logits", 3, 4).reshape(1, 3, 4)  # (N, C, d1)
    return {"logits": x, "target": class_labels(data, 4, 3).reshape(1, 4)}, {"axis": 1}


def nll_loss(data):
    inputs = {"logp": -probabilities(data, "-logp", 3, 3) * 4, "target": class_labels(data, 3, 3)}
    return inputs, {"weight": one_of(data, "weight", [None, [1.0, 2.0, 0.5]]), "reduction": reduction(data)}


def generalized_cross_entropy(data):
    inputs = {"p": probabilities(data, "p", 3, 4), "target": class_labels(data, 3, 4)}
    return inputs, {"q": one_of(data, "q", [0.5, 0.7, 1.0]), "reduction": reduction(data)}


def poly_loss(data):
    inputs = {"logits": logits(data, "logits", 2, 3), "target": probabilities(data, "target", 2, 3)}
    params = {"epsilon": one_of(data, "epsilon", [2.0, -1.0, 0.0, 0.5]), "reduction": reduction(data),
              "axis": one_of(data, "axis", [-1, 0])}
    return inputs, params


def binary_cross_entropy(data):
    inputs = {"p": probabilities(data, "p", 1, 4) * 0.96875, "y": probabilities(data, "y", 1, 4)}  # p < 1
    params = {"label_smoothing": one_of(data, "label_smoothing", [0.0, 0.25]), "reduction": reduction(data),
              "weight": one_of(data, "weight", [None, [[1.0, 2.0, 0.5, 4.0]]])}
    if flag(data, "clip"):
        params["clip"] = CLIP
    if flag(data, "log_clamp"):
        params["log_clamp"] = -2.0
    return inputs, params


def binary_cross_entropy_with_logits(data):
    inputs = {"x": logits(data, "x", 2, 3, -20, 20), "y": probabilities(data, "y", 2, 3)}
    params = {"label_smoothing": one_of(data, "label_smoothing", [0.0, 0.25]), "reduction": reduction(data),
              "pos_weight": one_of(data, "pos_weight", [None, [1.0, 3.0, 0.5]]),
              "weight": one_of(data, "weight", [None, [[2.0], [0.5]]])}
    return inputs, params


def multilabel_soft_margin_loss(data):
    inputs = {"x": logits(data, "x", 2, 3, -20, 20), "y": probabilities(data, "y", 2, 3)}
    return inputs, {"reduction": reduction(data), "weight": one_of(data, "weight", [None, [1.0, 3.0, 0.5]])}


def _kl_div(data, generalized: bool):
    scale = 2 if generalized else 1  # the generalized form takes unnormalised measures
    q, t = probabilities(data, "q", 2, 3) * scale, probabilities(data, "target", 2, 3) * scale
    log_target = flag(data, "log_target")
    params = {"log_target": log_target, "reduction": reduction(data, "batchmean")}
    return {"input": np.log(q), "target": np.log(t) if log_target else t}, params


def kl_div(data):
    return _kl_div(data, generalized=False)


def kl_div_generalized(data):
    inputs, params = _kl_div(data, generalized=True)
    return inputs, {**params, "generalized": True}


def _focal_params(data, gammas) -> dict:
    return {"gamma": one_of(data, "gamma", gammas), "alpha": one_of(data, "alpha", [None, 0.25]),
            "reduction": reduction(data)}


def sigmoid_focal_loss(data):
    inputs = {"x": logits(data, "x", 1, 4, -12, 12), "y": probabilities(data, "y", 1, 4)}
    return inputs, _focal_params(data, [0.0, 0.5, 1.0, 2.0, 3.0])


def softmax_focal_loss(data):
    inputs = {"logits": logits(data, "logits", 2, 3), "target": probabilities(data, "target", 2, 3)}
    return inputs, _focal_params(data, [0.0, 0.5, 2.0])


def binary_focal_loss(data):
    inputs = {"p": probabilities(data, "p", 1, 4) * 0.96875, "y": probabilities(data, "y", 1, 4)}  # p < 1
    params = {**_focal_params(data, [0.0, 0.5, 1.0, 2.0, 3.0]),
              "label_smoothing": one_of(data, "label_smoothing", [0.0, 0.25])}
    if flag(data, "clip"):
        params["clip"] = CLIP
    return inputs, params


def linear_cross_entropy(data):
    """input (N, D), linear_weight (C, D), linear_bias (C,) in quarters, labels; weight, one ignored item,
    label smoothing, both mean denominators."""
    n, d, c = (one_of(data, k, [1, 2, 3]) for k in "NDC")
    inputs = {"input": logits(data, "input", n, d, -4, 4), "linear_weight": logits(data, "linear_weight", c, d, -4, 4),
              "linear_bias": logits(data, "linear_bias", 1, c, -4, 4)[0], "target": class_labels(data, n, c)}
    params = {"reduction": reduction(data), "label_smoothing": one_of(data, "label_smoothing", [0.0, 0.25]),
              "mean_denominator": one_of(data, "mean_denominator", ["weight_sum", "count"])}
    if flag(data, "weight"):
        params["weight"] = [one_of(data, f"weight[{i}]", [0.5, 1.0, 2.0, 3.0]) for i in range(c)]
    if n > 1 and flag(data, "ignore one"):
        inputs["target"][0] = -100
        params["ignore_index"] = -100
    return inputs, params


# ---- the cases: id (the op, or op:variant) -> its draw ----

CORE_CASES: dict[str, Callable] = {
    "softmax": softmax_family, "log_softmax": softmax_family, "sigmoid": sigmoid_family,
    "log_sigmoid": sigmoid_family, "entropy": entropy, "cross_entropy_dist": two_distributions,
    "kl_divergence": two_distributions, "xlogy": elementwise_information, "rel_entr": elementwise_information,
    "generalized_kl": elementwise_information, "cross_entropy:labels": cross_entropy_labels,
    "cross_entropy:probabilities": cross_entropy_probabilities,
    "cross_entropy:spatial_class_axis": cross_entropy_spatial_class_axis, "nll_loss": nll_loss,
    "binary_cross_entropy": binary_cross_entropy, "binary_cross_entropy_with_logits": binary_cross_entropy_with_logits,
    "kl_div": kl_div, "sigmoid_focal_loss": sigmoid_focal_loss, "softmax_focal_loss": softmax_focal_loss,
}
ISSUE_17_CASES: dict[str, Callable] = {  # the ops and params issue 17 added
    "entr": entr, "poly_loss": poly_loss, "multilabel_soft_margin_loss": multilabel_soft_margin_loss,
    "kl_div:generalized": kl_div_generalized, "cross_entropy_dist:label_smoothing": cross_entropy_dist_label_smoothing,
    "binary_focal_loss": binary_focal_loss, "logsumexp": softmax_family, "xlog1py": xlog1py,
    "generalized_cross_entropy": generalized_cross_entropy,
}
LINEAR_CASES: dict[str, Callable] = {  # derivative modes: tests/reference/test_ref_linear_ce.py
    "linear_cross_entropy": linear_cross_entropy,
}
CASES = {**CORE_CASES, **ISSUE_17_CASES, **LINEAR_CASES}


def draw_case(data, case_id: str) -> Case:
    """The op of `case_id` with its inputs and params, drawn."""
    inputs, params = CASES[case_id](data)
    return Case(case_id.split(":")[0], inputs, params)
