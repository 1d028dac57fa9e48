"""The conventions torch's rows declare (documented behaviours that differ from the mathematics, each with its
link), as data for conformance/adapters/torch_adapter.py."""
from __future__ import annotations

import numpy as np

from conformance.adapters.implementation import Convention

DOCS = "https://docs.pytorch.org/docs/stable/generated/"
CROSS_ENTROPY_LOSS_DOCS = DOCS + "torch.nn.CrossEntropyLoss.html"
BCE_LOSS_DOCS = DOCS + "torch.nn.BCELoss.html"


def _label_minus_100_without_ignore_index(inputs: dict, params: dict) -> bool:
    target = inputs.get("target")
    return (params.get("ignore_index") is None and target is not None
            and np.issubdtype(target.dtype, np.integer) and bool(np.any(target == -100)))


IGNORE_INDEX_DEFAULT = Convention(
    key="ignore_index_default_-100",
    description="ignore_index defaults to -100: with no ignore_index given, an item labelled -100 is ignored "
                "(loss 0, not counted in the mean) instead of raising as an out-of-range label.",
    link=CROSS_ENTROPY_LOSS_DOCS,
    ref_params={"ignore_index": -100},
    applies=_label_minus_100_without_ignore_index,
)
WEIGHTED_MEAN = Convention(
    key="weighted_mean_divides_by_weight_sum",
    description="reduction='mean' with class weights divides sum(w[y] * loss) by the sum of w[y] over the "
                "counted (non-ignored) items, not by their number.",
    link="https://github.com/pytorch/pytorch/issues/25571",
    ref_params={"mean_denominator": "weight_sum"},
)
MEAN_OF_NOTHING_IS_NAN = Convention(
    key="mean_over_no_items_is_nan",
    description="reduction='mean' over zero counted items (empty batch, or every label ignored) is 0/0 = NaN "
                "by design.",
    link="https://github.com/pytorch/pytorch/issues/70348",
)
WEIGHTED_LABEL_SMOOTHING = Convention(
    key="label_smoothing_weighted_by_class_weights",
    description="with label smoothing e and class weights w the loss is (1-e) w[y] (-lp[y]) + (e/C) sum_c w[c] "
                "(-lp[c]), and the mean still divides by the sum of w[y]: class weights change the smoothing.",
    link="https://github.com/pytorch/pytorch/issues/104776",
    applies=lambda inputs, params: bool(params.get("label_smoothing")) and params.get("weight") is not None,
)
PROB_TARGETS_MEAN_COUNT = Convention(
    key="probability_targets_mean_divides_by_item_count",
    description="with probability targets reduction='mean' divides the (class-weighted) sum by the number "
                "of items N (times extra dims), not by the sum of the weighted targets.",
    link=CROSS_ENTROPY_LOSS_DOCS,
    ref_params={"mean_denominator": "count"},
)
BCE_LOG_CLAMP = Convention(
    key="log_clamp_-100",
    description="BCELoss clamps each log term at >= -100, so p = 0 or 1 gives a finite loss (at most 100 "
                "per element).",
    link=BCE_LOSS_DOCS,
    ref_params={"log_clamp": -100},
)
BCE_BACKWARD_EPS = Convention(
    key="backward_eps_1e-12",
    description="the gradient with respect to p is (p - y) / max(p (1 - p), 1e-12): finite (of order 1e12) "
                "at p = 0 or 1, where the clamped loss is flat; not expressible by reference params.",
    link="https://github.com/pytorch/pytorch/issues/171327",
)


def _p_or_y_outside_unit_interval(inputs: dict, params: dict) -> bool:
    for name in ("p", "y"):
        v = np.asarray(inputs[name]).astype(np.float64)
        if np.any(~((v >= 0) & (v <= 1))):  # NaN included
            return True
    return False


BCE_CHECKS_DOMAIN = Convention(
    key="raises_if_p_or_y_outside_0_1",
    description="binary_cross_entropy checks its inputs: any p or y outside [0, 1] (NaN included) raises "
                "'all elements of input (target) should be between 0 and 1' instead of returning a value.",
    link="https://github.com/pytorch/pytorch/blob/v2.13.0/aten/src/ATen/native/Loss.cpp",
    applies=_p_or_y_outside_unit_interval,
    raises=True,
)


# ---------------------------------------------------------------------------------------------------------
# the implementations
