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

# Readable mode cases: several items (a cotangent's per-item values matter), reduction "none" where the op has
# one, edges the catalog has (0, large logits, a zero target); ids name the mode patterns when run.
MODE_CATALOG = [
    ("sigmoid[-3,0,2,20]", "sigmoid", {"x": [-3.0, 0.0, 2.0, 20.0]}, {}),
    ("log_sigmoid[-20,-1,0,3]", "log_sigmoid", {"x": [-20.0, -1.0, 0.0, 3.0]}, {}),
    ("softmax[[1,2,3],[0,0,-4]]", "softmax", {"x": [[1.0, 2.0, 3.0], [0.0, 0.0, -4.0]]}, {"axis": -1}),
    ("log_softmax[[1,2,3],[0,0,-4]]", "log_softmax", {"x": [[1.0, 2.0, 3.0], [0.0, 0.0, -4.0]]}, {"axis": -1}),
    ("ce labels weighted none", "cross_entropy", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [5.0, -1.0, 0.5]],
                                                  "target": [0, 1, 2]}, {"reduction": "none", "weight": [0.5, 2.0, 1.5]}),
    ("ce labels none", "cross_entropy", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0], [5.0, -1.0, 0.5]],
                                         "target": [0, 1, 2]}, {"reduction": "none"}),
    ("ce probs weighted mean", "cross_entropy", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
                                                 "target": [[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]]},
     {"reduction": "mean", "weight": [0.5, 2.0, 1.5]}),
    ("ce probs none", "cross_entropy", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, 0.0]],
                                        "target": [[0.25, 0.25, 0.5], [1.0, 0.0, 0.0]]}, {"reduction": "none"}),
    ("nll weighted mean", "nll_loss", {"logp": [[-0.5, -1.0, -2.0], [-3.0, -0.25, -1.5]], "target": [2, 1]},
     {"reduction": "mean", "weight": [0.5, 2.0, 1.5]}),
    ("nll none", "nll_loss", {"logp": [[-0.5, -1.0, -2.0], [-3.0, -0.25, -1.5]], "target": [2, 1]},
     {"reduction": "none"}),
    ("bce weighted none", "binary_cross_entropy", {"p": [0.25, 0.5, 0.875, 0.0625], "y": [0.0, 1.0, 0.5, 1.0]},
     {"reduction": "none", "weight": [2.0, 0.5, 1.0, 3.0]}),
    ("bce none", "binary_cross_entropy", {"p": [0.25, 0.5, 0.875, 0.0625], "y": [0.0, 1.0, 0.5, 1.0]},
     {"reduction": "none"}),
    ("bcel x=20 pos_weight none", "binary_cross_entropy_with_logits", {"x": [20.0, -3.0, 0.0, 1.5],
                                                                       "y": [1.0, 0.0, 0.5, 1.0]},
     {"reduction": "none", "weight": [2.0, 0.5, 1.0, 3.0], "pos_weight": [3.0, 0.25, 1.0, 2.0]}),
    ("bcel x=20 pos_weight only none", "binary_cross_entropy_with_logits", {"x": [20.0, -3.0, 0.0, 1.5],
                                                                            "y": [1.0, 0.0, 0.5, 1.0]},
     {"reduction": "none", "pos_weight": [3.0, 0.25, 1.0, 2.0]}),
    ("bcel x=20 none", "binary_cross_entropy_with_logits", {"x": [20.0, -3.0, 0.0, 1.5], "y": [1.0, 0.0, 0.5, 1.0]},
     {"reduction": "none"}),
    ("kl_div none", "kl_div", {"input": [-0.5, -1.0, -2.0, -0.125], "target": [0.25, 0.5, 0.0, 0.125]},
     {"reduction": "none"}),
    ("sigmoid focal none", "sigmoid_focal_loss", {"x": [2.0, -1.0, 0.0, 4.0], "y": [1.0, 0.0, 1.0, 0.0]},
     {"reduction": "none"}),
    ("softmax focal none", "softmax_focal_loss", {"logits": [[1.0, 2.0, 3.0], [0.0, 0.0, -1.0]],
                                                  "target": [[0.0, 0.0, 1.0], [0.5, 0.5, 0.0]]}, {"reduction": "none"}),
    ("entropy rows", "entropy", {"p": [[0.25, 0.25, 0.5], [0.125, 0.75, 0.125]]}, {}),
    ("xlogy", "xlogy", {"x": [0.5, 2.0, 0.0, 1.0], "y": [0.25, 1.5, 0.5, 3.0]}, {}),
]

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


def draw_request(data, case: Case, value_shape: tuple, names: tuple, modes: tuple, param_grads: tuple = ()) -> dict:
    """A request for every mode the implementation declares: cotangent (vjp, and the hvp's v), one tangent
    per differentiated input (jvp, hvp), and the weight parameters it differentiates (vjp:weight)."""
    req = {"cotangent": None, "tangents": {}, "hvp": "hvp" in modes}
    if param_grads and "vjp" in modes:
        req["param_grads"] = tuple(param_grads)
    if "vjp" in modes:
        req["cotangent"] = draw_direction(data, case.dtype, tuple(value_shape), "cotangent")
    if "jvp" in modes or "hvp" in modes:
        req["tangents"] = {n: draw_direction(data, case.dtype, case.inputs[n].shape, f"tangent {n}") for n in names}
    return _held_constant(case, names, req)


def _held_constant(case: Case, names: tuple, req: dict) -> dict:
    """A row that differentiates only some of the op's differentiable floating inputs (soft_margin_loss's
    y = 2t - 1 is data, not a variable) holds the others constant: for the hvp their tangents are zero (the
    reference's hvp needs one per input; the implementation is asked only about `names`)."""
    import reference

    if req.get("hvp"):
        for n in reference.OPS[case.op].differentiable:
            arr = case.inputs.get(n)
            if n not in names and arr is not None and arr.dtype.kind not in "iub":  # (bfloat16 is kind V)
                req["tangents"].setdefault(n, np.zeros(arr.shape, dtype=arr.dtype))
    return req


def _pattern(values: tuple, shape: tuple, dtype: str, start: int = 0) -> np.ndarray:
    n = int(np.prod(shape, dtype=np.int64))
    flat = [values[(start + i) % len(values)] for i in range(n)]
    return np.asarray(flat, dtype=np.float64).reshape(shape).astype(np_dtype(dtype))


def readable_request(case: Case, value_shape: tuple, names: tuple, modes: tuple,
                     param_grads: tuple = ()) -> tuple[dict, str]:
    """(request, id suffix) with the fixed readable patterns; a scalar output gets v = -2."""
    req = {"cotangent": None, "tangents": {}, "hvp": "hvp" in modes}
    words = []
    if param_grads and "vjp" in modes:
        req["param_grads"] = tuple(param_grads)
    if "vjp" in modes:
        req["cotangent"] = _pattern(READABLE_COTANGENT, tuple(value_shape), case.dtype, 0 if value_shape else 1)
        shown = ",".join(f"{v:g}" for v in np.asarray(req["cotangent"], dtype=np.float64).ravel()[:3])
        words.append(f"vjp v=[{shown}{',...' if req['cotangent'].size > 3 else ''}]"
                     + "".join(f", d/d{p}" for p in req.get("param_grads") or ()))
    if "jvp" in modes or "hvp" in modes:
        req["tangents"] = {n: _pattern(READABLE_TANGENT, case.inputs[n].shape, case.dtype, i)
                           for i, n in enumerate(names)}
        words += [w for w in ("jvp", "hvp") if w in modes]
    return _held_constant(case, names, req), "(" + "; ".join(words) + ")"


def with_request(case: Case, request: dict, case_id: str) -> Case:
    out = Case(id=case_id, op=case.op, dtype=case.dtype, inputs=case.inputs, params=case.params,
               source=case.source, modes=request)
    return out


def mode_catalog_cases(op: str, dtype: str, axis: int | None) -> list[Case]:
    """MODE_CATALOG's cases of `op` in `dtype` (class axis moved to `axis`), without their requests yet."""
    from conformance.cases.build import resolve_input
    from conformance.cases.layout import move_class_axis

    out = []
    for case_id, entry_op, inputs, params in MODE_CATALOG:
        if entry_op != op:
            continue
        case = Case(id=case_id, op=op, dtype=dtype, inputs={k: resolve_input(v, dtype)
                                                          for k, v in inputs.items()}, params=dict(params))
        if any(k in ("target",) and all(isinstance(x, int) for x in v) for k, v in inputs.items()):
            case.inputs["target"] = np.asarray(inputs["target"], dtype=np.int64)
        out.append(move_class_axis(case, axis) if axis is not None else case)
    return out
