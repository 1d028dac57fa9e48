"""Hypothesis strategies biased to the edges, one draw function per input kind; every draw is labelled.

`draw_case(data, op, dtype, allowed, fixed, profile)` draws one Case with `data` (hypothesis st.data()),
so Hypothesis prints each draw with its label when it reports a failing example. Inputs are generated in
the dtype under test (every value is exactly representable).
"""
from __future__ import annotations

import math

import numpy as np
from hypothesis import strategies as st

import reference
from conformance.cases.case import Case
from conformance.cases.combinations import (NONZERO_SMOOTHING, POS_WEIGHT_EXTREMES, draw_combination,
                                            extreme_probs, extreme_reals, soft_targets)
from conformance.cases.layout import CLASS_AXIS_INPUTS, default_axis
from conformance.cases.masks import draw_mask_and_weights
from conformance.floats import named_value, nextafter, np_dtype

# op -> [(input name, generation domain)], from the reference's op catalog (reference/ops/spec.py: Input.domain):
# real, logp, prob, binary (a target in [0, 1]), label, target (labels or probabilities)
OP_INPUTS = {name: [(i.name, i.domain) for i in spec.inputs] for name, spec in reference.OPS.items()}
ELEMENTWISE = {"sigmoid", "log_sigmoid", "entr", "xlogy", "xlog1py", "rel_entr", "generalized_kl", "binary_cross_entropy",
               "binary_cross_entropy_with_logits", "sigmoid_focal_loss", "binary_focal_loss"}

PROFILE_LIMITS = {  # max batch, max classes, chance-free big vocabulary sizes allowed
    "quick": {"batch": 3, "classes": 8, "vocab": ()},
    "ci": {"batch": 4, "classes": 40, "vocab": ()},
    "thorough": {"batch": 6, "classes": 300, "vocab": (517, 769, 1023, 32768, 50257, 131072)},
}

# Batch sizes and class counts come from small fixed sets (the first is where shrinking heads): a jitted
# implementation compiles once per input shape, so its compile count stays bounded however many examples a
# profile draws, instead of growing with them. Class counts stay within PROFILE_LIMITS.
SHAPE_SETS = {
    "quick": {"batch": (1, 2, 3, 0), "classes": (1, 2, 3, 5, 8)},
    "ci": {"batch": (1, 2, 4, 0), "classes": (1, 2, 3, 5, 8, 17, 40)},
    "thorough": {"batch": (1, 2, 3, 6, 0), "classes": (1, 2, 3, 4, 5, 8, 13, 17, 40, 100, 300)},
}
ELEMENTWISE_BATCHES = (1, 2, 3, 5, 8, 0)
# in-features D of ops whose inputs declare named sizes (reference Input.dims: linear_cross_entropy)
FEATURE_SETS = {"quick": (1, 2, 3), "ci": (1, 2, 3, 5, 8), "thorough": (1, 2, 3, 5, 8, 16, 64)}
EXTRA_DIMS = (1, 3)  # sizes of the extra (spatial / sequence) dims of class-axis inputs
MAX_EXTRA_DIMS = 3   # (N, C), (N, C, L), (N, C, H, W), (N, C, D, H, W): 2 to 5 dims

REAL_REGIMES = ["moderate"] * 4 + ["huge-close", "wide", "specials", "subnormal", "near-max"]
PROB_REGIMES = ["simplex"] * 3 + ["one-hot", "with-zeros", "edges", "unnormalised"]

PARAM_CHOICES = {
    "reduction": ("none", "sum", "mean"),
    "label_smoothing": (0.0, 1e-7, 0.1, 1.0),
    "ignore_index": (-100,),
    "log_target": (False, True),
    "gamma": (0.0, 1.0, 2.0, 3.5),
    "alpha": (None, 0.25, 0.75),
    "base": (math.e, 2.0),
    "normalize": (False, True),
    "epsilon": (2.0, -1.0, 0.0, 0.5),
    "q": (0.5, 0.7, 1.0),
}


def _cast(values: np.ndarray, dtype: str) -> np.ndarray:
    """Round float64 values into `dtype`: the case input is whatever this gives, exactly."""
    return np.asarray(values, dtype=np.float64).astype(np_dtype(dtype))


LONG = 1024  # longer element lists (large vocabularies) are a Hypothesis prefix tiled with a seed
PREFIX = 64


def _draw_list(data, elements, n: int, label: str) -> list:
    """n elements of `elements`, labelled. Hypothesis cannot draw lists of a large vocabulary's length, so
    beyond LONG the first PREFIX are drawn (and shrunk) by Hypothesis and the rest resampled from them with
    a seed Hypothesis also draws."""
    if n <= LONG:
        return data.draw(st.lists(elements, min_size=n, max_size=n), label=label)
    head = data.draw(st.lists(elements, min_size=PREFIX, max_size=PREFIX), label=f"{label} (first {PREFIX})")
    seed = data.draw(st.integers(0, 2**32 - 1), label=f"{label} seed")
    rest = np.random.default_rng(seed).choice(np.asarray(head, dtype=object), size=n - PREFIX).tolist()
    return list(head) + rest


def draw_reals(data, dtype: str, shape: tuple, label: str, regime: str | None = None) -> np.ndarray:
    """Reals of `shape` in one regime, drawn (labelled) unless a combination sets it ("extreme")."""
    if regime is None:
        regime = data.draw(st.sampled_from(REAL_REGIMES), label=f"{label} regime")
    n = int(np.prod(shape))
    fmax = named_value("max", dtype)
    if regime == "extreme":
        vals = _draw_list(data, extreme_reals(fmax, named_value("log_max", dtype)), n, label=f"{label} (extreme)")
    elif regime == "moderate":
        vals = _draw_list(data, st.floats(-20, 20), n, label=label)
    elif regime == "huge-close":
        base = data.draw(st.floats(1e3, fmax / 8), label=f"{label} base")
        base = float(_cast([base], dtype)[0])
        steps = _draw_list(data, st.integers(-4, 4), n, label=f"{label} ulp steps")
        vals = _ulp_offsets(base, steps, dtype)
    elif regime == "wide":
        vals = _draw_list(data, st.floats(-fmax, fmax), n, label=label)
    elif regime == "specials":
        pool = [0.0, -0.0, 1.0, -1.0, math.inf, -math.inf, math.nan, fmax, -fmax]
        vals = _draw_list(data, st.sampled_from(pool) | st.floats(-5, 5), n, label=label)
    elif regime == "subnormal":
        tiny = named_value("denorm_min", dtype)
        ks = _draw_list(data, st.integers(-64, 64), n, label=label)
        vals = [k * tiny for k in ks]
    else:  # near-max
        vals = _draw_list(data, st.sampled_from([fmax, -fmax, fmax / 2, 0.0]), n, label=label)
    return _cast(np.asarray(vals, dtype=np.float64).reshape(shape), dtype)


def _ulp_offsets(base: float, steps, dtype: str) -> list[float]:
    """base moved by k representable steps of `dtype`, for each k in steps."""
    dt = np_dtype(dtype)
    start = np.asarray(base, dtype=dt)
    out = []
    for k in steps:
        x = start
        for _ in range(abs(k)):
            x = nextafter(x, np.asarray(math.inf if k > 0 else -math.inf, dtype=dt), dtype)
        out.append(float(x))
    return out


def draw_probs(data, dtype: str, shape: tuple, label: str, axis: int | None,
               regime: str | None = None) -> np.ndarray:
    """Probabilities of `shape` in one regime, drawn (labelled) unless a combination sets it ("soft",
    "soft-or-hard", "extreme")."""
    if regime is None:
        regime = data.draw(st.sampled_from(PROB_REGIMES), label=f"{label} regime")
    n = int(np.prod(shape))
    edges = (named_value("1-ulp", dtype), named_value("tiny", dtype), named_value("denorm_min", dtype))
    if regime in ("soft", "soft-or-hard", "extreme"):
        elements = {"soft": soft_targets(*edges), "soft-or-hard": soft_targets(*edges) | st.sampled_from([0.0, 1.0]),
                    "extreme": extreme_probs(*edges)}[regime]
        vals = np.asarray(_draw_list(data, elements, n, label=f"{label} ({regime})"), dtype=np.float64)
        return _cast(vals.reshape(shape), dtype)
    if regime == "edges":
        pool = [0.0, 1.0, named_value("1-ulp", dtype), named_value("denorm_min", dtype), 0.5,
                named_value("tiny", dtype)]
        vals = np.asarray(_draw_list(data, st.sampled_from(pool), n, label=label))
        return _cast(vals.reshape(shape), dtype)
    raw = np.asarray(_draw_list(data, st.floats(0, 1), n, label=label)).reshape(shape)
    if regime == "with-zeros":
        raw = np.where(raw < 0.4, 0.0, raw)
    if regime == "one-hot" and axis is not None and shape[axis] > 0:
        hot = np.argmax(raw, axis=axis)
        raw = (np.arange(shape[axis]).reshape([-1 if i == axis % len(shape) else 1 for i in range(len(shape))])
               == np.expand_dims(hot, axis)).astype(np.float64)
    if regime in ("simplex", "with-zeros") and axis is not None:
        total = raw.sum(axis=axis, keepdims=True)
        raw = np.divide(raw, total, out=np.zeros_like(raw), where=total > 0)
    if regime == "unnormalised":
        raw = raw * 3
    return _cast(raw, dtype)


def draw_labels(data, shape: tuple, classes: int, label: str, ignore_index=None,
                regime: str | None = None) -> np.ndarray:
    bad = [-1, classes] + ([ignore_index] if ignore_index is not None else [])
    if regime is None:
        regime = data.draw(st.sampled_from(["valid"] * 6 + ["with-bad", "with-ignored"]), label=f"{label} regime")
    n = int(np.prod(shape))
    valid = st.integers(0, max(classes - 1, 0))
    if regime == "with-bad":
        elems = valid | st.sampled_from(bad)
    elif regime == "with-ignored" and ignore_index is not None:
        elems = valid | st.just(ignore_index)
    else:
        elems = valid
    return np.asarray(_draw_list(data, elems, n, label=label), dtype=np.int64).reshape(shape)


def draw_params(data, op: str, allowed: dict, fixed: dict, classes: int, dtype: str, force: tuple = (),
                batch: int | None = None) -> dict:
    """The case's params: each allowed one drawn on its own, except those a combination forces (`force`):
    weight and pos_weight are then always given (pos_weight with extreme values too, weight shaped to
    broadcast over an elementwise op's input of `batch` items) and label_smoothing is non-zero."""
    params = dict(fixed)
    for name, options in sorted(allowed.items()):
        if name in fixed or name == "axis":
            continue
        if name in ("weight", "pos_weight"):
            if name in force or data.draw(st.booleans(), label=f"use {name}"):
                pool = st.sampled_from([0.0, 0.5, 1.0, 2.0, 100.0]) | st.floats(0, 10)
                size = classes
                if name == "pos_weight" and name in force:
                    pool = st.sampled_from([*POS_WEIGHT_EXTREMES, named_value("big", dtype)]) | pool
                if name == "weight" and name in force and op in ELEMENTWISE and "pos_weight" not in force \
                        and "pos_weight" not in params:
                    size = batch if batch is not None else classes  # broadcasts over the (batch,) input
                params[name] = _draw_list(data, pool, size, label=name)
                params[name] = [float(v) for v in _cast(params[name], dtype)]
            continue
        if name == "label_smoothing" and name in force and options is None:
            params[name] = data.draw(st.sampled_from(NONZERO_SMOOTHING), label=name)
            continue
        choices = options if options is not None else PARAM_CHOICES.get(name)
        if name == "normalize" and options is None and op != "entropy":
            choices = ("none", "q", "both")
        if choices:
            params[name] = data.draw(st.sampled_from(list(choices)), label=name)
    return params


def draw_extra_dims(data, op: str) -> tuple:
    """Extra dims of a class-axis input beyond (N, C): none (4 in 5), else 1 to MAX_EXTRA_DIMS of them."""
    if data.draw(st.integers(0, 4), label="extra dims?") != 0:
        return ()
    first = data.draw(st.sampled_from(EXTRA_DIMS), label="d1")
    more = data.draw(st.integers(0, MAX_EXTRA_DIMS - 1), label="more extra dims")
    return (first, *(data.draw(st.sampled_from(EXTRA_DIMS), label=f"d{i + 2}") for i in range(more)))


def draw_axis(data, ndim: int, options) -> int:
    """The class axis of an `ndim`-dim input, at any position the API allows: every position, as a
    non-negative or a negative index (options: the implementation's allowed axis values, None for any)."""
    every = [a for a in range(-ndim, ndim) if options is None or a in options]
    if not every:
        return -1
    # the last axis first (where shrinking heads), then channels-first, then every other position
    preferred = [a for a in (-1, 1) if a in every]
    return data.draw(st.sampled_from(preferred + [a for a in every if a not in preferred]), label="axis")


def class_axis_shapes(batch: int, classes: int, extra: tuple, axis: int) -> tuple[tuple, tuple]:
    """(shape of the class-axis inputs, shape of the labels): (batch, *extra) with the classes inserted at
    `axis` (1: channels first; -1: last)."""
    label_shape = (batch, *extra)
    ndim = len(label_shape) + 1
    position = axis % ndim
    full = label_shape[:position] + (classes,) + label_shape[position:]
    return full, label_shape


def draw_memory(data, layouts: tuple, ndim: int) -> str:
    """The inputs' memory layout: contiguous (2 in 3), else one of the implementation's other layouts that
    the inputs' rank allows (channels_last needs 4 or 5 dims, transposed 2 or more)."""
    usable = [m for m in layouts if m != "contiguous" and (m != "channels_last" or ndim in (4, 5))
              and (m != "transposed" or ndim >= 2)]
    if not usable or data.draw(st.integers(0, 2), label="non-contiguous?") != 0:
        return "contiguous"
    return data.draw(st.sampled_from(usable), label="memory layout")


def draw_case(data, op: str, dtype: str, allowed: dict, fixed: dict, profile: str = "ci",
              memory_layouts: tuple = ("contiguous",)) -> Case:
    limits, sizes = PROFILE_LIMITS[profile], SHAPE_SETS[profile]
    batch = data.draw(st.sampled_from(sizes["batch"] if op not in ELEMENTWISE else ELEMENTWISE_BATCHES),
                      label="batch size")
    classes = data.draw(st.sampled_from(sizes["classes"] + limits["vocab"]), label="classes")
    if classes > 1000:
        batch = min(batch, 2)
    combo = draw_combination(data, op, allowed, fixed, profile)
    params = draw_params(data, op, allowed, fixed, classes, dtype, combo.force(allowed, fixed) if combo else (),
                         batch)
    dims = reference.OPS[op].dims
    if dims is not None:
        return _draw_named_sizes(data, op, dtype, params, dims, {"N": batch, "C": classes}, profile, memory_layouts)
    has_class_axis = op in CLASS_AXIS_INPUTS
    extra = draw_extra_dims(data, op) if has_class_axis else ()
    if has_class_axis and "axis" not in fixed and "axis" in allowed:  # the API takes any class axis (dim=, axis=)
        params["axis"] = draw_axis(data, 2 + len(extra), allowed["axis"])
    axis = params.get("axis", default_axis(op))
    if has_class_axis:
        full, label_shape = class_axis_shapes(batch, classes, extra, axis)
    else:
        full = (batch, classes) if op in ("binary_cross_entropy_with_logits",) and "pos_weight" in params \
            else (batch,)
        label_shape = full
    if "pos_weight" in params and len(full) == 1:
        params["pos_weight"] = params["pos_weight"][:1]
    inputs = {}
    regime = combo.regime if combo else (lambda domain: None)
    for name, kind in OP_INPUTS[op]:
        if kind == "real":
            inputs[name] = draw_reals(data, dtype, full, name, regime("real"))
        elif kind == "logp":
            inputs[name] = -np.abs(draw_reals(data, dtype, full, name))
        elif kind in ("prob", "binary"):
            inputs[name] = draw_probs(data, dtype, full, name, axis if has_class_axis else None, regime(kind))
        elif kind == "label":
            inputs[name] = draw_labels(data, label_shape, classes, name, params.get("ignore_index"), regime("label"))
        elif kind == "target":
            if combo is not None and combo.target is not None:
                as_labels = combo.target == "labels"
            else:
                as_labels = data.draw(st.booleans(), label="integer target?")
            inputs[name] = (draw_labels(data, label_shape, classes, name, params.get("ignore_index"),
                                        regime("label")) if as_labels
                            else draw_probs(data, dtype, full, name, axis))
    draw_mask_and_weights(data, op, dtype, allowed, fixed, profile, params, inputs,
                          axis if has_class_axis else None, label_shape)
    memory = draw_memory(data, memory_layouts, len(full)) if len(memory_layouts) > 1 else "contiguous"
    case = Case(id="", op=op, dtype=dtype, inputs=inputs, params=params, source="hypothesis", memory=memory)
    case.id = f"hyp-{case.key()[:12]}"
    return case


def _draw_named_sizes(data, op: str, dtype: str, params: dict, dims: dict, sizes: dict, profile: str,
                      memory_layouts: tuple) -> Case:
    """A case of an op whose inputs declare their shapes in named sizes (N, C, D): one size each, the
    features D from FEATURE_SETS; floating inputs drawn like any other of their domain."""
    features = [d for d in FEATURE_SETS[profile] if sizes["C"] <= 1000 or d <= 8]  # a large vocabulary: D <= 8
    sizes = dict(sizes, D=data.draw(st.sampled_from(features), label="features"))
    inputs = {}
    for name, kind in OP_INPUTS[op]:
        shape = tuple(sizes[d] for d in dims[name])
        if kind == "label":
            inputs[name] = draw_labels(data, shape, sizes["C"], name, params.get("ignore_index"))
        elif kind in ("prob", "binary"):
            inputs[name] = draw_probs(data, dtype, shape, name, None)
        else:
            inputs[name] = draw_reals(data, dtype, shape, name)
    ndim = max(len(d) for d in dims.values())
    memory = draw_memory(data, memory_layouts, ndim) if len(memory_layouts) > 1 else "contiguous"
    case = Case(id="", op=op, dtype=dtype, inputs=inputs, params=params, source="hypothesis", memory=memory)
    case.id = f"hyp-{case.key()[:12]}"
    return case
