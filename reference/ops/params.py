"""Validation of op parameters (one clear CaseError message each)."""
from __future__ import annotations

import math

import numpy as np
from flint import arb

from reference.errors import CaseError
from reference.ext import FIN, X


def check_number(name: str, value, lo=None, hi=None, lo_open=False, hi_open=False, allow_none=False):
    """A finite real parameter within [lo, hi] (open ends when asked); returns it as a float."""
    if value is None and allow_none:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float, np.integer, np.floating)):
        raise CaseError(f"{name} must be a number, got {value!r}")
    v = float(value)
    if not math.isfinite(v):
        raise CaseError(f"{name} must be finite, got {value!r}")
    if lo is not None and (v < lo or (lo_open and v == lo)):
        raise CaseError(f"{name} must be {'>' if lo_open else '>='} {lo}, got {value!r}")
    if hi is not None and (v > hi or (hi_open and v == hi)):
        raise CaseError(f"{name} must be {'<' if hi_open else '<='} {hi}, got {value!r}")
    return v


def log_base(base) -> X:
    """ln(base) as an X: base "e" or None means natural log (ln e = 1 exactly)."""
    if base is None or base == "e":
        return X(FIN, arb(1))
    b = check_number("base", base, lo=0, lo_open=True)
    if b == 1:
        raise CaseError("base must not be 1")
    return X(FIN, arb(b).log())


def check_bool(name: str, value) -> bool:
    if not isinstance(value, (bool, np.bool_)):
        raise CaseError(f"{name} must be true or false, got {value!r}")
    return bool(value)


def check_choice(name: str, value, choices) -> str:
    if value not in choices:
        raise CaseError(f"{name} must be one of {', '.join(map(repr, choices))}, got {value!r}")
    return value


def check_clip(clip):
    """None, or (lo, hi) floats with lo <= hi (already rounded to the case dtype by evaluate)."""
    if clip is None:
        return None
    if not isinstance(clip, (list, tuple)) or len(clip) != 2:
        raise CaseError(f"clip must be [lo, hi] or null, got {clip!r}")
    lo = check_number("clip[0]", clip[0])
    hi = check_number("clip[1]", clip[1])
    if lo > hi:
        raise CaseError(f"clip needs lo <= hi, got {clip!r}")
    return lo, hi


def class_weights(weight, classes: int, name: str = "weight") -> np.ndarray | None:
    """Per-class weights (already rounded to the case dtype) as an exact (C,) object array, or None."""
    if weight is None:
        return None
    if isinstance(weight, np.ndarray) and weight.dtype == object:  # exact already (reference.derivs.weights)
        if weight.shape != (classes,):
            raise CaseError(f"{name} must have one entry per class ({classes}), got shape {weight.shape}")
        return weight
    w = np.asarray(weight, dtype=np.float64)
    if w.shape != (classes,):
        raise CaseError(f"{name} must have one entry per class ({classes}), got shape {w.shape}")
    if not np.isfinite(w).all():
        raise CaseError(f"{name} entries must be finite")
    out = np.empty(w.shape, dtype=object)
    for i, v in enumerate(w.tolist()):
        out[i] = X.from_float(v)
    return out


MEAN_DENOMINATORS = ("count", "weight_sum")


def elementwise_weight(weight, shape: tuple, name: str = "weight") -> np.ndarray | None:
    """An elementwise weight (already rounded to the case dtype) broadcast to `shape`, exact, or None."""
    if weight is None:
        return None
    if isinstance(weight, np.ndarray) and weight.dtype == object:  # exact already (reference.derivs.weights)
        try:
            return np.broadcast_to(weight, shape).copy()
        except ValueError:
            raise CaseError(f"{name} of shape {weight.shape} does not broadcast to the input shape {shape}") from None
    w = np.asarray(weight, dtype=np.float64)
    try:
        w = np.broadcast_to(w, shape)
    except ValueError:
        raise CaseError(f"{name} of shape {w.shape} does not broadcast to the input shape {shape}") from None
    if not np.isfinite(w).all():
        raise CaseError(f"{name} entries must be finite")
    out = np.empty(shape, dtype=object)
    for idx, v in np.ndenumerate(w):
        out[idx] = X.from_float(float(v))
    return out
