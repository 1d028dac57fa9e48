"""Reference throughput on the 64 x 32768 float32 cross_entropy batch (value + logits gradient, mean).

Measured in one process, same inputs:
  * fast path: reference.evaluate on the whole batch (certified correctly rounded value and gradient,
    exact strings deferred), and separately the cost of materialising the exact strings on a slice;
  * arb path (reference.evaluate.arb_path, the Ziv loop alone) on a slice of rows, extrapolated;
  * plain mpmath at the arb path's starting precision (192 bits) on a slice, extrapolated: exp of every
    logit minus the row max, the row sums, log for the loss and e_j / S for the gradient, no certification
    and no rounding (the least any high-precision reference has to do).
Elements = output elements (1 value + 64 * 32768 gradient entries); slices are whole rows, scaled by the
number of rows (every row costs the same: same length, same kind of values).
"""
from __future__ import annotations

import importlib
import time

import numpy as np

ROWS, CLASSES = 64, 32768


def batch(rows: int = ROWS, classes: int = CLASSES, dtype=np.float32, seed: int = 0):
    rng = np.random.default_rng(seed)
    logits = rng.normal(0.0, 3.0, (rows, classes)).astype(dtype)
    labels = rng.integers(0, classes, rows)
    return logits, labels


def _best(fn, repeat: int) -> tuple[float, object]:
    best, out = float("inf"), None
    for _ in range(repeat):
        t = time.perf_counter()
        out = fn()
        best = min(best, time.perf_counter() - t)
    return best, out


def fast_path(logits, labels, dtype: str, repeat: int = 3) -> dict:
    import reference

    elements = 1 + logits.size
    seconds, result = _best(lambda: reference.evaluate("cross_entropy", dtype, {"logits": logits,
                                                                                "target": labels}), repeat)
    certified = int(result.value.certified.sum() + result.grads["logits"].certified.sum())
    return {"seconds": seconds, "elements": elements, "elements_per_s": elements / seconds,
            "certified_elements": certified, "precision_bits": result.precision_bits,
            "answered_by_float_arithmetic": result.precision_bits < 192}


def exact_strings(logits, labels, dtype: str, rows: int) -> dict:
    """Materialising exact strings (one arb evaluation) on `rows` rows, extrapolated to the batch."""
    import reference

    sub_x, sub_y = logits[:rows], labels[:rows]
    result = reference.evaluate("cross_entropy", dtype, {"logits": sub_x, "target": sub_y})
    t = time.perf_counter()
    _ = result.grads["logits"].exact
    seconds = (time.perf_counter() - t) * logits.shape[0] / rows
    return {"seconds_extrapolated": seconds, "elements_per_s": (1 + logits.size) / seconds, "slice_rows": rows}


def arb_path(logits, labels, dtype: str, rows: int) -> dict:
    from reference.case import prepare

    ev = importlib.import_module("reference.evaluate")
    case = prepare("cross_entropy", dtype, {"logits": logits[:rows], "target": labels[:rows]}, None)
    t = time.perf_counter()
    result = ev.arb_path(case)
    seconds = (time.perf_counter() - t) * logits.shape[0] / rows
    return {"seconds_extrapolated": seconds, "elements_per_s": (1 + logits.size) / seconds, "slice_rows": rows,
            "certified": bool(result.certified)}


def mpmath_plain(logits, labels, rows: int, bits: int = 192) -> dict:
    import mpmath

    mp = mpmath.mp
    saved = mp.prec
    mp.prec = bits
    try:
        t = time.perf_counter()
        loss = mpmath.mpf(0)
        n = logits.shape[0]
        for r in range(rows):
            xs = [mpmath.mpf(float(v)) for v in logits[r]]
            m = max(xs)
            e = [mpmath.exp(x - m) for x in xs]
            S = mpmath.fsum(e)
            y = int(labels[r])
            loss += -((xs[y] - m) - mpmath.log(S))
            grad = [ej / S / n for ej in e]
            grad[y] -= mpmath.mpf(1) / n
        seconds = (time.perf_counter() - t) * n / rows
    finally:
        mp.prec = saved
    return {"seconds_extrapolated": seconds, "elements_per_s": (1 + logits.size) / seconds, "slice_rows": rows,
            "bits": bits, "backend": mpmath.libmp.BACKEND}


def run(quick: bool = False) -> dict:
    rows_slice = 1
    logits, labels = batch()
    out = {"batch": {"rows": ROWS, "classes": CLASSES, "dtype": "float32", "op": "cross_entropy",
                     "reduction": "mean", "parts": "value + grad[logits]"}}
    out["fast_float32"] = fast_path(logits, labels, "float32", repeat=1 if quick else 3)
    out["fast_float32_exact_strings"] = exact_strings(logits, labels, "float32", rows_slice)
    out["arb_float32"] = arb_path(logits, labels, "float32", rows_slice)
    out["mpmath_192"] = mpmath_plain(logits, labels, rows_slice)
    small = batch(8, 4096, np.float64, seed=1)
    out["fast_float64_8x4096"] = fast_path(*small, "float64", repeat=1)
    out["fast_float64_8x4096"]["note"] = ("double-double (reference/fastpath/dd.py); long double, then arb, "
                                          "only for elements it leaves undecided")
    mp = out["mpmath_192"]["elements_per_s"]
    out["speedup_vs_mpmath"] = {
        "fast": out["fast_float32"]["elements_per_s"] / mp,
        "fast_with_exact_strings": 1 / (1 / out["fast_float32"]["elements_per_s"]
                                        + 1 / out["fast_float32_exact_strings"]["elements_per_s"]) / mp,
        "arb": out["arb_float32"]["elements_per_s"] / mp,
    }
    return out
