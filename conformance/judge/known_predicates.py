"""Predicates of known divergences: the mechanism an entry documents, checked on the record's elements.

A known divergence (conformance/judge/known_divergences.toml) may name a predicate, as data:

    predicate = "observed_zero_reference_subnormal"            # one name
    predicate = ["observed_nan_where_input_infinite", "observed_inf_where_input_near_max"]   # any of them

The entry then matches a failing record only when, in every failing part the entry covers (`parts`, default
all), EVERY failing element (the elements verdict.py found beyond the ULP budget and the bound, or of the
wrong kind: record["failing_elements"]) satisfies at least one of the named predicates. A predicate reads
only the record: the observed element, the reference's rounded and exact values at the same place, the
dtype, the params and the input elements the output element depends on (the same element for elementwise
ops, the row along `axis` for class-axis ops, every element for a reduced value). Names are looked up in
PREDICATES; nothing from the TOML is evaluated as code. An entry without a predicate never explains a
failing part whose shape differs (only a whole_part predicate such as observed_shape_differs does). A
wildcard entry ("*", "*softmax", "torch.nn.functional.*", ...) must name a predicate and its frameworks
(`frameworks = ["torch", "jax"]`); it applies only to their built-in rows, never to custom or plugin rows.
"""
from __future__ import annotations

import fnmatch
import math
from decimal import Decimal, InvalidOperation

import ml_dtypes
import numpy as np

from conformance.judge import (known_predicates_dtype, known_predicates_linear, known_predicates_rounding,
                               known_predicates_weights)
from conformance.results.parts import flat_parts

WILDCARD_CHARS = set("*?")  # ("[...]" alone names one of a few ids, e.g. cross_entropy[class])
BUILT_IN_FRAMEWORKS = ("torch", "tensorflow", "jax", "numpy", "cupy", "keras_jax", "keras_torch")


def _finfo(dtype: str):
    return ml_dtypes.finfo(ml_dtypes.bfloat16 if dtype == "bfloat16" else np.dtype(dtype))


def _exact(text: str) -> Decimal | None:
    """The exact reference value as a Decimal (None for inf/nan or unreadable)."""
    try:
        d = Decimal(str(text))
    except InvalidOperation:
        return None
    return d if d.is_finite() else None


class Element:
    """One failing element of one part of a record, with what the predicates may look at."""

    def __init__(self, record: dict, part: str, index: int | None):
        self.record, self.part, self.index = record, part, index
        self.dtype = record["dtype"]
        from conformance.results.stream import part_of

        self.obs_tensor = part_of(record.get("observed") or {}, part)
        self.ref_tensor = part_of(record.get("reference") or {}, part)

    @property
    def shape(self) -> tuple:
        return tuple(self.ref_tensor["shape"]) if self.ref_tensor else ()

    @property
    def observed(self) -> float:
        return float(self.obs_tensor["data"][self.index])

    @property
    def reference(self) -> float:
        return float(self.ref_tensor["rounded"][self.index])

    @property
    def exact(self) -> Decimal | None:
        return _exact(self.ref_tensor["exact"][self.index])

    def inputs(self) -> list[np.ndarray]:
        """The floating input elements this output element depends on (float64 arrays)."""
        out = []
        idx = np.unravel_index(self.index, self.shape) if self.shape else ()
        axis = (self.record.get("params") or {}).get("axis")
        for t in (self.record.get("inputs") or {}).values():
            if t["dtype"].startswith(("int", "uint", "bool")) or not t["data"]:
                continue
            a = np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])
            out.append(_related(a, tuple(idx), self.shape, axis))
        return out


def _related(a: np.ndarray, idx: tuple, shape: tuple, axis) -> np.ndarray:
    if int(np.prod(shape, dtype=np.int64)) <= 1:
        return a.ravel()
    if isinstance(axis, int) and a.ndim >= 1:
        ax = axis % a.ndim
        if tuple(a.shape) == tuple(shape):
            sl = list(idx)
            sl[ax] = slice(None)
            return np.asarray(a[tuple(sl)]).ravel()
        if len(shape) == a.ndim - 1:
            sl: list = list(idx)
            sl.insert(ax, slice(None))
            return np.asarray(a[tuple(sl)]).ravel()
        return a.ravel()
    if tuple(a.shape) == tuple(shape):
        return np.asarray([a[idx]])
    return a.ravel()


# ------------------------------------------------------------------------------------------ predicates

def observed_zero_reference_subnormal(e: Element) -> bool:
    """Flush to zero: the observed element is exactly 0 and the exact value is nonzero with magnitude below
    the dtype's smallest normal number."""
    x = e.exact
    return e.observed == 0.0 and x is not None and x != 0 and abs(x) < Decimal(float(_finfo(e.dtype).tiny))


def observed_zero_reference_below_epsilon(e: Element) -> bool:
    """Lost below one ulp of 1: the observed element is exactly 0 and the exact value is nonzero with
    magnitude below the dtype's machine epsilon (e.g. log_softmax at a dominant class, -4.2e-18)."""
    x = e.exact
    return e.observed == 0.0 and x is not None and x != 0 and abs(x) < Decimal(float(_finfo(e.dtype).eps))


def absolute_error_within_row_sum_rounding(e: Element) -> bool:
    """A small element carries the absolute rounding error of a log of a rounded row sum: |observed - exact|
    <= 2 (C + 1) u, C the row length along `axis`, u the dtype's unit roundoff (log(sum exp(x - max)) with
    the sum in [1, C] instead of log1p of the other terms: the dominant class of log_softmax)."""
    x = e.exact
    if x is None or not math.isfinite(e.observed):
        return False
    rows = [a.size for a in e.inputs()]
    n = max(rows) if rows else 1
    u = float(_finfo(e.dtype).eps) / 2
    return abs(Decimal(e.observed) - x) <= Decimal(2.0 * (n + 1) * u)


def observed_zero_reference_nan(e: Element) -> bool:
    """The observed element is exactly 0 where the value is undefined (NaN), e.g. a 0/0 mean's gradient."""
    return e.observed == 0.0 and math.isnan(e.reference)


def smoothing_along_a_class_axis_that_is_not_last(e: Element) -> bool:
    """Label smoothing is on and the class axis is not the last one, whose length differs from the class
    count: a smoothing that takes the class count from shape[-1] (Keras) uses the wrong one."""
    params = e.record.get("params") or {}
    shapes = [t["shape"] for t in (e.record.get("inputs") or {}).values() if not t["dtype"].startswith("int")]
    axis = params.get("axis")
    if not (params.get("label_smoothing") or 0) or not isinstance(axis, int) or not shapes or len(shapes[0]) < 2:
        return False
    shape = shapes[0]
    return axis % len(shape) != len(shape) - 1 and shape[axis] != shape[-1]


def observed_finite_where_item_undefined(e: Element) -> bool:
    """The observed element is finite where the reference is NaN because its item (the elements along the class
    axis it belongs to) holds a NaN or +-inf input: the item's value is undefined, so is every derivative of it;
    an autodiff that differentiates each element's term on its own returns a finite number."""
    return (math.isfinite(e.observed) and math.isnan(e.reference)
            and any(bool((~np.isfinite(a)).any()) for a in e.inputs()))


def observed_inf_reference_finite(e: Element) -> bool:
    """Overflow: the observed element is +-inf where the correctly rounded value is finite."""
    return math.isinf(e.observed) and math.isfinite(e.reference)


def input_infinite_at_mismatch(e: Element) -> bool:
    """Some input element the failing element depends on is +-inf."""
    return any(bool(np.isinf(a).any()) for a in e.inputs())


def observed_nan_where_input_infinite(e: Element) -> bool:
    """The observed element is NaN (inf - inf, 0 * inf) and an input element it depends on is +-inf."""
    return math.isnan(e.observed) and input_infinite_at_mismatch(e)


def observed_inf_where_input_near_max(e: Element) -> bool:
    """The observed element is +-inf and an input element it depends on is within a factor 16 of the dtype's
    largest finite number (an intermediate such as x * z overflows)."""
    limit = float(_finfo(e.dtype).max) / 16
    return math.isinf(e.observed) and any(bool((np.abs(a[np.isfinite(a)]) >= limit).any()) for a in e.inputs())


def observed_nan_where_input_near_max(e: Element) -> bool:
    """The observed element is NaN and an input element it depends on is +-inf or within a factor 16 of the
    dtype's largest finite number: an intermediate overflowed to inf, then 0 * inf or inf - inf."""
    limit = float(_finfo(e.dtype).max) / 16
    return math.isnan(e.observed) and any(bool((np.abs(a[~np.isnan(a)]) >= limit).any()) for a in e.inputs())


def observed_nan_where_exp_of_input_overflows(e: Element) -> bool:
    """The observed element is NaN where the exact value is finite, and exp(|x|) of an input element x it
    depends on overflows the dtype (|x| > log(max)): a formula through exp(x) hit inf / inf or inf - inf."""
    if not math.isnan(e.observed) or not math.isfinite(e.reference):
        return False
    limit = math.log(float(_finfo(e.dtype).max))
    return any(bool((np.abs(a[np.isfinite(a)]) > limit).any() or np.isinf(a).any()) for a in e.inputs())


def reference_zero_observed_within_row_rounding(e: Element) -> bool:
    """The exact value is 0 and the observed one is within 2 C u of it, C the row length along `axis` and u
    the dtype's unit roundoff: what s * (1 - sum(s)) gives when sum(s) is rounded (softmax's backward)."""
    x = e.exact
    if x is None or x != 0 or not math.isfinite(e.observed):
        return False
    rows = [a.size for a in e.inputs()]
    n = max(rows) if rows else 1
    u = float(_finfo(e.dtype).eps) / 2
    return abs(e.observed) <= 2.0 * n * u


def input_nonpositive_at_mismatch(e: Element) -> bool:
    """Some input element the failing element depends on is <= 0: the boundary (x = 0) or the outside of a
    log's domain, where xlogy / rel_entr / kl_div implementations switch to a constant branch."""
    return any(bool((a <= 0).any()) for a in e.inputs())


def input_subnormal_at_mismatch(e: Element) -> bool:
    """Some input element the failing element depends on is subnormal (nonzero, below the dtype's smallest
    normal number): what a denormals-are-zero mode reads as 0."""
    tiny = float(_finfo(e.dtype).tiny)
    return any(bool(((a != 0) & (np.abs(a) < tiny)).any()) for a in e.inputs())


def observed_finite_reference_overflows(e: Element) -> bool:
    """The observed element is finite where the exact value is finite but its correct rounding into the case
    dtype overflows to +-inf: computed and returned in a wider format."""
    ref = e.ref_tensor["exact"][e.index]
    return (math.isfinite(e.observed) and math.isinf(e.reference) and e.exact is not None
            and str(ref) not in ("inf", "-inf"))


def probability_p_at_an_end_at_mismatch(e: Element) -> bool:
    """The probability input `p` the failing element depends on is exactly 0 or >= 1: where a clip to
    [eps, 1 - eps] replaces it (its gradient 0), log(1 - p) is -inf once 1 - eps rounds to 1, and a focal
    base y (1 - p) + (1 - y) p can be 0 (pow's gradient gamma m^(gamma - 1) = 0 * inf there)."""
    t = (e.record.get("inputs") or {}).get("p")
    if t is None or t["dtype"].startswith(("int", "uint")) or not t["data"] or e.index is None:
        return False
    a = np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])
    idx = np.unravel_index(e.index, e.shape) if e.shape else ()
    related = _related(a, tuple(idx), e.shape, (e.record.get("params") or {}).get("axis"))
    return bool(((related == 0) | (related >= 1)).any())


def observed_nonfinite_where_label_probability_vanishes(e: Element) -> bool:
    """The observed element is NaN or +-inf and, in its row, the probability `p` at the integer label `target`
    is 0 or below the dtype's smallest normal number (read as 0 by a flushing kernel): an infinite derivative
    there, spread by a one-hot product as 0 * inf."""
    t, lab = (e.record.get("inputs") or {}).get("p"), (e.record.get("inputs") or {}).get("target")
    if math.isfinite(e.observed) or t is None or lab is None or e.index is None or not t["data"]:
        return False
    if not lab["dtype"].startswith(("int", "uint")):
        return False
    p = np.asarray([float(v) for v in t["data"]], dtype=np.float64).reshape(t["shape"])
    labels = np.asarray(lab["data"], dtype=np.int64).reshape(lab["shape"])
    if p.ndim < 1 or tuple(p.shape) != tuple(e.shape):
        return False
    idx = np.unravel_index(e.index, e.shape)
    axis = (e.record.get("params") or {}).get("axis", -1) % p.ndim
    rest = tuple(i for k, i in enumerate(idx) if k != axis)
    y = int(labels[rest]) if labels.ndim else int(labels)
    if not 0 <= y < p.shape[axis]:
        return False
    at = list(idx)
    at[axis] = y
    py = abs(float(p[tuple(at)]))
    return py < float(_finfo(e.dtype).tiny)


def observed_is_batch_times_reference_with_one_class(e: Element) -> bool:
    """One class per row (a floating input of shape [N, 1], N > 1) and the observed element is N times the
    correctly rounded one (within a few roundings): labels broadcast against [N, 1] probabilities to [N, N, 1]
    make every item count every item's probability."""
    floats = [t for t in (e.record.get("inputs") or {}).values()
              if not t["dtype"].startswith(("int", "uint", "bool")) and len(t["shape"]) == 2]
    if not floats or floats[0]["shape"][1] != 1 or floats[0]["shape"][0] < 2:
        return False
    n, ref = floats[0]["shape"][0], e.reference
    return ref != 0 and abs(e.observed - n * ref) <= 4 * n * float(_finfo(e.dtype).eps) * abs(ref)


def observed_shape_differs(e: Element) -> bool:
    """The part failed as a whole because its shape differs from the reference's (a whole_part predicate)."""
    if e.obs_tensor is None or e.ref_tensor is None:
        return False
    return e.index is None and list(e.obs_tensor["shape"]) != list(e.ref_tensor["shape"])


def absolute_error_within_direction_rounding(e: Element) -> bool:
    """A derivative-mode element (vjp / jvp / hvp) carries the absolute rounding of terms of the size of its
    cotangent and tangents: |observed - exact| <= 4 (C + 1) u max|v| max|t|, C the row length along `axis`,
    u the dtype's unit roundoff, v and t the record's derivative_request (1 where absent). What a formula
    gives that subtracts rounded O(|v| |t|) terms whose exact difference is far smaller: s (t - <s, t>) at a
    dominant class, (1 - 2 sigma(x)) once sigma(x) has rounded to 1/2."""
    x = e.exact
    request = e.record.get("derivative_request")
    if x is None or not request or not math.isfinite(e.observed):
        return False

    def biggest(t) -> float:
        data = [abs(float(v)) for v in (t or {}).get("data") or []]
        finite = [d for d in data if math.isfinite(d)]
        return max(finite) if finite else 1.0

    scale = biggest(request.get("cotangent")) * max([biggest(t) for t in (request.get("tangents") or {}).values()]
                                                     or [1.0])
    rows = [a.size for a in e.inputs()]
    n = max(rows) if rows else 1
    u = float(_finfo(e.dtype).eps) / 2
    return abs(Decimal(e.observed) - x) <= Decimal(4.0 * (n + 1) * u * scale)


observed_shape_differs.whole_part = True  # judges a whole part (index None); the others judge single elements
PREDICATES = {f.__name__: f for f in (
    observed_is_batch_times_reference_with_one_class,
    absolute_error_within_direction_rounding,
    observed_zero_reference_subnormal, observed_zero_reference_below_epsilon, observed_zero_reference_nan,
    absolute_error_within_row_sum_rounding,
    observed_inf_reference_finite, input_infinite_at_mismatch, observed_nan_where_input_infinite,
    observed_inf_where_input_near_max, reference_zero_observed_within_row_rounding, observed_shape_differs,
    input_nonpositive_at_mismatch, observed_nan_where_input_near_max, observed_nan_where_exp_of_input_overflows,
    input_subnormal_at_mismatch, observed_finite_reference_overflows, probability_p_at_an_end_at_mismatch,
    observed_nonfinite_where_label_probability_vanishes,
    observed_finite_where_item_undefined, smoothing_along_a_class_axis_that_is_not_last,
    *known_predicates_linear.PREDICATES, *known_predicates_dtype.PREDICATES, *known_predicates_rounding.PREDICATES,
    *known_predicates_weights.PREDICATES,
)}


# ---------------------------------------------------------------------------------------- entry checks

def names(predicate) -> list[str]:
    if predicate is None:
        return []
    return [predicate] if isinstance(predicate, str) else list(predicate)


def is_wildcard(implementation) -> bool:
    patterns = [implementation] if isinstance(implementation, str) else list(implementation)
    return any(WILDCARD_CHARS & set(p) for p in patterns)


def problems(entry) -> list[str]:
    """What is wrong with an entry's predicate / frameworks declaration (empty when fine)."""
    out = [f"unknown predicate {n!r} (choose from {', '.join(sorted(PREDICATES))})"
           for n in names(entry.predicate) if n not in PREDICATES]
    if is_wildcard(entry.implementation) and entry.relation is None:
        if not names(entry.predicate):
            out.append("a wildcard implementation scope needs a predicate (the mechanism it documents)")
        if not entry.frameworks:
            out.append("a wildcard implementation scope needs frameworks = [...] (the built-in rows it is about)")
    for f in entry.frameworks or ():
        if f not in BUILT_IN_FRAMEWORKS:
            out.append(f"unknown framework {f!r} in frameworks (choose from {', '.join(BUILT_IN_FRAMEWORKS)})")
    return out


def framework_in_scope(entry, record: dict) -> bool:
    """Wildcard scopes reach only built-in rows of the named frameworks; an exact id reaches its row."""
    framework = record.get("framework") or ""
    if entry.frameworks and framework not in entry.frameworks:
        return False
    if is_wildcard(entry.implementation) and framework not in BUILT_IN_FRAMEWORKS:
        return False
    return True


ULP_BUDGET = {"float64": 4, "float32": 4, "float16": 2, "bfloat16": 2}


def derive_failing(record: dict) -> dict:
    """Failing elements of a record from an older results file (no "failing_elements"): per part whose worst
    bound ratio exceeds 1 (and the record's worst part), the elements of a different kind (finite / inf / NaN, the IEEE column aside), or
    beyond the ULP budget (without the per-element bound, which results files do not keep)."""
    from conformance.floats import ulp_distance

    out: dict = {}
    ratios = record.get("bound_ratio") or {}
    parts = flat_parts(ratios, skip_none=False)
    for part, ratio in parts.items():
        if (ratio is None or float(ratio) <= 1.0) and part != record.get("part"):
            continue
        e = Element(record, part, None)
        if e.obs_tensor is None or e.ref_tensor is None:
            continue
        if list(e.obs_tensor["shape"]) != list(e.ref_tensor["shape"]):
            out[part] = []
            continue
        obs = np.asarray([float(v) for v in e.obs_tensor["data"]])
        ref = np.asarray([float(v) for v in e.ref_tensor["rounded"]])
        ieee = e.ref_tensor.get("ieee")
        ieee = np.asarray([float(v) for v in ieee]) if ieee else ref
        def kind(a):
            return np.where(np.isnan(a), 3, np.where(np.isposinf(a), 1, np.where(np.isneginf(a), 2, 0)))

        bad = (kind(obs) != kind(ref)) & (kind(obs) != kind(ieee))
        both = np.isfinite(obs) & np.isfinite(ref)
        if both.any():
            ulps = np.zeros(obs.shape)
            dt = ml_dtypes.bfloat16 if e.dtype == "bfloat16" else np.dtype(e.dtype)
            ulps[both] = ulp_distance(obs[both].astype(dt), ref[both].astype(dt), e.dtype)
            bad |= both & (ulps > ULP_BUDGET.get(e.dtype, 4))
        out[part] = [int(i) for i in np.flatnonzero(bad)]
    return out


def may_concern(entry, implementation_id: str) -> bool:
    """A wildcard entry never concerns a custom kernel (for the unmatched-entry warning)."""
    return not (is_wildcard(entry.implementation) and implementation_id.startswith("custom:"))


def part_patterns(parts: list, framework: str | None = None) -> list:
    """An entry's part patterns; a "grad:NAME" pattern also covers "vjp:NAME": a vector-Jacobian product with
    any cotangent is the same backward kernel as the gradient (cotangent ones), so a mechanism documented for
    the gradient is the one at work in the vjp (the entry's predicates are still checked on its elements).
    TensorFlow's forward mode has no rules of its own: tf.autodiff.ForwardAccumulator transposes the
    registered backward functions on the tape (tensorflow/python/eager/forwardprop.py), so for its records a
    "grad:NAME" pattern covers "jvp:NAME" too. Otherwise forward mode (jvp) and double backward (hvp) are
    other kernels: an entry names them explicitly."""
    out = list(parts) + [("vjp:" + p[5:]) for p in parts if p.startswith("grad:")]
    if framework == "tensorflow":
        out += [("jvp:" + p[5:]) for p in parts if p.startswith("grad:")]
    return out


def _covered_part_shape_differs(entry, record: dict) -> bool:
    """Does a failing part the entry covers come back in another shape than the reference's? An entry documents
    a numerical mechanism; a wrong shape is another, explained only by a whole_part predicate."""
    failing = record.get("failing_elements")
    for part in (failing if failing is not None else flat_parts(record.get("reference"))):
        if entry.parts and not any(fnmatch.fnmatchcase(part, p)
                                   for p in part_patterns(entry.parts, record.get("framework"))):
            continue
        if observed_shape_differs(Element(record, part, None)):
            return True
    return False


def holds(entry, record: dict) -> bool:
    """True when the entry has no predicate, or every failing element of every covered failing part
    satisfies one of its predicates."""
    wanted = [PREDICATES[n] for n in names(entry.predicate)]
    if not wanted:
        return not _covered_part_shape_differs(entry, record)
    failing = record.get("failing_elements")
    if failing is None:  # a results file written before records kept them: derive them from its data
        failing = derive_failing(record)
    returned = not failing and record.get("verdict") == "error_behaviour_mismatch" and not record.get("exception")
    if returned:  # a value returned where the op raises (no reference to compare with): whole_part only
        failing = {record.get("part") or "value": []}
    if not failing or record.get("observed") is None:
        return False  # nothing element-wise to check (an exception, a crash): a predicate cannot vouch for it
    checked = False
    for part, indices in failing.items():
        if entry.parts and not any(fnmatch.fnmatchcase(part, p)
                                   for p in part_patterns(entry.parts, record.get("framework"))):
            continue
        checked = True
        for index in indices or [None]:
            element = Element(record, part, index)
            if (element.ref_tensor is None and not returned) or element.obs_tensor is None:
                return False
            if index is None:
                if not any(getattr(p, "whole_part", False) and p(element) for p in wanted):
                    return False
            elif not any(not getattr(p, "whole_part", False) and p(element) for p in wanted):
                return False
    return checked
