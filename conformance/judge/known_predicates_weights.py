"""Predicates of known divergences about the weight parameters (weight, pos_weight) scaling a loss's terms: an
intermediate product the exact result never forms overflows, or a scaled cotangent underflows to 0.
conformance/judge/known_predicates.py registers these with the others and documents the contract: each reads
only the failing element, its record's dtype, params and the input elements at the element's place.
"""
from __future__ import annotations

import math

import ml_dtypes
import numpy as np

_DTYPES = {"float64": np.float64, "float32": np.float32, "float16": np.float16, "bfloat16": ml_dtypes.bfloat16}


def _array(t: dict) -> np.ndarray:
    return np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])


def _at_element(e, arrays: dict) -> dict | None:
    """{name: float64 array} of the given input-shaped arrays at the failing element's place: the element itself
    where the part has the input's shape, every element where the part is a reduced scalar, else None."""
    shapes = {a.shape for a in arrays.values()}
    if len(shapes) != 1 or e.index is None:
        return None
    shape = shapes.pop()
    if tuple(e.shape) == shape:
        idx = np.unravel_index(e.index, shape) if shape else ()
        return {k: np.asarray([a[idx]]) for k, a in arrays.items()}
    if int(np.prod(e.shape, dtype=np.int64)) <= 1:
        return {k: a.ravel() for k, a in arrays.items()}
    return None


def _inputs_and_param(e, inputs: tuple, param: str) -> dict | None:
    """The named floating inputs and the parameter broadcast to their shape, at the failing element."""
    rec_inputs = e.record.get("inputs") or {}
    p = (e.record.get("params") or {}).get(param)
    if p is None or any(n not in rec_inputs for n in inputs):
        return None
    arrays = {n: _array(rec_inputs[n]) for n in inputs}
    try:
        arrays[param] = np.broadcast_to(np.asarray(p, dtype=np.float64), arrays[inputs[0]].shape)
    except ValueError:
        return None
    return _at_element(e, arrays)


def observed_inf_where_pos_weight_term_overflows(e) -> bool:
    """The observed element is +-inf where the exact value is finite, and at the element the pos_weight term of
    binary cross entropy with logits exceeds the dtype's largest finite number: (1 + (pos_weight - 1) y)
    log_sigmoid(x) for the loss, pos_weight log_sigmoid(x) for d/dy (torch forms either in the input dtype and
    multiplies by the element weight only afterwards; a weight below 1 brings the exact result back into range)."""
    if not math.isinf(e.observed) or not math.isfinite(e.reference):
        return False
    at = _inputs_and_param(e, ("x", "y"), "pos_weight")
    if at is None:
        return False
    x, y, pw = at["x"], at["y"], at["pos_weight"]
    with np.errstate(all="ignore"):
        softplus = np.logaddexp(0.0, -x)  # -log_sigmoid(x)
        factor = np.maximum(np.abs(1 + (pw - 1) * y), np.abs(pw))
        term = factor * softplus
    big = float(ml_dtypes.finfo(_DTYPES[e.dtype]).max)
    return bool((np.isfinite(x) & np.isfinite(term) & (term > big)).any()
                or (np.isfinite(x) & np.isinf(term) & np.isfinite(pw)).any())


def observed_nan_where_scaled_weight_underflows(e) -> bool:
    """The observed element is NaN where the exact value is +-inf, an input element at its place is +-inf, and
    its class weight w_c > 0 times the reduction's scale (1/C, the class mean; 1/(N C) for the batch mean too)
    rounds to 0 in the dtype: the backward's cotangent for that element is 0, and 0 times the infinite
    log-sigmoid term is NaN (torch's multilabel_soft_margin_loss: (loss * weight).sum(class_dim) / C, whose
    d/dy = g w_c (log_sigmoid(-x) - log_sigmoid(x)) gets g w_c = 0.025 * 5e-324 = 0 in float64)."""
    if not math.isnan(e.observed) or not math.isinf(e.reference) or e.dtype not in _DTYPES:
        return False
    at = _inputs_and_param(e, ("x",), "weight")
    rec_x = (e.record.get("inputs") or {}).get("x")
    if at is None or rec_x is None or not rec_x["shape"]:
        return False
    shape = rec_x["shape"]
    C = int(shape[-1])
    scale = 1.0 / C
    if (e.record.get("params") or {}).get("reduction") == "mean":
        scale /= max(1, int(np.prod(shape[:-1], dtype=np.int64)))
    dt = _DTYPES[e.dtype]
    w = at["weight"]
    with np.errstate(all="ignore"):
        g = np.asarray(scale, dtype=dt) * w.astype(dt)
    return bool((np.isinf(at["x"]) & (w > 0) & (g.astype(np.float64) == 0)).any())


def _item_logits(record: dict) -> tuple | None:
    """(z (N, C) float64, integer labels (N,)) of a class-label cross entropy record: its `logits`, or
    linear_cross_entropy's input W^T + b (float64; None where that overflows or the layout is another)."""
    inputs = record.get("inputs") or {}
    if "target" not in inputs or not inputs["target"]["dtype"].startswith(("int", "uint")):
        return None
    y = np.asarray(inputs["target"]["data"], dtype=np.int64).reshape(inputs["target"]["shape"])
    with np.errstate(all="ignore"):
        if "logits" in inputs:
            z = _array(inputs["logits"])
        elif {"input", "linear_weight", "linear_bias"} <= set(inputs):
            z = _array(inputs["input"]) @ _array(inputs["linear_weight"]).T + _array(inputs["linear_bias"])
        else:
            return None
    if z.ndim != 2 or y.shape != (z.shape[0],) or not np.isfinite(z).all():
        return None
    return z, y


def observed_inf_where_weighted_loss_sum_overflows(e) -> bool:
    """The observed (reduced) value is +-inf where the exact weighted mean is finite, and the weighted sum of the
    item losses, sum_n w[y_n] l_n with l_n >= (1 - label_smoothing) (logsumexp(z_n) - z_n,y_n), exceeds the dtype's
    largest finite number: the mean is formed as that sum in the input dtype, divided by sum_n w[y_n] only
    afterwards (z the logits, for linear_cross_entropy input W^T + b)."""
    if e.part != "value" or not math.isinf(e.observed) or not math.isfinite(e.reference) or e.dtype not in _DTYPES:
        return False
    params = e.record.get("params") or {}
    got = _item_logits(e.record)
    if got is None or params.get("reduction", "mean") != "mean":
        return False
    z, y = got
    C = z.shape[1]
    w = np.ones(C) if params.get("weight") is None else np.asarray(params["weight"], dtype=np.float64)
    counted = (y != params.get("ignore_index", -100)) & (y >= 0) & (y < C)
    if w.shape != (C,) or not counted.any():
        return False
    zc, yc = z[counted], y[counted]
    top = zc.max(axis=1)
    lse = top + np.log(np.exp(zc - top[:, None]).sum(axis=1))
    smoothing = float(params.get("label_smoothing") or 0.0)
    lower = float(np.sum((1 - smoothing) * w[yc] * (lse - zc[np.arange(len(yc)), yc])))
    return lower > float(ml_dtypes.finfo(_DTYPES[e.dtype]).max)


PREDICATES = (observed_inf_where_pos_weight_term_overflows, observed_nan_where_scaled_weight_underflows,
              observed_inf_where_weighted_loss_sum_overflows)
