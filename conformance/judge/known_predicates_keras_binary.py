"""Known-divergence predicates of the Keras binary losses and sigmoid ops on the JAX and torch backends (rows
ID@jax, ID@torch; issue 14), registered beside those of known_predicates.py by conformance/judge/known.py (same
contract: a predicate reads only the record's failing element, its inputs and params).

Keras builds the binary probability paths from a probability clipped to [eps, 1 - eps] (eps =
keras.config.epsilon() = 1e-7, each bound rounded to the input dtype as the backends convert a Python bound),
and its from_logits=True focal loss from the probability sigmoid(x) rounded to the input dtype
(keras/src/losses/losses.py binary_focal_crossentropy: ops.sigmoid, then binary_crossentropy(from_logits=False));
sigmoid's gradient is formed from its rounded output (y (1 - y)).
"""
from __future__ import annotations

import math
from decimal import Decimal

import ml_dtypes
import numpy as np

from conformance.judge.known_predicates import Element, _finfo
from conformance.judge.mode_predicates import _named_related

KERAS_EPSILON = 1e-7  # keras.config.epsilon()'s default, which the adapters leave as it is
_NP = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _u(dtype: str) -> float:
    return float(_finfo(dtype).eps) / 2


def _in_dtype(values, dtype: str) -> np.ndarray:
    """float64 values rounded to `dtype` (round to nearest even), back as float64."""
    return np.asarray(values, dtype=np.float64).astype(_NP[dtype]).astype(np.float64)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    """sigmoid in float64 (0 and 1 at the ends, no overflow warning)."""
    with np.errstate(over="ignore"):
        return 1.0 / (1.0 + np.exp(-x))


def _clip_bounds(dtype: str) -> tuple[float, float]:
    """Keras' clip bounds [eps, 1 - eps] as the input dtype holds them (1 - eps is 1 in float16 / bfloat16)."""
    lo, hi = _in_dtype([KERAS_EPSILON, 1.0 - KERAS_EPSILON], dtype)
    return float(lo), float(hi)


def _scale(e: Element, n: int) -> float:
    """The factor a loss element's terms carry: the largest |sample_weight| (at least 1), over N for a mean."""
    params = e.record.get("params") or {}
    sw = params.get("sample_weight")
    w = max(1.0, float(np.max(np.abs(np.asarray(sw, dtype=np.float64))))) if sw is not None else 1.0
    return w / max(n, 1) if params.get("reduction") == "mean" else w


def error_within_rounded_sigmoid_output(e: Element) -> bool:
    """A derivative formed from the rounded sigmoid y = sigmoid(x) (y (1 - y) for sigmoid's gradient, y - t for
    the binary cross-entropy's): y carries a relative error of a few u, which 1 - y or y - t keeps as an
    absolute one, so where y is near 1 (large x) or near t the result loses its relative accuracy (0 once y
    rounds to 1). Holds when the observed element is finite and |observed - exact| <= (4 u max sigmoid(x)
    + 2 u |exact|) w, x the logits the element depends on, w its weight (sample_weight, 1/N for a mean)."""
    exact, x = e.exact, _named_related(e, "x")
    if exact is None or x is None or not math.isfinite(e.observed) or np.isnan(x).any():
        return False
    u = _u(e.dtype)
    sig = float(np.max(_sigmoid(x)))
    bound = (4 * u * sig + 2 * u * abs(float(exact))) * _scale(e, x.size if e.part == "value" else 1)
    return abs(Decimal(e.observed) - exact) <= Decimal(bound)


def loss_from_rounded_sigmoid_probability(e: Element) -> bool:
    """Keras' binary focal loss with from_logits=True works on p = sigmoid(x) rounded to the input dtype, clipped
    to [eps, 1 - eps] in its bce term: where p reaches a clip bound (|x| >= about 16 in float32 and float64,
    sigmoid(x) = 1 in float16 / bfloat16 once x >= 8 or so, where 1 - eps is 1 and log(1 - p) is -inf) the loss
    and its gradients are those of the bound, whatever x (any value, inf or NaN); elsewhere log(1 - p) and the
    focal base 1 - p_t recover the loss from a probability whose rounding is amplified by 1 / min(p, 1 - p)
    (about e^|x|). Holds when some logit x the element depends on has p at a clip bound, or when the observed
    element is finite and |observed - exact| <= 4 u (1 + gamma) (1 + e^|x|) (1 + |x|) w (x the largest |logit|,
    w the largest |sample_weight|, at least 1)."""
    x = _named_related(e, "x")
    if x is None or np.isnan(x).any():
        return False
    lo, hi = _clip_bounds(e.dtype)
    p = _in_dtype(_sigmoid(x), e.dtype)
    if bool(((p <= lo) | (p >= hi)).any()):
        return True
    exact = e.exact
    if exact is None or not math.isfinite(e.observed):
        return False
    m = float(np.max(np.abs(x)))
    gamma = float((e.record.get("params") or {}).get("gamma") or 0.0)
    bound = 4 * _u(e.dtype) * (1 + gamma) * (1 + math.exp(m)) * (1 + m) * _scale(e, 1)
    return abs(Decimal(e.observed) - exact) <= Decimal(bound)


def probability_p_clipped_at_mismatch(e: Element) -> bool:
    """Some probability p the failing element depends on lies at or beyond Keras' clip bounds (p <= eps or
    p >= 1 - eps, the bounds rounded to the dtype; subnormal and out-of-range p included): the loss is the
    clipped one (the clip convention), evaluated in the input dtype from the bound: log(1 - eps) with 1 - eps
    rounded, log(0) where 1 - eps rounds to 1, a gradient through the clip's zero mask (NaN times an
    overflowed 1/p under JAX), torch's clamp of each log at -100, a float64 loss reduced in float32."""
    p = _named_related(e, "p")
    if p is None:
        return False
    lo, hi = _clip_bounds(e.dtype)
    return bool(((p <= lo) | (p >= hi)).any())


def error_within_probability_path_rounding(e: Element) -> bool:
    """Keras' probability paths run in the input dtype: binary_crossentropy takes log(p) and log(1 - p) with 1 - p
    rounded (an absolute error of about u per term, -0 where p < u / 2 rounds 1 - p to 1), and the focal loss
    multiplies by (1 - p_t)^gamma with p_t = y p + (1 - y)(1 - p) rounded, whose base loses p_t / (1 - p_t)
    roundings of relative accuracy. Holds for 0 < p < 1 (the clip inactive), a finite observed element and
    |observed - exact| <= 4 u ((1 + |y log p| + |(1 - y) log(1 - p)|) f + (1 + gamma k) |exact|) w, y the
    label after label_smoothing, f the largest focal factor (1 - p_t)^gamma (1 without gamma), k the largest
    p_t / (1 - p_t), w the largest |sample_weight| (at least 1)."""
    p, y, exact = _named_related(e, "p"), _named_related(e, "y"), e.exact
    if p is None or y is None or exact is None or not math.isfinite(e.observed) or p.shape != y.shape:
        return False
    if not ((p > 0) & (p < 1)).all() or np.isnan(y).any():
        return False
    params = e.record.get("params") or {}
    smoothing = float(params.get("label_smoothing") or 0.0)
    y = y * (1 - smoothing) + 0.5 * smoothing
    bce = 1 + np.abs(y * np.log(p)) + np.abs((1 - y) * np.log1p(-p))
    gamma = params.get("gamma")
    if gamma is None:
        f, k = 1.0, 0.0
    else:
        base = 1 - (y * p + (1 - y) * (1 - p))
        if (base <= 0).any():
            return False
        f, k = float(np.max(base ** float(gamma))), float(np.max((1 - base) / base))
    bound = 4 * _u(e.dtype) * (float(np.max(bce)) * f + (1 + float(gamma or 0) * k) * abs(float(exact))) * _scale(e, 1)
    return abs(Decimal(e.observed) - exact) <= Decimal(bound)


def observed_nonfinite_where_weighted_label_cotangent_overflows(e: Element) -> bool:
    """A label gradient (part grad:y) that is NaN or +-inf where the exact one is finite, and the cotangent of the
    smoothed label, |sample_weight| / N (N the items of a mean) times d loss / d y' (= -x, x the element's
    logit), exceeds the dtype's largest number: Keras smooths y' = y (1 - s) + s / 2 and weights the loss
    afterwards, so autodiff forms that product first and multiplies the overflowed inf by 1 - s (0 * inf = NaN
    for s = 1, where the exact gradient is 0)."""
    x = _named_related(e, "x")
    if math.isfinite(e.observed) or e.exact is None or x is None or not e.part.endswith(":y"):
        return False
    w = _label_cotangent_weight(e.record)
    return w is not None and bool(w * float(np.max(np.abs(x))) > float(_finfo(e.dtype).max))


def _label_cotangent_weight(record: dict) -> float | None:
    """|sample_weight| / N (N the items of a mean), None without a sample_weight or label smoothing."""
    params = record.get("params") or {}
    sw = params.get("sample_weight")
    if sw is None or not params.get("label_smoothing"):
        return None
    n = len((record.get("inputs") or {}).get("x", {}).get("data") or [1])
    return float(np.max(np.abs(np.asarray(sw, dtype=np.float64)))) / (n if params.get("reduction") == "mean" else 1)


def _label_cotangent_can_overflow(record: dict) -> bool:
    """The case alone can meet the mechanism: a smoothed label and a logit x whose |w| / N |x| overflows while
    the gradient itself, |w| / N (1 - s) |x|, does not."""
    w, x = _label_cotangent_weight(record), (record.get("inputs") or {}).get("x")
    if w is None or not x or not x.get("data"):
        return False
    top, keep = float(_finfo(record["dtype"]).max), 1.0 - float(record["params"]["label_smoothing"])
    return any(w * abs(float(v)) > top >= w * keep * abs(float(v)) for v in x["data"] if math.isfinite(float(v)))


observed_nonfinite_where_weighted_label_cotangent_overflows.case_applies = _label_cotangent_can_overflow


PREDICATES = {f.__name__: f for f in (error_within_rounded_sigmoid_output, loss_from_rounded_sigmoid_probability,
                                      probability_p_clipped_at_mismatch, error_within_probability_path_rounding,
                                      observed_nonfinite_where_weighted_label_cotangent_overflows)}
