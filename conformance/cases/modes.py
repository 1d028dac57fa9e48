"""Mode cases: a case plus the cotangent and tangents its derivative parts are asked with
(conformance/adapters/modes.py; docs/ops.md, "Derivative modes").

Hypothesis draws every cotangent and tangent array with labelled draws, in one of REGIMES per array:
    "signs"       +-1                          "with-zeros"  0 among +-1, +-0.5 (zeros dominate)
    "uneven"      per-item magnitudes 1e-3 .. 1e3 of both signs (a backward that ignores the cotangent's
                  per-item values, right with ones, is wrong here)
    "huge-tiny"   sqrt(max), sqrt(tiny) of the dtype and +-1
    "ones"        the gradient's own cotangent (a baseline the others are told apart from)
The catalog's readable mode cases derive from an op's first catalog cases with fixed patterns
(cotangent 1, -2, 0, 0.5, ... ; tangents 1, -0.5, 2, 0, ...), named e.g. "ce basic (vjp v=[1,-2,0]; jvp; hvp)".
"""
from __future__ import annotations

import numpy as np
from hypothesis import strategies as st

from conformance.cases.case import Case
from conformance.floats import finfo, np_dtype

REGIMES = ["signs", "with-zeros", "uneven", "uneven", "huge-tiny", "ones"]
READABLE_COTANGENT = (1.0, -2.0, 0.0, 0.5, 3.0, -1.0)
READABLE_TANGENT = (1.0, -0.5, 2.0, 0.0, -3.0, 0.25)


def _choices(regime: str, dtype: str) -> list[float]:
    fi = finfo(dtype)
    if regime == "signs":
        return [1.0, -1.0]
    if regime == "with-zeros":
        return [0.0, 0.0, 1.0, -1.0, 0.5, -0.5]
    if regime == "uneven":
        return [1e-3, -1e-3, 0.25, -4.0, 1.0, 37.0, -1e3]
    if regime == "huge-tiny":
        return [float(np.sqrt(fi.max)), -float(np.sqrt(fi.max)), float(np.sqrt(fi.tiny)), 1.0, -1.0]
    return [1.0]


def draw_direction(data, dtype: str, shape: tuple, label: str) -> np.ndarray:
    """One cotangent or tangent array in the dtype, every element exactly representable."""
    regime = data.draw(st.sampled_from(REGIMES), label=f"{label} regime")
    n = int(np.prod(shape, dtype=np.int64))
    values = data.draw(st.lists(st.sampled_from(_choices(regime, dtype)), min_size=n, max_size=n), label=label)
    return np.asarray(values, dtype=np.float64).reshape(shape).astype(np_dtype(dtype))


def float_grads(impl, case: Case) -> tuple:
    return tuple(g for g in impl.grads if g in case.inputs and case.inputs[g].dtype.kind not in "iu")


def draw_request(data, case: Case, value_shape: tuple, names: tuple, modes: tuple) -> dict:
    """A request for every mode the implementation declares: cotangent (vjp, and the hvp's v), one tangent
    per differentiated input (jvp, hvp)."""
    req = {"cotangent": None, "tangents": {}, "hvp": "hvp" in modes}
    if "vjp" in modes:
        req["cotangent"] = draw_direction(data, case.dtype, tuple(value_shape), "cotangent")
    if "jvp" in modes or "hvp" in modes:
        req["tangents"] = {n: draw_direction(data, case.dtype, case.inputs[n].shape, f"tangent {n}") for n in names}
    return req


def _pattern(values: tuple, shape: tuple, dtype: str, start: int = 0) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    flat = [values[(start + i) % len(values)] for i in range(n)]
    return np.asarray(flat, dtype=np.float64).reshape(shape).astype(np_dtype(dtype))


def readable_request(case: Case, value_shape: tuple, names: tuple, modes: tuple) -> tuple[dict, str]:
    """(request, id suffix) with the fixed readable patterns; a scalar output gets v = -2."""
    req = {"cotangent": None, "tangents": {}, "hvp": "hvp" in modes}
    words = []
    if "vjp" in modes:
        req["cotangent"] = _pattern(READABLE_COTANGENT, tuple(value_shape), case.dtype, 0 if value_shape else 1)
        shown = ",".join(f"{v:g}" for v in np.asarray(req["cotangent"], dtype=np.float64).ravel()[:3])
        words.append(f"vjp v=[{shown}{',...' if req['cotangent'].size > 3 else ''}]")
    if "jvp" in modes or "hvp" in modes:
        req["tangents"] = {n: _pattern(READABLE_TANGENT, case.inputs[n].shape, case.dtype, i)
                           for i, n in enumerate(names)}
        words += [w for w in ("jvp", "hvp") if w in modes]
    return req, "(" + "; ".join(words) + ")"


def with_request(case: Case, request: dict, case_id: str) -> Case:
    out = Case(id=case_id, op=case.op, dtype=case.dtype, inputs=case.inputs, params=case.params,
               source=case.source, modes=request)
    return out
