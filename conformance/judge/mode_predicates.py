"""Known-divergence predicates of the derivative modes (vjp / jvp / hvp), registered beside those of
known_predicates.py (same contract: a predicate reads only the record's element) by conformance/judge/known.py
at import."""
from __future__ import annotations

import math
from decimal import Decimal

import numpy as np

from conformance.judge.known_predicates import Element, _related


def _named_related(e: Element, name: str) -> np.ndarray | None:
    """The elements of floating input `name` the failing element depends on (None: no such input)."""
    t = (e.record.get("inputs") or {}).get(name)
    if t is None or t["dtype"].startswith(("int", "uint", "bool")) or not t["data"] or e.index is None:
        return None
    a = np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])
    idx = np.unravel_index(e.index, e.shape) if e.shape else ()
    return _related(a, tuple(idx), e.shape, (e.record.get("params") or {}).get("axis"))


def observed_nan_at_xlogy_corner(e: Element) -> bool:
    """The observed element is NaN where x = 0 and the log's argument is 0 (y = 0 for xlogy, 1 + y = 0 for
    xlog1py): a forward rule x_dot log(y) + y_dot x / y evaluates the other input's term as 0 * (0 / 0) = NaN
    even where that input's tangent is 0."""
    x, y = _named_related(e, "x"), _named_related(e, "y")
    if not math.isnan(e.observed) or x is None or y is None or x.shape != y.shape:
        return False
    arg = y + 1 if e.record.get("op") == "xlog1py" else y
    return bool(((x == 0) & (arg == 0)).any())


def target_zero_at_mismatch(e: Element) -> bool:
    """`target` is 0 where the element fails: where(target == 0, 0, log(target)) takes a constant branch."""
    t = _named_related(e, "target")
    return t is not None and bool((t == 0).any())


def label_y_at_an_end_at_mismatch(e: Element) -> bool:
    """The label `y` is exactly 0 or 1 where the element fails: logsumexp(a, b=[1 - y, y]) masks the entry
    whose b is 0 (a -> -inf), so every derivative through that b is lost."""
    y = _named_related(e, "y")
    return y is not None and bool(((y == 0) | (y == 1)).any())


def relative_error_within_bce_double_backward_eps(e: Element) -> bool:
    """0 < p < 1, |observed - exact| <= 4e-12 (1/p + 1/(1 - p)) max(|observed|, |exact|): a division by
    (p + 1e-12)^2 (1 - p + 1e-12)^2 (torch's BCE double backward; float64 shows it)."""
    p = _named_related(e, "p")
    x = e.exact
    if p is None or x is None or not math.isfinite(e.observed) or not ((p > 0) & (p < 1)).all():
        return False
    scale = float(np.max(1 / p + 1 / (1 - p)))
    return abs(Decimal(e.observed) - x) <= Decimal(4e-12 * scale) * max(abs(Decimal(e.observed)), abs(x))


def observed_zero_where_a_term_is_dropped(e: Element) -> bool:
    """Observed exactly 0: a rule returns no term for this input (TF's softmax CE: no labels second order)."""
    return e.observed == 0.0 and e.exact is not None


PREDICATES = {f.__name__: f for f in (
    observed_nan_at_xlogy_corner, target_zero_at_mismatch, label_y_at_an_end_at_mismatch,
    relative_error_within_bce_double_backward_eps, observed_zero_where_a_term_is_dropped)}
