"""Parameter combinations drawn together (issue 14): the edges where a loss's options interact.

Drawing each param on its own (conformance/cases/strategies.py draw_params) rarely lands on several
non-default options at once within a cell's few examples, and never on the inputs that make the options
interact. A combination names such an edge: the params set together (each to a non-default value, when the
implementation can express it: cases/layout.py `applicable` is the same test) and the input regimes that
meet them. Where at least one combination applies to a row, the ci and thorough profiles draw one in three
examples as a combination (the draw labelled "combination", so a failing example names it; it shrinks to
"none"). The quick profile draws none: its examples are unchanged.

    smoothing+weight+ignore_index  cross_entropy with integer labels, label_smoothing with class weights
                                   and/or ignore_index, labels drawn with ignored items
    probs+smoothing                probability targets with label_smoothing (and class weights where allowed)
    soft-target+extreme-logits     binary losses on logits: soft targets (strictly between 0 and 1) with
                                   infinite and extreme logits (and label_smoothing, weight where allowed)
    soft-target+extreme-probs      binary losses on probabilities: soft targets with p at 0, 1 and next to them
    pos_weight+extreme-logits      pos_weight (0 to huge) with infinite and extreme logits

where= masks (jax.nn, optax) and Keras sample weights are drawn with every example of a row that allows
them (one in three, ci and thorough, labelled "where?" / "sample_weight?"): conformance/cases/masks.py.
"""
from __future__ import annotations

from dataclasses import dataclass

from hypothesis import strategies as st

BINARY_LOGIT_OPS = ("binary_cross_entropy_with_logits", "sigmoid_focal_loss", "multilabel_soft_margin_loss")
BINARY_PROB_OPS = ("binary_cross_entropy", "binary_focal_loss")


@dataclass(frozen=True)
class Combination:
    """An edge where options interact.

    ops:       the ops it applies to
    required:  params the row must allow (each set to a non-default value)
    optional:  params set too when the row allows them; at least `min_optional` of them must be allowed
    regimes:   input domain (reference/ops/spec.py Input.domain) -> the regime its values are drawn from
    target:    for a "target" input (labels or probabilities): "labels" or "probs"
    """

    name: str
    ops: tuple[str, ...]
    required: tuple[str, ...] = ()
    optional: tuple[str, ...] = ()
    min_optional: int = 0
    regimes: tuple[tuple[str, str], ...] = ()
    target: str | None = None

    def applies(self, op: str, allowed: dict, fixed: dict) -> bool:
        if op not in self.ops:
            return False
        settable = {name for name in allowed if name not in fixed}
        return (all(name in settable for name in self.required)
                and sum(name in settable for name in self.optional) >= self.min_optional)

    def force(self, allowed: dict, fixed: dict) -> tuple[str, ...]:
        """The params this combination sets for a row (required and the allowed optional ones)."""
        return tuple(n for n in (*self.required, *self.optional) if n in allowed and n not in fixed)

    def regime(self, domain: str) -> str | None:
        return dict(self.regimes).get(domain)


COMBINATIONS = (
    Combination("smoothing+weight+ignore_index", ("cross_entropy",), required=("label_smoothing",),
                optional=("weight", "ignore_index"), min_optional=1, regimes=(("label", "with-ignored"),),
                target="labels"),
    Combination("probs+smoothing", ("cross_entropy", "cross_entropy_dist"), required=("label_smoothing",),
                optional=("weight",), target="probs"),
    Combination("soft-target+extreme-logits", BINARY_LOGIT_OPS, optional=("label_smoothing", "weight"),
                regimes=(("real", "extreme"), ("binary", "soft"))),
    Combination("soft-target+extreme-probs", BINARY_PROB_OPS, optional=("label_smoothing", "weight"),
                regimes=(("prob", "extreme"), ("binary", "soft"))),
    Combination("pos_weight+extreme-logits", ("binary_cross_entropy_with_logits",), required=("pos_weight",),
                optional=("weight",), regimes=(("real", "extreme"), ("binary", "soft-or-hard"))),
)
BY_NAME = {c.name: c for c in COMBINATIONS}

COMBINATION_PROFILES = ("ci", "thorough")  # the quick profile's draws stay as they were
NONZERO_SMOOTHING = (0.1, 1e-7, 1.0, 0.5)
POS_WEIGHT_EXTREMES = (100.0, 0.0, 1e4, 0.5, 2.0)  # and "big" (max/4 of the dtype), added per dtype


def applicable_combinations(op: str, allowed: dict, fixed: dict) -> list[Combination]:
    return [c for c in COMBINATIONS if c.applies(op, allowed, fixed)]


def draw_combination(data, op: str, allowed: dict, fixed: dict, profile: str) -> Combination | None:
    """One in three examples of a row some combination applies to (ci and thorough): one of them, labelled.
    Draws nothing where none applies (or in the quick profile), so those rows' examples are unchanged."""
    if profile not in COMBINATION_PROFILES:
        return None
    usable = applicable_combinations(op, allowed, fixed)
    if not usable:
        return None
    if data.draw(st.integers(0, 2), label="combination?") != 2:  # shrinks towards 0: no combination
        return None
    name = data.draw(st.sampled_from([c.name for c in usable]), label="combination")
    return BY_NAME[name]


def extreme_reals(fmax: float, log_max: float) -> st.SearchStrategy:
    """Logits where the binary losses' stable forms matter: infinities, the dtype's max, where exp overflows
    (log_max) and where sigmoid rounds to 0 or 1, mixed with moderate values."""
    pool = [float("inf"), float("-inf"), fmax, -fmax, fmax / 2, -fmax / 2, log_max, -log_max, 1e4, -1e4,
            100.0, -100.0, 40.0, -40.0, 17.0, -17.0, 0.0]
    return st.sampled_from([v for v in pool if abs(v) <= fmax or v in (float("inf"), float("-inf"))]) \
        | st.floats(-50, 50)


def soft_targets(one_minus_ulp: float, tiny: float, denorm_min: float) -> st.SearchStrategy:
    """Targets strictly between 0 and 1 (before rounding to the dtype): halves, quarters, next to 0 and 1."""
    pool = [0.5, 0.25, 0.75, 0.1, 0.9, 1e-3, one_minus_ulp, tiny, denorm_min]
    return st.sampled_from(pool) | st.floats(0, 1, exclude_min=True, exclude_max=True)


def extreme_probs(one_minus_ulp: float, tiny: float, denorm_min: float) -> st.SearchStrategy:
    """Probabilities at and next to 0 and 1, where log(p) and log(1 - p) blow up or cancel."""
    return st.sampled_from([0.0, 1.0, one_minus_ulp, denorm_min, tiny, 0.5, 1e-3]) | st.floats(0, 1)
