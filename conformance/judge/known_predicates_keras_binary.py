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
    (about e^|x|). Holds when some logit x the element depends on has p at a clip bound (for a gradient also
    where 1 / p overflows the dtype: float16 p < 1.5e-5, unclipped, gives an inf cotangent), or when the observed
    element is finite and |observed - exact| <= 4 u (1 + gamma) (1 + e^|x|) (1 + |x|) w (x the largest |logit|,
    w the largest |sample_weight|, at least 1)."""
    x = _named_related(e, "x")
    if x is None or np.isnan(x).any():
        return False
    lo, hi = _clip_bounds(e.dtype)
    p = _in_dtype(_sigmoid(x), e.dtype)
    if bool(((p <= lo) | (p >= hi)).any()):
        return True
    if e.part.startswith("grad:") and bool((p * float(_finfo(e.dtype).max) < 1).any()):
        return True  # d log(p) / dp = 1 / p overflows the dtype (float16 p below 1.5e-5): inf, then inf - inf
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


def observed_zero_where_weighted_mean_cotangent_underflows(e: Element) -> bool:
    """A gradient element that is exactly 0 where the exact one is not, in a record whose sample_weight times the
    mean's 1/N (N the logits or probabilities of the case; the weight alone for sum / none) rounds to 0 in the
    dtype: Loss.__call__ weights the per-item loss and then reduces, so the backward hands each item the cotangent
    (1 / N) sample_weight, which underflows (float16: 5.96e-8 / 8 = 7.45e-9 -> 0) and zeroes every gradient."""
    if e.observed != 0.0 or not e.part.startswith("grad:") or e.exact is None or e.exact == 0:
        return False
    params = e.record.get("params") or {}
    sw = params.get("sample_weight")
    inputs = e.record.get("inputs") or {}
    t = inputs.get("x") or inputs.get("p")
    if sw is None or t is None:
        return False
    n = len(t.get("data") or [1]) if params.get("reduction") == "mean" else 1
    scale = np.abs(np.asarray(sw, dtype=np.float64)).ravel() / max(n, 1)
    return bool(scale.size) and bool((_in_dtype(scale, e.dtype) == 0).all())


def observed_nan_where_focal_base_rounds_to_zero(e: Element) -> bool:
    """A gradient element that is NaN where the exact one is finite, in a focal loss with gamma < 1 whose base
    1 - p_t rounds to 0 in the dtype (p_t = y' p + (1 - y')(1 - p), y' the smoothed label, rounded to 1: bfloat16
    p = 1e-5, y = 0): the power's derivative gamma base^(gamma - 1) is 0 * inf (gamma = 0) or inf there, and
    the chain rule turns it into NaN."""
    params = e.record.get("params") or {}
    gamma = params.get("gamma")
    p, y = _named_related(e, "p"), _named_related(e, "y")
    if (not math.isnan(e.observed) or not e.part.startswith("grad:") or e.exact is None or gamma is None
            or float(gamma) >= 1 or p is None or y is None or p.shape != y.shape):
        return False
    s = float(params.get("label_smoothing") or 0.0)
    y = y * (1 - s) + 0.5 * s
    p_t = _in_dtype(y * p + (1 - y) * (1 - p), e.dtype)
    return bool((p_t >= 1).any())


def _rounded_smoothed_label_meets_infinite_logit(x: np.ndarray, y: np.ndarray, smoothing: float, dtype: str):
    """Elements where y' = y (1 - s) + s / 2 rounds to 1 (or 0) in the dtype though it is below 1 (above 0),
    at x = +inf (-inf): the factor of the infinite log_sigmoid term is a rounded 0."""
    exact = y * (1 - smoothing) + 0.5 * smoothing
    rounded = _in_dtype(exact, dtype)
    return (((x == np.inf) & (rounded == 1) & (exact < 1)) | ((x == -np.inf) & (rounded == 0) & (exact > 0)))


def observed_nan_where_smoothed_label_rounds_to_an_end(e: Element) -> bool:
    """NaN where the exact value is not, at an infinite logit whose smoothed label y' rounds to 1 (x = +inf) or 0
    (x = -inf) in the dtype: -y' log_sigmoid(x) - (1 - y') log_sigmoid(-x) multiplies the infinite term by a
    rounded 0 (float16 y = 1, s = 1e-7: y' = 1 - 5e-8 is 1.0)."""
    x, y = _named_related(e, "x"), _named_related(e, "y")
    if not math.isnan(e.observed) or x is None or y is None or x.shape != y.shape or math.isnan(e.reference):
        return False
    s = float((e.record.get("params") or {}).get("label_smoothing") or 0.0)
    return bool(_rounded_smoothed_label_meets_infinite_logit(x, y, s, e.dtype).any())


def _smoothed_label_can_round_at_infinite_logit(record: dict) -> bool:
    inputs = record.get("inputs") or {}
    if "x" not in inputs or "y" not in inputs or not inputs["x"].get("data"):
        return False
    x = np.asarray([float(v) for v in inputs["x"]["data"]])
    y = np.asarray([float(v) for v in inputs["y"]["data"]])
    s = float((record.get("params") or {}).get("label_smoothing") or 0.0)
    return x.shape == y.shape and bool(_rounded_smoothed_label_meets_infinite_logit(x, y, s, record["dtype"]).any())


observed_nan_where_smoothed_label_rounds_to_an_end.case_applies = _smoothed_label_can_round_at_infinite_logit


def _weighted_mean_cotangent_underflows(record: dict) -> bool:
    params = record.get("params") or {}
    inputs = record.get("inputs") or {}
    sw, t = params.get("sample_weight"), inputs.get("x") or inputs.get("p")
    if sw is None or t is None or record.get("dtype") not in _NP:
        return False
    n = len(t.get("data") or [1]) if params.get("reduction") == "mean" else 1
    scale = np.abs(np.asarray(sw, dtype=np.float64)).ravel() / max(n, 1)
    if not scale.size or not (_in_dtype(scale, record["dtype"]) == 0).all() or not (scale > 0).any():
        return False
    grads = ((record.get("reference") or {}).get("grad") or {}).values()  # some gradient the dtype can hold
    return any(float(v) != 0 for g in grads for v in (g or {}).get("rounded") or [] if math.isfinite(float(v)))


observed_zero_where_weighted_mean_cotangent_underflows.case_applies = _weighted_mean_cotangent_underflows


def _focal_base_can_round_to_zero(record: dict) -> bool:
    params = record.get("params") or {}
    inputs = record.get("inputs") or {}
    gamma = params.get("gamma")
    if gamma is None or float(gamma) >= 1 or "p" not in inputs or "y" not in inputs or record.get("dtype") not in _NP:
        return False
    p = np.asarray([float(v) for v in inputs["p"]["data"]])
    y = np.asarray([float(v) for v in inputs["y"]["data"]])
    s = float(params.get("label_smoothing") or 0.0)
    y = y * (1 - s) + 0.5 * s
    if p.shape != y.shape:
        return False
    exact = y * p + (1 - y) * (1 - p)
    lo, hi = _clip_bounds(record["dtype"])  # a clipped p is keras-*-probability-path-clipped-in-dtype's
    return bool(((_in_dtype(exact, record["dtype"]) >= 1) & (exact < 1) & (p > lo) & (p < hi)).any())


observed_nan_where_focal_base_rounds_to_zero.case_applies = _focal_base_can_round_to_zero


PREDICATES = {f.__name__: f for f in (observed_zero_where_weighted_mean_cotangent_underflows,
                                      observed_nan_where_smoothed_label_rounds_to_an_end,
                                      observed_nan_where_focal_base_rounds_to_zero,
                                      error_within_rounded_sigmoid_output, loss_from_rounded_sigmoid_probability,
                                      probability_p_clipped_at_mismatch, error_within_probability_path_rounding,
                                      observed_nonfinite_where_weighted_label_cotangent_overflows)}
